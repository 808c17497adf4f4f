"""Stickiness (active days per week or month) and lifecycle (new, returning, resurrecting, dormant)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import (
    first_active_day,
    load_bucket_activity,
    load_day_activity,
    reduce_per_unit,
    series_units,
    unit_map_for,
)
from seglab.core.analyses.common import (
    EVERYONE_SERIES,
    Engine,
    Interval,
    SeriesSpec,
    bucket_start,
    buckets_for,
    check_series,
    date_to_day,
    day_to_date,
    event_clause,
    next_bucket,
    resolve_window,
)
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.timeutil import DAY_MS

STICKINESS_COLUMNS = ["segment", "period_start", "days", "units", "share"]
LIFECYCLE_COLUMNS = ["segment", "period_start", "status", "units"]
LIFECYCLE_STATUSES = ("new", "returning", "resurrecting", "dormant")


@dataclass(frozen=True)
class StickinessRequest:
    event: str = "*"
    interval: Interval = "week"
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class LifecycleRequest:
    event: str = "*"
    interval: Interval = "week"
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def run_stickiness(conn, request: StickinessRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """Per interval, units by how many distinct days (inside the range, up to as-of) they were active.

    ``days`` runs 1..days in the interval; ``share`` is of the units active in that interval.
    """
    if request.interval not in ("week", "month"):
        raise AnalysisError("stickiness needs --interval week or month")
    check_series(request.series)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress).for_event(request.event, window.as_of_ms)
    buckets = buckets_for(window.from_day, window.to_day, request.interval)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    ev_sql, ev_params, _ = event_clause(engine, request.event, "d.event_key")
    if window.empty or last_day < window.from_day:
        activity = None
    else:
        activity = load_day_activity(engine, ev_sql, ev_params, window.from_day, last_day, window.as_of_ms)
    unit_map = unit_map_for(engine, request.series)
    rows = []
    for series in request.series:
        matrix = None
        if activity is not None:
            _units, matrix = series_units(activity.units, activity.active, series, unit_map)
        for b, start in enumerate(buckets.starts):
            n_days = (next_bucket(start, request.interval) - start).days
            counts = np.zeros(n_days + 1, dtype=np.int64)
            lo = max(buckets.start_days[b], window.from_day) - window.from_day
            hi = min(date_to_day(next_bucket(start, request.interval)) - 1, last_day) - window.from_day
            if matrix is not None and matrix.shape[0] and hi >= lo:
                days = matrix[:, lo : hi + 1].sum(axis=1)
                counts += np.bincount(days, minlength=n_days + 1)[: n_days + 1]
            active = int(counts[1:].sum())
            for d in range(1, n_days + 1):
                share = counts[d] / active if active else 0.0
                rows.append((series.label, start.isoformat(), d, int(counts[d]), float(share)))
    return pd.DataFrame(rows, columns=STICKINESS_COLUMNS)


def run_lifecycle(conn, request: LifecycleRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """Per interval and status, the units: new (first ever event in the interval), returning (active
    in this and the previous interval), resurrecting (active now, not in the previous, not new) and
    dormant (active in the previous interval, not in this one). Whole calendar intervals count."""
    if request.interval not in ("day", "week", "month"):
        raise AnalysisError(f"interval {request.interval!r} is not one of day, week, month")
    check_series(request.series)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress).for_event(request.event, window.as_of_ms)
    first_start = bucket_start(window.from_date, request.interval)
    prev = bucket_start(first_start - dt.timedelta(days=1), request.interval)
    buckets = buckets_for(date_to_day(prev), window.to_day, request.interval)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    ev_sql, ev_params, _ = event_clause(engine, request.event, "d.event_key")
    n_b = len(buckets.starts)
    unit_map = unit_map_for(engine, request.series)
    act_users = np.zeros(0, dtype=np.int64)
    act = np.zeros((0, n_b), dtype=bool)
    if last_day >= buckets.base_day:
        act_users, act = load_bucket_activity(
            engine, ev_sql, ev_params, buckets, buckets.base_day, last_day, window.as_of_ms
        )
    f_users, f_days = first_active_day(engine, request.event, window.as_of_ms)
    rows = []
    for series in request.series:
        units, per_bucket = series_units(act_users, act, series, unit_map)
        f_units, f_day = reduce_per_unit(series, f_users, f_days, unit_map, "min")
        first_of = dict(zip(f_units.tolist(), f_day.tolist()))
        first_bucket = np.array(
            [buckets.index_of_day(first_of.get(int(u), -(10**9))) for u in units], dtype=np.int64
        )
        for b in range(1, n_b):
            now, before = per_bucket[:, b], per_bucket[:, b - 1]
            new = now & (first_bucket == b)
            counts = {
                "new": new,
                "returning": now & before & ~new,
                "resurrecting": now & ~before & ~new,
                "dormant": ~now & before,
            }
            for status in LIFECYCLE_STATUSES:
                rows.append((series.label, day_to_date(buckets.start_days[b]).isoformat(), status,
                             int(counts[status].sum())))  # fmt: skip
    return pd.DataFrame(rows, columns=LIFECYCLE_COLUMNS)
