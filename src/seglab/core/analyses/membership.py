"""Segment size over time (membership re-evaluated per interval) and complement series."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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
    vs_rest: bool = False  # after each segment, its complement ("not NAME") at the same times
    by: Any = None  # a Breakdown by a user or account property (values ranked by members at as-of)


def rest_label(name: str) -> str:
    """The one label of a segment's complement, on the command line and in the app."""
    return f"not {name}"


def run_size_over_time(
    conn, request: SizeOverTimeRequest, progress: Progress = NULL_PROGRESS
) -> pd.DataFrame:
    """Per segment and interval, the segment's size at the interval's last millisecond (or at as-of
    for the interval holding it); intervals that start after as-of are left out."""
    from seglab.core.segments import count, member_keys

    check_interval(request.interval)
    if not request.segments:
        raise AnalysisError("segment size over time needs at least one segment")
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    buckets = buckets_for(window.from_day, window.to_day, request.interval)
    by = request.by
    groups = None
    values: dict = {}
    universe: dict = {}
    if by is not None or request.vs_rest:
        engine = Engine(conn)
        for _label, definition in request.segments:
            universe.setdefault(definition.level, universe_keys(engine, definition.level))
    if by is not None:
        from seglab.core.analyses.breakdown import decide_for_series

        levels = [d.level for _l, d in request.segments]
        counted: dict = {}
        for _label, definition in request.segments:
            keys = np.asarray(sorted(member_keys(conn, definition, window.as_of_ms)), dtype=np.int64)
            if request.vs_rest:
                keys = universe[definition.level]  # the rest's members rank too
            counted[definition.level] = np.union1d(counted.get(definition.level, keys[:0]), keys)
        groups, values = decide_for_series(Engine(conn), by, counted, levels)
    rows: list[tuple] = []  # (segment, [group,] interval start, at, size)
    total = len(request.segments) * len(buckets.starts)
    done = 0
    for label, definition in request.segments:
        outs = []
        for b, start in enumerate(buckets.starts):
            if buckets.start_ms(b) > window.as_of_ms:
                continue
            check_cancelled(progress)
            at = min(buckets.last_ms(b), window.as_of_ms)
            when = (start.isoformat(), _iso(at))
            if by is None and not request.vs_rest:
                rows.append((label, *when, int(count(conn, definition, at))))
            else:
                members = np.asarray(sorted(member_keys(conn, definition, at)), dtype=np.int64)
                outs.append((when, members))
            done += 1
            progress.report(done, total, f"size of {label}")
        if by is None and request.vs_rest:
            total_units = universe[definition.level]
            rows.extend((label, *when, int(m.size)) for when, m in outs)
            rows.extend(
                (rest_label(label), *when, int(np.setdiff1d(total_units, m).size)) for when, m in outs
            )
        elif by is not None:
            assert groups is not None  # decided above with the breakdown
            keys, labels = values[definition.level]
            group_of = np.array([groups.of(x) for x in labels], dtype=np.object_)
            parts: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [(label, lambda m: m)]
            if request.vs_rest:
                parts.append((rest_label(label), partial(np.setdiff1d, universe[definition.level])))
            for name, pick in parts:
                for g in groups.labels:
                    for when, m in outs:
                        units = pick(m)
                        pos = np.searchsorted(keys, units)
                        ok = (pos < keys.size) & (keys[np.minimum(pos, keys.size - 1)] == units)
                        n = int((group_of[pos[ok]] == g).sum()) if keys.size else 0
                        rows.append((name, g, *when, n))
    if by is not None:
        frame = pd.DataFrame(rows, columns=["segment", "group", *SIZE_COLUMNS[1:]])
        frame.attrs["groups"] = groups
        return frame
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
    return SeriesSpec(label or rest_label(series.label), series.level, tuple(int(k) for k in rest))


def sum_property(properties, text: str):
    """The numeric ``PropertyInfo`` that ``--sum ENTITY.PROPERTY`` names, among ``properties``
    (the project's catalogue); :class:`AnalysisError` with a sentence otherwise. Returns
    ``(entity, prop)``."""
    entity, dot, name = (text or "").partition(".")
    if not dot or entity not in ("user", "account") or not name:
        raise AnalysisError(
            f"--sum {text!r}: write ENTITY.PROPERTY with ENTITY user or account (account.mrr)"
        )
    prop = next((p for p in properties if p.entity == entity and p.name == name), None)
    if prop is None:
        raise AnalysisError(f"--sum {text}: no {entity} property named {name!r}")
    if prop.type not in ("integer", "real"):
        raise AnalysisError(f"--sum {text}: {name!r} is a {prop.type} property; only numbers can be summed")
    if not (prop.column.startswith("p") and prop.column[1:].isdigit()):
        raise AnalysisError(f"--sum {text}: the property has an unexpected column name")
    return entity, prop


def segment_sums(conn, level: str, keys, properties: list[str]) -> dict[str, float]:
    """``{"account.mrr": total}``: each numeric ``ENTITY.PROPERTY`` summed over the members.

    An account property at user level is summed once per account (the members' distinct
    accounts); a user property at account level over the member accounts' users. Missing
    values are left out; a sum over no values is 0 (docs/cli.md, ``segment count --sum``).
    The sum is ``math.fsum``'s (correctly rounded, so independent of the row order: a
    connected project's ClickHouse sum gives the same number).
    """
    import math

    engine = Engine(conn)
    members = np.unique(np.asarray(list(keys), dtype=np.int64))
    out: dict[str, float] = {}
    catalogue = engine.properties("user") + engine.properties("account")
    for text in properties:
        entity, prop = sum_property(catalogue, text)
        if entity == "user":
            table, key = "users", "user_key"
            if level == "account":  # the member accounts' users
                rows = engine.rows("SELECT user_key, account_key FROM users WHERE account_key IS NOT NULL")
                pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
                units = pairs[np.isin(pairs[:, 1], members), 0]
            else:
                units = members
        else:
            table, key = "accounts", "account_key"
            if level == "user":  # each member's account, once
                rows = engine.rows("SELECT user_key, account_key FROM users WHERE account_key IS NOT NULL")
                pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
                units = np.unique(pairs[np.isin(pairs[:, 0], members), 1])
            else:
                units = members
        values = engine.rows(f"SELECT {key}, {prop.column} FROM {table} WHERE {prop.column} IS NOT NULL")
        lookup = dict(values)
        wanted = set(units.tolist())
        picked = [v for k, v in lookup.items() if k in wanted]
        if prop.type == "integer":  # exact, as ClickHouse's Int64 sum
            out[text] = float(sum(int(v) for v in picked))
        else:
            out[text] = float(math.fsum(float(v) for v in picked))
    return out


@dataclass(frozen=True)
class SegmentSummary:
    """A saved segment's size at as-of and numeric properties summed over its members."""

    name: str
    level: str
    size: int
    sums: dict[str, float]


def segment_summary(
    conn, name: str, properties: tuple[str, ...], as_of_ms: int | None = None
) -> SegmentSummary:
    """The Segments page's summary ("MRR at risk"): :func:`segment_sums` over a saved segment."""
    from seglab.core.segments import get_saved, member_keys

    saved = get_saved(conn, name)
    keys = member_keys(conn, saved.definition, as_of_ms)
    return SegmentSummary(
        name, saved.level, len(keys), segment_sums(conn, saved.level, keys, list(properties))
    )


def segment_summary_file(path, request: tuple[str, tuple[str, ...]], progress: Progress = NULL_PROGRESS):
    """:func:`segment_summary` of ``request = (name, properties)`` on its own read-only connection
    (on a connected project, counted and summed in its source: docs/sources.md)."""
    from seglab.core.engines.tasks import is_connected, task_engine
    from seglab.core.storage.connection import connect

    if is_connected(path):
        from seglab.core.engines.clickhouse import segment_sums as pushed_sums
        from seglab.core.segments import get_saved

        with task_engine(path, progress) as (conn, engine):
            saved = get_saved(conn, request[0])
            size = engine.count(saved.definition)
            sums = pushed_sums(engine, saved.definition, None, list(request[1]))  # type: ignore[arg-type]
        return SegmentSummary(request[0], saved.level, size, sums)

    conn = connect(path, readonly=True)
    try:
        check_cancelled(progress)
        return segment_summary(conn, request[0], tuple(request[1]))
    finally:
        conn.close()
