"""Evaluation: counts, member keys and ids, per-condition counts, universe sizes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from seglab.core.segments.compiler import (
    _resolve,
    compile_condition_keys,
    compile_count,
    compile_segment,
)
from seglab.core.segments.model import SegmentDef
from seglab.core.segments.validate import Catalog, validate


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def prepare_connection(conn: sqlite3.Connection) -> None:
    """Register the functions compiled segment SQL uses (Unicode-aware lower-casing)."""
    conn.create_function("seglab_lower", 1, _lower, deterministic=True)


def _run(conn: sqlite3.Connection, sql: str, params: dict):
    prepare_connection(conn)
    return conn.execute(sql, params)


@dataclass(frozen=True)
class ConditionCount:
    index: int
    path: str  # "conditions[2]"
    alone: int  # members of the condition on its own
    running: int  # members of conditions[0..index] combined with the segment's match


def _as_of(conn, as_of_ms: int | None) -> int:
    return as_of_ms if as_of_ms is not None else _resolve(conn)


def count(conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None) -> int:
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    q = compile_count(catalog, seg, _as_of(conn, as_of_ms), check=False)
    return _run(conn, q.sql, q.params).fetchone()[0]


def member_keys(conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None) -> list[int]:
    """``users.user_key`` or ``accounts.account_key`` of the members, sorted."""
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    q = compile_segment(catalog, seg, _as_of(conn, as_of_ms), check=False)
    return [row[0] for row in _run(conn, q.sql, q.params)]


def member_ids(conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None) -> list[str]:
    """The members' text ids (user ids or account ids), sorted."""
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    q = compile_segment(catalog, seg, _as_of(conn, as_of_ms), check=False)
    table, key, ident = (
        ("users", "user_key", "user_id") if seg.level == "user" else ("accounts", "account_key", "account_id")
    )
    sql = f"SELECT {ident} FROM {table} WHERE {key} IN (SELECT key FROM ({q.sql}))"  # fixed identifiers only
    return sorted(row[0] for row in _run(conn, sql, q.params))


def condition_counts(
    conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None
) -> list[ConditionCount]:
    """Each top-level condition alone, and the running total, for the builder's live preview."""
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    t = _as_of(conn, as_of_ms)
    out = []
    running_keys: set[int] | None = None
    for i, cond in enumerate(seg.conditions):
        q = compile_condition_keys(catalog, seg.level, cond, t)
        keys = {row[0] for row in _run(conn, q.sql, q.params)}
        if running_keys is None:
            running_keys = keys
        elif seg.match == "all":
            running_keys &= keys
        else:
            running_keys |= keys
        out.append(ConditionCount(i, f"conditions[{i}]", len(keys), len(running_keys)))
    return out


def universe_size(conn: sqlite3.Connection, level: str, as_of_ms: int | None = None) -> int:
    """Users, or accounts (from an accounts file or linked to a user)."""
    if level == "user":
        return conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if level != "account":
        raise ValueError(f"unknown level {level!r}")
    return conn.execute(
        "SELECT count(*) FROM accounts a WHERE a.from_file = 1 "
        "OR a.account_key IN (SELECT account_key FROM users WHERE account_key IS NOT NULL)"
    ).fetchone()[0]
