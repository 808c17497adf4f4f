"""Trend: a line per series over the range's intervals (``seglab analyze trend``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seglab.core.charts.drill import (
    EventReader,
    SliceMembers,
    bucket_bounds,
    chart_groups,
    event_text,
    period_label,
    series_filter,
    to_units,
    unit_word,
)
from seglab.core.charts.kind import ChartKind, event_words, every, series_of
from seglab.core.timeutil import DAY_MS

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


VALUE_WORDS = {"sum": "Sum", "avg": "Average", "min": "Minimum", "max": "Maximum", "median": "Median"}
COUNT_WORDS = {
    "users": "Unique users",
    "accounts": "Unique accounts",
    "count": "Events",
    "per_user": "Events per user",
}


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import TrendRequest
    from seglab.core.charts.run import breakdown_of

    return TrendRequest(
        event=spec.option("event", "*"),
        measure=spec.option("measure", "users"),
        interval=spec.interval,
        of=spec.option("of") or None,
        by=breakdown_of(spec),
        compare=spec.option("compare") or None,
        series=series_of(series),
        **window,
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_trend

    return run_trend(conn, request, progress)  # the trend breaks itself down (event properties too)


def describe(spec: ChartSpec, o: dict) -> str:
    if o.get("measure") in VALUE_WORDS:
        what = f"{VALUE_WORDS[o['measure']]} of {o.get('of')} in {event_words(o, 'event')}"
    else:
        what = COUNT_WORDS.get(str(o.get("measure")), "Events")
        what += f" doing {o['event']}" if o.get("event", "*") != "*" else ""
    what += f" per {every(spec)}"
    return what + (" vs the previous period" if o.get("compare") == "previous" else "")


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    """The units behind one trend point: those with a matching event in the interval (by an event
    property, with an event of the point's value; for a value measure, an event with a value)."""
    from seglab.core.analyses.breakdown import label_of

    start = str(req.get("period_start"))
    first_day, last_day = bucket_bounds(start, spec.interval)
    lo = max(first_day * DAY_MS, window.start_ms)
    hi = min((last_day + 1) * DAY_MS - 1, window.end_ms)
    event = spec.option("event", "*")
    reader = EventReader(conn, event, window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause("e.event_key")
    unit_sql, unit_params = series_filter(s, "e.user_key")
    from seglab.core.charts.run import breakdown_of

    by = breakdown_of(spec)
    group = req.get("group")
    by_event = by is not None and by.entity == "event" and group is not None
    gcol = ""
    if by_event:
        from seglab.core.analyses.breakdown import property_info

        prop = property_info(reader.engine, by)
        gcol = f", e.{prop.column}"
    valued = ""
    if spec.option("measure") in VALUE_WORDS:  # a value measure counts only events with a value
        from seglab.core.analyses.breakdown import Breakdown, property_info

        col = property_info(reader.engine, Breakdown("event", str(spec.option("of")))).column
        valued = f" AND e.{col} IS NOT NULL"
    rows = reader.execute(
        f"SELECT e.user_key{gcol} FROM events e WHERE e.ts BETWEEN ? AND ?{ev_sql}{unit_sql}{valued}",
        [lo, hi, *ev_params, *unit_params],
    )
    if by_event:
        groups = chart_groups(conn, spec)
        rows = [r for r in rows if groups.of(label_of(r[1], prop.type)) == group]
    measure = spec.option("measure")
    level = "account" if measure == "accounts" else s.level
    keys = to_units(conn, level, (r[0] for r in rows))
    if s.keys is not None and level == s.level:
        inside = set(s.keys)
        keys = tuple(k for k in keys if k in inside)
    what = "any event" if event == "*" else event_text(event)
    if by_event:
        what += f" with {by.property} {group}"
    title = f"{s.label}: {unit_word(level)} who did {what} in {period_label(start, spec.interval)}"
    return SliceMembers(level, keys, title)


def draw_options(spec: ChartSpec) -> dict[str, Any]:
    measure = spec.option("measure", "users")
    options: dict[str, Any] = {
        "measure": measure,
        "moving_average_periods": int(spec.option("moving_average", 0) or 0),
    }
    if measure in VALUE_WORDS and spec.option("of"):
        options["y_title"] = f"{VALUE_WORDS[measure]} of {spec.option('of')}"
    return options


KIND = ChartKind(
    name="trend",
    title="Trend",
    analyze="trend",
    defaults={"event": "*", "measure": "users", "moving_average": 0},
    draws="trend",
    build=build,
    run=run,
    describe=describe,
    members=members,
    breakdown=("user", "account", "event"),
    draw_options=draw_options,
    options=("of", "compare", "by", "by_limit"),
)
