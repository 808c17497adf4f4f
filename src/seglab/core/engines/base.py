"""The engine boundary: what segments ask of the place where the events live.

A *local* project answers from its own SQLite file (today's code, with its roll-ups,
indexes and numpy paths, called unchanged); a *connected* project answers from a
ClickHouse source (:mod:`seglab.core.engines.clickhouse`). Both take the same segment
definitions and give the same results; the command line picks one with
:func:`open_engine`.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the segments package loads sqlglot: not on the way of `seglab import`
    from seglab.core.segments.model import SegmentDef
    from seglab.core.segments.validate import Catalog

SOURCE_META_KEY = "source"  # meta key of a connected project's connection and mapping (JSON)


class Engine(Protocol):
    """Counts, members and the facts a segment is compiled against."""

    kind: str  # 'local' | 'chdb' | 'clickhouse'

    def catalog(self) -> Catalog:
        """Properties, event names and saved segments a definition is checked against."""

    def latest_event_ms(self) -> int | None:
        """The latest event (the default as-of time), None without events."""

    def as_of(self, explicit_ms: int | None = None) -> int | None:
        """Explicit value, else the project's pin, else the latest event."""

    def count(self, seg: SegmentDef, as_of_ms: int | None = None) -> int: ...

    def member_ids(self, seg: SegmentDef, as_of_ms: int | None = None) -> list[str]:
        """The members' text ids, sorted."""

    def info(self) -> dict:
        """``seglab info``'s counts (events, users, accounts, event names, first/last event...)."""

    def close(self) -> None: ...


class LocalEngine:
    """A local project: the existing SQLite code, called as it is."""

    kind = "local"

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def catalog(self) -> Catalog:
        from seglab.core.segments.validate import Catalog

        return Catalog.from_conn(self.conn)

    def latest_event_ms(self) -> int | None:
        return self.conn.execute("SELECT max(ts) FROM events").fetchone()[0]

    def as_of(self, explicit_ms: int | None = None) -> int | None:
        from seglab.core.project import resolve_as_of

        return resolve_as_of(self.conn, explicit_ms)

    def count(self, seg: SegmentDef, as_of_ms: int | None = None) -> int:
        from seglab.core.segments.engine import count

        return count(self.conn, seg, as_of_ms)

    def member_ids(self, seg: SegmentDef, as_of_ms: int | None = None) -> list[str]:
        from seglab.core.segments.engine import member_ids

        return member_ids(self.conn, seg, as_of_ms)

    def info(self) -> dict:
        from seglab.core.project import project_info

        return project_info(self.conn)

    def close(self) -> None:
        pass


def source_of(conn: sqlite3.Connection) -> dict | None:
    """A connected project's stored source (connection, mapping, columns); None for a local one."""
    import json

    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SOURCE_META_KEY,)).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def open_engine(conn: sqlite3.Connection) -> Engine:
    """The engine a project's commands run on: its source when it is connected, else itself.

    A connected source is opened here and must be closed (a chdb folder admits one process)."""
    source = source_of(conn)
    if source is None:
        return LocalEngine(conn)
    from seglab.core.engines.clickhouse import ClickHouseEngine

    return ClickHouseEngine.open(conn, source)
