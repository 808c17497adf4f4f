"""SegLab's one palette: colour-blind safe, and a segment keeps one colour everywhere (the app's
charts, its lists and the worksheet).

The palette is Okabe & Ito's ("Color Universal Design", 2008), ordered so the first
colours are the most distinct on a white background. Its yellow is left out: as a thin
line or small text on white it is nearly invisible; its black takes the seventh place.
"Everyone" and "the rest" (a segment's complement) are neutral greys so they never
compete with a named segment (and "everyone" is only ever drawn alone, so it never
meets the black).

A saved segment's colour comes from its id in the project (``segments.segment_id``),
which never changes when the segment is renamed or edited, so the builder, the lists
and every chart agree. Something without an id (a slice not yet saved) gets a colour
from a stable hash of its name. :func:`series_colors` gives the colours for one
chart's series, nudging a colliding colour to the next free one so two series on the
same chart never share a colour.

This module is plain Python (hex strings) in the Qt-free core, so the worksheet uses the very
same colours; ``seglab.ui.palette.qcolor`` converts when a widget needs a ``QColor``.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Sequence

# Okabe–Ito, reordered: blue, orange, bluish green, vermillion, reddish purple, sky blue, black.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
)
EVERYONE_COLOR = "#4D4D4D"  # dark grey: the whole universe
REST_COLOR = "#A6A6A6"  # light grey: "not in <segment>"

# A sequential scale for heat tables (retention): white → the palette's blue.
HEAT_LOW = "#F7FBFF"
HEAT_HIGH = "#0072B2"


def color_for_segment(segment_id: int) -> str:
    """The colour of a saved segment, from its id (stable across renames and edits)."""
    return PALETTE[(int(segment_id) - 1) % len(PALETTE)]


def color_for_name(name: str) -> str:
    """A stable colour for a named thing that has no segment id."""
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


def series_colors(series: Sequence[tuple[str, int | None, str]]) -> list[str]:
    """Colours for one chart's series, in order.

    Each series is ``(label, segment_id or None, role)`` where role is ``"segment"``,
    ``"everyone"`` or ``"rest"``. A segment keeps its own colour unless an earlier
    series on this chart already has it; then it takes the next unused one.
    """
    used: set[str] = set()
    out: list[str] = []
    for label, segment_id, role in series:
        if role == "everyone":
            out.append(EVERYONE_COLOR)
            continue
        if role == "rest":
            out.append(REST_COLOR)
            continue
        color = color_for_segment(segment_id) if segment_id is not None else color_for_name(label)
        if color in used:
            start = PALETTE.index(color)
            for step in range(1, len(PALETTE) + 1):
                candidate = PALETTE[(start + step) % len(PALETTE)]
                if candidate not in used:
                    color = candidate
                    break
        used.add(color)
        out.append(color)
    return out


def heat_color(fraction: float) -> str:
    """A colour on the heat scale for a value in 0..1 (clipped)."""
    f = min(1.0, max(0.0, float(fraction)))
    lo = _rgb(HEAT_LOW)
    hi = _rgb(HEAT_HIGH)
    mixed = tuple(round(a + (b - a) * f) for a, b in zip(lo, hi))
    return "#{:02X}{:02X}{:02X}".format(*mixed)


def text_color_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (WCAG relative luminance)."""
    r, g, b = (_linear(c / 255) for c in _rgb(background))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.179 else "#FFFFFF"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def all_colors() -> Iterable[str]:
    return (*PALETTE, EVERYONE_COLOR, REST_COLOR)


def color_of_saved(conn: sqlite3.Connection, name: str) -> str:
    """The colour of the saved segment ``name`` (by its id), or of the name when it is not saved."""
    row = conn.execute("SELECT segment_id FROM segments WHERE name = ?", (name,)).fetchone()
    return color_for_segment(row[0]) if row else color_for_name(name)
