"""What the chart editor lists: events, segments, saved charts, properties."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from seglab.core.charts.registry import REGISTRY
from seglab.core.charts.store import SavedChart, list_charts
from seglab.core.progress import NULL_PROGRESS, Progress


@dataclass(frozen=True)
class ChartCatalog:
    """What the chart editor lists: event names (most frequent first), saved segments, saved charts."""

    events: tuple[str, ...] = ()
    segments: tuple[tuple[str, str, int], ...] = ()  # (name, level, segment_id)
    charts: tuple[SavedChart, ...] = ()
    as_of_ms: int | None = None
    properties: tuple[tuple[str, str, str], ...] = ()  # (entity, name, type): "Breakdown by", "of"

    def breakdown_choices(self, kind: str) -> list[str]:
        """``ENTITY.PROPERTY`` a chart of ``kind`` can be broken down by (event ones: trends only)."""
        entities = REGISTRY[kind].breakdown if kind in REGISTRY else ()
        return [f"{e}.{n}" for e, n, _t in self.properties if e in entities]

    def numeric_event_properties(self) -> list[str]:
        return [n for e, n, t in self.properties if e == "event" and t in ("integer", "real")]


def chart_catalog(conn: sqlite3.Connection) -> ChartCatalog:
    from seglab.core.project import event_name_counts, load_properties, resolve_as_of

    segments = tuple(
        (name, level, int(sid))
        for sid, name, level in conn.execute("SELECT segment_id, name, level FROM segments ORDER BY name")
    )
    return ChartCatalog(
        events=tuple(name for name, _n in event_name_counts(conn)),
        segments=segments,
        charts=tuple(list_charts(conn)),
        as_of_ms=resolve_as_of(conn),
        properties=tuple((p.entity, p.name, p.type) for p in load_properties(conn)),
    )


def chart_catalog_file(path: Path, _request: Any = None, progress: Progress = NULL_PROGRESS) -> ChartCatalog:
    from seglab.core.engines.tasks import is_connected, task_engine
    from seglab.core.storage.connection import connected

    if is_connected(path):  # event names and the as-of time come from the source
        from seglab.core.engines import tasks

        with task_engine(path, progress) as (conn, engine):
            local = chart_catalog(conn)
            events = tuple(name for name, _n in tasks.event_name_counts(engine))  # type: ignore[arg-type]
            return replace(local, events=events, as_of_ms=engine.as_of())

    with connected(path, readonly=True) as conn:
        return chart_catalog(conn)
