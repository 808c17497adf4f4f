"""Small, dependency-free SVG chart helpers for the worksheet (no Qt, no matplotlib, no JS).

Every function returns :class:`markupsafe.Markup` so the Jinja2 template (autoescape on)
inserts it as-is; every piece of data that ends up inside the SVG (labels, titles,
numbers) goes through :func:`markupsafe.escape` here, so a segment called
``<script>`` is text in the chart, never markup.

Colours come from the app's one palette (:mod:`seglab.core.palette`, Okabe–Ito: safe for
the common colour-vision deficiencies): a chart is given each series' colour, so a segment
is drawn in the colour it has in the app and "the rest" in grey. Each series also gets its
own dash pattern and marker so the charts survive a greyscale printer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from seglab.core import formatting
from seglab.core.palette import PALETTE

DASHES = ("", "6 4", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")
MUTED = "#6b7280"
GRID = "#e5e7eb"
INK = "#1f2933"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"

Number = float | int


def colour(i: int, colours: Sequence[str] | None = None) -> str:
    """Series ``i``'s colour: from ``colours`` (each series' own) when given, else by position."""
    if colours:
        return colours[i % len(colours)]
    return PALETTE[i % len(PALETTE)]


def dash(i: int) -> str:
    return DASHES[i % len(DASHES)]


# One way to write numbers everywhere (seglab.core.formatting): the app, the worksheet, exports.
fmt_number = formatting.number
fmt_percent = formatting.percent


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering ``lo..hi`` (1, 2, 2.5, 5 × 10^k steps; whole steps for counts)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0)
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, math.ceil(step)) if step < 1 or step != int(step) else step
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t < hi + step * 0.5:
        ticks.append(round(t, 10))
        t += step
        if len(ticks) > 50:
            break
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: float = 11,
          fill: str = MUTED, weight: str = "normal", extra: str = "") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}" font-weight="{weight}"{extra}>{escape(content)}</text>'
    )


def _open_svg(width: int, height: int, title: str) -> list[str]:
    return [
        # No xmlns: inline SVG in HTML needs none, and the page then names no URL at all.
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" style="{FONT};max-width:{width}px">',
        f"<title>{escape(title)}</title>",
    ]


def _truncate(label: str, limit: int) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _legend(parts: list[str], labels: Sequence[str], x0: float, y: float, width: float,
            marker: str = "line", colours: Sequence[str] | None = None) -> float:  # fmt: skip
    """Draw a wrapping legend from ``x0``; return the y below it."""
    x = x0
    for i, label in enumerate(labels):
        text = _truncate(label, 40)
        item_w = 26 + 6.3 * len(text) + 18
        if x > x0 and x + item_w > x0 + width:
            x = x0
            y += 18
        if marker == "line":
            d = dash(i)
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 20:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour(i, colours)}" stroke-width="2.5"'
                + (f' stroke-dasharray="{d}"' if d else "")
                + "/>"
            )
        else:
            fill = colour(i, colours)
            parts.append(
                f'<rect x="{x + 6:.1f}" y="{y - 10:.1f}" width="10" height="10" rx="2" fill="{fill}"/>'
            )
        parts.append(_text(x + 26, y, text, fill=INK, size=11.5))
        x += item_w
    return y + 8


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    *,
    title: str,
    y_format: Callable[[Number], str] = fmt_number,
    y_min: float | None = 0.0,
    y_max: float | None = None,
    partial_from: int | None = None,
    width: int = 860,
    height: int = 250,
    x_title: str = "",
    integer: bool = False,
    colours: Sequence[str] | None = None,
) -> Markup:
    """A line chart with one line per series; ``None`` values leave a gap (``integer``: counts).

    ``partial_from`` marks the x positions from that index on as incomplete (shaded,
    labelled "partial"), e.g. the running week at as-of time.
    """
    labels = [label for label, _ in series]
    values = [v for _, vs in series for v in vs if v is not None and math.isfinite(float(v))]
    parts = _open_svg(width, height, title)
    if not x_labels or not values:
        parts.append(_text(width / 2, height / 2, "no data in this range", anchor="middle", size=13))
        parts.append("</svg>")
        return Markup("".join(parts))
    lo = min(values) if y_min is None else min(y_min, min(values))
    hi = max(values) if y_max is None else y_max
    ticks = nice_ticks(lo, hi, integer=integer)
    lo, hi = ticks[0], ticks[-1]
    tick_text = [y_format(t) for t in ticks]
    left = 14 + 6.5 * max(len(t) for t in tick_text)
    right = 16
    top = 14
    # Legend at the bottom: measure its rows first.
    legend_parts: list[str] = []
    legend_bottom = _legend(legend_parts, labels, left, 0, width - left - right, colours=colours)
    legend_h = legend_bottom + 4
    bottom = 30 + (14 if x_title else 0) + legend_h
    plot_w = width - left - right
    plot_h = height - top - bottom
    n = len(x_labels)

    def px(i: int) -> float:
        return left + (plot_w * (i / (n - 1)) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - (float(v) - lo) / (hi - lo))

    if partial_from is not None and 0 <= partial_from < n:
        x0 = px(partial_from) - (plot_w / (n - 1) / 2 if n > 1 else plot_w / 2)
        x0 = max(x0, left)
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{left + plot_w - x0:.1f}" height="{plot_h:.1f}" '
            f'fill="#f3f4f6"/>'
        )
        # At the foot of the band: the top is where a high last point is drawn.
        parts.append(_text(left + plot_w - 4, top + plot_h - 5, "partial", anchor="end", size=10))
    for t, label in zip(ticks, tick_text):
        y = py(t)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, label, anchor="end", size=10.5))
    # x labels: at most ~8, always the first and last.
    step = max(1, math.ceil(n / 8))
    shown = set(range(0, n, step)) | {n - 1}
    if n - 1 - max(i for i in shown if i != n - 1 or n == 1) < step / 2 and n > 1:
        shown.discard(max(i for i in shown if i != n - 1) if len(shown) > 1 else -1)
    for i in sorted(shown):
        anchor = "middle"
        if n > 1 and i == 0:
            anchor = "start"
        elif n > 1 and i == n - 1:
            anchor = "end"
        parts.append(_text(px(i), top + plot_h + 16, str(x_labels[i]), anchor=anchor, size=10.5))
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h:.1f}" x2="{left + plot_w}" y2="{top + plot_h:.1f}" '
        f'stroke="#9ca3af"/>'
    )
    if x_title:
        parts.append(_text(left + plot_w / 2, top + plot_h + 30, x_title, anchor="middle", size=10.5))
    for si, (label, vs) in enumerate(series):
        runs: list[list[tuple[float, float, Number]]] = [[]]
        for i, v in enumerate(vs):
            if v is None or not math.isfinite(float(v)):
                runs.append([])
            else:
                runs[-1].append((px(i), py(v), v))
        d = dash(si)
        for run in runs:
            if len(run) >= 2:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in run)
                parts.append(
                    f'<polyline points="{pts}" fill="none" stroke="{colour(si, colours)}" stroke-width="2.2" '
                    f'stroke-linejoin="round" stroke-linecap="round"'
                    + (f' stroke-dasharray="{d}"' if d else "")
                    + "/>"
                )
            if n <= 40:
                for x, y, v in run:
                    parts.append(
                        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="#fff" '
                        f'stroke="{colour(si, colours)}" '
                        f'stroke-width="1.6"><title>{escape(label)}: {escape(y_format(v))}</title></circle>'
                    )
    legend_y = top + plot_h + 30 + (14 if x_title else 0) + 6
    parts.append(f'<g transform="translate(0 {legend_y:.1f})">{"".join(legend_parts)}</g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    *,
    title: str,
    value_format: Callable[[Number | None], str] = fmt_number,
    x_max: float | None = None,
    width: int = 860,
    label_width: int | None = None,
    colours: Sequence[str] | None = None,
) -> Markup:
    """Horizontal grouped bars: one group per category, one bar per series, value printed at the end."""
    labels = [label for label, _ in series]
    values = [float(v) for _, vs in series for v in vs if v is not None]
    k = max(len(series), 1)
    bar_h = 14 if k > 1 else 18
    group_h = k * bar_h + (k - 1) * 3 + 14
    cats = [_truncate(c, 34) for c in categories]
    if label_width is None:
        label_width = int(min(max((6.6 * max((len(c) for c in cats), default=4)) + 16, 80), 250))
    legend_parts: list[str] = []
    legend_h = 0.0
    if k > 1:
        legend_h = (
            _legend(
                legend_parts, labels, label_width, 0, width - label_width - 10, marker="box", colours=colours
            )
            + 6
        )
    top = 8
    height = int(top + group_h * max(len(categories), 1) + legend_h + 8)
    parts = _open_svg(width, height, title)
    if not categories or not values:
        parts = _open_svg(width, 60, title)
        parts.append(_text(width / 2, 34, "no data in this range", anchor="middle", size=13))
        parts.append("</svg>")
        return Markup("".join(parts))
    hi = x_max if x_max is not None else max(max(values), 0) or 1.0
    value_room = 64
    plot_w = width - label_width - value_room
    for ci, cat in enumerate(cats):
        gy = top + ci * group_h
        parts.append(_text(label_width - 10, gy + (k * bar_h + (k - 1) * 3) / 2 + 4, cat, anchor="end",
                           size=11.5, fill=INK))  # fmt: skip
        for si, (label, vs) in enumerate(series):
            v = vs[ci] if ci < len(vs) else None
            y = gy + si * (bar_h + 3)
            parts.append(
                f'<rect x="{label_width}" y="{y:.1f}" width="{plot_w:.1f}" height="{bar_h}" fill="#f3f4f6"/>'
            )
            if v is not None:
                w = max(0.0, min(float(v) / hi, 1.0)) * plot_w
                parts.append(
                    f'<rect x="{label_width}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" '
                    f'fill="{colour(si, colours)}"><title>{escape(label)} · {escape(cat)}: '
                    f"{escape(value_format(v))}</title></rect>"
                )
            parts.append(_text(label_width + plot_w + 6, y + bar_h - 3.5, value_format(v), size=11, fill=INK))
    if legend_parts:
        ly = top + group_h * len(categories) + 8
        parts.append(f'<g transform="translate(0 {ly:.1f})">{"".join(legend_parts)}</g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_colour(share: float | None) -> tuple[str, str]:
    """(background, text colour) for a 0..1 value on a single-hue blue scale (colour-blind safe)."""
    if share is None or not math.isfinite(float(share)):
        return "#ffffff", MUTED
    # Stop short of full blue so dark text keeps a contrast of at least 4.5:1 (WCAG AA) on every cell.
    s = max(0.0, min(float(share), 1.0)) * 0.7
    # Interpolate white → Okabe–Ito blue (#0072B2), in sRGB; good enough for a table.
    r = round(255 + (0x00 - 255) * s)
    g = round(255 + (0x72 - 255) * s)
    b = round(255 + (0xB2 - 255) * s)
    return f"#{r:02x}{g:02x}{b:02x}", INK
