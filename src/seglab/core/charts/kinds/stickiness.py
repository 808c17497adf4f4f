"""Stickiness: units by days active per week or month (``seglab analyze stickiness``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    EventReader,
    SliceMembers,
    period_label,
    series_filter,
    unit_word,
)
from seglab.core.charts.kind import USER_ACCOUNT, ChartKind, event_words, run_analysis, series_of
from seglab.core.timeutil import DAY_MS

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import StickinessRequest

    interval = "week" if spec.interval == "day" else spec.interval
    return StickinessRequest(
        event=spec.option("event", "*"), interval=interval, series=series_of(series), **window
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_stickiness

    return run_analysis(conn, spec, request, run_stickiness, progress, request.event)


def describe(spec: ChartSpec, o: dict) -> str:
    return f"Days active per {'month' if spec.interval == 'month' else 'week'}: {event_words(o, 'event')}"


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    """The units active on exactly the bar's number of days in its interval (inside the range), or,
    without ``period_start`` (the chart's bar sums every period), in some interval of the range."""
    from seglab.core.analyses.common import buckets_for, date_to_day, next_bucket

    interval = "week" if spec.interval == "day" else spec.interval
    days = int(req.get("days"))
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    one = req.get("period_start") is not None
    if one:
        starts = [dt.date.fromisoformat(str(req.get("period_start"))[:10])]
    else:
        starts = buckets_for(window.from_day, window.to_day, interval).starts
    reader = EventReader(conn, spec.option("event", "*"), window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause()
    unit_sql, unit_params = series_filter(s, "d.user_key")
    unit_expr = "d.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = d.user_key" if s.level == "account" else ""
    inside = set(s.keys) if s.keys is not None else None
    found: set[int] = set()
    for start in starts:
        lo = max(date_to_day(start), window.from_day)
        hi = min(date_to_day(next_bucket(start, interval)) - 1, last_day)
        if hi < lo:
            continue
        rows = reader.execute(
            f"SELECT {unit_expr}, COUNT(DISTINCT d.day) FROM user_days d{join} WHERE d.day BETWEEN ? AND ?"
            f" AND d.first_ts <= ?{ev_sql}{unit_sql} GROUP BY {unit_expr}",
            [lo, hi, window.as_of_ms, *ev_params, *unit_params],
        )
        found |= {int(u) for u, n in rows if u is not None and n == days and (inside is None or u in inside)}
    word = "day" if days == 1 else "days"
    where = (
        f"in {period_label(starts[0].isoformat(), interval)}" if one else f"in some {interval} of the range"
    )
    title = f"{s.label}: {unit_word(s.level)} active {days} {word} {where}"
    return SliceMembers(s.level, tuple(sorted(found)), title)


KIND = ChartKind(
    name="stickiness",
    title="Stickiness",
    analyze="stickiness",
    defaults={"event": "*"},
    draws="stickiness",
    build=build,
    run=run,
    describe=describe,
    members=members,
    breakdown=USER_ACCOUNT,
    draw_options=lambda spec: {"interval": "week" if spec.interval == "day" else spec.interval},
)
