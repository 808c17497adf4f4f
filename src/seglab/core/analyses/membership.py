"""Segment size over time (membership re-evaluated per interval) and complement series."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import universe_keys
from seglab.core.analyses.common import (
    Engine,
    Interval,
    SeriesSpec,
    buckets_for,
    check_interval,
    resolve_window,
)
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress, check_cancelled

SIZE_COLUMNS = ["segment", "period_start", "evaluated_at", "size"]


@dataclass(frozen=True)
class SizeOverTimeRequest:
    segments: tuple[tuple[str, Any], ...]  # (label, segment definition as the segment engine takes it)
    interval: Interval = "week"
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def run_size_over_time(
    conn, request: SizeOverTimeRequest, progress: Progress = NULL_PROGRESS
) -> pd.DataFrame:
    """Per segment and interval, the segment's size at the interval's last millisecond (or at as-of
    for the interval holding it); intervals that start after as-of are left out."""
    from seglab.core.segments import count

    check_interval(request.interval)
    if not request.segments:
        raise AnalysisError("segment size over time needs at least one segment")
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    buckets = buckets_for(window.from_day, window.to_day, request.interval)
    rows = []
    total = len(request.segments) * len(buckets.starts)
    done = 0
    for label, definition in request.segments:
        for b, start in enumerate(buckets.starts):
            if buckets.start_ms(b) > window.as_of_ms:
                continue
            check_cancelled(progress)
            at = min(buckets.last_ms(b), window.as_of_ms)
            rows.append((label, start.isoformat(), _iso(at), int(count(conn, definition, at))))
            done += 1
            progress.report(done, total, f"size of {label}")
    return pd.DataFrame(rows, columns=SIZE_COLUMNS)


def _iso(ms: int) -> str:
    from seglab.core.timeutil import ms_to_iso

    return ms_to_iso(ms) or ""


def complement_series(conn, series: SeriesSpec, label: str | None = None) -> SeriesSpec:
    """The rest of the series' level universe ("not in the segment")."""
    if series.keys is None:
        raise AnalysisError(f"{series.label!r} is everyone: it has no complement")
    universe = universe_keys(Engine(conn), series.level)
    rest = universe[~np.isin(universe, np.asarray(series.keys, dtype=np.int64))]
    return SeriesSpec(label or f"not {series.label}", series.level, tuple(int(k) for k in rest))
