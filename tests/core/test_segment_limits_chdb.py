"""The definition limits of test_segment_limits.py on chdb: long in/not_in lists bound as ONE
JSON parameter, long id lists, groups nested 32 deep and long AND/OR chains give the members
the local (SQLite) engine gives for the same rows."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from test_segment_limits import T, _nest

from builders import build_project
from chdb_support import connect_to
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import render
from seglab.core.project import Project
from seglab.core.segments import compiler, count, load_definition, member_ids
from seglab.core.segments.engine import clear_cache

USERS = [
    {
        "user_id": f"u{i}",
        "account_id": f"a{i % 4}",
        "plan": ["free", "pro", "team", None][i % 4],
        "seats": i if i % 5 else None,
        "score": i * 0.5,
        "vip": [True, False, None][i % 3],
    }
    for i in range(30)
]
EVENTS = [
    {
        "user_id": f"u{i}",
        "event": ["login", "buy"][i % 2],
        "timestamp": f"2024-03-{1 + i % 28:02d}T10:00:00Z",
        "item": f"i{(i + k) % 9}" if k else None,
    }
    for i in range(30)
    for k in range(i % 5)
]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limch")
    local = build_project(tmp / "local.seglab", users=USERS, events=EVENTS)
    with Project.open(local) as project:
        connect_to(project.conn, tmp / "ch", tmp / "connected.seglab")
    lp = Project.open(local, readonly=True)
    cp = Project.open(tmp / "connected.seglab", readonly=True)
    engine = open_engine(cp.conn)
    yield lp.conn, engine
    engine.close()
    cp.close()
    lp.close()


def _same(both, definition) -> list[str]:
    conn, engine = both
    seg = load_definition(definition)
    clear_cache()
    expected = member_ids(conn, seg, T)
    assert count(conn, seg, T) == len(expected)
    assert engine.member_ids(seg, T) == expected
    assert engine.count(seg, T) == len(expected)
    return expected


def _prop(prop: str, op: str, value, entity: str = "user") -> dict:
    return {"type": "property", "entity": entity, "property": prop, "op": op, "value": value}


LONG_LISTS = [
    ("plan", ["pro", "team", *[f"x{i}" for i in range(100)]]),
    # 10.0 is 10; 10.5 and a float beyond 2**53 match no integer.
    ("seats", [*range(0, 30, 4), 10.0, 10.5, 2.0**60, *range(1000, 1100)]),
    # 1 is 1.0; 2**53 + 1 is no float, so it equals no stored real.
    ("score", [1, 2.5, 7.0, 2**53 + 1, *[i + 0.25 for i in range(100)]]),
    ("vip", [True, "no", *[1] * 70]),
]


@pytest.mark.parametrize("op", ["in", "not_in"])
@pytest.mark.parametrize(("prop", "values"), LONG_LISTS, ids=[p for p, _ in LONG_LISTS])
def test_long_in_lists_are_one_json_parameter_on_chdb(both, op, prop, values):
    members = _same(both, {"conditions": [_prop(prop, op, values)]})
    assert 0 < len(members) < 30
    _same(both, {"conditions": [{**_prop(prop, op, values), "negate": True}]})
    _conn, engine = both
    comp = compiler._Compiler(engine.catalog(), T, "clickhouse")
    query = comp.members(load_definition({"conditions": [_prop(prop, op, values)]}))
    sql = render(compiler._plain(query), comp.params)
    assert len(comp.params) == 1 and "JSONExtract" in sql and "1099" not in sql and "x99" not in sql


def test_long_lists_on_accounts_and_event_properties(both):
    where = [{"property": "item", "op": "not_in", "value": ["i1", "i2", *[f"n{i}" for i in range(80)]]}]
    assert _same(both, {"conditions": [{"type": "behavior", "event": "*", "where": where}]})
    where[0]["op"] = "in"
    assert _same(
        both,
        {
            "conditions": [
                {"type": "behavior", "event": "*", "where": where, "compare": {"op": "gte", "value": 2}}
            ]
        },
    )


@pytest.mark.parametrize("level", ["user", "account"])
def test_long_id_lists(both, level):
    prefix = "u" if level == "user" else "a"
    ids = [f"{prefix}{i}" for i in range(0, 40, 3)] + [f"nobody{i}" for i in range(2000)] + ["é✓"]
    listed = _same(both, {"level": level, "conditions": [{"type": "list", "ids": ids}]})
    assert listed
    _same(both, {"level": level, "conditions": [{"type": "list", "ids": ids, "negate": True}]})


@pytest.mark.parametrize("depth", [5, 12, 32])
def test_deep_groups(both, depth):
    for negate in (False, True):
        assert 0 < len(_same(both, _nest(depth, negate=negate))) < 30


def test_deep_account_nesting_through_a_users_condition(both):
    d = {
        "level": "account",
        "conditions": [
            {"type": "users", "compare": {"op": "gte", "value": 1}, "match": _nest(15, negate=True)}
        ],
    }
    for _ in range(15):
        d = {
            "level": "account",
            "conditions": [{"type": "group", "match": "all", "negate": True, "conditions": d["conditions"]}],
        }
    _same(both, d)


def test_long_and_or_chains(both):
    conds = [_prop("seats", "eq", i) for i in range(0, 60, 2)]
    conds += [{"type": "behavior", "event": "buy", "compare": {"op": "gte", "value": 4}}] * 60
    assert len(conds) > compiler._FLAT_CHAIN
    assert _same(both, {"match": "any", "conditions": conds})
    negated = [{**c, "negate": True} for c in conds]
    assert _same(both, {"match": "all", "conditions": negated})
