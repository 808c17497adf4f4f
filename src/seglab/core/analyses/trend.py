"""Trend: an event's count, unique users, unique accounts or events per user, per calendar interval."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import group_rows, in_series, load_bucket_activity, unit_map_for
from seglab.core.analyses.common import (
    EVERYONE_SERIES,
    Engine,
    Interval,
    SeriesSpec,
    buckets_for,
    check_interval,
    check_series,
    event_clause,
    resolve_window,
    rollup_table,
    safe_rate,
    unit_filter,
)
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.timeutil import DAY_MS

Measure = Literal["count", "users", "accounts", "per_user"]
MEASURES = ("count", "users", "accounts", "per_user")
TREND_COLUMNS = ["segment", "period_start", "value"]


@dataclass(frozen=True)
class TrendRequest:
    event: str = "*"
    measure: Measure = "count"
    interval: Interval = "day"
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def run_trend(conn, request: TrendRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """One row per series and interval overlapping the range (zeros included), in series order."""
    if request.measure not in MEASURES:
        raise AnalysisError(f"measure {request.measure!r} is not one of {', '.join(MEASURES)}")
    check_interval(request.interval)
    check_series(request.series)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress)
    buckets = buckets_for(window.from_day, window.to_day, request.interval)
    distinct = _distinct_values(engine, request, window, buckets) if request.measure != "count" else None
    rows = []
    for i, series in enumerate(request.series):
        progress.report(i, len(request.series), f"trend: {series.label}")
        if request.measure in ("count", "per_user"):
            values = _count_values(engine, request, series, window, buckets)
        if distinct is not None:
            units = distinct(series)
            values = (
                {b: safe_rate(values.get(b, 0), units[b]) for b in range(len(units))}
                if request.measure == "per_user"
                else {b: int(units[b]) for b in range(len(units))}
            )
        for b, start in enumerate(buckets.starts):
            rows.append((series.label, start.isoformat(), values.get(b, 0)))
    progress.report(len(request.series), len(request.series), "trend: done")
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS)
    if request.measure == "per_user":
        frame["value"] = frame["value"].astype("float64")
    else:
        frame["value"] = frame["value"].astype("int64")
    return frame


def _count_values(engine: Engine, request: TrendRequest, series: SeriesSpec, window, buckets) -> dict:
    """Events per bucket (SQL over the roll-up; the as-of day from the events if it is cut).

    Everyone's counts read ``event_days`` (per event name and day: a few hundred rows)
    rather than the per-user roll-ups."""
    if window.empty:
        return {}
    everyone = series.keys is None and series.level == "user"
    join_users = series.level == "account"
    as_of = window.as_of_ms
    as_of_day = as_of // DAY_MS
    bucket_sql, bucket_params = buckets.sql("d.day", sqlite=engine.is_sqlite)
    ev_sql, ev_params, _known = event_clause(engine, request.event, "d.event_key")
    table = "event_days" if everyone else rollup_table(ev_sql)
    unit_sql, unit_params = unit_filter(engine, series, "d.user_key", "u.account_key")
    join = " JOIN users u ON u.user_key = d.user_key" if join_users else ""
    cut_sql, _cut_params = engine.as_of_filter(as_of, "d.first_ts")
    if not cut_sql:
        # No event is later than as-of (the usual case): every day row is whole.
        sql = (
            f"SELECT {bucket_sql} AS b, SUM(d.n) FROM {table} d{join}"
            f" WHERE d.day BETWEEN ? AND ?{ev_sql}{unit_sql} GROUP BY b"
        )
        rows = engine.rows(sql, [*bucket_params, window.from_day, window.to_day, *ev_params, *unit_params])
        return {int(b): int(n) for b, n in rows}
    select = [
        "SUM(CASE WHEN d.day < ? THEN d.n ELSE 0 END)",
        "SUM(CASE WHEN d.day >= ? THEN d.n ELSE 0 END)",
        "SUM(CASE WHEN d.last_ts > ? THEN 1 ELSE 0 END)",
    ]
    sql = (
        f"SELECT {bucket_sql} AS b, {', '.join(select)} FROM {table} d{join}"
        + f" WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?{ev_sql}{unit_sql} GROUP BY b"
    )
    params = [
        *bucket_params, as_of_day, as_of_day, as_of,
        window.from_day, window.to_day, as_of, *ev_params, *unit_params,
    ]  # fmt: skip
    out: dict[int, float] = {}
    for b, n_before, n_on, straddling in engine.rows(sql, params):
        b = int(b)
        count = int(n_before or 0) + int(n_on or 0)
        if straddling and n_on:
            # The roll-up cannot split a day at as-of: count that one day from the events.
            count = int(n_before or 0) + _count_on_as_of_day(engine, request, series, as_of)
        out[b] = count
    return out


def _distinct_values(engine: Engine, request: TrendRequest, window, buckets):
    """A function series → unique users (or accounts) per bucket, sharing one read of the roll-up."""
    n = len(buckets.starts)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    if window.empty or last_day < window.from_day:
        return lambda series: np.zeros(n, dtype=np.int64)
    ev_sql, ev_params, _known = event_clause(engine, request.event, "d.event_key")
    # Only days inside the range are read, so a bucket starting before --from counts from --from.
    users, per_bucket = load_bucket_activity(
        engine, ev_sql, ev_params, buckets, window.from_day, last_day, window.as_of_ms
    )
    unit_map = unit_map_for(engine, request.series, need_all=request.measure == "accounts")

    def count(series: SeriesSpec) -> np.ndarray:
        keep = in_series(users, series, unit_map)
        if request.measure == "accounts":
            assert unit_map is not None  # need_all above
            accounts = unit_map.account_of(users[keep])
            has = accounts >= 0
            _keys, grouped = group_rows(accounts[has], per_bucket[keep][has])
            return grouped.sum(axis=0) if grouped.shape[0] else np.zeros(n, dtype=np.int64)
        return per_bucket[keep].sum(axis=0)

    return count


def _count_on_as_of_day(engine: Engine, request: TrendRequest, series: SeriesSpec, as_of: int) -> int:
    day_start = (as_of // DAY_MS) * DAY_MS
    ev_sql, ev_params, _ = event_clause(engine, request.event, "e.event_key")
    unit_sql, unit_params = unit_filter(engine, series, "e.user_key", "u.account_key")
    sql = (
        "SELECT COUNT(*) FROM events e"
        + (" JOIN users u ON u.user_key = e.user_key" if series.level == "account" else "")
        + f" WHERE e.ts BETWEEN ? AND ?{ev_sql}{unit_sql}"
    )
    return int(engine.one(sql, [day_start, as_of, *ev_params, *unit_params]) or 0)
