"""Opening SQLite connections with the pragmas every SegLab connection uses.

A connection never crosses threads: each worker opens its own with :func:`connect`.
Connections are in autocommit mode (``isolation_level=None``); writers use
explicit ``BEGIN IMMEDIATE`` ... ``COMMIT`` so a change is one transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open ``path`` (which must exist) for reading, or reading and writing.

    Does not check that the file is a SegLab project: see :mod:`seglab.core.project`.
    """
    path = Path(path)
    base = f"file:{_quote(path.resolve())}"
    if readonly:
        # A read-write handle that refuses writes: unlike mode=ro it lets the last
        # connection to close remove the -wal/-shm files. mode=ro is the fallback
        # for read-only media.
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


def _quote(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path), safe="/:")
