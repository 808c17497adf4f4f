"""Retention: cohorts by first start event, back doing the return event (``seglab analyze retention``)."""

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
from seglab.core.charts.kind import USER_ACCOUNT, ChartKind, event_words, every, run_analysis, series_of

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import RetentionRequest

    return RetentionRequest(
        start_event=spec.option("start_event", "*"),
        return_event=spec.option("return_event", "*"),
        interval=spec.interval,
        periods=int(spec.option("periods", 8)),
        series=series_of(series),
        **window,
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_retention

    return run_analysis(conn, spec, request, run_retention, progress, request.start_event)


def describe(spec: ChartSpec, o: dict) -> str:
    return (
        f"Cohorts by first {event_words(o, 'start_event')}, back doing {event_words(o, 'return_event')}, "
        f"{o.get('periods', 8)} {every(spec)}s"
    )


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    from seglab.core.analyses.common import buckets_for, date_to_day

    start_event = spec.option("start_event", "*")
    return_event = spec.option("return_event", "*")
    cohort = dt.date.fromisoformat(str(req.get("cohort_start"))[:10])
    period = req.get("period")
    periods = int(spec.option("periods", 8))
    unit_sql, unit_params = series_filter(s, "d.user_key")
    unit_expr = "d.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = d.user_key" if s.level == "account" else ""

    start_reader = EventReader(conn, start_event, window.as_of_ms)
    ev_sql, ev_params, _ = start_reader.clause()
    first_rows = start_reader.execute(
        f"SELECT {unit_expr}, MIN(d.day) FROM user_days d{join} WHERE d.day BETWEEN ? AND ? "
        f"AND d.first_ts <= ?{ev_sql}{unit_sql} GROUP BY {unit_expr}",
        [window.from_day, window.to_day, window.as_of_ms, *ev_params, *unit_params],
    )
    buckets = buckets_for(window.from_day, window.to_day, spec.interval, extra=periods)
    cohort_index = buckets.index_of_day(date_to_day(cohort))
    members = sorted(
        int(u) for u, day in first_rows if u is not None and buckets.index_of_day(day) == cohort_index
    )
    label = period_label(cohort.isoformat(), spec.interval)
    if period is None:
        return SliceMembers(s.level, tuple(members), f"{s.label}: {unit_word(s.level)} of cohort {label}")
    period = int(period)
    target = cohort_index + period
    if target >= len(buckets.start_days):
        return SliceMembers(s.level, (), "")
    lo = buckets.start_days[target]
    hi = (
        buckets.start_days[target + 1] - 1
        if target + 1 < len(buckets.start_days)
        else buckets.end_day_exclusive - 1
    )
    return_reader = EventReader(conn, return_event, window.as_of_ms)
    ev_sql, ev_params, _ = return_reader.clause()
    ret_rows = return_reader.execute(
        f"SELECT DISTINCT {unit_expr} FROM user_days d{join} WHERE d.day BETWEEN ? AND ? "
        f"AND d.first_ts <= ?{ev_sql}{unit_sql}",
        [lo, hi, window.as_of_ms, *ev_params, *unit_params],
    )
    returned = {int(r[0]) for r in ret_rows if r[0] is not None}
    keys = tuple(k for k in members if k in returned)
    word = {"day": "day", "week": "week", "month": "month"}[spec.interval]
    title = f"{s.label}: {unit_word(s.level)} of cohort {label} retained in {word} {period}"
    return SliceMembers(s.level, keys, title)


KIND = ChartKind(
    name="retention",
    title="Retention",
    analyze="retention",
    defaults={"start_event": "*", "return_event": "*", "periods": 8},
    draws="retention",
    build=build,
    run=run,
    describe=describe,
    members=members,
    breakdown=USER_ACCOUNT,
)
