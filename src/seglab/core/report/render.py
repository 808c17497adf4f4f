"""Turn a :class:`~seglab.core.report.worksheet.Worksheet` into one self-contained HTML file.

Jinja2 with autoescape on renders ``templates/worksheet.html.j2``; charts are inline
SVG from :mod:`seglab.core.report.svg` (already escaped, passed as ``Markup``). The page
loads nothing: no fonts, scripts, images or style sheets from anywhere.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from seglab.core import formatting
from seglab.core.palette import PALETTE, REST_COLOR
from seglab.core.report import svg
from seglab.core.report.worksheet import SegmentSection, Worksheet

TEMPLATES = Path(__file__).with_name("templates")
REST_NAME = "the rest"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = svg.fmt_number
    env.filters["pct"] = svg.fmt_percent
    env.filters["duration"] = fmt_duration
    env.filters["heat"] = svg.heat_colour
    env.filters["when"] = fmt_when
    env.filters["ratio"] = fmt_ratio
    return env


def fmt_ratio(value: float) -> str:
    """Two significant figures below 10 (0.019 → '0.019', 1.84 → '1.8'), whole numbers above."""
    v = float(value)
    if v >= 10:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}"


def fmt_when(iso: str | None) -> str:
    """'2024-02-06T08:00:00.000Z' → '2024-02-06 08:00 UTC' (exact values stay in the command line)."""
    if not iso:
        return "–"
    return f"{iso[:10]} {iso[11:16]} UTC"


fmt_duration = formatting.duration


def _short_date(iso: str) -> str:
    # "2024-03-04" → "4 Mar" (the year is in the header and the table captions).
    import datetime as dt

    d = dt.date.fromisoformat(iso[:10])
    return f"{d.day} {d.strftime('%b')}"


def _unit(level: str, n: int | None = None) -> str:
    word = "user" if level == "user" else "account"
    return word if n == 1 else word + "s"


def section_charts(section: SegmentSection) -> dict[str, object]:
    """The SVG charts of one segment's section (None where there is nothing to draw)."""
    charts: dict[str, object] = dict.fromkeys(("size", "activity", "funnel", "retention", "distinctions"))
    name = section.name
    has_rest = section.rest_size > 0  # an everyone-segment has no "rest" to draw

    def pair(seg_values, rest_values):
        return [(name, seg_values)] + ([(REST_NAME, rest_values)] if has_rest else [])

    # The segment in its app colour, the rest in grey (one palette: seglab.core.palette).
    colours = [section.colour, REST_COLOR]

    if section.size_over_time is not None:
        p = section.size_over_time
        charts["size"] = svg.line_chart(
            [_short_date(x) for x in p.x],
            [(name, p.segment)],
            title=f"Size of {name} at the end of each week",
            colours=colours,
            y_min=0,
            integer=True,
            height=200,
        )
    if section.activity is not None:
        p = section.activity
        charts["activity"] = svg.line_chart(
            [_short_date(x) for x in p.x],
            pair(p.segment, p.rest),
            title=f"Share of {name} and of the rest active each week",
            colours=colours,
            y_format=svg.fmt_percent,
            y_min=0,
            partial_from=p.partial_from,
            x_title="week starting",
        )
    if section.funnel is not None:
        f = section.funnel
        charts["funnel"] = svg.bar_chart(
            [f"{row['step']}. {row['event']}" for row in f.table],
            pair([row["seg_rate"] for row in f.table], [row["rest_rate"] for row in f.table]),
            title=f"Key funnel conversion from the first step: {name} vs the rest",
            colours=colours,
            value_format=lambda v: svg.fmt_percent(v, 1),
            x_max=1.0,
        )
    if section.retention is not None:
        r = section.retention
        charts["retention"] = svg.line_chart(
            [f"week {k}" for k in r.periods],
            pair(r.segment_curve, r.rest_curve),
            title=f"Weekly retention: {name} vs the rest",
            colours=colours,
            y_format=svg.fmt_percent,
            y_min=0,
            y_max=1.0,
            x_title="weeks after the cohort's first active week",
        )
    shares = [d for d in section.distinctions if d.is_share]
    if shares:
        charts["distinctions"] = svg.bar_chart(
            [d.label for d in shares],
            pair([d.segment_value for d in shares], [d.rest_value for d in shares]),
            title=f"What distinguishes {name}: share with each trait, vs the rest",
            colours=colours,
            value_format=lambda v: svg.fmt_percent(v, 0),
            x_max=1.0,
        )
    return charts


def glance(section: SegmentSection) -> list[tuple[str, str, str]]:
    """A few headline comparisons, segment vs the rest: (what, segment, rest)."""
    rows: list[tuple[str, str, str]] = []
    rest = section.rest_size > 0
    a = section.activity
    if a is not None and a.x:
        i = len(a.x) - 1 if a.partial_from is None else a.partial_from - 1
        if i >= 0:
            rows.append(
                (
                    f"active in the week of {_short_date(a.x[i])}",
                    svg.fmt_percent(a.segment[i]),
                    svg.fmt_percent(a.rest[i]) if rest else "–",
                )
            )
    f = section.funnel
    if f is not None and f.table:
        last = f.table[-1]
        rows.append(
            (
                "completed the key funnel",
                svg.fmt_percent(last["seg_rate"]),
                svg.fmt_percent(last["rest_rate"]) if rest else "–",
            )
        )
    r = section.retention
    if r is not None:
        known = [k for k in r.periods if k > 0 and r.segment_curve[k] is not None]
        if known:
            k = min(known[-1], 4)
            rest_value = r.rest_curve[k] if rest else None
            rows.append((f"still active {k} weeks later", svg.fmt_percent(r.segment_curve[k]),
                         svg.fmt_percent(rest_value)))  # fmt: skip
    return rows


def render(worksheet: Worksheet) -> str:
    env = _environment()
    template = env.get_template("worksheet.html.j2")
    return template.render(
        ws=worksheet,
        h=worksheet.header,
        sections=[(s, section_charts(s)) for s in worksheet.sections],
        glance=glance,
        unit=_unit,
        rest_name=REST_NAME,
        palette=(PALETTE[0], REST_COLOR),
    )
