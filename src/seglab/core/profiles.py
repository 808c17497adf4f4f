"""Read-only queries behind the members list, the user and account profiles and the builder's pickers.

Qt-free: the UI runs these in a worker thread, each with its own connection. Every
identifier comes from the property catalogue (internal ``p<N>`` column names); every
value is a bound parameter. Sets of keys are passed as one JSON array and expanded
with ``json_each``, so a 100k-member list is one statement, not 100k parameters.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from seglab.core.progress import NULL_PROGRESS, Progress, check_cancelled, install_interrupt
from seglab.core.project import PropertyInfo, event_name_counts, load_properties, resolve_as_of
from seglab.core.search import display_name
from seglab.core.timeutil import DAY_MS, ms_to_iso

LEVELS = ("user", "account")

# -- formula-injection-safe CSV --------------------------------------------------------------


# -- members ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberTable:
    """The rows of a members list: one per key, in ``keys`` order.

    ``types`` gives each column's kind (``text``, ``integer``, ``real``, ``boolean``,
    ``datetime``); datetime values are epoch milliseconds (shown and exported as ISO).
    """

    level: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    keys: tuple[int, ...]
    rows: list[tuple] = field(repr=False)
    profiles: bool = True  # False: a connected project's members (no local profile to open)

    def export_rows(self) -> Iterable[tuple]:
        """Rows for CSV: datetimes as ISO 8601, everything else as is."""
        dt_cols = [i for i, t in enumerate(self.types) if t == "datetime"]
        for row in self.rows:
            if dt_cols:
                values = list(row)
                for i in dt_cols:
                    values[i] = ms_to_iso(values[i]) if values[i] is not None else None
                row = tuple(values)
            yield row


def _keys_json(keys: Sequence[int]) -> str:
    return json.dumps([int(k) for k in keys])


def _prop_select(props: list[PropertyInfo], alias: str) -> str:
    # column_name is always an internal p<N> name from the catalogue, never text from a file.
    return "".join(f', {alias}."{p.column}"' for p in props)


def _convert(value: Any, ptype: str) -> Any:
    if value is None:
        return None
    if ptype == "boolean":
        return bool(value)
    return value


def member_table(
    conn: sqlite3.Connection, level: str, keys: Sequence[int], progress: Progress = NULL_PROGRESS
) -> MemberTable:
    """Ids, activity and every property of the given users or accounts (``level``)."""
    if level not in LEVELS:
        raise ValueError(f"level must be 'user' or 'account', not {level!r}")
    check_cancelled(progress)
    props = load_properties(conn, level)
    if level == "user":
        columns = ("user_id", "account", "first seen", "last seen", *(p.name for p in props))
        types = ("text", "text", "datetime", "datetime", *(p.type for p in props))
        sql = (
            "SELECT k.value, u.user_id, a.account_id, u.first_ts, u.last_ts"
            + _prop_select(props, "u")
            + " FROM json_each(?) k JOIN users u ON u.user_key = k.value"
            " LEFT JOIN accounts a ON a.account_key = u.account_key"
        )
    else:
        columns = ("account_id", "users", "last activity", *(p.name for p in props))
        types = ("text", "integer", "datetime", *(p.type for p in props))
        sql = (
            "SELECT k.value, a.account_id,"
            " (SELECT count(*) FROM users u WHERE u.account_key = a.account_key),"
            " (SELECT max(u.last_ts) FROM users u WHERE u.account_key = a.account_key)"
            + _prop_select(props, "a")
            + " FROM json_each(?) k JOIN accounts a ON a.account_key = k.value"
        )
    fixed = len(columns) - len(props)
    by_key: dict[int, tuple] = {}
    cur = conn.execute(sql, (_keys_json(keys),))
    while True:
        batch = cur.fetchmany(5000)
        if not batch:
            break
        check_cancelled(progress)
        for row in batch:
            values = list(row[1:])
            for i, p in enumerate(props):
                values[fixed + i] = _convert(values[fixed + i], p.type)
            by_key[row[0]] = tuple(values)
        progress.report(len(by_key), len(keys), "Loading members")
    present = tuple(k for k in keys if k in by_key)
    return MemberTable(level, columns, types, present, [by_key[k] for k in present])


def keys_for_ids(conn: sqlite3.Connection, level: str, ids: Sequence[str]) -> list[int]:
    """Internal keys for text ids (unknown ids are skipped), in the given order."""
    table, id_col, key_col = (
        ("users", "user_id", "user_key") if level == "user" else ("accounts", "account_id", "account_key")
    )
    rows = conn.execute(
        f"SELECT j.value, t.{key_col} FROM json_each(?) j JOIN {table} t ON t.{id_col} = j.value",
        (json.dumps([str(i) for i in ids]),),
    ).fetchall()
    found = dict(rows)
    return [found[i] for i in ids if i in found]


# -- profiles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyValue:
    name: str
    type: str
    value: Any  # datetime: epoch ms; boolean: bool


@dataclass(frozen=True)
class UserProfile:
    key: int
    user_id: str
    account_key: int | None
    account_id: str | None
    properties: tuple[PropertyValue, ...]
    first_seen: int | None  # epoch ms
    last_seen: int | None
    event_counts: tuple[tuple[str, int], ...]  # by name, most frequent first
    total_events: int
    name: str | None = None  # the user's name (or e-mail) property, when set
    account_name: str | None = None  # the account's name property, when set


@dataclass(frozen=True)
class AccountUser:
    key: int | str  # a connected project's user: the text id (it has no local key)
    user_id: str
    events: int
    events_30d: int
    last_seen: int | None


@dataclass(frozen=True)
class AccountHealth:
    as_of: int | None
    active_users_7d: int
    active_users_30d: int
    events_30d: int
    events_per_active_user_30d: float | None
    last_activity: int | None


@dataclass(frozen=True)
class AccountProfile:
    key: int
    account_id: str
    properties: tuple[PropertyValue, ...]
    users: tuple[AccountUser, ...]
    health: AccountHealth
    event_counts: tuple[tuple[str, int], ...]
    name: str | None = None  # the account's name property, when set


def _properties(conn: sqlite3.Connection, entity: str, table: str, key_col: str, key: int):
    props = load_properties(conn, entity)
    if not props:
        return ()
    cols = ", ".join(f'"{p.column}"' for p in props)
    row = conn.execute(f"SELECT {cols} FROM {table} WHERE {key_col} = ?", (key,)).fetchone()
    if row is None:
        return ()
    return tuple(PropertyValue(p.name, p.type, _convert(v, p.type)) for p, v in zip(props, row))


def user_profile(conn: sqlite3.Connection, user_key: int) -> UserProfile:
    row = conn.execute(
        "SELECT u.user_id, u.account_key, a.account_id, u.first_ts, u.last_ts FROM users u "
        "LEFT JOIN accounts a ON a.account_key = u.account_key WHERE u.user_key = ?",
        (user_key,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no user with key {user_key}")
    counts = tuple(
        conn.execute(
            "SELECT en.name, sum(d.n) AS n FROM user_days d "
            "JOIN event_names en ON en.event_key = d.event_key WHERE d.user_key = ? "
            "GROUP BY d.event_key ORDER BY n DESC, en.name",
            (user_key,),
        ).fetchall()
    )
    return UserProfile(
        key=user_key,
        user_id=row[0],
        account_key=row[1],
        account_id=row[2],
        properties=_properties(conn, "user", "users", "user_key", user_key),
        first_seen=row[3],
        last_seen=row[4],
        event_counts=counts,
        total_events=sum(n for _, n in counts),
        name=display_name(conn, "user", user_key),
        account_name=display_name(conn, "account", row[1]),
    )


def account_profile(
    conn: sqlite3.Connection, account_key: int, as_of_ms: int | None = None
) -> AccountProfile:
    row = conn.execute("SELECT account_id FROM accounts WHERE account_key = ?", (account_key,)).fetchone()
    if row is None:
        raise LookupError(f"no account with key {account_key}")
    as_of = resolve_as_of(conn, as_of_ms)
    t = as_of if as_of is not None else 0
    users = tuple(
        AccountUser(*r)
        for r in conn.execute(
            "SELECT u.user_key, u.user_id,"
            " coalesce((SELECT sum(d.n) FROM user_days d WHERE d.user_key = u.user_key), 0),"
            " (SELECT count(*) FROM events e WHERE e.user_key = u.user_key AND e.ts > ? AND e.ts <= ?),"
            " u.last_ts FROM users u WHERE u.account_key = ?"
            " ORDER BY u.last_ts IS NULL, u.last_ts DESC, u.user_id",
            (t - 30 * DAY_MS, t, account_key),
        )
    )

    def active(days: int) -> tuple[int, int]:
        return conn.execute(
            "SELECT count(DISTINCT e.user_key), count(*) FROM events e "
            "JOIN users u ON u.user_key = e.user_key WHERE u.account_key = ? AND e.ts > ? AND e.ts <= ?",
            (account_key, t - days * DAY_MS, t),
        ).fetchone()

    a7, _ = active(7)
    a30, e30 = active(30)
    last = conn.execute(
        "SELECT max(e.ts) FROM events e JOIN users u ON u.user_key = e.user_key "
        "WHERE u.account_key = ? AND e.ts <= ?",
        (account_key, t),
    ).fetchone()[0]
    counts = tuple(
        conn.execute(
            "SELECT en.name, sum(d.n) AS n FROM user_days d JOIN users u ON u.user_key = d.user_key "
            "JOIN event_names en ON en.event_key = d.event_key WHERE u.account_key = ? "
            "GROUP BY d.event_key ORDER BY n DESC, en.name",
            (account_key,),
        ).fetchall()
    )
    health = AccountHealth(
        as_of=as_of,
        active_users_7d=a7,
        active_users_30d=a30,
        events_30d=e30,
        events_per_active_user_30d=(e30 / a30) if a30 else None,
        last_activity=last,
    )
    return AccountProfile(
        key=account_key,
        account_id=row[0],
        properties=_properties(conn, "account", "accounts", "account_key", account_key),
        users=users,
        health=health,
        event_counts=counts,
        name=display_name(conn, "account", account_key),
    )


@dataclass(frozen=True)
class Timeline:
    """Events newest first: rows of ``(ts_ms, user_id, event_name, {property: value})``."""

    total: int
    rows: list[tuple] = field(repr=False)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def timeline(
    conn: sqlite3.Connection,
    *,
    user_key: int | None = None,
    account_key: int | None = None,
    limit: int = 20_000,
    progress: Progress = NULL_PROGRESS,
) -> Timeline:
    """The newest ``limit`` events of one user or of all users of one account."""
    if (user_key is None) == (account_key is None):
        raise ValueError("give exactly one of user_key or account_key")
    param: int | None
    if user_key is not None:
        where, param = "e.user_key = ?", user_key
    else:
        where, param = "e.user_key IN (SELECT user_key FROM users WHERE account_key = ?)", account_key
    total = conn.execute(f"SELECT count(*) FROM events e WHERE {where}", (param,)).fetchone()[0]
    props = load_properties(conn, "event")
    sql = (
        "SELECT e.ts, u.user_id, en.name"
        + _prop_select(props, "e")
        + " FROM events e JOIN users u ON u.user_key = e.user_key"
        " JOIN event_names en ON en.event_key = e.event_key"
        f" WHERE {where} ORDER BY e.ts DESC LIMIT ?"
    )
    rows = []
    cur = conn.execute(sql, (param, int(limit)))
    while True:
        batch = cur.fetchmany(5000)
        if not batch:
            break
        check_cancelled(progress)
        for r in batch:
            values = {p.name: _convert(v, p.type) for p, v in zip(props, r[3:]) if v is not None}
            rows.append((r[0], r[1], r[2], values))
    return Timeline(total=total, rows=rows)


# -- builder pickers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BuilderCatalogue:
    """What the segment builder's pickers offer: properties, event names, frequent values."""

    properties: tuple[PropertyInfo, ...]
    event_names: tuple[tuple[str, int], ...]  # most frequent first
    top_values: dict[tuple[str, str], tuple[str, ...]]  # (entity, property name) -> frequent values
    date_range: tuple[str, str] | None = None  # first and last event day (UTC); date defaults

    def property(self, entity: str, name: str) -> PropertyInfo | None:
        for p in self.properties:
            if p.entity == entity and p.name == name:
                return p
        return None


EMPTY_CATALOGUE = BuilderCatalogue((), (), {})

# Frequent values of event properties are taken from the newest rows only: a full GROUP BY
# over tens of millions of events would keep the builder's pickers waiting.
_EVENT_SAMPLE_ROWS = 200_000


def top_values(conn: sqlite3.Connection, prop: PropertyInfo, limit: int = 30) -> tuple[str, ...]:
    """The most frequent values of a text property (for completion), most frequent first."""
    table = {"user": "users", "account": "accounts", "event": "events"}[prop.entity]
    col = f'"{prop.column}"'
    source = table
    if prop.entity == "event":
        source = f"(SELECT {col} FROM events ORDER BY rowid DESC LIMIT {_EVENT_SAMPLE_ROWS})"
    rows = conn.execute(
        f"SELECT {col}, count(*) AS n FROM {source} WHERE {col} IS NOT NULL "
        f"GROUP BY {col} ORDER BY n DESC, {col} LIMIT ?",
        (int(limit),),
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def builder_catalogue(conn: sqlite3.Connection, progress: Progress = NULL_PROGRESS) -> BuilderCatalogue:
    props = tuple(load_properties(conn))
    values: dict[tuple[str, str], tuple[str, ...]] = {}
    for i, p in enumerate(props):
        check_cancelled(progress)
        if p.type == "text":
            values[(p.entity, p.name)] = top_values(conn, p)
        progress.report(i + 1, len(props), "Reading properties")
    first, last = conn.execute("SELECT min(ts), max(ts) FROM events").fetchone()
    days = (ms_to_iso(first)[:10], ms_to_iso(last)[:10]) if first is not None else None
    return BuilderCatalogue(props, tuple(event_name_counts(conn)), values, days)


def connected_builder_catalogue(
    conn: sqlite3.Connection, engine: Any, progress: Progress
) -> BuilderCatalogue:
    """:func:`builder_catalogue` of a connected project: event names, frequent values and the
    date range read in its source (one row per name or value read back)."""
    from seglab.core.engines import tasks

    props = tuple(load_properties(conn))
    values: dict[tuple[str, str], tuple[str, ...]] = {}
    for i, p in enumerate(props):
        check_cancelled(progress)
        if p.type == "text":
            values[(p.entity, p.name)] = tasks.top_values(engine, p)
        progress.report(i + 1, len(props), "Reading properties")
    first, last = engine.bounds()
    days = (ms_to_iso(first)[:10], ms_to_iso(last)[:10]) if first is not None else None
    return BuilderCatalogue(props, tuple(tasks.event_name_counts(engine)), values, days)


# -- task functions: f(path, request, progress), for the UI's worker --------------------------


def is_connected(path) -> bool:
    from seglab.core.engines.tasks import is_connected as connected

    return connected(path)


def task_engine(path, progress: Progress):
    from seglab.core.engines.tasks import task_engine as engine_for

    return engine_for(path, progress)


def _reader(path) -> sqlite3.Connection:
    from seglab.core.storage.connection import connect

    return connect(path, readonly=True)


def load_member_table(
    path, request: tuple[str, Sequence[int]], progress: Progress = NULL_PROGRESS
) -> MemberTable:
    """``request`` is ``(level, keys)``."""
    level, keys = request
    conn = _reader(path)
    try:
        return member_table(conn, level, keys, progress)
    finally:
        conn.close()


def load_id_member_table(
    path, request: tuple[str, Sequence[str]], progress: Progress = NULL_PROGRESS
) -> MemberTable:
    """``request`` is ``(level, ids)``: the people a connected project's drill-down listed (by
    text id; they have no local keys), with their properties, read in its source, in ``ids``
    order. ``keys`` are row numbers and ``profiles`` is False, as for a segment's members."""
    from seglab.core.engines import tasks
    from seglab.core.engines.base import source_of

    level, ids = request
    with task_engine(path, progress) as (conn, engine):
        if source_of(conn) is None:  # a local project: its keys for the ids
            return member_table(conn, level, keys_for_ids(conn, level, list(ids)), progress)
        columns, types, rows = tasks.member_rows(engine, level, list(ids), progress)
    return MemberTable(level, columns, types, tuple(range(len(rows))), rows, profiles=False)


def load_segment_member_table(
    path, request: tuple[dict, int | None], progress: Progress = NULL_PROGRESS
) -> MemberTable:
    """``request`` is ``(definition, as_of_ms)``: the members of a segment definition, sorted by key."""
    from seglab.core import segments

    definition, as_of_ms = request
    seg = segments.load_definition(definition)
    if is_connected(path):
        return _connected_member_table(path, seg, as_of_ms, progress)
    conn = _reader(path)
    try:
        install_interrupt(conn, progress)
        keys = sorted(segments.member_keys(conn, seg, as_of_ms=as_of_ms))
        return member_table(conn, seg.level, keys, progress)
    finally:
        conn.close()


def _connected_member_table(path, seg: Any, as_of_ms: int | None, progress: Progress) -> MemberTable:
    """The members of a connected project's segment, with their properties, read in its source.
    Its rows have no local keys: ``keys`` are row numbers and ``profiles`` is False."""
    from seglab.core.engines import tasks

    with task_engine(path, progress) as (_conn, engine):
        ids = engine.member_ids(seg, as_of_ms)
        check_cancelled(progress)
        columns, types, rows = tasks.member_rows(engine, seg.level, ids, progress)
    return MemberTable(seg.level, columns, types, tuple(range(len(rows))), rows, profiles=False)


def connected_user_profile(engine, user_id: str, limit: int = 20_000, progress: Progress = NULL_PROGRESS):
    """:func:`user_profile` and :func:`timeline` of a connected project's user ``user_id`` (it has
    no local key: ``key`` is 0 and ``account_key`` None), read in its source: the same figures,
    properties, counts and events as a local project of the same rows gives."""
    from sqlglot import exp

    from seglab.core.engines.clickhouse import col, lit, sel

    props = load_properties(engine.conn, "user")
    row = engine.run(
        sel(
            col("user_id"),
            col("account_key"),
            col("first_ts"),
            col("last_ts"),
            *[col(p.column) for p in props],
        )
        .from_(exp.to_table("users"))
        .where(exp.EQ(this=col("user_key"), expression=lit(str(user_id))))
    )
    if not row:
        raise LookupError(f"no user with id {user_id}")
    uid, account, first, last, *values = row[0]
    properties = tuple(PropertyValue(p.name, p.type, _convert(v, p.type)) for p, v in zip(props, values))
    mine = exp.EQ(this=col("user_key"), expression=lit(str(user_id)))
    counts = tuple(
        (str(name), int(n))
        for name, n in engine.run(
            sel(col("event_key"), exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
            .from_(exp.to_table("events"))
            .where(mine.copy())
            .group_by(col("event_key"))
        )
    )
    counts = tuple(sorted(counts, key=lambda c: (-c[1], c[0])))
    check_cancelled(progress)
    ev_props = load_properties(engine.conn, "event")
    rows = []
    for r in engine.run(
        sel(col("ts"), col("user_key"), col("event_key"), *[col(p.column) for p in ev_props])
        .from_(exp.to_table("events"))
        .where(mine.copy())
        .order_by(exp.Ordered(this=col("ts"), desc=True))
        .limit(int(limit))
    ):
        values_ = {p.name: _convert(v, p.type) for p, v in zip(ev_props, r[3:]) if v is not None}
        rows.append((int(r[0]), str(r[1]), str(r[2]), values_))

    account_name = None
    if account is not None:
        a_props = [p for p in load_properties(engine.conn, "account") if p.type == "text"]
        if a_props:
            got = engine.run(
                sel(*[col(p.column) for p in a_props])
                .from_(exp.to_table("accounts"))
                .where(exp.EQ(this=col("account_key"), expression=lit(str(account))))
            )
            if got:
                account_name = _label({p.name: v for p, v in zip(a_props, got[0])})
    total = sum(n for _, n in counts)
    profile = UserProfile(
        key=0,
        user_id=str(uid),
        account_key=None,
        account_id=None if account is None else str(account),
        properties=properties,
        first_seen=first,
        last_seen=last,
        event_counts=counts,
        total_events=total,
        name=_label({p.name: p.value for p in properties if p.type == "text"}),
        account_name=account_name,
    )
    return profile, Timeline(total=total, rows=rows)


def load_user_profile(
    path, user_key: int | str, progress: Progress = NULL_PROGRESS
) -> tuple[UserProfile, Timeline]:
    """``user_key``: a local project's key, or on a connected project the user's text id."""
    if is_connected(path):
        with task_engine(path, progress) as (_conn, engine):
            return connected_user_profile(engine, str(user_key), progress=progress)
    conn = _reader(path)
    try:
        key = int(user_key)
        return user_profile(conn, key), timeline(conn, user_key=key, progress=progress)
    finally:
        conn.close()


_ACCOUNT_USERS = (
    "SELECT u.user_id, count(e.ts) AS n, countIf(e.ts > __lo30 AND e.ts <= __t) AS n30, u.last_ts "
    "FROM users AS u LEFT JOIN events AS e ON e.user_key = u.user_key WHERE u.account_key = __a "
    "GROUP BY u.user_id, u.last_ts"
)
_ACCOUNT_HEALTH = (
    "SELECT uniqExactIf(e.user_key, e.ts > __lo7 AND e.ts <= __t), "
    "uniqExactIf(e.user_key, e.ts > __lo30 AND e.ts <= __t), countIf(e.ts > __lo30 AND e.ts <= __t), "
    "maxIf(e.ts, e.ts <= __t), countIf(e.ts <= __t) "
    "FROM events AS e INNER JOIN users AS u ON u.user_key = e.user_key WHERE u.account_key = __a"
)
_ACCOUNT_COUNTS = (
    "SELECT e.event_key, count() FROM events AS e INNER JOIN users AS u ON u.user_key = e.user_key "
    "WHERE u.account_key = __a GROUP BY e.event_key"
)


def connected_account_profile(
    engine, account_id: str, limit: int = 20_000, progress: Progress = NULL_PROGRESS
) -> tuple[AccountProfile, Timeline]:
    """:func:`account_profile` and :func:`timeline` of a connected project's account, read in its
    source. It has no local keys: ``key`` is 0 and each user's ``key`` is the user's text id (what
    :func:`load_user_profile` takes on a connected project)."""
    from sqlglot import exp

    from seglab.core.engines.clickhouse import _template, col, lit, sel

    a = lit(str(account_id))
    props = load_properties(engine.conn, "account")
    found = engine.run(
        sel(col("account_id"), *[col(p.column) for p in props])
        .from_(exp.to_table("accounts"))
        .where(exp.EQ(this=col("account_key"), expression=a.copy()))
    )
    if not found:
        raise LookupError(f"no account with id {account_id}")
    properties = tuple(
        PropertyValue(p.name, p.type, _convert(v, p.type)) for p, v in zip(props, found[0][1:])
    )
    as_of = engine.as_of(None)
    t = as_of if as_of is not None else 0
    names = {"__a": a, "__t": lit(t), "__lo7": lit(t - 7 * DAY_MS), "__lo30": lit(t - 30 * DAY_MS)}
    users = [
        AccountUser(str(uid), str(uid), int(n), int(n30), last)
        for uid, n, n30, last in engine.run(_template(_ACCOUNT_USERS, names))
    ]
    # As a local project orders them: the latest seen first, never seen last, then by id.
    users.sort(key=lambda u: (u.last_seen is None, -(u.last_seen or 0), u.user_id))
    a7, a30, e30, last, before = engine.run(_template(_ACCOUNT_HEALTH, names))[0]
    counts = sorted(
        ((str(name), int(n)) for name, n in engine.run(_template(_ACCOUNT_COUNTS, names))),
        key=lambda c: (-c[1], c[0]),
    )
    check_cancelled(progress)
    health = AccountHealth(
        as_of=as_of,
        active_users_7d=int(a7),
        active_users_30d=int(a30),
        events_30d=int(e30),
        events_per_active_user_30d=(int(e30) / int(a30)) if a30 else None,
        last_activity=int(last) if int(before) else None,  # maxIf of no rows is 0, not NULL
    )
    ev_props = load_properties(engine.conn, "event")
    mine = exp.In(
        this=col("user_key"),
        query=exp.Subquery(
            this=sel(col("user_key"))
            .from_(exp.to_table("users"))
            .where(exp.EQ(this=col("account_key"), expression=a.copy()))
        ),
    )
    rows = []
    for r in engine.run(
        sel(col("ts"), col("user_key"), col("event_key"), *[col(p.column) for p in ev_props])
        .from_(exp.to_table("events"))
        .where(mine)
        .order_by(exp.Ordered(this=col("ts"), desc=True))
        .limit(int(limit))
    ):
        values = {p.name: _convert(v, p.type) for p, v in zip(ev_props, r[3:]) if v is not None}
        rows.append((int(r[0]), str(r[1]), str(r[2]), values))
    profile = AccountProfile(
        key=0,
        account_id=str(found[0][0]),
        properties=properties,
        users=tuple(users),
        health=health,
        event_counts=tuple(counts),
        name=_label({p.name: p.value for p in properties if p.type == "text"}),
    )
    return profile, Timeline(total=sum(n for _, n in counts), rows=rows)


def _label(values: dict) -> str | None:
    """The name shown beside an id (``search.display_name``'s rule) from text property values."""
    from seglab.core.search import _LABELS

    folded = {k.casefold(): v for k, v in values.items() if isinstance(v, str) and v != ""}
    return next((folded[n] for n in _LABELS if n in folded), None)


def load_account_profile(
    path, account_key: int | str, progress: Progress = NULL_PROGRESS
) -> tuple[AccountProfile, Timeline]:
    """``account_key``: a local project's key, or on a connected project the account's text id."""
    if is_connected(path):
        with task_engine(path, progress) as (_conn, engine):
            return connected_account_profile(engine, str(account_key), progress=progress)
    conn = _reader(path)
    try:
        key = int(account_key)
        return account_profile(conn, key), timeline(conn, account_key=key, progress=progress)
    finally:
        conn.close()


def load_builder_catalogue(path, request: Any = None, progress: Progress = NULL_PROGRESS) -> BuilderCatalogue:
    if is_connected(path):
        with task_engine(path, progress) as (conn, engine):
            return connected_builder_catalogue(conn, engine, progress)
    conn = _reader(path)
    try:
        return builder_catalogue(conn, progress)
    finally:
        conn.close()


# -- the builder's live preview -----------------------------------------------------------------


@dataclass(frozen=True)
class PreviewResult:
    """What the builder shows for a draft definition.

    ``problems``: ``(path, message, severity)`` from the core (paths as in the JSON);
    ``alone`` / ``running``: top-level condition index -> members of that condition on its
    own / of conditions 0..i combined (valid conditions only); a condition not filled in yet
    (no property, event, segment or ids chosen) is a problem of severity ``incomplete``: it
    is left out of the counts, not an error; ``total`` is None while the definition has errors;
    ``description`` is the core's sentence (None if invalid);
    ``nested``: for conditions inside groups and ``users`` conditions of valid top-level
    rows, their path -> (level, members of that condition alone at that level).
    """

    level: str
    universe: int
    total: int | None
    alone: dict[int, int]
    running: dict[int, int]
    problems: tuple[tuple[str, str, str], ...]
    description: str | None
    nested: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (level, alone)


def _shift_path(path: str, index: int) -> str:
    # A condition checked alone is "conditions[0]..."; in the draft it is "conditions[index]...".
    prefix = "conditions[0]"
    if path.startswith(prefix):
        return f"conditions[{index}]" + path[len(prefix) :]
    return path


def incomplete(cond: Any, path: str) -> tuple[str, str] | None:
    """``(path, what to do)`` for the first part of ``cond`` that has not been filled in yet."""
    if not isinstance(cond, dict):
        return None
    kind = cond.get("type")
    if kind == "property" and not str(cond.get("property", "")).strip():
        return f"{path}.property", "choose a property"
    if kind in ("behavior", "first_seen", "last_seen") and not str(cond.get("event", "*")).strip():
        return f"{path}.event", "choose an event"
    if kind == "segment" and not str(cond.get("segment", "")).strip():
        return f"{path}.segment", "choose a saved segment"
    if kind == "list" and not cond.get("ids"):
        return f"{path}.ids", "paste or type the ids"
    if kind == "behavior":
        for j, f in enumerate(cond.get("where") or []):
            if isinstance(f, dict) and not str(f.get("property", "")).strip():
                return f"{path}.where[{j}].property", "choose a property"
    children: list = []
    if kind == "group":
        children, child_path = cond.get("conditions") or [], f"{path}.conditions"
    elif kind == "users" and isinstance(cond.get("match"), dict):
        children, child_path = cond["match"].get("conditions") or [], f"{path}.match.conditions"
    for j, child in enumerate(children):
        found = incomplete(child, f"{child_path}[{j}]")
        if found:
            return found
    return None


def preview(
    conn: sqlite3.Connection,
    definition: dict,
    as_of_ms: int | None = None,
    name: str | None = None,
    progress: Progress = NULL_PROGRESS,
    engine: Any = None,
) -> PreviewResult:
    """Problems, per-condition counts, running totals and the total of a (possibly unfinished) draft.

    Each top-level condition is loaded and checked on its own, so one unfinished row
    does not hide the counts of the others. ``engine``: a connected project's
    ClickHouse engine (the counts run in its source), None for a local project.
    """
    from seglab.core import segments
    from seglab.core.errors import SegmentError

    level = definition.get("level", "user") if isinstance(definition, dict) else "user"
    if level not in LEVELS:
        level = "user"
    match = definition.get("match", "all")
    if engine is not None:
        from seglab.core.engines import tasks

        universe = tasks.universe_size(engine, level)
    else:
        universe = segments.universe_size(conn, level)
    found: list[tuple[str, str, str]] = []
    # The whole definition first: top-level shape errors (level, match, version).
    top = {k: v for k, v in definition.items() if k != "conditions"}
    try:
        segments.load_definition({**top, "conditions": []})
    except SegmentError as exc:
        return PreviewResult(level, universe, None, {}, {}, ((exc.path, exc.reason, "error"),), None)
    catalog = tasks.checking_catalog(engine) if engine is not None else segments.Catalog.from_conn(conn)
    valid: list[tuple[int, Any]] = []
    for i, cond in enumerate(definition.get("conditions", [])):
        check_cancelled(progress)
        unfinished = incomplete(cond, f"conditions[{i}]")
        if unfinished is not None:
            found.append((*unfinished, "incomplete"))
            continue
        try:
            single = segments.load_definition(
                {"version": 1, "level": level, "match": match, "conditions": [cond]}
            )
        except SegmentError as exc:
            found.append((_shift_path(exc.path, i), exc.reason, "error"))
            continue
        row_problems = segments.problems(catalog, single, name=name)
        found.extend((_shift_path(p.path, i), p.message, p.severity) for p in row_problems)
        if not any(p.severity == "error" for p in row_problems):
            valid.append((i, single.conditions[0]))
    alone: dict[int, int] = {}
    running: dict[int, int] = {}
    if valid:
        seg = segments.SegmentDef(level=level, match=match, conditions=tuple(c for _, c in valid))
        if engine is not None:
            counts = tasks.condition_counts(engine, seg, as_of_ms, progress)
        else:
            counts = segments.condition_counts(conn, seg, as_of_ms)
        for (i, _), cc in zip(valid, counts):
            alone[i] = cc.alone
            running[i] = cc.running
            check_cancelled(progress)
    nested: dict[str, tuple[str, int]] = {}
    conditions = definition.get("conditions", [])
    for i, _cond in valid:
        _count_nested(conn, conditions[i], f"conditions[{i}]", level, as_of_ms, nested, progress, engine)
    errors = any(p[2] == "error" for p in found)
    total = description = None
    if not errors:
        complete = [conditions[i] for i, _ in valid]
        seg = segments.load_definition({**definition, "conditions": complete})
        total = running[valid[-1][0]] if valid else universe
        description = segments.describe(seg)
    return PreviewResult(level, universe, total, alone, running, tuple(found), description, nested)


def _count_nested(
    conn, cond: dict, path: str, level: str, as_of_ms, out: dict, progress: Progress, engine: Any = None
) -> None:
    """Count each condition inside a group or a users condition on its own (for the builder's rows)."""
    from seglab.core import segments

    if cond.get("type") == "group":
        children, child_path, child_level = cond.get("conditions", []), f"{path}.conditions", level
    elif cond.get("type") == "users":
        inner = cond.get("match") or {}
        children, child_path, child_level = inner.get("conditions", []), f"{path}.match.conditions", "user"
    else:
        return
    for j, child in enumerate(children):
        check_cancelled(progress)
        p = f"{child_path}[{j}]"
        seg = segments.load_definition({"version": 1, "level": child_level, "conditions": [child]})
        n = engine.count(seg, as_of_ms) if engine is not None else segments.count(conn, seg, as_of_ms)
        out[p] = (child_level, n)
        _count_nested(conn, child, p, child_level, as_of_ms, out, progress, engine)


def load_preview(path, request: tuple, progress: Progress = NULL_PROGRESS) -> PreviewResult:
    """Worker task: ``request`` = ``(definition, as_of_ms, name)``."""
    definition, as_of_ms, name = request
    if is_connected(path):
        with task_engine(path, progress) as (conn, engine):
            return preview(conn, definition, as_of_ms, name, progress, engine)
    conn = _reader(path)
    try:
        install_interrupt(conn, progress)
        return preview(conn, definition, as_of_ms, name, progress)
    finally:
        conn.close()


# -- the segment library ------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryEntry:
    """A saved segment as the library lists it (``size`` None when it cannot be counted)."""

    name: str
    level: str
    definition: dict
    description: str
    size: int | None
    updated: str
    error: str | None = None
    readable: bool = True  # False: the stored definition cannot be read; ``definition`` is empty


def library_entries(
    conn: sqlite3.Connection,
    progress: Progress = NULL_PROGRESS,
    *,
    with_sizes: bool = True,
    engine: Any = None,
) -> list[LibraryEntry]:
    """``engine``: a connected project's engine, which counts each segment in its source."""
    from seglab.core import segments
    from seglab.core.errors import SegLabError

    saved = segments.list_saved(conn)
    out = []
    for i, s in enumerate(saved):
        check_cancelled(progress)
        size = error = None
        if s.problem is not None:  # unreadable: listed with why, never counted
            error = s.problem
        elif with_sizes:
            try:
                size = (
                    engine.count(s.definition) if engine is not None else segments.count(conn, s.definition)
                )
            except SegLabError as exc:
                error = str(exc)
        try:
            description = segments.describe(s.definition) if s.problem is None else "(cannot be read)"
        except Exception as exc:  # a description must never hide the segment from the list
            description = f"(cannot describe: {exc})"
        definition = segments.dump_definition(s.definition)
        out.append(
            LibraryEntry(s.name, s.level, definition, description, size, s.updated, error, s.problem is None)
        )
        progress.report(i + 1, len(saved), "Counting segments")
    return out


def load_library(path, request: Any = None, progress: Progress = NULL_PROGRESS) -> list[LibraryEntry]:
    """Worker task: every saved segment with its size and description."""
    if is_connected(path):
        with task_engine(path, progress) as (conn, engine):
            return library_entries(conn, progress, engine=engine)
    conn = _reader(path)
    try:
        install_interrupt(conn, progress)
        return library_entries(conn, progress)
    finally:
        conn.close()
