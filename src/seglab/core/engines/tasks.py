"""Connected projects in long-lived processes (the desktop app): one task, one open source.

The command line opens a source for one command and closes it at the end; the app runs
many short tasks (a live count, a chart, the Data page) in worker threads. Each task does
what a command does: it opens the source, runs its queries and closes it, so the app never
holds a chdb data folder between tasks and ``seglab`` commands can use it meanwhile.

Tasks on sources are serialised in a process: chdb runs one embedded server per process,
for one data folder at a time (opening another folder while one is open fails), and the
session's temporary tables (``seglab_users``...) are per task. Qt-free (docs/sources.md).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from seglab.core.engines.base import LocalEngine, source_of
from seglab.core.engines.source import Client, SourceError, open_client, parse_url
from seglab.core.progress import NULL_PROGRESS, Progress, check_cancelled

if TYPE_CHECKING:
    from seglab.core.engines.clickhouse import ClickHouseEngine
    from seglab.core.project import PropertyInfo

EVENT_SAMPLE = 200_000  # event rows the frequent values of an event property are taken from

# One lock for every source: chdb's embedded server admits one folder per process, and a
# server session (temporary tables) admits one query at a time.
_SOURCE_LOCK = threading.RLock()


@contextmanager
def source_turn(progress: Progress = NULL_PROGRESS) -> Iterator[None]:
    """This thread's turn on the sources of the process, for work that opens its source itself
    (the worksheet). A task waiting behind another one stops waiting as soon as it is cancelled."""
    while not _SOURCE_LOCK.acquire(timeout=0.05):
        check_cancelled(progress)
    try:
        check_cancelled(progress)
        yield
    finally:
        _SOURCE_LOCK.release()


@contextmanager
def source_client(url: str, progress: Progress = NULL_PROGRESS) -> Iterator[Client]:
    """An open client of ``url`` for one task (serialised with every other task in the process)."""
    src = parse_url(url)
    with source_turn(progress):
        client = open_client(src)
        try:
            yield client
        finally:
            client.close()


@contextmanager
def cancel_on(progress: Progress, engine: Any) -> Iterator[None]:
    """Stop ``engine``'s running query when ``progress`` is cancelled (when the engine can:
    ``engine.cancel()``); otherwise the query runs to its end and the task drops its result."""
    cancel = getattr(engine, "cancel", None)
    add = getattr(progress, "add_cancel_callback", None)
    if not callable(cancel) or not callable(add):
        yield
        return
    remove = add(cancel)
    try:
        yield
    finally:
        remove()


@contextmanager
def task_engine(
    path: str | Path, progress: Progress = NULL_PROGRESS
) -> Iterator[tuple[sqlite3.Connection, LocalEngine | ClickHouseEngine]]:
    """``(conn, engine)`` for one worker task on ``path``: a read-only connection of its own,
    and the project's engine (its source, opened for this task, when it is connected)."""
    from seglab.core.storage.connection import connect

    conn = connect(path, readonly=True)
    try:
        source = source_of(conn)
        if source is None:
            yield conn, LocalEngine(conn)
            return
        from seglab.core.engines.clickhouse import ClickHouseEngine

        with source_client(source["url"], progress) as client:
            engine = ClickHouseEngine(conn, source, client)
            # No query starts once the task is cancelled, and the running one is killed.
            with engine.watching(progress), cancel_on(progress, engine):
                yield conn, engine
    finally:
        conn.close()


def is_connected(path: str | Path) -> bool:
    from seglab.core.storage.connection import connected

    with connected(path, readonly=True) as conn:
        return source_of(conn) is not None


# -- what the app shows of a connected project ---------------------------------------------------


def _run(engine: ClickHouseEngine, query: exp.Expr, params: dict | None = None) -> list[list[Any]]:
    return engine.run(query, params or {})


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=table)


def event_name_counts(engine: ClickHouseEngine) -> list[tuple[str, int]]:
    """Event names with their event counts, most frequent first (one row per name read back)."""
    n = exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True)
    query = (
        exp.select(_col("event_key"), n)
        .from_(exp.to_table("events"))
        .group_by(_col("event_key"))
        .order_by(exp.Ordered(this=_col("n"), desc=True), _col("event_key"))
    )
    return [(str(name), int(count)) for name, count in _run(engine, query)]


def top_values(engine: ClickHouseEngine, prop: PropertyInfo, limit: int = 30) -> tuple[str, ...]:
    """The most frequent values of a text property (the builder's completion), most frequent first."""
    table = {"user": "users", "account": "accounts", "event": "events"}[prop.entity]
    column = _col(prop.column)
    source: exp.Expr = exp.to_table(table)
    if prop.entity == "event":  # a sample, as on a local project: a full scan per keystroke is too slow
        sample = (
            exp.select(column.copy()).from_(exp.to_table("events")).limit(exp.Literal.number(EVENT_SAMPLE))
        )
        source = sample.subquery("s")
    query = (
        exp.select(column, exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
        .from_(source)
        .where(exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())))
        .group_by(column.copy())
        .order_by(exp.Ordered(this=_col("n"), desc=True), column.copy())
        .limit(exp.Literal.number(int(limit)))
    )
    return tuple(str(r[0]) for r in _run(engine, query))


def universe_size(engine: ClickHouseEngine, level: str) -> int:
    """Users, or accounts (from the accounts table or linked to a user), as ``info`` counts them."""
    count = exp.Count(this=exp.Star())
    if level == "user":
        return int(_run(engine, exp.select(count).from_(exp.to_table("users")))[0][0])
    linked = (
        exp.select(_col("account_key"))
        .from_(exp.to_table("users"))
        .where(exp.Not(this=exp.Is(this=_col("account_key"), expression=exp.Null())))
    )
    query = (
        exp.select(count)
        .from_(exp.to_table("accounts"))
        .where(
            exp.or_(
                exp.EQ(this=_col("from_file"), expression=exp.Literal.number(1)),
                exp.In(this=_col("account_key"), query=exp.Subquery(this=linked)),
            )
        )
    )
    return int(_run(engine, query)[0][0])


class _SourceEvents(dict):
    """Event names of the source, asked one at a time (one row read back per name): what a
    definition's check needs ("no event named ..."), without listing every name per keystroke."""

    def __init__(self, engine: ClickHouseEngine):
        super().__init__()
        self._engine = engine
        self._absent: set[str] = set()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or name in self._absent:
            return False
        if dict.__contains__(self, name):
            return True
        if self._engine.has_event(name):
            self[name] = name
            return True
        self._absent.add(name)
        return False

    def get(self, name, default=None):
        return name if name in self else default


def checking_catalog(engine: ClickHouseEngine):
    """The engine's catalogue, with the event names of its source, for a definition's problems."""
    catalog = engine.catalog()
    catalog.event_keys = _SourceEvents(engine)
    return catalog


def condition_counts(engine: ClickHouseEngine, seg: Any, as_of_ms: int | None, progress: Progress) -> list:
    """:func:`seglab.core.segments.engine.condition_counts` in the source: each top-level
    condition alone, and conditions 0..i combined with the segment's match (counts only)."""
    from seglab.core.segments.engine import ConditionCount
    from seglab.core.segments.model import SegmentDef

    out = []
    for i, cond in enumerate(seg.conditions):
        check_cancelled(progress)
        alone = engine.count(SegmentDef(level=seg.level, match="all", conditions=(cond,)), as_of_ms)
        running = (
            alone
            if i == 0
            else engine.count(
                SegmentDef(level=seg.level, match=seg.match, conditions=seg.conditions[: i + 1]), as_of_ms
            )
        )
        out.append(ConditionCount(i, f"conditions[{i}]", alone, running))
    return out


@dataclass(frozen=True)
class SourceSummary:
    """What the Data page shows of a connected project's source."""

    kind: str
    url: str  # never a password
    tables: dict[str, dict | None]  # kind -> the contract's MAP (table, fields, properties...)
    rows: dict[str, int | None] = field(default_factory=dict)  # kind -> rows in the table


def source_summary(conn: sqlite3.Connection, client: Client | None = None) -> SourceSummary:
    """The stored source of a connected project, and its tables' row counts when ``client``."""
    source = source_of(conn)
    if source is None:
        raise SourceError("the project is not connected to a source")
    tables = {kind: source.get(kind) for kind in ("events", "users", "accounts")}
    rows: dict[str, int | None] = {}
    if client is not None:
        database = parse_url(source["url"]).database
        for kind, mapping in tables.items():
            if mapping:
                rows[kind] = table_rows(client, mapping["table"], database)
    return SourceSummary(source["kind"], source["url"], tables, rows)


def table_rows(client: Client, table: str, database: str) -> int:
    from seglab.core.engines.connect import split_table

    db, name = split_table(table, database)
    target = exp.Table(this=exp.to_identifier(name, quoted=True), db=exp.to_identifier(db, quoted=True))
    query = exp.select(exp.Count(this=exp.Star())).from_(target)
    return int(client.query(query.sql(dialect="clickhouse"))[0][0])


# -- "Connect to ClickHouse…": what a source holds -------------------------------------------------


@dataclass(frozen=True)
class SourceProbe:
    """The tables of a source's database with their columns, and the rows of the chosen ones."""

    url: str
    database: str
    tables: dict[str, list[tuple[str, str]]]  # name -> [(column, type)], the URL's database
    rows: dict[str, int]  # chosen table (as written) -> rows
    columns: dict[str, list[tuple[str, str]]]  # chosen table (as written) -> [(column, type)]
    errors: dict[str, str]  # kind -> why its table cannot be read
    password: str = ""  # where the password came from (never the password itself)


def password_note(url: str) -> str:
    """Where a source's password comes from, in words (docs/sources.md); asks the keyring."""
    import os

    from seglab.core.engines.source import KEYRING_SERVICE, PASSWORD_ENV, password_for

    src = parse_url(url)
    if src.kind == "chdb":
        return "a chdb folder needs no password"
    if os.environ.get(PASSWORD_ENV) is not None:
        return f"the password comes from {PASSWORD_ENV}"
    if password_for(src) is not None:
        where = f"service {KEYRING_SERVICE!r}, user {src.keyring_user!r}"
        return f"the password comes from the OS keyring ({where})"
    return (
        f"no password found: set {PASSWORD_ENV}, or store one in the OS keyring "
        f"(keyring set {KEYRING_SERVICE} {src.keyring_user}); connecting without one"
    )


def probe_source(
    url: str, chosen: Mapping[str, str | None], progress: Progress = NULL_PROGRESS
) -> SourceProbe:
    """Connect, list the tables of the URL's database, and count the rows of the ``chosen``
    tables (kind -> ``NAME`` or ``DATABASE.NAME``). A source that cannot be reached raises
    its sentence; a chosen table that cannot be read is reported in ``errors``."""
    from seglab.core.engines.connect import table_columns

    src = parse_url(url)
    with source_client(url, progress) as client:
        rows = client.query(
            "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
            "ORDER BY table, position",
            {"db": src.database},
        )
        tables: dict[str, list[tuple[str, str]]] = {}
        for table, name, ch_type in rows:
            tables.setdefault(str(table), []).append((str(name), str(ch_type)))
        counts: dict[str, int] = {}
        columns: dict[str, list[tuple[str, str]]] = {}
        errors: dict[str, str] = {}
        for kind, table in chosen.items():
            if not table:
                continue
            check_cancelled(progress)
            try:
                columns[table] = table_columns(client, table, src.database)
                counts[table] = table_rows(client, table, src.database)
            except SourceError as exc:
                errors[kind] = str(exc)
    return SourceProbe(src.url, src.database, tables, counts, columns, errors, password_note(url))


def connect_task(project: str | Path, request: tuple, progress: Progress = NULL_PROGRESS) -> Path:
    """Worker task: ``seglab connect``'s :func:`~seglab.core.engines.connect.connect_project`,
    on a client opened for this task. ``request`` = ``(url, tables, maps)``."""
    from seglab.core.engines.connect import connect_project

    url, tables, maps = request
    with source_client(url, progress) as client:
        connect_project(project, url, tables, maps, client=client)
    return Path(project)


# -- members of a connected project ---------------------------------------------------------------


def member_rows(
    engine: ClickHouseEngine, level: str, ids: list[str], progress: Progress = NULL_PROGRESS
) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple]]:
    """``(columns, types, rows)`` of a members list, as :func:`seglab.core.profiles.member_table`
    gives them on a local project: ids, account, first and last seen (users) or users and last
    activity (accounts), and every property, one row per id in ``ids`` order."""
    from seglab.core.profiles import _convert
    from seglab.core.project import load_properties

    props = load_properties(engine.conn, level)
    pcols = [p.column for p in props]
    if level == "user":
        columns = ("user_id", "account", "first seen", "last seen", *(p.name for p in props))
        types = ("text", "text", "datetime", "datetime", *(p.type for p in props))
        fixed = engine.property_rows("user", ["account_key", "first_ts", "last_ts", *pcols], ids)
        rows = [(i, *r) for i, r in zip(ids, fixed)]
    else:
        columns = ("account_id", "users", "last activity", *(p.name for p in props))
        types = ("text", "integer", "datetime", *(p.type for p in props))
        own = engine.property_rows("account", pcols, ids) if pcols else [() for _ in ids]
        activity = _account_activity(engine, ids)
        rows = [(i, *activity.get(i, (0, None)), *r) for i, r in zip(ids, own)]
    check_cancelled(progress)
    fixed_n = len(columns) - len(props)
    out = []
    for row in rows:
        values = list(row)
        for j, p in enumerate(props):
            values[fixed_n + j] = _convert(values[fixed_n + j], p.type)
        out.append(tuple(values))
    return columns, types, out


def _account_activity(engine: ClickHouseEngine, ids: list[str]) -> dict[str, tuple[int, int | None]]:
    """Users and the latest activity of each account in ``ids`` (one row per account read back)."""
    out: dict[str, tuple[int, int | None]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        query = (
            exp.select(
                _col("account_key"),
                exp.Count(this=exp.Star()),
                exp.Anonymous(this="maxOrNull", expressions=[_col("last_ts")]),
            )
            .from_(exp.to_table("users"))
            .where(exp.In(this=_col("account_key"), expressions=[exp.Literal.string(i) for i in chunk]))
            .group_by(_col("account_key"))
        )
        for key, n, last in _run(engine, query):
            out[str(key)] = (int(n), None if last is None else int(last))
    return out


__all__ = [
    "SourceProbe",
    "SourceSummary",
    "connect_task",
    "event_name_counts",
    "is_connected",
    "member_rows",
    "password_note",
    "probe_source",
    "source_client",
    "source_summary",
    "source_turn",
    "task_engine",
    "top_values",
    "universe_size",
]
