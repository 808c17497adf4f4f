"""How SegLab writes numbers for people: one way, in the app, the worksheet and exported pictures.

* :func:`number` — a figure to read at a glance (chart labels and tooltips, cards, the
  worksheet): thousands separators up to 10,000, then ``12.3k``, ``123k``, ``1.23M``; never
  ``9.98e+03``.
* :func:`exact` — a value to check (a table cell): every digit that matters, with thousands
  separators, never an exponent.
* :func:`percent` and :func:`duration`.

CSV files keep raw numbers (a spreadsheet formats them); these are only for reading.
"""

from __future__ import annotations

import math

DASH = "–"


def _missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def number(value: float | int | None) -> str:
    """``1234`` → ``1,234``; ``9980.5`` → ``9,980``; ``12345`` → ``12.3k``; ``2.5`` → ``2.50``."""
    if value is None or _missing(value):
        return DASH
    v = float(value)
    a = abs(v)
    if a >= 10_000:
        for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= size * 0.9995 or suffix == "k":
                scaled = v / size
                s = abs(scaled)
                text = f"{scaled:.0f}" if s >= 99.95 else f"{scaled:.1f}" if s >= 9.995 else f"{scaled:.2f}"
                return text + suffix
    if v == int(v):
        return f"{int(v):,}"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def exact(value: float | int | None) -> str:
    """``1234567.5`` → ``1,234,567.5``; ``0.000125`` → ``0.000125``: no exponent, no lost digits
    below 15 significant ones."""
    if value is None:
        return ""
    if _missing(value):
        return str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    v = float(value)
    if abs(v) >= 1e15 or (v != 0 and abs(v) < 1e-6):
        return repr(v)  # outside what separators can show honestly
    digits = max(0, 15 - len(str(int(abs(v)))))
    return f"{v:,.{digits}f}".rstrip("0").rstrip(".")


def percent(fraction: float | None, digits: int = 0) -> str:
    """``0.4567`` → ``46%`` (``digits=1``: ``45.7%``)."""
    if fraction is None or _missing(fraction):
        return DASH
    return f"{float(fraction) * 100:.{digits}f}%"


def duration(seconds: float | None) -> str:
    """``42`` → ``42 s``; ``300`` → ``5.0 min``; ``5400`` → ``1.5 h``; three days → ``3.0 d``."""
    if seconds is None or _missing(seconds):
        return DASH
    s = float(seconds)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    if s < 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"
