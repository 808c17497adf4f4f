"""Retention: cohorts by the first start event in the range, returns per calendar period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from seglab.core.analyses.common import (
    EVERYONE_SERIES,
    Engine,
    Interval,
    SeriesSpec,
    bucket_starts,
    buckets_for,
    check_interval,
    check_series,
    event_clause,
    resolve_window,
    safe_rate,
    unit_filter,
)
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress

RETENTION_COLUMNS = ["segment", "cohort_start", "cohort_size", "period", "retained", "rate", "complete"]
MAX_PERIODS = 400


@dataclass(frozen=True)
class RetentionRequest:
    start_event: str = "*"
    return_event: str = "*"
    interval: Interval = "week"
    periods: int = 8
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def run_retention(conn, request: RetentionRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """One row per series, non-empty cohort and period 0..periods-1."""
    check_interval(request.interval)
    if not isinstance(request.periods, int) or not 1 <= request.periods <= MAX_PERIODS:
        raise AnalysisError(f"--periods must be a whole number from 1 to {MAX_PERIODS}")
    check_series(request.series)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to)
    engine = Engine(conn, progress)
    n_cohorts = len(bucket_starts(window.from_date, window.to_date, request.interval))
    buckets = buckets_for(window.from_day, window.to_day, request.interval, extra=request.periods - 1)
    rows = []
    for i, series in enumerate(request.series):
        progress.report(i, len(request.series), f"retention: {series.label}")
        sizes, retained = _retention_series(engine, request, series, window, buckets)
        for c in range(n_cohorts):
            size = sizes.get(c, 0)
            if not size:
                continue
            start = buckets.starts[c].isoformat()
            for k in range(request.periods):
                got = retained.get((c, k), 0)
                complete = buckets.last_ms(c + k) <= window.as_of_ms
                rows.append((series.label, start, size, k, got, safe_rate(got, size), complete))
    progress.report(len(request.series), len(request.series), "retention: done")
    frame = pd.DataFrame(rows, columns=RETENTION_COLUMNS)
    for col in ("cohort_size", "period", "retained"):
        frame[col] = frame[col].astype("int64")
    frame["rate"] = frame["rate"].astype("float64")
    frame["complete"] = frame["complete"].astype("bool")
    return frame


def _retention_series(engine: Engine, request: RetentionRequest, series: SeriesSpec, window, buckets):
    if window.empty:
        return {}, {}
    account = series.level == "account"
    unit = "u.account_key" if account else "d.user_key"
    join = " JOIN users u ON u.user_key = d.user_key" if account else ""
    start_sql, start_params, _ = event_clause(engine, request.start_event, "d.event_key")
    ret_sql, ret_params, _ = event_clause(engine, request.return_event, "d.event_key")
    unit_sql, unit_params = unit_filter(engine, series, "d.user_key", "u.account_key")
    cb_sql, cb_params = buckets.sql("c.cday")
    rb_sql, rb_params = buckets.sql("d.day")
    as_of = window.as_of_ms
    cohorts = (
        f"SELECT {unit} AS unit, MIN(d.day) AS cday FROM user_days d{join}"
        f" WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?{start_sql}{unit_sql} GROUP BY {unit}"
    )
    cohort_params = [window.from_day, window.to_day, as_of, *start_params, *unit_params]
    returns = (
        f"SELECT DISTINCT {unit} AS unit, {rb_sql} AS rb FROM user_days d{join}"
        f" WHERE d.day >= ? AND d.day < ? AND d.first_ts <= ?{ret_sql}"
        + (" AND u.account_key IS NOT NULL" if account else "")
    )
    return_params = [*rb_params, buckets.base_day, buckets.end_day_exclusive, as_of, *ret_params]
    sql = (
        f"WITH c AS ({cohorts}), cb AS (SELECT c.unit, {cb_sql} AS cb FROM c), r AS ({returns}) "
        "SELECT cb.cb, -1, COUNT(*) FROM cb GROUP BY cb.cb "
        "UNION ALL "
        "SELECT cb.cb, r.rb - cb.cb, COUNT(*) FROM cb JOIN r ON r.unit = cb.unit "
        "WHERE r.rb >= cb.cb AND r.rb < cb.cb + ? GROUP BY cb.cb, r.rb - cb.cb"
    )
    params = [*cohort_params, *cb_params, *return_params, request.periods]
    sizes: dict[int, int] = {}
    retained: dict[tuple[int, int], int] = {}
    for cb, period, count in engine.rows(sql, params):
        if int(period) < 0:
            sizes[int(cb)] = int(count)
        else:
            retained[(int(cb), int(period))] = int(count)
    return sizes, retained
