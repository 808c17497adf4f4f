"""The project schema and its migrations.

Rules
-----
* Migrations are append-only: never edit one that has shipped; add ``m00N``.
* Each migration runs inside the caller's transaction and bumps
  ``meta.schema_version``; re-applying the set is a no-op.

Layout
------
The tables, their columns and indexes, and what each migration added are documented once,
in docs/architecture.md ("Schema"); keep that section in step with :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from seglab._version import __version__
from seglab.core.timeutil import utc_now_iso

SCHEMA_VERSION = 4
APPLICATION_ID = 0x5E61AB01  # PRAGMA application_id: tells a SegLab file from other SQLite files

ENTITY_TABLES = {"user": "users", "account": "accounts", "event": "events"}
# The tables segment and analysis SQL reads: what a copy of a project into another engine
# (DuckDB in the tests and benchmarks) needs.
QUERY_TABLES = (
    "users",
    "accounts",
    "event_names",
    "events",
    "user_days",
    "user_active_days",
    "user_events",
    "event_days",
    "properties",
)
PROPERTY_TYPES = ("integer", "real", "boolean", "datetime", "text")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _m001_initial(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        CREATE TABLE accounts (
            account_key INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL UNIQUE,
            from_file INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE users (
            user_key INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL UNIQUE,
            account_key INTEGER REFERENCES accounts(account_key),
            account_from_file INTEGER NOT NULL DEFAULT 0,
            first_ts INTEGER,
            last_ts INTEGER,
            account_link_ts INTEGER
        );
        CREATE INDEX users_account ON users(account_key);
        CREATE TABLE account_link_conflicts (
            user_key INTEGER PRIMARY KEY REFERENCES users(user_key)
        );
        CREATE TABLE event_names (
            event_key INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE events (
            ts INTEGER NOT NULL,
            user_key INTEGER NOT NULL,
            event_key INTEGER NOT NULL,
            account_key INTEGER,
            insert_id TEXT
        );
        CREATE INDEX events_ts ON events(ts, user_key);
        CREATE INDEX events_event_ts ON events(event_key, ts, user_key);
        CREATE UNIQUE INDEX events_insert_id ON events(insert_id) WHERE insert_id IS NOT NULL;
        CREATE TABLE user_days (
            user_key INTEGER NOT NULL,
            event_key INTEGER NOT NULL,
            day INTEGER NOT NULL,
            n INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            PRIMARY KEY (user_key, event_key, day)
        ) WITHOUT ROWID;
        CREATE TABLE user_active_days (
            user_key INTEGER NOT NULL,
            day INTEGER NOT NULL,
            n INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            PRIMARY KEY (user_key, day)
        ) WITHOUT ROWID;
        CREATE TABLE properties (
            entity TEXT NOT NULL CHECK (entity IN ('user', 'account', 'event')),
            name TEXT NOT NULL,
            column_name TEXT NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('integer', 'real', 'boolean', 'datetime', 'text')),
            position INTEGER NOT NULL,
            PRIMARY KEY (entity, name),
            UNIQUE (entity, column_name)
        );
        CREATE TABLE imports (
            import_id INTEGER PRIMARY KEY,
            file_name TEXT NOT NULL,
            file_path TEXT,
            size INTEGER,
            sha256 TEXT NOT NULL,
            kind TEXT NOT NULL,
            mapping TEXT,
            rows_read INTEGER NOT NULL DEFAULT 0,
            rows_imported INTEGER NOT NULL DEFAULT 0,
            rows_rejected INTEGER NOT NULL DEFAULT 0,
            rejects_file TEXT,
            seconds REAL,
            imported_at TEXT NOT NULL
        );
        CREATE INDEX imports_sha ON imports(sha256);
        CREATE TABLE segments (
            segment_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            level TEXT NOT NULL CHECK (level IN ('user', 'account')),
            definition TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE segment_history (
            history_id INTEGER PRIMARY KEY,
            segment_id INTEGER NOT NULL REFERENCES segments(segment_id) ON DELETE CASCADE,
            definition TEXT NOT NULL,
            replaced_at TEXT NOT NULL
        );
        CREATE TABLE charts (
            chart_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            options TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        """,
    )


def _m002_user_events(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE user_events (
            event_key INTEGER NOT NULL,
            user_key INTEGER NOT NULL,
            n INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            PRIMARY KEY (event_key, user_key)
        ) WITHOUT ROWID
        """
    )
    conn.execute(
        """
        CREATE TABLE event_days (
            event_key INTEGER NOT NULL,
            day INTEGER NOT NULL,
            n INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            PRIMARY KEY (event_key, day)
        ) WITHOUT ROWID
        """
    )
    # A project made by version 1 already has its per-day roll-up: summing it is exact.
    conn.execute(
        "INSERT INTO user_events(event_key, user_key, n, first_ts, last_ts) "
        "SELECT event_key, user_key, sum(n), min(first_ts), max(last_ts) FROM user_days "
        "GROUP BY event_key, user_key"
    )
    conn.execute(
        "INSERT INTO event_days(event_key, day, n, first_ts, last_ts) "
        "SELECT event_key, day, sum(n), min(first_ts), max(last_ts) FROM user_days "
        "GROUP BY event_key, day"
    )
    # First/last seen answered from an index (covering when lifted to accounts), and an
    # index per user and account property column (the importer adds one with each new column).
    conn.execute("CREATE INDEX users_first_ts ON users(first_ts, account_key)")
    conn.execute("CREATE INDEX users_last_ts ON users(last_ts, account_key)")
    for entity, column in conn.execute(
        "SELECT entity, column_name FROM properties WHERE entity IN ('user', 'account')"
    ).fetchall():
        conn.execute(property_index_sql(entity, column))


def _m003_recent_and_account_times(conn: sqlite3.Connection) -> None:
    # "Did X in the last N days" up to the latest event is a range of this index: its users
    # are the ones whose last X is after the window's start (a seek instead of reading every
    # user's row for X; at 5M events 8 ms -> under 1 ms for a 7-day window).
    conn.execute("CREATE INDEX user_events_last ON user_events(event_key, last_ts)")
    # Accounts' first and last events (of all their users), kept by the importer like the
    # users' own: an account's first/last seen, and "did anything" up to the latest event, are
    # then a test on the accounts row instead of gathering the account keys of thousands of
    # users (at 5M events "accounts first seen in the last 90 days" took ~100 ms that way).
    conn.execute("ALTER TABLE accounts ADD COLUMN first_ts INTEGER")
    conn.execute("ALTER TABLE accounts ADD COLUMN last_ts INTEGER")
    update_account_times(conn)
    # Sparse numeric event properties get their partial index (one pass counts them all).
    numeric = [
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM properties WHERE entity = 'event' AND type IN ('integer', 'real')"
        )
    ]
    if numeric:
        counts = conn.execute(
            f"SELECT count(*), {', '.join(f'count({own_column(c)})' for c in numeric)} FROM events"
        ).fetchone()
        for column, n in zip(numeric, counts[1:]):
            if 0 < n <= SPARSE_SHARE * counts[0]:
                conn.execute(sparse_property_index_sql(column))
    # User property indexes carry the account: per-account counts of the users with a
    # property value read the index alone (see property_index_sql).
    for (column,) in conn.execute("SELECT column_name FROM properties WHERE entity = 'user'").fetchall():
        create = property_index_sql("user", column)  # refuses anything but our own p<N>
        conn.execute(f"DROP INDEX IF EXISTS users_{column}")
        conn.execute(create)


def _m004_people_search(conn: sqlite3.Connection) -> None:
    # People search (seglab.core.search): one row per user or account and searchable text (its
    # id, each text property), full-text indexed by an FTS5 table in the form sqlite-utils'
    # enable_fts() writes (external content, so the text is stored once); sqlite-utils' search()
    # and rebuild_fts() find it by that form. Not created with enable_fts() itself: it runs
    # executescript(), whose COMMIT would break this migration's transaction.
    create_people_text(conn)
    refresh_people_text(conn)


def create_people_text(conn: sqlite3.Connection) -> None:
    """The empty ``people_text`` table and its FTS5 index (a connected project's ``find`` builds
    the same in memory, so both rank alike)."""
    conn.execute(
        "CREATE TABLE people_text (kind TEXT NOT NULL, key INTEGER NOT NULL, property TEXT NOT NULL, "
        "value TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX people_text_key ON people_text(kind, key)")
    conn.execute(
        "CREATE VIRTUAL TABLE [people_text_fts] USING FTS5 (\n    [value],\n    "
        "tokenize='unicode61 remove_diacritics 2',\n    content=[people_text]\n)"
    )


def refresh_people_text(conn: sqlite3.Connection, *, new_ids_only: bool = False) -> None:
    """Fill ``people_text`` again from the users and accounts, and rebuild its full-text index.

    Every import calls it (in the import's transaction). An events file changes no property, it
    only adds users and accounts: ``new_ids_only`` then indexes just the ids added since (keys
    only grow), ~1 ms instead of ~0.35 s for 25k users. Property names are bound values,
    columns our own ``p<N>``."""
    if new_ids_only:
        top = conn.execute("SELECT coalesce(max(rowid), 0) FROM people_text").fetchone()[0]
        for kind, table, key, ident in (
            ("user", "users", "user_key", "user_id"),
            ("account", "accounts", "account_key", "account_id"),
        ):
            conn.execute(
                f"INSERT INTO people_text SELECT ?, {key}, 'id', {ident} FROM {table} WHERE {key} > "
                "(SELECT coalesce(max(key), 0) FROM people_text WHERE kind = ? AND property = 'id')",
                (kind, kind),
            )
        conn.execute(
            "INSERT INTO people_text_fts(rowid, value) SELECT rowid, value FROM people_text WHERE rowid > ?",
            (top,),
        )
        return
    conn.execute("DELETE FROM people_text")
    conn.execute("INSERT INTO people_text SELECT 'user', user_key, 'id', user_id FROM users")
    conn.execute("INSERT INTO people_text SELECT 'account', account_key, 'id', account_id FROM accounts")
    for entity, name, column in conn.execute(
        "SELECT entity, name, column_name FROM properties WHERE entity IN ('user', 'account') "
        "AND type = 'text' ORDER BY entity, position"
    ).fetchall():
        table, key = ("users", "user_key") if entity == "user" else ("accounts", "account_key")
        column = own_column(column)
        conn.execute(
            f"INSERT INTO people_text SELECT ?, {key}, ?, {column} FROM {table} "
            f"WHERE {column} IS NOT NULL AND {column} != ''",
            (entity, name),
        )
    conn.execute("INSERT INTO people_text_fts(people_text_fts) VALUES ('rebuild')")


# A numeric event property set on at most this share of events gets a partial covering index
# (see sparse_property_index_sql).
SPARSE_SHARE = 0.25


def own_column(column: str) -> str:
    """``column`` if it is one of our own ``p<N>`` property columns (safe in SQL text); else an error."""
    if not column.startswith("p") or not column[1:].isdigit():
        raise ValueError(f"not a property column: {column!r}")
    return column


def sparse_property_index_sql(column: str) -> str:
    """``CREATE INDEX`` over the events that carry a numeric property, ``(event, user, ts, value)``.

    Sums, averages, minima and maxima of a property per user ("spent >= 200 in total") then read
    this small index in user order: no table row per event and no sort (at 5M events, 65k
    purchases: 80-170 ms -> 13 ms). Only sparse properties get one (an amount on purchases, not a
    duration on every event): its entries are the events that carry the value."""
    column = own_column(column)
    return (
        f"CREATE INDEX IF NOT EXISTS events_{column}_set ON events(event_key, user_key, ts, {column}) "
        f"WHERE {column} IS NOT NULL"
    )


def update_account_times(conn: sqlite3.Connection) -> None:
    """Set ``accounts.first_ts``/``last_ts`` from their users' (after any import: times grow and
    users move between accounts). NULL for an account without users or events.

    One grouped pass over the users, not a subquery per account: with statistics from before
    the import (users' times all NULL) SQLite chose a skip-scan of users(first_ts, account_key)
    for "min(first_ts) of this account", reading every user per account (29 s of a 1M-event
    import after a users file)."""
    times = conn.execute(
        "SELECT account_key, min(first_ts), max(last_ts) FROM users WHERE account_key IS NOT NULL "
        "GROUP BY account_key"
    ).fetchall()
    conn.execute(
        "UPDATE accounts SET first_ts = NULL, last_ts = NULL "
        "WHERE first_ts IS NOT NULL OR last_ts IS NOT NULL"
    )
    conn.executemany(
        "UPDATE accounts SET first_ts = ?, last_ts = ? WHERE account_key = ?",
        [(first, last, account) for account, first, last in times if first is not None or last is not None],
    )


def refresh_statistics(conn: sqlite3.Connection) -> None:
    """Re-analyze ``users`` and ``accounts`` if SQLite keeps statistics for them (after an import).

    ``PRAGMA optimize`` (run when a project closes) analyzes a table once and then only when its
    row count changes a lot. An events file fills in the first/last times of users a users file
    created, without changing their number, so the statistics went on saying "every user has
    the same first_ts" and the planner kept choosing plans for that. Both tables are small
    (ANALYZE of 125k users: 0.1 s of CPU). Tables without statistics are left without."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).fetchone():
        return
    stale = {t for (t,) in conn.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}
    for table in ("users", "accounts"):  # fixed names: no text from the data reaches the SQL
        if table in stale:
            conn.execute(f"ANALYZE {table}")


def property_index_sql(entity: str, column: str) -> str:
    """``CREATE INDEX`` for a user or account property column (``column`` is our own ``p<N>``)."""
    column = own_column(column)
    table = ENTITY_TABLES[entity]
    # A user's account rides along: "accounts where half the users are on plan X" counts
    # users per account from the plan index alone (at 5M events 33 -> 11 ms).
    extra = ", account_key" if entity == "user" else ""
    return f"CREATE INDEX {table}_{column} ON {table}({column}{extra})"


# (version, migration). Append only.
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, _m001_initial),
    (2, _m002_user_events),
    (3, _m003_recent_and_account_times),
    (4, _m004_people_search),
]
assert MIGRATIONS[-1][0] == SCHEMA_VERSION


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for an empty database)."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return 0
    value = row[0]
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not text.isdigit() or int(text) < 1:
        raise BadSchemaVersion(value)
    return int(text)


class BadSchemaVersion(ValueError):
    """``meta.schema_version`` holds something no SegLab writes ('abc', NULL, -1): changed by hand."""

    def __init__(self, value):
        shown = "empty (NULL)" if value is None else repr(value)
        super().__init__(f"its project format number (schema_version) is {shown}, which no SegLab writes")
        self.value = value


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn`` up to :data:`SCHEMA_VERSION`; return the number of migrations applied.

    All pending migrations run in one transaction: a failure leaves the file as it was.
    """
    current = schema_version(conn)
    pending = [(v, fn) for v, fn in MIGRATIONS if v > current]
    if not pending:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version, fn in pending:
            fn(conn)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
        if current == 0:
            now = utc_now_iso()
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [("created", now), ("app_version", __version__)],
            )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        # SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK would
        # replace the real error with "cannot rollback - no transaction is active".
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(pending)


def schema_fingerprint() -> str:
    """A hash of the schema the migrations build (for caches of built projects, e.g. the demo).

    Derived from the DDL itself rather than the source file, so it also works in a frozen
    bundle and changes whenever an unreleased migration is edited.
    """
    import hashlib

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        rows = conn.execute(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()
