"""Overlap of 2–6 segments of one level: every intersection region, and pairwise Jaccard."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from seglab.core.analyses.common import SeriesSpec, check_series
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress

OVERLAP_COLUMNS = ["region", "segments", "units", "share"]
JACCARD_COLUMNS = ["segment_a", "segment_b", "intersection", "union", "jaccard"]
REGION_SEPARATOR = " & "


@dataclass(frozen=True)
class OverlapRequest:
    series: tuple[SeriesSpec, ...]
    as_of_ms: int | None = None  # when the members are taken: a connected project's (local keys are)


def _sets(request: OverlapRequest) -> list[tuple[str, frozenset[int]]]:
    check_series(request.series)
    if not 2 <= len(request.series) <= 6:
        raise AnalysisError("an overlap needs 2 to 6 segments")
    levels = {s.level for s in request.series}
    if len(levels) != 1:
        raise AnalysisError("the segments of an overlap must all be user segments or all account segments")
    for s in request.series:
        if s.keys is None:
            raise AnalysisError(f"{s.label!r}: an overlap needs segments, not everyone")
    return [(s.label, frozenset(s.keys or ())) for s in request.series]


def run_overlap(conn, request: OverlapRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """One row per region: units in exactly those segments and no other (all 2^n - 1 regions,
    largest combinations first); ``share`` is of the union of all the segments."""
    sets = _sets(request)
    union = frozenset().union(*(s for _, s in sets))
    rows = []
    n = len(sets)
    for size in range(n, 0, -1):
        for combo in combinations(range(n), size):
            inside = frozenset.intersection(*(sets[i][1] for i in combo))
            outside = frozenset().union(*(sets[i][1] for i in range(n) if i not in combo))
            units = len(inside - outside)
            label = REGION_SEPARATOR.join(sets[i][0] for i in combo)
            rows.append((label, size, units, units / len(union) if union else 0.0))
    return pd.DataFrame(rows, columns=OVERLAP_COLUMNS)


def run_jaccard(conn, request: OverlapRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """Every pair of segments: intersection, union and Jaccard index (0 when both are empty)."""
    sets = _sets(request)
    rows = []
    for (la, a), (lb, b) in combinations(sets, 2):
        inter, uni = len(a & b), len(a | b)
        rows.append((la, lb, inter, uni, inter / uni if uni else 0.0))
    return pd.DataFrame(rows, columns=JACCARD_COLUMNS)
