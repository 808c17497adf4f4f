"""Distribution: how many times each unit did an event in the range, as bins and percentiles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import reduce_per_unit, unit_map_for, user_event_counts
from seglab.core.analyses.common import EVERYONE_SERIES, Engine, SeriesSpec, check_series, resolve_window
from seglab.core.progress import NULL_PROGRESS, Progress

DISTRIBUTION_COLUMNS = ["segment", "bin_low", "bin_high", "units", "share"]
DISTRIBUTION_STATS_COLUMNS = ["segment", "units", "mean", "median", "p75", "p90", "p99", "max"]


@dataclass(frozen=True)
class DistributionRequest:
    event: str = "*"
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def bin_edges(max_count: int) -> list[tuple[int, int]]:
    """1, 2, 3–4, 5–8, 9–16 ...: doubling bins up to the largest count (inclusive bounds)."""
    edges = [(1, 1)]
    while edges[-1][1] < max_count:
        low = edges[-1][1] + 1
        edges.append((low, max(low, 2 * edges[-1][1])))
    return edges


def unit_counts(conn, request: DistributionRequest) -> list[tuple[SeriesSpec, np.ndarray]]:
    """Per series, the event count of each unit with at least one such event in the range."""
    check_series(request.series)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn).for_event(request.event, window.as_of_ms)
    if window.empty:
        return [(s, np.zeros(0, dtype=np.int64)) for s in request.series]
    users, counts = user_event_counts(engine, request.event, window)
    unit_map = unit_map_for(engine, request.series)
    return [(s, reduce_per_unit(s, users, counts, unit_map, "sum")[1]) for s in request.series]


def run_distribution(conn, request: DistributionRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """One row per series and bin (bins shared by every series, zeros included)."""
    per_series = unit_counts(conn, request)
    top = max((int(c.max()) for _, c in per_series if c.size), default=1)
    edges = bin_edges(top)
    rows = []
    for series, counts in per_series:
        total = counts.size
        for low, high in edges:
            n = int(((counts >= low) & (counts <= high)).sum())
            rows.append((series.label, low, high, n, n / total if total else 0.0))
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def run_distribution_stats(
    conn, request: DistributionRequest, progress: Progress = NULL_PROGRESS
) -> pd.DataFrame:
    """Mean, median and upper percentiles (linear interpolation) of the per-unit counts."""
    rows = []
    for series, counts in unit_counts(conn, request):
        if counts.size == 0:
            rows.append((series.label, 0, *([float("nan")] * 5), 0))
            continue
        p = np.percentile(counts, [50, 75, 90, 99])
        rows.append((series.label, counts.size, float(counts.mean()), *map(float, p), int(counts.max())))
    return pd.DataFrame(rows, columns=DISTRIBUTION_STATS_COLUMNS)
