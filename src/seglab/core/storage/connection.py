"""Opening SQLite connections with the pragmas every SegLab connection uses.

A connection never crosses threads: each worker opens its own with :func:`connect`.
Connections are in autocommit mode (``isolation_level=None``); writers use
explicit ``BEGIN IMMEDIATE`` ... ``COMMIT`` so a change is one transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open ``path`` (which must exist) for reading, or reading and writing.

    Does not check that the file is a SegLab project: see :mod:`seglab.core.project`.
    """
    path = Path(path)
    base = f"file:{_quote(path.resolve())}"
    if readonly:
        if _on_readonly_media(path):
            # Nobody can write a file on a read-only mount, and SQLite cannot create the
            # -shm it needs for a WAL file there: read it as the immutable file it is.
            conn = sqlite3.connect(base + "?mode=ro&immutable=1", uri=True, isolation_level=None)
        else:
            # A read-write handle that refuses writes: unlike mode=ro it lets the last
            # connection to close remove the -wal/-shm files (it cannot while another
            # connection, in any process, still has the file open: SQLite's locks say so).
            try:
                conn = sqlite3.connect(base + "?mode=rw", uri=True, isolation_level=None)
                conn.execute("PRAGMA query_only = ON")
            except sqlite3.OperationalError:
                conn = sqlite3.connect(base + "?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(base + "?mode=rw", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -131072")  # 128 MiB page cache
    conn.execute("PRAGMA mmap_size = 268435456")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _on_readonly_media(path: Path) -> bool:
    """True when ``path`` is on a file system mounted read-only (a CD, a ro bind mount...)
    and no -wal file waits beside it (an immutable read would not see its pages)."""
    try:
        readonly = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False
    return readonly and not os.path.exists(str(path) + "-wal")


@contextmanager
def connected(path: str | Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    """``with connected(path) as conn:``: a :func:`connect` connection, closed however the block ends."""
    conn = connect(path, readonly=readonly)
    try:
        yield conn
    finally:
        conn.close()


def _quote(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path), safe="/:")
