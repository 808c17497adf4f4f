"""The core must never pull in Qt: import every core module in a clean interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import seglab.core

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "seglab.ui")


def test_core_modules_do_not_import_qt():
    names = [m.name for m in pkgutil.walk_packages(seglab.core.__path__, "seglab.core.")]
    assert "seglab.core.project" in names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in forbidden or m.startswith('seglab.ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_does_not_import_qt_or_pandas():
    code = (
        "import sys\n"
        "from seglab.cli import build_parser\n"
        "build_parser()\n"
        "print(','.join(sorted(m for m in ('PySide6', 'pandas', 'pyqtgraph') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
