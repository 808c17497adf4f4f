"""Retention: cohorts by the first start event in the range, returns per calendar period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import (
    first_day_in_range,
    in_series,
    load_bucket_activity,
    series_units,
    unit_map_for,
)
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
)
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.timeutil import DAY_MS

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
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress)
    n_cohorts = len(bucket_starts(window.from_date, window.to_date, request.interval))
    buckets = buckets_for(window.from_day, window.to_day, request.interval, extra=request.periods - 1)
    rows = []
    progress.report(0, 1, "retention")
    results = _retention_all(engine, request, window, buckets, n_cohorts)
    for series, (sizes, retained) in zip(request.series, results):
        for c in range(n_cohorts):
            size = int(sizes[c])
            if not size:
                continue
            start = buckets.starts[c].isoformat()
            for k in range(request.periods):
                got = int(retained[c, k])
                complete = buckets.last_ms(c + k) <= window.as_of_ms
                rows.append((series.label, start, size, k, got, safe_rate(got, size), complete))
    progress.report(len(request.series), len(request.series), "retention: done")
    frame = pd.DataFrame(rows, columns=RETENTION_COLUMNS)
    for col in ("cohort_size", "period", "retained"):
        frame[col] = frame[col].astype("int64")
    frame["rate"] = frame["rate"].astype("float64")
    frame["complete"] = frame["complete"].astype("bool")
    return frame


def _retention_all(engine: Engine, request: RetentionRequest, window, buckets, n_cohorts: int):
    """(cohort sizes, retained[cohort, period]) for every series, from two reads of the roll-up."""
    n_series = len(request.series)
    empty = (np.zeros(n_cohorts, dtype=np.int64), np.zeros((n_cohorts, request.periods), dtype=np.int64))
    if window.empty:
        return [empty] * n_series
    as_of = window.as_of_ms
    start_engine = engine.for_event(request.start_event, as_of)
    ret_engine = engine.for_event(request.return_event, as_of)
    ret_sql, ret_params, _ = event_clause(ret_engine, request.return_event, "d.event_key")
    first_users, first_days = first_day_in_range(
        start_engine, request.start_event, window.from_day, window.to_day, as_of
    )
    if not first_users.size:
        return [empty] * n_series
    first = np.column_stack((first_users, first_days))
    last_day = min(buckets.end_day_exclusive - 1, as_of // DAY_MS)
    act_users, per_bucket = load_bucket_activity(
        ret_engine, ret_sql, ret_params, buckets, buckets.base_day, last_day, as_of
    )
    unit_map = unit_map_for(engine, request.series)
    start_days = np.asarray(buckets.start_days, dtype=np.int64)
    out = []
    for series in request.series:
        keep = in_series(first[:, 0], series, unit_map)
        units, cday = first[keep, 0], first[keep, 1]
        if series.level == "account":
            assert unit_map is not None  # there is an account series
            units, cday = _min_per_account(unit_map.account_of(units), cday)
        act_units, act = series_units(act_users, per_bucket, series, unit_map)
        if units.size == 0:
            out.append(empty)
            continue
        cb = np.searchsorted(start_days, cday, side="right") - 1
        pos = np.minimum(np.searchsorted(act_units, units), max(act_units.size - 1, 0))
        has = (act_units[pos] == units) if act_units.size else np.zeros(units.size, dtype=bool)
        sizes = np.bincount(cb, minlength=n_cohorts)[:n_cohorts]
        retained = np.zeros((n_cohorts, request.periods), dtype=np.int64)
        for k in range(request.periods):
            got = np.zeros(units.size, dtype=bool)
            if act_units.size:
                got[has] = act[pos[has], cb[has] + k]
            retained[:, k] = np.bincount(cb, weights=got, minlength=n_cohorts)[:n_cohorts].astype(np.int64)
        out.append((sizes, retained))
    return out


def _min_per_account(accounts: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    has = accounts >= 0
    accounts, days = accounts[has], days[has]
    if accounts.size == 0:
        return accounts, days
    order = np.argsort(accounts, kind="stable")
    accounts, days = accounts[order], days[order]
    starts = np.flatnonzero(np.concatenate(([True], accounts[1:] != accounts[:-1])))
    return accounts[starts], np.minimum.reduceat(days, starts)
