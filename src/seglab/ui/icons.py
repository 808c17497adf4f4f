"""Icons shipped in ``resources/icons`` (SVG), with a standard-icon fallback."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from seglab.core.resources import resource_path

_FALLBACK = {
    "data": QStyle.StandardPixmap.SP_DriveHDIcon,
    "segments": QStyle.StandardPixmap.SP_FileDialogDetailedView,
    "charts": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "import": QStyle.StandardPixmap.SP_ArrowDown,
    "seglab": QStyle.StandardPixmap.SP_ComputerIcon,
}


@cache
def icon(name: str) -> QIcon:
    result = QIcon()
    try:
        source = QIcon(str(resource_path(f"icons/{name}.svg")))
    except FileNotFoundError:
        source = QIcon()
    if not source.isNull():
        # The same picture when selected: the style's tint would hide it on the highlight.
        for size in (16, 20, 24, 32, 48, 64):
            pixmap = source.pixmap(size, size)
            result.addPixmap(pixmap, QIcon.Mode.Normal)
            result.addPixmap(pixmap, QIcon.Mode.Selected)
    if result.isNull():
        style = QApplication.style()
        pixmap = _FALLBACK.get(name, QStyle.StandardPixmap.SP_FileIcon)
        result = style.standardIcon(pixmap) if style is not None else QIcon()
    return result
