"""Render resources/app-icon/seglab.svg to the PNG sizes desktops and installers want.

Run after editing the SVG: ``python packaging/make_icons.py`` (uses Qt's SVG renderer).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
HERE = Path(__file__).resolve().parent.parent / "resources" / "app-icon"


def main() -> int:
    app = QGuiApplication(sys.argv)  # noqa: F841 - the renderer needs an application
    renderer = QSvgRenderer(str(HERE / "seglab.svg"))
    if not renderer.isValid():
        print("cannot read seglab.svg", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(HERE / f"seglab-{size}.png"))
    print(f"wrote {len(SIZES)} PNGs to {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
