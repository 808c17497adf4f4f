"""Analyses on a connected project: ONE entry point for ``seglab analyze``, ``seglab chart run``
and the app's Charts page (docs/sources.md, "What runs where").

Signatures (stable; other modules call them)::

    run_analysis(engine, kind, request, *, by=None, stats=False, pairs=False,
                 progress=NULL_PROGRESS) -> pandas.DataFrame
        engine    an open :class:`~seglab.core.engines.clickhouse.ClickHouseEngine`
        kind      a chart kind or ``seglab analyze`` name: trend, funnel, retention,
                  distribution, top_events (top-events), stickiness, lifecycle, overlap,
                  segment_size (size), distinguishes (distinguish)
        request   the local analysis's own request (TrendRequest, FunnelRequest, ...), its
                  ``series`` being :class:`SourceSeries` (a definition, not member keys);
                  SizeOverTimeRequest keeps its ``(label, definition)`` segments
        by        a Breakdown by a user or account property (the trend reads ``request.by``)
        stats     distribution: the statistics instead of the bins (``--stats``)
        pairs     overlap: pairwise Jaccard instead of the regions (``--pairs``)
        progress  reported per series; when it is cancelled the running query is killed
                  and :class:`~seglab.core.errors.Cancelled` is raised
        -> the same DataFrame (columns, dtypes, row order) the local analysis returns for a
           local project of the same rows

    run_chart_connected(conn, spec, progress=NULL_PROGRESS) -> pandas.DataFrame
        what :func:`seglab.core.charts.run.run_chart` returns for a connected project
        (``conn``: the project file's connection): the same frame and ``attrs``.

Every query runs in the source; only results come back (``engine.client.rows_read_back``).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import TYPE_CHECKING, Any

import pandas as pd

from seglab.core.engines.clickhouse import ClickHouseEngine, SourceSeries
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    from seglab.core.charts.spec import ChartSpec

__all__ = ["KINDS", "SourceSeries", "chart_series", "run_analysis", "run_chart_connected"]

# ``seglab analyze`` names → chart kinds.
_ALIASES = {"top-events": "top_events", "size": "segment_size", "distinguish": "distinguishes"}
KINDS = (
    "trend",
    "funnel",
    "retention",
    "distribution",
    "top_events",
    "stickiness",
    "lifecycle",
    "overlap",
    "segment_size",
    "distinguishes",
)


def run_analysis(
    engine: ClickHouseEngine,
    kind: str,
    request: Any,
    *,
    by=None,
    stats: bool = False,
    pairs: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> pd.DataFrame:
    """The analysis ``kind`` of ``request`` pushed down to the engine's source (see the module)."""
    name = _ALIASES.get(kind, kind)
    if name not in KINDS:
        raise AnalysisError(f"unknown analysis {kind!r} (one of {', '.join(KINDS)})")
    with engine.watching(progress):
        return _DISPATCH[name](engine, request, by, stats, pairs, progress)


def _window(request) -> tuple:
    return request.as_of_ms, request.date_from, request.date_to


def _no_by(by, what: str) -> None:
    if by is not None:
        raise AnalysisError(f"a breakdown (--by) of {what} does not run on connected projects yet")


def _broken(engine, request, by, event, run):
    """``run(series)`` on the request's series, or on each series × group of the breakdown ``by``
    (ranked by the units that did ``event``), as ``analyses.breakdown.run_broken_down``."""
    from seglab.core.engines import clickhouse

    if by is None:
        return run(request.series)
    expanded, groups = clickhouse.broken_down(engine, request.series, by, event, *_window(request))
    return clickhouse.run_broken_down(run, request.series, expanded, groups)


def _trend(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    return clickhouse.trend(
        engine, request.event, request.measure, request.interval, request.series, *_window(request),
        of=request.of, by=request.by or by, compare=request.compare, progress=progress,
    )  # fmt: skip


def _funnel(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    steps = list(request.steps)
    return _broken(
        engine, request, by, steps[0],
        lambda series: clickhouse.funnel(engine, steps, request.within_days, series, *_window(request)),
    )  # fmt: skip


def _retention(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    def run(series):
        return clickhouse.retention(
            engine, request.start_event, request.return_event, request.interval, request.periods,
            series, *_window(request),
        )  # fmt: skip

    return _broken(engine, request, by, request.start_event, run)


def _distribution(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    return _broken(
        engine, request, by, request.event,
        lambda series: clickhouse.distribution(engine, request.event, series, *_window(request), stats=stats),
    )  # fmt: skip


def _top_events(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    _no_by(by, "top events")
    return clickhouse.top_events(engine, request.series, *_window(request), request.limit)


def _stickiness(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    def run(series):
        return clickhouse.stickiness(engine, request.event, request.interval, series, *_window(request))

    return _broken(engine, request, by, request.event, run)


def _lifecycle(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    def run(series):
        return clickhouse.lifecycle(engine, request.event, request.interval, series, *_window(request))

    return _broken(engine, request, by, request.event, run)


def _overlap(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    return clickhouse.overlap(engine, request.series, request.as_of_ms, pairs)


def _segment_size(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    return clickhouse.size_over_time(
        engine, list(request.segments), request.interval, *_window(request), vs_rest=request.vs_rest,
        by=request.by or by,
    )  # fmt: skip


def _distinguishes(engine, request, by, stats, pairs, progress):
    from seglab.core.engines import clickhouse

    _no_by(by, "'what distinguishes'")
    return clickhouse.distinguish(
        engine, request.series, *_window(request), max_values=request.max_values, limit=request.limit
    )


_DISPATCH = {
    "trend": _trend,
    "funnel": _funnel,
    "retention": _retention,
    "distribution": _distribution,
    "top_events": _top_events,
    "stickiness": _stickiness,
    "lifecycle": _lifecycle,
    "overlap": _overlap,
    "segment_size": _segment_size,
    "distinguishes": _distinguishes,
}


# -- charts -----------------------------------------------------------------------------------


def chart_series(conn: sqlite3.Connection, spec: ChartSpec) -> tuple[tuple, tuple[SourceSeries, ...]]:
    """A chart's series on a connected project: (ResolvedSeries without member keys, as the
    chart kinds build requests from them; the same series as :class:`SourceSeries`)."""
    from seglab.core.charts.errors import ChartError, MissingSegmentError
    from seglab.core.charts.series import (
        EVERYONE_LABEL,
        ResolvedSeries,
        rest_label,
        saved_segment_levels,
    )
    from seglab.core.segments import get_saved

    known = saved_segment_levels(conn)
    missing = [n for n in spec.segments if n not in known]
    if missing:
        raise MissingSegmentError(missing)
    if not spec.segments:
        resolved: tuple[ResolvedSeries, ...] = (ResolvedSeries(EVERYONE_LABEL, spec.unit, None, "everyone"),)
    else:
        out = []
        for name in dict.fromkeys(spec.segments):
            sid, level = known[name]
            out.append(ResolvedSeries(name, level, None, "segment", sid, get_saved(conn, name).definition))
        if len({s.level for s in out}) > 1:
            raise ChartError("a chart compares segments of one level: all users or all accounts")
        if spec.vs_rest:
            first = out[0]
            rest = ResolvedSeries(rest_label(first.label), first.level, None, "rest", None, first.definition)
            out = [first, rest]
        resolved = tuple(out)
    source = tuple(SourceSeries(s.label, s.level, s.definition, s.role == "rest") for s in resolved)
    return resolved, source


def _with_series(request, series: tuple[SourceSeries, ...], as_of_ms: int):
    fields = {f.name for f in dataclasses.fields(request)}
    if "as_of_ms" in fields and request.as_of_ms is None:
        request = dataclasses.replace(request, as_of_ms=as_of_ms)
    if "series" not in fields:
        return request
    if isinstance(request.series, tuple):
        return dataclasses.replace(request, series=series)
    return dataclasses.replace(request, series=series[0])  # distinguish: one series


def run_chart_connected(
    conn: sqlite3.Connection, spec: ChartSpec, progress: Progress = NULL_PROGRESS
) -> pd.DataFrame:
    """:func:`seglab.core.charts.run.run_chart` of a connected project, pushed down."""
    from seglab.core.engines.base import source_of

    source = source_of(conn)
    if source is None:
        raise AnalysisError("the project is not connected to a source")
    with ClickHouseEngine.open(conn, source) as engine:
        return chart_frame(engine, spec, progress)


def chart_frame(
    engine: ClickHouseEngine, spec: ChartSpec, progress: Progress = NULL_PROGRESS
) -> pd.DataFrame:
    """The chart's frame on an open engine (see :func:`run_chart_connected`)."""
    from seglab.core.timeutil import parse_as_of

    with engine.watching(progress):
        return _chart_frame(engine, spec, progress, parse_as_of(spec.as_of) if spec.as_of else None)


def _chart_frame(engine: ClickHouseEngine, spec: ChartSpec, progress: Progress, as_of: int | None):
    from seglab.core.charts.errors import ChartError
    from seglab.core.charts.run import breakdown_of, build_request

    as_of_ms = engine.as_of(as_of)
    if as_of_ms is None:
        raise ChartError("the source has no events yet, so there is nothing to chart")
    resolved, series = chart_series(engine.conn, spec)
    request = _with_series(build_request(spec, resolved, as_of_ms), series, as_of_ms)
    by = None if spec.kind == "trend" else breakdown_of(spec)
    frame = run_analysis(engine, spec.kind, request, by=by, progress=progress)
    if spec.kind == "distribution":  # the markers the chart draws (median, p90 ... per series)
        stats = run_analysis(engine, spec.kind, request, by=by, stats=True, progress=progress)
        frame.attrs["stats"] = stats.to_dict("records")
    elif spec.kind == "overlap":
        jaccard = run_analysis(engine, spec.kind, request, pairs=True, progress=progress)
        frame.attrs["jaccard"] = jaccard.to_dict("records")
    frame.attrs["as_of_ms"] = int(as_of_ms)
    frame.attrs["kind"] = spec.kind
    frame.attrs["series"] = [(s.label, s.level, s.role, s.segment_id) for s in resolved]
    return frame
