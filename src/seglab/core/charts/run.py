"""Running a chart: the spec's series and request, the kind's analysis, the frame the chart draws.

:func:`run_chart` returns the analysis's tidy DataFrame unchanged, so a chart holds
exactly the numbers the command line prints.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from seglab.core.charts.errors import ChartError
from seglab.core.charts.registry import get_kind
from seglab.core.charts.series import ResolvedSeries, chart_dates, resolve_chart_as_of, resolve_series
from seglab.core.progress import NULL_PROGRESS, Progress, install_interrupt

if TYPE_CHECKING:
    from seglab.core.charts.spec import ChartSpec


def breakdown_of(spec: ChartSpec):
    """The chart's "Breakdown by" (``options["by"]``: ``ENTITY.PROPERTY``), or None."""
    text = spec.option("by")
    kind = get_kind(spec.kind)
    if not text or not kind.breakdown:
        return None
    from seglab.core.analyses.breakdown import parse_by

    by = parse_by(str(text), int(spec.option("by_limit", 10) or 10))
    if by.entity not in kind.breakdown:
        raise ChartError(f"{spec.title} charts break down by a user or account property, not {by.text}")
    return by


def build_request(spec: ChartSpec, series: tuple[ResolvedSeries, ...], as_of_ms: int):
    """The analysis request for ``spec`` (the kind's rules checked first)."""
    kind = get_kind(spec.kind)
    problem = kind.problem(spec)
    if problem:
        raise ChartError(problem)
    date_from, date_to = chart_dates(spec, as_of_ms)
    window = {"as_of_ms": as_of_ms, "date_from": date_from, "date_to": date_to}
    return kind.build(spec, series, window)


def run_chart(conn: sqlite3.Connection, spec: ChartSpec, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """Run the analysis behind ``spec``; the DataFrame is the analysis's own, unchanged.

    ``frame.attrs`` carries what the chart needs besides the numbers: ``as_of_ms``,
    ``kind`` and ``series`` (``[(label, level, role, segment_id), ...]``); distribution
    adds ``stats`` (median, p90 ... per series) and overlap ``jaccard`` (pairs). On a connected
    project (docs/sources.md) it runs in the source: ``seglab.core.engines.analyses``.
    """
    from seglab.core.engines.base import source_of

    if source_of(conn) is not None:  # a connected project: pushed down to its source
        from seglab.core.engines.analyses import run_chart_connected

        return run_chart_connected(conn, spec, progress)
    as_of_ms = resolve_chart_as_of(conn, spec)
    if as_of_ms is None:
        raise ChartError("the project has no events yet; import events to draw charts")
    series = resolve_series(conn, spec, as_of_ms)
    request = build_request(spec, series, as_of_ms)
    frame = get_kind(spec.kind).run(conn, spec, request, progress)
    frame.attrs["as_of_ms"] = int(as_of_ms)
    frame.attrs["kind"] = spec.kind
    frame.attrs["series"] = [(s.label, s.level, s.role, s.segment_id) for s in series]
    return frame


def run_chart_file(path: Path, spec: ChartSpec, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """:func:`run_chart` on its own read-only connection (for a worker thread); a connected
    project's source is opened for the task like every other app task (engines.tasks)."""
    from seglab.core.engines.tasks import is_connected, task_engine
    from seglab.core.storage.connection import connected

    if is_connected(path):
        from seglab.core.engines.analyses import chart_frame

        with task_engine(path, progress) as (_conn, engine):
            return chart_frame(engine, spec, progress)  # type: ignore[arg-type]

    with connected(path, readonly=True) as conn:
        install_interrupt(conn, progress)
        return run_chart(conn, spec, progress)
