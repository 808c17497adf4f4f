"""Before the desktop app starts: is there a display Qt can use? (No Qt imported here.)

Without one, Qt aborts the whole process with a misleading message ("xcb-cursor0 ... is
needed"); SegLab says in one sentence what is missing and how to work headless instead.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable, Mapping

HEADLESS = (
    "headless, use the seglab commands (seglab --help) or run the app offscreen with "
    "QT_QPA_PLATFORM=offscreen"
)


def display_problem(
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
) -> str | None:
    """One sentence saying why the app cannot open a window here, or None when it can."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa and not qpa.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: the person chose a platform
    wayland = bool(env.get("WAYLAND_DISPLAY")) and not qpa
    if not env.get("DISPLAY") and not wayland:
        return f"the SegLab app needs a display, and none is set here (no DISPLAY); {HEADLESS}"
    if not wayland and find_library("xcb-cursor") is None:
        return (
            "the SegLab app cannot open a window: the system library libxcb-cursor0 that Qt needs is "
            f"missing (install it with: bash packaging/install-system-deps.sh); {HEADLESS}"
        )
    return None
