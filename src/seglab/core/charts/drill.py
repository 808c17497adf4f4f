"""Drill-down: "who is behind this point / bar / cell" (:func:`slice_members`).

The page sends a :class:`SliceRequest` (the chart's spec and the slice's coordinates);
the kind's own ``members`` (beside its analysis, in ``kinds/<kind>.py``) answers with
the same series and the same semantics (docs/analyses.md). This module holds what the
kinds' ``members`` share: reading the chart's filtered events, a series as SQL, the
people of one breakdown group.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seglab.core.charts.errors import ChartError
from seglab.core.charts.series import EVERYONE_LABEL, ResolvedSeries
from seglab.core.progress import NULL_PROGRESS, Progress, install_interrupt

if TYPE_CHECKING:
    from seglab.core.charts.spec import ChartSpec


@dataclass(frozen=True)
class SliceRequest:
    """One clicked slice: a point, a bar or a cell of a chart of ``spec``.

    ``where`` holds the slice's coordinates, by kind:

    * trend: ``segment``, ``period_start`` (ISO date);
    * funnel: ``segment``, ``step`` (1-based), ``mode`` ``"reached"`` (reached the
      step) or ``"dropped"`` (reached it and not the next);
    * retention: ``segment``, ``cohort_start`` (ISO date), ``period`` (or None: the
      whole cohort);
    * stickiness: ``segment``, ``days`` and optionally ``period_start``;
    * any kind broken down by a property: also ``group`` (the value).
    """

    spec: ChartSpec
    where: tuple[tuple[str, Any], ...]
    as_of_ms: int | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.where).get(key, default)


@dataclass(frozen=True)
class SliceMembers:
    """``keys``: a local project's unit keys. A connected project has none: ``ids`` holds the
    units' text ids instead, sorted as text (``keys`` is then empty)."""

    level: str
    keys: tuple[int, ...]
    title: str
    ids: tuple[str, ...] | None = None


def make_slice(spec: ChartSpec, as_of_ms: int | None = None, **where: Any) -> SliceRequest:
    return SliceRequest(spec, tuple(sorted(where.items())), as_of_ms)


def period_label(start: str, interval: str) -> str:
    """``2024-03-04`` as the analyst reads it: ``2024-W10``, ``2024-03``, or the date."""
    day = dt.date.fromisoformat(str(start)[:10])
    if interval == "week":
        iso = day.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if interval == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def unit_word(level: str, n: int = 2) -> str:
    return ("user" if level == "user" else "account") + ("" if n == 1 else "s")


def slice_members(
    conn: sqlite3.Connection, req: SliceRequest, progress: Progress = NULL_PROGRESS
) -> SliceMembers:
    """The units behind one slice of ``req.spec``'s chart, by the kind's own ``members``; on a
    connected project, pushed down to its source (``seglab.core.engines.drill``)."""
    from seglab.core.engines.base import source_of

    source = source_of(conn)
    if source is not None:
        from seglab.core.engines.clickhouse import ClickHouseEngine
        from seglab.core.engines.drill import slice_ids

        with ClickHouseEngine.open(conn, source) as engine:
            return slice_ids(engine, req, progress)
    from seglab.core.analyses.common import resolve_window
    from seglab.core.charts.registry import get_kind
    from seglab.core.charts.run import breakdown_of
    from seglab.core.charts.series import chart_dates, resolve_chart_as_of, resolve_series

    spec = req.spec
    kind = get_kind(spec.kind)
    if kind.members is None:
        raise ChartError(f"drill-down is not available for {spec.title} charts yet")
    as_of_ms = req.as_of_ms if req.as_of_ms is not None else resolve_chart_as_of(conn, spec)
    if as_of_ms is None:
        raise ChartError("the project has no events yet")
    resolved = resolve_series(conn, spec, as_of_ms)
    series = {s.label: s for s in resolved}
    label = req.get("segment", EVERYONE_LABEL)
    if spec.kind == "overlap":  # a region is of every series at once
        s = resolved[0] if resolved else None
    elif label not in series:
        raise ChartError(f"the chart has no series “{label}”")
    else:
        s = series[label]
    group = req.get("group")
    by = breakdown_of(spec)
    if s is not None and by is not None and group is not None and by.entity != "event":
        s = in_group(conn, spec, s, by, str(group))
    date_from, date_to = chart_dates(spec, as_of_ms)
    window = resolve_window(as_of_ms, date_from, date_to)
    return kind.members(conn, spec, s, window, req, progress, resolved)


def in_group(conn, spec: ChartSpec, s: ResolvedSeries, by, group: str) -> ResolvedSeries:
    """The series narrowed to its units in one breakdown group (the chart's own grouping)."""
    import numpy as np

    from seglab.core.analyses.breakdown import unit_values
    from seglab.core.analyses.common import Engine

    groups = chart_groups(conn, spec)
    keys, labels = unit_values(Engine(conn), s.level, by)
    chosen = keys[np.array([groups.of(x) == group for x in labels], dtype=bool)] if keys.size else keys
    in_group = tuple(int(k) for k in chosen)
    if s.keys is not None:
        chosen = chosen[np.isin(chosen, np.asarray(s.keys, dtype=np.int64))]
    return replace(s, label=f"{s.label} · {group}", keys=tuple(int(k) for k in chosen), group_keys=in_group)


def slice_members_file(path: Path, req: SliceRequest, progress: Progress = NULL_PROGRESS) -> SliceMembers:
    """:func:`slice_members` on its own read-only connection (for a worker thread); a connected
    project's source is opened for the task like every other app task (engines.tasks)."""
    from seglab.core.engines.tasks import is_connected, task_engine
    from seglab.core.storage.connection import connected

    if is_connected(path):
        from seglab.core.engines.drill import slice_ids

        with task_engine(path, progress) as (_conn, engine):
            return slice_ids(engine, req, progress)  # type: ignore[arg-type]

    with connected(path, readonly=True) as conn:
        install_interrupt(conn, progress)
        return slice_members(conn, req, progress)


def series_filter(series: ResolvedSeries, user_col: str) -> tuple[str, list]:
    """SQL restricting ``user_col`` rows to the series (accounts through users.account_key)."""
    if series.keys is None:
        if series.level == "account":
            return f" AND {user_col} IN (SELECT user_key FROM users WHERE account_key IS NOT NULL)", []
        return "", []
    keys = json.dumps([int(k) for k in series.keys])
    if series.level == "user":
        return f" AND {user_col} IN (SELECT value FROM json_each(?))", [keys]
    return (
        f" AND {user_col} IN (SELECT user_key FROM users"
        " WHERE account_key IN (SELECT value FROM json_each(?)))",
        [keys],
    )


class EventReader:
    """``conn.execute`` for drill-down SQL, reading only the events ``event`` selects: filters go
    through the analyses' engine (the segments' operator table), as the chart's numbers do."""

    def __init__(self, conn, event, as_of_ms: int | None):
        from seglab.core.analyses.common import Engine

        self.engine = Engine(conn).for_event(event, as_of_ms)
        self.event = event

    def execute(self, sql: str, params=()):
        return self.engine.rows(sql, list(params))

    def clause(self, col: str = "d.event_key") -> tuple[str, list, bool]:
        from seglab.core.analyses.common import event_clause

        return event_clause(self.engine, self.event, col)


def event_text(event) -> str:
    from seglab.core.analyses.filters import selector_of

    return selector_of(event).text


def to_units(conn: sqlite3.Connection, level: str, user_keys) -> tuple[int, ...]:
    users = sorted({int(k) for k in user_keys})
    if level == "user" or not users:
        return tuple(users)
    rows = conn.execute(
        "SELECT DISTINCT account_key FROM users WHERE account_key IS NOT NULL AND user_key IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(users),),
    )
    return tuple(sorted(int(r[0]) for r in rows))


def bucket_bounds(start_iso: str, interval: str) -> tuple[int, int]:
    from seglab.core.analyses.common import date_to_day, next_bucket

    start = dt.date.fromisoformat(str(start_iso)[:10])
    return date_to_day(start), date_to_day(next_bucket(start, interval)) - 1  # type: ignore[arg-type]


def chart_groups(conn, spec: ChartSpec):
    """The values a broken-down chart keeps, decided as the chart decides them (by running it)."""
    from seglab.core.charts.run import run_chart

    return run_chart(conn, spec).attrs["groups"]


def event_doers(conn, s: ResolvedSeries, window, event: str) -> SliceMembers:
    reader = EventReader(conn, event, window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause()
    unit_sql, unit_params = series_filter(s, "d.user_key")
    rows = reader.execute(
        f"SELECT DISTINCT d.user_key FROM user_days d WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?"
        f"{ev_sql}{unit_sql}",
        [window.from_day, window.to_day, window.as_of_ms, *ev_params, *unit_params],
    )
    keys = to_units(conn, s.level, (r[0] for r in rows))
    if s.keys is not None:
        inside = set(s.keys)
        keys = tuple(k for k in keys if k in inside)
    return SliceMembers(s.level, keys, f"{s.label}: {unit_word(s.level)} who did {event}")


def furthest_steps(rows, n_steps: int, last_start_ms: int, window_ms: int) -> dict[int, int]:
    """Unit → the furthest funnel step reached (1..n), exactly as the funnel analysis counts it.

    ``rows`` are ``(unit, ts, mask)`` with bit j of ``mask`` set when the row qualifies
    as step j+1 (see :func:`seglab.core.analyses.funnel.funnel_progress`).
    """
    import numpy as np

    from seglab.core.analyses.funnel import funnel_progress

    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    progress = funnel_progress(arr[:, 0], arr[:, 1], arr[:, 2], n_steps, last_start_ms, window_ms)
    if progress is None:
        return {}
    return {int(u): int(b) for u, b in zip(progress.units, progress.best)}
