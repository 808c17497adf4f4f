"""`seglab --demo` without a display says so in one sentence instead of Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys

from seglab.cli.desktop_check import display_problem


def found(_name):
    return "/usr/lib/libxcb-cursor.so.0"


def missing(_name):
    return None


def test_display_problems():
    assert "needs a display" in display_problem({}, "linux", found)
    assert "QT_QPA_PLATFORM=offscreen" in display_problem({}, "linux", found)
    assert display_problem({"DISPLAY": ":0"}, "linux", found) is None
    assert "libxcb-cursor0" in display_problem({"DISPLAY": ":0"}, "linux", missing)
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", missing) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", missing) is None
    assert display_problem({}, "win32", missing) is None and display_problem({}, "darwin", missing) is None


def test_demo_without_a_display_prints_one_sentence_and_no_qt_abort(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["SEGLAB_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "seglab", "--demo"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(
        "seglab: error: the SegLab app needs a display"
    )
    assert "xcb" not in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())  # nothing was written
