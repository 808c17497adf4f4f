"""Breakdowns: one series per value of a user, account or event property (docs/analyses.md).

A user or account property gives each unit its current value; a datetime property is
grouped by UTC month (``YYYY-MM``), numbers by value (a real without fraction printed
like an integer), booleans as ``true``/``false``. The values kept are decided once per
chart across all its series: the ``limit`` values with the most units (ties: numbers in
numeric order, text in code-point order, smaller first); the rest go to ``(other)``; a
missing value is ``(none)``, never ranked and never folded into ``(other)``.

A user or account breakdown splits each series into sub-series (its units with that
value), so every analysis runs unchanged on them. An event-property breakdown (trend
only) counts each event under its own value (see :mod:`seglab.core.analyses.trend`).
"""

from __future__ import annotations

import builtins
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.core.analyses.common import Engine, SeriesSpec
from seglab.core.errors import AnalysisError

OTHER = "(other)"
NONE = "(none)"
ENTITIES = ("user", "account", "event")
DEFAULT_LIMIT = 10
GROUP_SEP = "\x1f"  # joins a series label and its group inside an expanded series' label


@dataclass(frozen=True)
class Breakdown:
    entity: str
    property: str
    limit: int = DEFAULT_LIMIT

    @builtins.property  # the field above shadows the name in the class body
    def text(self) -> str:
        return f"{self.entity}.{self.property}"


def parse_by(text: str, limit: int = DEFAULT_LIMIT) -> Breakdown:
    """``account.tier`` → Breakdown (the property name may itself contain dots)."""
    entity, dot, prop = (text or "").strip().partition(".")
    if not dot or entity not in ENTITIES or not prop:
        raise AnalysisError(
            f"--by {text!r}: write ENTITY.PROPERTY, ENTITY being user, account or event (e.g. account.tier)"
        )
    if not isinstance(limit, int) or limit < 1:
        raise AnalysisError("--by-limit must be a whole number of at least 1")
    return Breakdown(entity, prop, limit)


def property_info(engine: Engine, by: Breakdown):
    for p in engine.properties(by.entity):
        if p.name == by.property:
            return p
    names = ", ".join(sorted(p.name for p in engine.properties(by.entity))[:12]) or "none"
    raise AnalysisError(f"--by {by.text}: no {by.entity} property named {by.property!r} (known: {names})")


def check_level(by: Breakdown, level: str) -> None:
    """An account cannot be split by a user property: its users can differ."""
    if by.entity == "user" and level == "account":
        raise AnalysisError(
            f"--by {by.text} cannot split accounts (an account's users can have different values); "
            "break accounts down by an account property"
        )


def label_of(value, prop_type: str) -> str | None:
    """The group a stored value belongs to (None: missing)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if prop_type == "datetime":
        try:
            day = dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            return str(value)
        return f"{day.year:04d}-{day.month:02d}"
    if prop_type == "boolean":
        return "true" if int(value) else "false"
    if prop_type in ("integer", "real") and isinstance(value, (int, float, np.integer, np.floating)):
        return number_text(value)
    return str(value)


def number_text(value) -> str:
    """A number as a breakdown prints it: integers (and reals without fraction) without ``.0``."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    f = float(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if f.is_integer() and abs(f) < 2**63:
        return str(int(f))
    return repr(f)


def _tie_key(label: str, prop_type: str):
    if prop_type in ("integer", "real"):
        try:
            return (0, float(label), "")
        except ValueError:
            return (1, 0.0, label)
    if prop_type == "boolean":
        return (0, 1.0 if label == "true" else 0.0, "")
    return (0, 0.0, label)


def keep_values(counts: dict[str | None, int], limit: int, prop_type: str) -> list[str]:
    """The ``limit`` labels with the most units (ties: smaller value first); None never ranks."""
    ranked = sorted(
        ((label, n) for label, n in counts.items() if isinstance(label, str) and n > 0),
        key=lambda item: (-item[1], _tie_key(item[0], prop_type)),
    )
    return [label for label, _n in ranked[:limit]]


def unit_values(engine: Engine, level: str, by: Breakdown) -> tuple[np.ndarray, list[str | None]]:
    """(sorted unit keys, their group labels) for every user or account of ``level``."""
    prop = property_info(engine, by)
    check_level(by, level)
    col = prop.column
    if not col.startswith("p") or not col[1:].isdigit():
        raise AnalysisError(f"--by {by.text}: the property has an unexpected column name")
    if level == "user" and by.entity == "user":
        sql = f"SELECT user_key, {col} FROM users ORDER BY user_key"
    elif level == "user":
        sql = (
            f"SELECT u.user_key, a.{col} FROM users u LEFT JOIN accounts a ON a.account_key = u.account_key"
            " ORDER BY u.user_key"
        )
    else:
        sql = (
            f"SELECT account_key, {col} FROM accounts WHERE from_file = 1 OR account_key IN"
            " (SELECT account_key FROM users WHERE account_key IS NOT NULL) ORDER BY account_key"
        )
    rows = engine.rows(sql)
    keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return keys, [label_of(r[1], prop.type) for r in rows]


@dataclass(frozen=True)
class Groups:
    """The groups a chart shows, in order: kept values, then ``(other)``, then ``(none)``."""

    labels: tuple[str, ...]
    kept: tuple[str, ...]

    def of(self, label: str | None) -> str:
        if not isinstance(label, str):  # None (or a NaN pandas put in its place)
            return NONE
        return label if label in self.kept else OTHER


def decide_groups(
    counted_units: np.ndarray, keys: np.ndarray, labels: list[str | None], by: Breakdown, prop_type: str
) -> Groups:
    """Rank the values over ``counted_units`` (distinct unit keys the analysis counts)."""
    counted = set(np.unique(np.asarray(counted_units, dtype=np.int64)).tolist())
    counts: dict[str | None, int] = {}
    for k, label in zip(keys.tolist(), labels):
        if k in counted:
            counts[label] = counts.get(label, 0) + 1
    return groups_from_counts(counts, by.limit, prop_type)


def groups_from_counts(counts: dict[str | None, int], limit: int, prop_type: str) -> Groups:
    kept = keep_values(counts, limit, prop_type)
    labels = list(kept)
    if any(n > 0 and isinstance(label, str) and label not in kept for label, n in counts.items()):
        labels.append(OTHER)
    if any(n > 0 and not isinstance(label, str) for label, n in counts.items()):
        labels.append(NONE)
    return Groups(tuple(labels), tuple(kept))


def expand_series(
    series: tuple[SeriesSpec, ...], keys: np.ndarray, labels: list[str | None], groups: Groups
) -> tuple[SeriesSpec, ...]:
    """Each series × each group: the series' units having that group's value, in order."""
    group_of = np.array([groups.of(label) for label in labels], dtype=object)
    out = []
    for s in series:
        members = keys if s.keys is None else keys[np.isin(keys, np.asarray(s.keys, dtype=np.int64))]
        member_groups = group_of[np.searchsorted(keys, members)] if members.size else group_of[:0]
        for g in groups.labels:
            sel = members[member_groups == g] if members.size else members
            out.append(SeriesSpec(f"{s.label}{GROUP_SEP}{g}", s.level, tuple(int(k) for k in sel)))
    return tuple(out)


def split_labels(frame, series_col: str = "segment"):
    """Turn expanded labels back into ``segment`` and a ``group`` column right after it."""
    parts = frame[series_col].astype(str).str.split(GROUP_SEP, n=1, expand=True)
    frame[series_col] = parts[0]
    frame.insert(list(frame.columns).index(series_col) + 1, "group", parts[1] if parts.shape[1] > 1 else "")
    return frame


def with_group_column(columns: list[str], series_col: str = "segment") -> list[str]:
    out = list(columns)
    out.insert(out.index(series_col) + 1, "group")
    return out


# -- running an analysis broken down by a user or account property ---------------------------


def counted_event_units(
    engine: Engine, event, window, series: tuple[SeriesSpec, ...]
) -> dict[str, np.ndarray]:
    """Per level, the distinct units of ``series`` with at least one ``event`` in the range, up to as-of."""
    from seglab.core.analyses.activity import in_series, unit_map_for
    from seglab.core.analyses.common import event_clause, rollup_table

    out: dict[str, list[np.ndarray]] = {}
    if window.empty:
        return {s.level: np.zeros(0, dtype=np.int64) for s in series}
    eng = engine.for_event(event, window.as_of_ms)
    ev_sql, ev_params, _ = event_clause(eng, event, "d.event_key")
    users = eng.column(
        f"SELECT DISTINCT d.user_key FROM {rollup_table(ev_sql)} d"
        f" WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?{ev_sql}",
        [window.from_day, window.to_day, window.as_of_ms, *ev_params],
    )
    unit_map = unit_map_for(engine, series)
    for s in series:
        keep = in_series(users, s, unit_map)
        if s.level == "user":
            units = users[keep]
        else:
            assert unit_map is not None  # unit_map_for builds one when a series is of accounts
            units = unit_map.account_of(users[keep])
        out.setdefault(s.level, []).append(units)
    return {level: np.unique(np.concatenate(parts)) for level, parts in out.items()}


def decide_for_series(
    engine: Engine, by: Breakdown, counted: dict[str, np.ndarray], levels
) -> tuple[Groups, dict[str, tuple[np.ndarray, list[str | None]]]]:
    """The chart's groups (ranked over the counted units of every level) and each level's values."""
    prop = property_info(engine, by)
    values = {level: unit_values(engine, level, by) for level in dict.fromkeys(levels)}
    counts: dict[str | None, int] = {}
    for level, (keys, labels) in values.items():
        units = set(np.asarray(counted.get(level, np.zeros(0)), dtype=np.int64).tolist())
        for k, label in zip(keys.tolist(), labels):
            if k in units:
                counts[label] = counts.get(label, 0) + 1
    return groups_from_counts(counts, by.limit, prop.type), values


def run_broken_down(
    conn, request, runner, by: Breakdown, event, progress, groups: Groups | None = None, rank_level=None
):
    """``runner(conn, request')`` with each series split by ``by``; the frame gets ``group``.

    ``event`` names the units that rank the values (those with that event in the range);
    ``groups`` fixes the values instead (the previous period of a trend keeps the current one's).
    """
    import dataclasses

    from seglab.core.analyses.common import resolve_window

    if by.entity == "event":
        raise AnalysisError(f"--by {by.text}: only a trend can be broken down by an event property")
    engine = Engine(conn, progress)
    series = request.series
    for s in series:
        check_level(by, s.level)
    if groups is None:
        window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
        counted = counted_event_units(engine, event, window, series)
        if rank_level == "account" and "user" in counted:
            # A trend of unique accounts ranks the values by accounts.
            from seglab.core.analyses.activity import UnitMap

            accounts = UnitMap(engine).account_of(counted.pop("user"))
            counted["account"] = np.unique(
                np.concatenate([accounts[accounts >= 0], counted.get("account", [])])
            )
        levels = [s.level for s in series] + ([rank_level] if rank_level else [])
        groups, values = decide_for_series(engine, by, counted, levels)
    else:
        values = {s.level: unit_values(engine, s.level, by) for s in series}
    expanded: list[SeriesSpec] = []
    for s in series:
        keys, labels = values[s.level]
        expanded.extend(expand_series((s,), keys, labels, groups))
    if not expanded:  # nobody to count: no rows
        frame = runner(conn, request, progress).iloc[0:0].copy()
        frame.insert(1, "group", pd.Series([], dtype=object))
        frame.attrs["groups"] = groups
        return frame
    frame = runner(conn, dataclasses.replace(request, series=tuple(expanded)), progress)
    frame = split_labels(frame)
    frame.attrs["groups"] = groups
    return frame
