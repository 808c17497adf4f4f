"""Evaluation: counts, member keys and ids, per-condition counts, universe sizes.

Results are cached per process (an LRU of member-key sets) under a key made of the
project file, a stamp of its imports and saved segments, the definition and the as-of
time, so the builder's live preview recomputes only the condition that changed and the
analyses reuse a segment's members. Any import or saved-segment change changes the stamp.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

from seglab.core.segments.compiler import (
    CompiledQuery,
    _resolve,
    compile_condition_keys,
    compile_count,
    compile_segment,
)
from seglab.core.segments.model import SegmentDef, definition_json
from seglab.core.segments.validate import Catalog, validate

CACHE_SIZE = 256
_cache: OrderedDict[tuple, tuple[int, ...]] = OrderedDict()
_cache_lock = threading.Lock()  # connections never cross threads, but the cache is shared


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def prepare_connection(conn: sqlite3.Connection) -> None:
    """Register the functions compiled segment SQL uses (Unicode-aware lower-casing)."""
    conn.create_function("seglab_lower", 1, _lower, deterministic=True)


def _run(conn: sqlite3.Connection, q: CompiledQuery, sql: str | None = None):
    """Run ``q`` (or ``sql`` built around it, with its parameters) on ``conn``."""
    prepare_connection(conn)
    return conn.execute(q.sql if sql is None else sql, q.bind(conn))


def clear_cache() -> None:
    """Forget cached memberships and compiled queries (tests that compare ways of compiling)."""
    with _cache_lock:
        _cache.clear()
        _compiled.clear()


def _stamp(conn: sqlite3.Connection) -> tuple:
    """What cached memberships depend on besides the definition and T."""
    path = conn.execute("PRAGMA database_list").fetchone()[2] or f"memory:{id(conn)}"
    imports = conn.execute("SELECT count(*), max(import_id), max(imported_at) FROM imports").fetchone()
    digest = hashlib.sha256()
    for name, level, definition in conn.execute("SELECT name, level, definition FROM segments ORDER BY name"):
        digest.update(f"{name}\0{level}\0{definition}\1".encode())
    return path, imports, digest.hexdigest()


def _cached_keys(conn: sqlite3.Connection, stamp: tuple, seg: SegmentDef, t: int, compute) -> tuple[int, ...]:
    key = (stamp, definition_json(seg), t)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    keys = tuple(compute())
    with _cache_lock:
        _cache[key] = keys
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return keys


@dataclass(frozen=True)
class ConditionCount:
    index: int
    path: str  # "conditions[2]"
    alone: int  # members of the condition on its own
    running: int  # members of conditions[0..index] combined with the segment's match


def _as_of(conn, as_of_ms: int | None) -> int:
    return as_of_ms if as_of_ms is not None else _resolve(conn)


_compiled: OrderedDict[tuple, CompiledQuery] = OrderedDict()


def count(conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None) -> int:
    t = _as_of(conn, as_of_ms)
    key = (_stamp(conn), definition_json(seg), t)
    with _cache_lock:
        if key in _cache:
            return len(_cache[key])
        q = _compiled.get(key)
    if q is None:
        # The stamp covers everything validation and compilation read (catalogue, event
        # names, saved segments), so a compiled query is reused until one of them changes.
        catalog = Catalog.from_conn(conn)
        validate(catalog, seg)
        q = compile_count(catalog, seg, t, check=False)
        with _cache_lock:
            _compiled[key] = q
            while len(_compiled) > CACHE_SIZE:
                _compiled.popitem(last=False)
    return _run(conn, q).fetchone()[0]


def _keys(conn: sqlite3.Connection, catalog: Catalog, seg: SegmentDef, t: int) -> tuple[int, ...]:
    def compute():
        q = compile_segment(catalog, seg, t, check=False)
        return [row[0] for row in _run(conn, q)]

    return _cached_keys(conn, _stamp(conn), seg, t, compute)


def member_keys(conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None) -> list[int]:
    """``users.user_key`` or ``accounts.account_key`` of the members, sorted."""
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    return list(_keys(conn, catalog, seg, _as_of(conn, as_of_ms)))


def member_ids(conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None) -> list[str]:
    """The members' text ids (user ids or account ids), sorted."""
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    q = compile_segment(catalog, seg, _as_of(conn, as_of_ms), check=False)
    table, key, ident = (
        ("users", "user_key", "user_id") if seg.level == "user" else ("accounts", "account_key", "account_id")
    )
    sql = f"SELECT {ident} FROM {table} WHERE {key} IN (SELECT key FROM ({q.sql}))"  # fixed identifiers only
    return sorted(row[0] for row in _run(conn, q, sql))


def condition_counts(
    conn: sqlite3.Connection, seg: SegmentDef, as_of_ms: int | None = None
) -> list[ConditionCount]:
    """Each top-level condition alone, and the running total, for the builder's live preview."""
    catalog = Catalog.from_conn(conn)
    validate(catalog, seg)
    t = _as_of(conn, as_of_ms)
    stamp = _stamp(conn)
    out = []
    running_keys: set[int] | None = None
    for i, cond in enumerate(seg.conditions):
        alone = SegmentDef(level=seg.level, match="all", conditions=(cond,))

        def compute(cond=cond):
            q = compile_condition_keys(catalog, seg.level, cond, t)
            return [row[0] for row in _run(conn, q)]

        keys = set(_cached_keys(conn, stamp, alone, t, compute))
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
