"""The import's one transaction on the project's SQLite connection: opening it with the import's
pragmas, rolling it back on any failure (said as a sentence a person can act on), and the
multi-row statements every table is written with."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from seglab.core.errors import Cancelled, UserError


def connection_and_dir(project_or_conn) -> tuple[sqlite3.Connection, Path]:
    conn = getattr(project_or_conn, "conn", project_or_conn)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError("import_file needs a Project or an sqlite3 connection")
    if getattr(project_or_conn, "readonly", False):
        raise UserError("the project is open read-only: cannot import into it")
    path = getattr(project_or_conn, "path", None)
    if path is None:
        row = next((r for r in conn.execute("PRAGMA database_list") if r[1] == "main"), None)
        path = row[2] if row and row[2] else os.getcwd() + "/project"
    return conn, Path(path).resolve().parent


def import_pragmas(conn: sqlite3.Connection) -> tuple[int, int]:
    """Memory-mapped reads would count the whole file in our memory use; a big import
    only needs a moderate page cache (appends in time order, sorted roll-up upserts)."""
    saved = (
        conn.execute("PRAGMA mmap_size").fetchone()[0],
        conn.execute("PRAGMA cache_size").fetchone()[0],
    )
    conn.execute("PRAGMA mmap_size = 0")
    conn.execute("PRAGMA cache_size = -32768")
    return saved


def restore_pragmas(conn: sqlite3.Connection, saved: tuple[int, int]) -> None:
    try:
        conn.execute(f"PRAGMA mmap_size = {int(saved[0])}")
        conn.execute(f"PRAGMA cache_size = {int(saved[1])}")
    except sqlite3.Error:
        pass


def friendly_sqlite_error(exc: sqlite3.OperationalError) -> Exception:
    """Say what a person can do about the common write failures; leave the rest as they are."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return UserError("the project is busy: another program is writing to it; nothing was imported")
    if "disk is full" in text or "disk full" in text:
        return UserError(
            "the disk is full (the project's disk, or the temporary folder TMPDIR); nothing was imported "
            "(free some space and import again)"
        )
    if "readonly" in text or "read-only" in text:
        return UserError("the project file cannot be written (read-only); nothing was imported")
    return exc


def rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


@dataclass
class Outcome:
    """Whether :func:`import_transaction` commits (the default) or rolls back a finished pass."""

    commit: bool = True


@contextlib.contextmanager
def import_transaction(
    conn: sqlite3.Connection, on_failure: Callable[[], None], after: list[Callable[[], None]] | None = None
) -> Iterator[Outcome]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` when the body sets ``commit`` false).

    Any failure, a cancel or a ``KeyboardInterrupt`` rolls back, calls ``on_failure`` and raises:
    a busy, full or read-only project as a :class:`UserError`, an interrupted statement as
    :class:`Cancelled`. The import's pragmas hold only inside. ``after``: callables run once the
    transaction is over, committed or rolled back (a list the body may still add to)."""
    saved = import_pragmas(conn)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            on_failure()
            raise friendly_sqlite_error(exc) from None
        outcome = Outcome()
        try:
            yield outcome
            conn.execute("COMMIT" if outcome.commit else "ROLLBACK")
        except sqlite3.OperationalError as exc:
            rollback(conn)
            on_failure()
            if "interrupted" in str(exc):
                raise Cancelled("cancelled") from None
            raise friendly_sqlite_error(exc) from exc
        except BaseException:
            rollback(conn)
            on_failure()
            raise
    finally:
        try:
            for cleanup in after or ():
                cleanup()
        finally:
            restore_pragmas(conn, saved)


def write_rows(
    conn: sqlite3.Connection, head: str, tail: str, width: int, flat: list, max_params: int
) -> None:
    """Execute ``head VALUES (...), (...) tail`` over ``flat`` (``width`` values per row).

    Statements are as long as SQLite's parameter limit allows: at 1M events that is a
    few hundred statements instead of thousands (7 % less CPU than 500 rows each). What is
    left over goes in statements of a few fixed lengths, because the connection caches every
    statement it compiles and one of thousands of rows takes about a megabyte: one per
    leftover length added ~50 MB to the peak at 5M events.
    """
    per = max(1, max_params // width)
    step = per * width
    full = len(flat) // step * step
    if full:
        sql = multirow_sql(head, width, per, tail)
        conn.executemany(sql, [flat[j : j + step] for j in range(0, full, step)])
    pos = full
    for rows in (1024, 128, 16, 1):
        size = rows * width
        if rows < per and len(flat) - pos >= size:
            end = pos + (len(flat) - pos) // size * size
            sql = multirow_sql(head, width, rows, tail)
            conn.executemany(sql, [flat[j : j + size] for j in range(pos, end, size)])
            pos = end


def max_params(conn: sqlite3.Connection) -> int:
    """Bound parameters per statement: SQLite's limit (32766 by default since 3.32, 999 before),
    at most 32766 so that a statement stays around a megabyte."""
    return max(1, min(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 32766))


@functools.lru_cache(maxsize=32)
def multirow_sql(head: str, width: int, rows: int, tail: str = "") -> str:
    one = "(" + ", ".join("?" * width) + ")"
    return f"{head} VALUES {', '.join([one] * rows)}{tail}"
