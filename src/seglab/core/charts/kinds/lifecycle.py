"""Lifecycle: new, returning, resurrecting and dormant units (``seglab analyze lifecycle``)."""

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
from seglab.core.charts.errors import ChartError
from seglab.core.charts.kind import USER_ACCOUNT, ChartKind, event_words, every, run_analysis, series_of
from seglab.core.timeutil import DAY_MS

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import LifecycleRequest

    return LifecycleRequest(
        event=spec.option("event", "*"), interval=spec.interval, series=series_of(series), **window
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_lifecycle

    return run_analysis(conn, spec, request, run_lifecycle, progress, request.event)


def describe(spec: ChartSpec, o: dict) -> str:
    return f"Lifecycle per {every(spec)}: {event_words(o, 'event')}"


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    """The units with one lifecycle status in one interval (docs/analyses.md, lifecycle)."""
    from seglab.core.analyses.common import bucket_start, date_to_day, next_bucket

    interval = spec.interval
    status = str(req.get("status"))
    start = dt.date.fromisoformat(str(req.get("period_start"))[:10])
    prev = bucket_start(start - dt.timedelta(days=1), interval)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    now_lo, now_hi = date_to_day(start), min(date_to_day(next_bucket(start, interval)) - 1, last_day)
    before_lo, before_hi = date_to_day(prev), date_to_day(start) - 1
    reader = EventReader(conn, spec.option("event", "*"), window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause()
    unit_sql, unit_params = series_filter(s, "d.user_key")
    unit_expr = "d.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = d.user_key" if s.level == "account" else ""

    def active(lo: int, hi: int) -> set[int]:
        if hi < lo:
            return set()
        rows = reader.execute(
            f"SELECT DISTINCT {unit_expr} FROM user_days d{join} WHERE d.day BETWEEN ? AND ? "
            f"AND d.first_ts <= ?{ev_sql}{unit_sql}",
            [lo, hi, window.as_of_ms, *ev_params, *unit_params],
        )
        return {int(r[0]) for r in rows if r[0] is not None}

    now, before = active(now_lo, now_hi), active(before_lo, before_hi)
    first = reader.execute(
        f"SELECT {unit_expr}, MIN(d.day) FROM user_days d{join} WHERE d.first_ts <= ?{ev_sql}{unit_sql}"
        f" GROUP BY {unit_expr}",
        [window.as_of_ms, *ev_params, *unit_params],
    )
    new = {int(u) for u, day in first if u is not None and now_lo <= day <= now_hi} & now
    groups = {
        "new": new,
        "returning": (now & before) - new,
        "resurrecting": now - before - new,
        "dormant": before - now,
    }
    if status not in groups:
        raise ChartError(f"unknown lifecycle status {status!r}")
    keys = groups[status]
    if s.keys is not None:
        keys &= set(s.keys)
    label = period_label(start.isoformat(), interval)
    return SliceMembers(s.level, tuple(sorted(keys)), f"{s.label}: {status} {unit_word(s.level)} in {label}")


KIND = ChartKind(
    name="lifecycle",
    title="Lifecycle",
    analyze="lifecycle",
    defaults={"event": "*"},
    draws="lifecycle",
    build=build,
    run=run,
    describe=describe,
    members=members,
    breakdown=USER_ACCOUNT,
)
