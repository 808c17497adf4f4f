"""The ClickHouse engine on chdb: the hand-checked segment cases, the known traps, push-down.

The hand-checked data of test_segment_eval.py is imported into a local project, copied into
a chdb data folder (MergeTree tables, DateTime64 times, Nullable sparse properties) and a
project is connected to it; every case must give the same members and counts as locally.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("chdb")

from test_segment_eval import (
    ACCOUNTS,
    ALL_USERS,
    AT_LATEST,
    CASES,
    EVENTS,
    USERS,
    T,
    did,
    prop,
    users,
)

from builders import build_project
from chdb_support import connect_to
from seglab.core.engines.base import open_engine
from seglab.core.importing import account_conflict_list
from seglab.core.project import Project
from seglab.core.segments import load_definition, save_segment

SAVED = {"Pro users": "pro", "Free plan": "free"}


def _save(conn) -> None:
    for name, plan in SAVED.items():
        save_segment(
            conn,
            name,
            {
                "level": "user",
                "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": plan}],
            },
        )


def _connected(tmp: Path, **kwargs) -> tuple[Path, Path]:
    local = build_project(tmp / "local.seglab", events=EVENTS, users=USERS, accounts=ACCOUNTS)
    with Project.open(local) as project:
        _save(project.conn)
        connect_to(project.conn, tmp / "ch", tmp / "connected.seglab", **kwargs)
    with Project.open(tmp / "connected.seglab") as project:
        _save(project.conn)
    return local, tmp / "connected.seglab"


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return _connected(tmp_path_factory.mktemp("chdb"))


@pytest.fixture(scope="module")
def engine(paths):
    project = Project.open(paths[1], readonly=True)
    eng = open_engine(project.conn)
    yield eng
    eng.close()
    project.close()


@pytest.mark.parametrize(("name", "definition", "expected"), CASES, ids=[c[0] for c in CASES])
def test_members_chdb(engine, name, definition, expected):
    seg = load_definition(definition)
    ids = engine.member_ids(seg, T)
    assert set(ids) == expected
    assert ids == sorted(ids)
    assert engine.count(seg, T) == len(expected)


@pytest.mark.parametrize("name, definition, expected", AT_LATEST, ids=[c[0] for c in AT_LATEST])
def test_at_the_latest_event_chdb(engine, name, definition, expected):
    seg = load_definition(definition)  # default as-of: the latest event in the source
    assert set(engine.member_ids(seg)) == expected
    assert engine.count(seg) == len(expected)


def test_info_matches_the_local_project(paths, engine):
    with Project.open(paths[0], readonly=True) as local:
        expected = local.info()
        expected["account_conflicts"] = account_conflict_list(local.conn)  # as info --json
    got = engine.info()
    assert got.pop("source") == {"kind": "chdb", "url": f"chdb://{paths[1].parent / 'ch'}"}
    for key in ("imports", "schema_version"):
        got.pop(key), expected.pop(key)
    assert got == expected


def test_a_count_reads_back_one_row(engine):
    """Push-down: a count is computed in the source; only the number comes back (plus the
    project's first/last event, read once per command)."""
    engine._bounds = None
    before = engine.client.rows_read_back
    seg = load_definition(users(did("login", window={"last_days": 7}), prop("plan", "is_set")))
    assert engine.count(seg) >= 0
    assert engine.client.rows_read_back - before == 2  # bounds, count
    before = engine.client.rows_read_back
    engine.count(load_definition(users(prop("age", "gt", 1))), T)
    assert engine.client.rows_read_back - before == 1


def test_trap_join_use_nulls(engine):
    """Without join_use_nulls=1 a LEFT JOIN gives ''/0 for a missing row instead of NULL: a user
    without events (u7) gets first_ts 0, and "first seen in the window" stops being exact.
    (The users view is built once per command, so the trap is shown on the plain CTE form.)"""
    from seglab.core.engines.clickhouse import ViewLayer
    from seglab.core.segments.compiler import _Compiler, _plain

    seg = load_definition(users({"type": "first_seen", "event": "*", "window": "ever", "negate": True}))
    assert engine.member_ids(seg, T) == ["u4", "u7"]  # u4 first came after T

    def run(join_use_nulls: int) -> list[str]:
        comp = _Compiler(engine.catalog(), T, "clickhouse")
        query = _plain(comp.members(seg).order_by("key"))
        views = ViewLayer(engine.source, engine.views.properties, engine.views.database)
        sql = views.sql(query, comp.params).replace("seglab_users", "seglab_users_cte")
        settings = engine.client._settings
        engine.client._settings = settings.replace("join_use_nulls = 1", f"join_use_nulls = {join_use_nulls}")
        try:
            return sorted(row[0] for row in engine.client.query(sql, comp.params))
        finally:
            engine.client._settings = settings

    assert run(1) == ["u4", "u7"]
    assert run(0) == ["u4"]  # the trap is real: u7 "first seen" at 0


def test_trap_query_condition_cache(engine):
    """ClickHouse 26.9's query condition cache ignores query parameter values: after a filter that
    matched no row, another filter on the same table matched nothing either. It is off."""
    none = load_definition(users(prop("signup_date", "within_last_days", 30)))
    some = load_definition(users(prop("plan", "eq", "pro"), prop("age", "gt", 35), match="any"))
    for _ in range(2):
        assert engine.member_ids(none, T) == []
        assert engine.member_ids(some, T) == ["u1", "u2"]


def test_everyone_is_every_user(engine):
    assert set(engine.member_ids(load_definition(users()), T)) == ALL_USERS


def test_trap_correlated_count_of_no_rows(engine):
    """ClickHouse decorrelates a correlated count(*) into a join that drops the rows with no match
    (their count must be 0): distinct-day counts run as a grouped scan there instead."""
    seg = load_definition(
        users(
            did(
                "login",
                measure={"fn": "distinct_days"},
                compare={"op": "gte", "value": 0},
                window={"last_days": 1},
            )
        )
    )
    assert set(engine.member_ids(seg, T)) == ALL_USERS
    seg = load_definition(
        users(
            did(
                "*",
                measure={"fn": "distinct_days"},
                compare={"op": "lt", "value": 1},
                window={"last_days": 3},
            )
        )
    )
    assert set(engine.member_ids(seg, T)) == {"u1", "u4", "u5", "u7"}  # as on SQLite


def test_the_engine_boundary_gives_the_same_answers(paths, engine):
    """open_engine: the local engine (today's SQLite code) and the ClickHouse engine answer alike.
    (The connected side is the module's engine: a process opens a chdb folder once at a time.)"""
    from seglab.core.engines.base import LocalEngine

    seg = load_definition(users(did("login", window={"last_days": 7}), prop("plan", "is_set")))

    def answers(eng):
        info = eng.info()
        return (
            eng.count(seg, T),
            eng.member_ids(seg, T),
            eng.latest_event_ms(),
            eng.as_of(),
            sorted(eng.catalog().properties),
            {k: info[k] for k in ("events", "users", "accounts", "first_event", "last_event")},
        )

    with Project.open(paths[0], readonly=True) as project:
        local = open_engine(project.conn)
        assert isinstance(local, LocalEngine)
        expected = answers(local)
        local.close()
    assert answers(engine) == expected
