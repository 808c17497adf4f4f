"""Getting Arrow batches into the project safely: through a private staging file.

The ADBC SQLite driver (``adbc-driver-sqlite``) writes Arrow batches in C, but it carries its own
copy of SQLite beside Python's ``sqlite3``. Two copies of SQLite in one process do not share their
POSIX lock bookkeeping: one closing a file drops the other's locks on it, and readers or writers
in other processes can then corrupt the project (SQLite's "How To Corrupt An SQLite Database
File", section 2.3). So ADBC never opens the project file:

1. ADBC ingests the batches into a private staging file in a fresh folder of the system
   temporary directory (``TMPDIR``); nothing else knows that file;
2. the ADBC connection is closed;
3. the import's own ``sqlite3`` connection ``ATTACH``es the staging file and copies its rows in
   with ``INSERT … SELECT`` inside the import's single transaction;
4. once that transaction is over (committed or rolled back) the file is detached and deleted,
   whatever happened (error, cancel). A killed process leaves its staging folder behind; the next
   import deletes it.

Staging tables are created without column types, so every value keeps the storage class it was
written with (an integer stays an integer, text stays text), exactly as a bound value would.

ADBC writes on a thread of its own (it releases the GIL while SQLite works), so the next block of
the file is read and typed meanwhile; the hand-over waits for every write, stops that thread and
closes ADBC's connection before ``sqlite3`` attaches the file. An import uses two staging files:
one for the events, handed over once the file is read, and one for the roll-ups, written while
the project's connection copies the events (arrowpath.StagedBatcher.close).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

SCHEMA = "seglab_staging"
PREFIX = "seglab-staging-"
# Tables waiting for the ADBC thread: enough to keep it busy, few enough to bound the memory.
PENDING = 2


def _remove_orphans() -> None:
    """Delete the staging folders of imports whose process is gone (killed mid-import)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        try:
            pid = int(folder.name[len(PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ValueError:
            continue  # not one of ours
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # alive, someone else's


class Staging:
    """One staging file: :meth:`append` Arrow tables while reading (written on ADBC's thread), then
    :meth:`attach` it to the project's connection for the copies. ``schema``: the name it is
    attached under (each staging file of an import has its own); ``pending``: how many appended
    tables may wait for the ADBC thread."""

    def __init__(self, schema: str = SCHEMA, pending: int = PENDING):
        _remove_orphans()
        self.schema = schema
        self.pending = pending  # tables that may wait for the ADBC thread
        self.dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self.path = self.dir / "staging.sqlite"
        self._adbc = None  # used on the ADBC thread only
        self._thread: ThreadPoolExecutor | None = ThreadPoolExecutor(1, thread_name_prefix="seglab-adbc")
        self._pending: deque[Future] = deque()
        self._conn: sqlite3.Connection | None = None  # the project's connection, once attached
        self.tables: dict[str, tuple[str, ...]] = {}

    # -- writing (ADBC, before the hand-over)
    def _submit(self, fn, *args) -> Future:
        if self._conn is not None or self._thread is None:
            raise RuntimeError("the staging file is attached to the project: ADBC may not open it now")
        future = self._thread.submit(fn, *args)
        self._pending.append(future)
        return future

    def _wait(self, keep: int = 0) -> None:
        """Wait for all but ``keep`` of the pending writes; the first failure is raised here."""
        while len(self._pending) > keep:
            self._pending.popleft().result()

    @contextlib.contextmanager
    def _cursor(self):
        import adbc_driver_manager

        try:
            with self._connection().cursor() as cur:
                yield cur
        except adbc_driver_manager.Error as exc:
            if "disk is full" in str(exc) or "disk full" in str(exc):
                # Said by import_file as "no space left for the import's temporary files".
                raise OSError(errno.ENOSPC, "no space left for the staging file", str(self.path)) from None
            raise

    def _connection(self):
        if self._adbc is None:
            import adbc_driver_sqlite.dbapi as dbapi

            # Autocommit: each ingest is one transaction of its own (the driver's).
            self._adbc = dbapi.connect(str(self.path), autocommit=True)
            with self._adbc.cursor() as cur:
                # A scratch file: no journal, no syncs (a crash loses nothing the project holds).
                cur.execute("PRAGMA journal_mode = OFF")
                cur.fetchall()
                cur.execute("PRAGMA synchronous = OFF")
        return self._adbc

    def _ingest(self, table: str, data, create: tuple[str, ...] | None) -> None:
        with self._cursor() as cur:
            if create is not None:
                cur.execute(f"CREATE TABLE {table} ({', '.join(create)})")
            cur.adbc_ingest(table, data, mode="append")

    def _query(self, sql: str, params) -> list:
        with self._cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def _close_adbc(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    def append(self, table: str, data) -> None:
        """Append an Arrow table to staging table ``table`` (our own name), creating it on first use
        with the Arrow table's column names (our own ``ts``, ``user_key``, ``p<N>``... names).
        Returns once the write is queued; a failed write raises at a later call."""
        create = None
        if table not in self.tables:
            create = self.tables[table] = tuple(data.column_names)
        self._submit(self._ingest, table, data, create)
        self._wait(self.pending)

    def execute(self, sql: str, params=()) -> list:
        """Run a statement on the staging file through ADBC, after the writes before it; its rows."""
        future = self._submit(self._query, sql, params)
        self._wait()
        return future.result()

    # -- the hand-over
    def attach(self, conn: sqlite3.Connection) -> str:
        """Wait for the writes, close ADBC's connection and attach the file to ``conn``; the
        schema name to read from."""
        if self._conn is None:
            self._finish_writes()
            conn.execute(f"ATTACH DATABASE ? AS {self.schema}", (str(self.path),))
            self._conn = conn
        return self.schema

    def _finish_writes(self) -> None:
        """Stop the ADBC thread: its pending writes done (their failure raised here), or
        abandoned when this is a clean-up after a failure."""
        if self._thread is None:
            return
        try:
            self._wait()
        finally:
            thread, self._thread = self._thread, None
            self._pending.clear()
            thread.shutdown(wait=True, cancel_futures=True)
            # The connection belongs to that thread's work; nothing else runs there now.
            self._close_adbc()

    def close(self) -> None:
        """Detach (the transaction must be over: SQLite keeps an attached file that a transaction
        read until it ends) and delete the staging file."""
        try:
            if self._thread is not None:
                with contextlib.suppress(Exception):
                    self._finish_writes()  # after a failure: its error is already on its way
            if self._conn is not None:
                try:
                    self._conn.execute(f"DETACH DATABASE {self.schema}")
                except sqlite3.Error:
                    pass  # the connection is closed or still in a transaction: the file goes anyway
                self._conn = None
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
