"""Trend: an event's count, unique users, unique accounts or events per user, per calendar interval."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import group_rows, in_series, load_bucket_activity, unit_map_for
from seglab.core.analyses.breakdown import (
    GROUP_SEP,
    Breakdown,
    Groups,
    check_level,
    groups_from_counts,
    label_of,
    split_labels,
)
from seglab.core.analyses.common import (
    EVERYONE_SERIES,
    Engine,
    Interval,
    SeriesSpec,
    buckets_for,
    check_interval,
    check_series,
    event_clause,
    resolve_window,
    rollup_table,
    safe_rate,
    unit_filter,
)
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.timeutil import DAY_MS

Measure = Literal["count", "users", "accounts", "per_user", "sum", "avg", "min", "max", "median"]
COUNT_MEASURES = ("count", "users", "accounts", "per_user")
VALUE_MEASURES = ("sum", "avg", "min", "max", "median")
MEASURES = COUNT_MEASURES + VALUE_MEASURES
TREND_COLUMNS = ["segment", "period_start", "value"]
PREVIOUS_SUFFIX = " (previous period)"


@dataclass(frozen=True)
class TrendRequest:
    """``event`` may carry filters (``purchase[amount>=100]``); a value measure (sum ... median)
    needs ``of``, a numeric event property; ``by`` breaks each series down by a property;
    ``compare="previous"`` adds each series one range earlier (docs/analyses.md)."""

    event: Any = "*"
    measure: Measure = "count"
    interval: Interval = "day"
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    of: str | None = None
    by: Breakdown | None = None
    compare: str | None = None


def run_trend(conn, request: TrendRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """One row per series (× group) and interval overlapping the range (zeros included), in series
    order; with ``compare="previous"`` each series is followed by its previous period."""
    if request.measure not in MEASURES:
        raise AnalysisError(f"measure {request.measure!r} is not one of {', '.join(MEASURES)}")
    if request.measure in VALUE_MEASURES and not request.of:
        raise AnalysisError(f"--measure {request.measure} needs --of PROPERTY (a numeric event property)")
    if request.of and request.measure not in VALUE_MEASURES:
        raise AnalysisError("--of goes with --measure sum, avg, min, max or median")
    if request.compare not in (None, "previous"):
        raise AnalysisError(f"--compare {request.compare!r}: the only comparison is 'previous'")
    check_interval(request.interval)
    check_series(request.series)
    if request.compare != "previous":
        return _run_once(conn, request, progress)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    current = _run_once(conn, replace(request, date_from=window.from_date, date_to=window.to_date), progress)
    days = window.to_day - window.from_day + 1
    prev_to = window.from_date - dt.timedelta(days=1)
    prev_from = prev_to - dt.timedelta(days=days - 1)
    prev_request = replace(request, date_from=prev_from, date_to=prev_to)
    previous = _run_once(conn, prev_request, progress, groups=current.attrs.get("groups"))
    return _merge_previous(current, previous)


def _merge_previous(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """The previous period's k-th interval on the row of the current k-th, after each series."""
    keys = ["segment", "group"] if "group" in current.columns else ["segment"]
    starts = list(dict.fromkeys(current["period_start"]))
    parts = []
    for key, cur in current.groupby(keys, sort=False):
        parts.append(cur)
        key = key if isinstance(key, tuple) else (key,)
        mask = np.ones(len(previous), dtype=bool)
        for col, value in zip(keys, key):
            mask &= (previous[col] == value).to_numpy()
        prev = previous[mask]
        prev_starts = list(dict.fromkeys(prev["period_start"]))
        values = dict(zip(prev["period_start"], prev["value"]))
        out = cur.copy()
        out["segment"] = out["segment"] + PREVIOUS_SUFFIX
        out["value"] = [
            values.get(prev_starts[k]) if k < len(prev_starts) else None for k in range(len(starts))
        ][: len(out)]
        parts.append(out)
    frame = pd.concat(parts, ignore_index=True) if parts else current
    values = pd.to_numeric(frame["value"]).astype("float64")
    if current["value"].dtype == "int64" and not values.isna().any():
        values = values.astype("int64")
    frame["value"] = values
    frame.attrs.update(current.attrs)
    return frame


def _run_once(conn, request: TrendRequest, progress: Progress, groups=None) -> pd.DataFrame:
    by = request.by
    rows_path = request.measure in VALUE_MEASURES or (by is not None and by.entity == "event")
    if by is not None and by.entity != "event":
        from seglab.core.analyses.breakdown import run_broken_down

        runner = _run_rows if rows_path else _run_plain
        rank_level = "account" if request.measure == "accounts" else None
        if rank_level:
            check_level(by, "account")
        return run_broken_down(
            conn, replace(request, by=None), runner, by, request.event, progress, groups, rank_level
        )
    if rows_path:
        return _run_rows(conn, request, progress, groups)
    return _run_plain(conn, request, progress)


def _run_plain(conn, request: TrendRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress).for_event(request.event, window.as_of_ms)
    buckets = buckets_for(window.from_day, window.to_day, request.interval)
    distinct = _distinct_values(engine, request, window, buckets) if request.measure != "count" else None
    rows = []
    for i, series in enumerate(request.series):
        progress.report(i, len(request.series), f"trend: {series.label}")
        if request.measure in ("count", "per_user"):
            values = _count_values(engine, request, series, window, buckets)
        if distinct is not None:
            units = distinct(series)
            values = (
                {b: safe_rate(values.get(b, 0), units[b]) for b in range(len(units))}
                if request.measure == "per_user"
                else {b: int(units[b]) for b in range(len(units))}
            )
        for b, start in enumerate(buckets.starts):
            rows.append((series.label, start.isoformat(), values.get(b, 0)))
    progress.report(len(request.series), len(request.series), "trend: done")
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS)
    if request.measure == "per_user":
        frame["value"] = frame["value"].astype("float64")
    else:
        frame["value"] = frame["value"].astype("int64")
    return frame


def _count_values(engine: Engine, request: TrendRequest, series: SeriesSpec, window, buckets) -> dict:
    """Events per bucket (SQL over the roll-up; the as-of day from the events if it is cut).

    Everyone's counts read ``event_days`` (per event name and day: a few hundred rows)
    rather than the per-user roll-ups."""
    if window.empty:
        return {}
    everyone = series.keys is None and series.level == "user"
    join_users = series.level == "account"
    as_of = window.as_of_ms
    as_of_day = as_of // DAY_MS
    bucket_sql, bucket_params = buckets.sql("d.day", sqlite=engine.is_sqlite)
    ev_sql, ev_params, _known = event_clause(engine, request.event, "d.event_key")
    table = "event_days" if everyone else rollup_table(ev_sql)
    unit_sql, unit_params = unit_filter(engine, series, "d.user_key", "u.account_key")
    join = " JOIN users u ON u.user_key = d.user_key" if join_users else ""
    cut_sql, _cut_params = engine.as_of_filter(as_of, "d.first_ts")
    if not cut_sql:
        # No event is later than as-of (the usual case): every day row is whole.
        sql = (
            f"SELECT {bucket_sql} AS b, SUM(d.n) FROM {table} d{join}"
            f" WHERE d.day BETWEEN ? AND ?{ev_sql}{unit_sql} GROUP BY b"
        )
        rows = engine.rows(sql, [*bucket_params, window.from_day, window.to_day, *ev_params, *unit_params])
        return {int(b): int(n) for b, n in rows}
    select = [
        "SUM(CASE WHEN d.day < ? THEN d.n ELSE 0 END)",
        "SUM(CASE WHEN d.day >= ? THEN d.n ELSE 0 END)",
        "SUM(CASE WHEN d.last_ts > ? THEN 1 ELSE 0 END)",
    ]
    sql = (
        f"SELECT {bucket_sql} AS b, {', '.join(select)} FROM {table} d{join}"
        + f" WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?{ev_sql}{unit_sql} GROUP BY b"
    )
    params = [
        *bucket_params, as_of_day, as_of_day, as_of,
        window.from_day, window.to_day, as_of, *ev_params, *unit_params,
    ]  # fmt: skip
    out: dict[int, float] = {}
    for b, n_before, n_on, straddling in engine.rows(sql, params):
        b = int(b)
        count = int(n_before or 0) + int(n_on or 0)
        if straddling and n_on:
            # The roll-up cannot split a day at as-of: count that one day from the events.
            count = int(n_before or 0) + _count_on_as_of_day(engine, request, series, as_of)
        out[b] = count
    return out


def _distinct_values(engine: Engine, request: TrendRequest, window, buckets):
    """A function series → unique users (or accounts) per bucket, sharing one read of the roll-up."""
    n = len(buckets.starts)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    if window.empty or last_day < window.from_day:
        return lambda series: np.zeros(n, dtype=np.int64)
    ev_sql, ev_params, _known = event_clause(engine, request.event, "d.event_key")
    # Only days inside the range are read, so a bucket starting before --from counts from --from.
    users, per_bucket = load_bucket_activity(
        engine, ev_sql, ev_params, buckets, window.from_day, last_day, window.as_of_ms
    )
    unit_map = unit_map_for(engine, request.series, need_all=request.measure == "accounts")

    def count(series: SeriesSpec) -> np.ndarray:
        keep = in_series(users, series, unit_map)
        if request.measure == "accounts":
            assert unit_map is not None  # need_all above
            accounts = unit_map.account_of(users[keep])
            has = accounts >= 0
            _keys, grouped = group_rows(accounts[has], per_bucket[keep][has])
            return grouped.sum(axis=0) if grouped.shape[0] else np.zeros(n, dtype=np.int64)
        return per_bucket[keep].sum(axis=0)

    return count


def _count_on_as_of_day(engine: Engine, request: TrendRequest, series: SeriesSpec, as_of: int) -> int:
    day_start = (as_of // DAY_MS) * DAY_MS
    ev_sql, ev_params, _ = event_clause(engine, request.event, "e.event_key")
    unit_sql, unit_params = unit_filter(engine, series, "e.user_key", "u.account_key")
    sql = (
        "SELECT COUNT(*) FROM events e"
        + (" JOIN users u ON u.user_key = e.user_key" if series.level == "account" else "")
        + f" WHERE e.ts BETWEEN ? AND ?{ev_sql}{unit_sql}"
    )
    return int(engine.one(sql, [day_start, as_of, *ev_params, *unit_params]) or 0)


def _run_rows(conn, request: TrendRequest, progress: Progress = NULL_PROGRESS, groups=None) -> pd.DataFrame:
    """Value measures and event-property breakdowns, from the matching events themselves.

    Each event is read once (its interval, user and the properties needed); each series
    keeps its users' events. A value measure leaves out events without a value; by an
    event property, each event counts under its own value.
    """
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress).for_event(request.event, window.as_of_ms)
    buckets = buckets_for(window.from_day, window.to_day, request.interval)
    n_b = len(buckets.starts)
    props = {p.name: p for p in engine.properties("event")}
    value_col = group_col = None
    if request.measure in VALUE_MEASURES:
        prop = props.get(request.of or "")
        if prop is None:
            raise AnalysisError(f"--of {request.of!r}: no event property of that name")
        if prop.type not in ("integer", "real"):
            raise AnalysisError(
                f"--of {request.of!r} is a {prop.type} property; a value measure needs a number"
            )
        value_col = prop.column
    by = request.by
    group_type = None
    if by is not None:
        gprop = props.get(by.property)
        if gprop is None:
            names = ", ".join(sorted(props)[:12]) or "none"
            raise AnalysisError(f"--by {by.text}: no event property named {by.property!r} (known: {names})")
        group_col, group_type = gprop.column, gprop.type
    for col in (value_col, group_col):
        if col is not None and not (col.startswith("p") and col[1:].isdigit()):
            raise AnalysisError("a property has an unexpected column name")
    ev_sql, ev_params, _ = event_clause(engine, request.event, "e.event_key")
    b_sql, b_params = buckets.sql_ms("e.ts")
    select = [b_sql, "e.user_key"]
    if value_col:
        select.append(f"e.{value_col}")
    if group_col:
        select.append(f"e.{group_col}")
    columns = ["b", "user"] + (["value"] if value_col else []) + (["group"] if group_col else [])
    sql = f"SELECT {', '.join(select)} FROM events e WHERE e.ts BETWEEN ? AND ?{ev_sql}"
    if not value_col:
        # Counts need no single event: one row per interval, user and value, with its events.
        keys = ", ".join(str(i + 1) for i in range(len(select)))
        sql = (
            f"SELECT {', '.join(select)}, COUNT(*) FROM events e WHERE e.ts BETWEEN ? AND ?{ev_sql}"
            f" GROUP BY {keys}"
        )
        columns.append("n")
    data = pd.DataFrame(
        engine.rows(sql, [*b_params, window.start_ms, window.end_ms, *ev_params]) if not window.empty else [],
        columns=columns,
    )
    if "n" not in data.columns:
        data["n"] = 1
    unit_map = unit_map_for(engine, request.series, need_all=request.measure == "accounts")
    users = data["user"].to_numpy(dtype=np.int64) if len(data) else np.zeros(0, dtype=np.int64)
    accounts = None
    if request.measure == "accounts" or any(s.level == "account" for s in request.series):
        accounts = unit_map.account_of(users) if unit_map is not None else np.full(users.shape, -1)
    if group_col and len(data):
        assert group_type is not None  # set with group_col
        labels = {v: label_of(v, group_type) for v in pd.unique(data["group"])}  # each value once
        data["group"] = data["group"].map(labels).astype(object)
    per_series = [(s, in_series(users, s, unit_map)) for s in request.series]
    if by is not None and groups is None:
        groups = _event_groups(data, per_series, accounts, request, by, group_type)
    group_labels = groups.labels if by is not None else (None,)
    rows = []
    for s, keep in per_series:
        part = data[keep].copy()
        if len(part):
            by_user = s.level == "user" and request.measure != "accounts"
            if by_user:
                part["unit"] = part["user"]
            else:
                assert accounts is not None  # read above for account series and the accounts measure
                part["unit"] = accounts[keep]
        if by is not None and len(part):
            shown = {g: groups.of(g) for g in pd.unique(part["group"])}
            part["group"] = part["group"].map(shown)
        for g in group_labels:
            sel = part if g is None or not len(part) else part[part["group"] == g]
            values = _measure(sel, request.measure, n_b)
            label = s.label if g is None else f"{s.label}{GROUP_SEP}{g}"
            for b, start in enumerate(buckets.starts):
                rows.append((label, start.isoformat(), values[b]))
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS)
    if request.measure in ("count", "users", "accounts"):
        frame["value"] = frame["value"].astype("int64")
    else:
        frame["value"] = frame["value"].astype("float64")
    if by is not None:
        frame = split_labels(frame)
        frame.attrs["groups"] = groups
    return frame


def _measure(part: pd.DataFrame, measure: str, n_b: int) -> list:
    """Per interval, the measure over ``part``'s events (rows with ``b``, ``unit``, ``n`` events,
    ``value`` for a value measure: then one row per event)."""
    out: list = [0] * n_b if measure in ("count", "users", "accounts", "sum", "per_user") else [None] * n_b
    if not len(part):
        return [0.0 if measure == "per_user" else v for v in out]
    if measure == "count":
        for b, n in part.groupby("b")["n"].sum().items():
            out[int(b)] = int(n)
        return out
    if measure in ("users", "accounts"):
        units = part[part["unit"] >= 0]
        for b, n in units.groupby("b")["unit"].nunique().items():
            out[int(b)] = int(n)
        return out
    if measure == "per_user":
        counts = part.groupby("b")["n"].sum()
        users = part.groupby("b")["user"].nunique()
        res = [0.0] * n_b
        for b, n in counts.items():
            res[int(b)] = safe_rate(n, users.get(b, 0))
        return res
    valued = part[part["value"].notna()]
    if not len(valued):
        return out
    grouped = valued.groupby("b")["value"]
    if measure in ("sum", "avg"):
        # Exactly rounded sums (math.fsum, whatever the row order): a connected project's sum,
        # computed in ClickHouse in another order, is the same number (docs/analyses.md).
        import math

        for b, values in grouped:
            total = math.fsum(values.astype("float64").tolist())
            out[int(b)] = total if measure == "sum" else total / len(values)
        return out
    how = {"min": grouped.min, "max": grouped.max, "median": grouped.median}[measure]()
    for b, v in how.items():
        out[int(b)] = float(v)
    return out


def _event_groups(data, per_series, accounts, request: TrendRequest, by: Breakdown, group_type) -> Groups:
    """Rank event-property values by distinct units with a matching event of that value."""
    seen: set = set()
    for s, keep in per_series:
        part = data[keep]
        if not len(part):
            continue
        account_unit = request.measure == "accounts" or s.level == "account"
        units = accounts[keep] if account_unit else part["user"].to_numpy()
        for unit, g in zip(units.tolist(), part["group"].tolist()):
            if account_unit and unit < 0:
                continue
            seen.add(("a" if account_unit else "u", unit, g))
    counts: dict = {}
    for _kind, _unit, g in seen:
        counts[g] = counts.get(g, 0) + 1
    return groups_from_counts(counts, by.limit, group_type)
