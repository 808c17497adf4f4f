"""The limits of segment definitions (contract 1.1, docs/segments.md "Limits"): each hostile
definition gets a SegmentError naming the JSON path, never an internal error; definitions at
the limits evaluate, and to the same members as the plain SQL they replace."""

from __future__ import annotations

import datetime as dt

import pytest

from builders import build_project
from seglab.core.errors import SegmentError
from seglab.core.project import Project
from seglab.core.segments import compiler, count, load_definition, member_ids, save_segment, validate
from seglab.core.segments.engine import clear_cache
from seglab.core.timeutil import DAY_MS, date_to_ms, parse_as_of

T = parse_as_of("2024-03-31")


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "p.seglab"
    users = [
        {"user_id": f"u{i}", "account_id": f"a{i % 4}", "plan": ["free", "pro", "team"][i % 3], "seats": i}
        for i in range(30)
    ]
    events = [
        {
            "user_id": f"u{i}",
            "event": ["login", "buy"][i % 2],
            "timestamp": f"2024-03-{1 + i % 28:02d}T10:00:00Z",
        }
        for i in range(30)
        for _ in range(i % 5)
    ]
    build_project(path, users=users, events=events)
    with Project.open(path) as project:
        yield project


def _nest(n: int, negate: bool = False, sibling: bool = True, inner: dict | None = None) -> dict:
    c: dict = inner or {"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}
    for i in range(n):
        parts = [c]
        if sibling:
            parts.append({"type": "behavior", "event": "login", "compare": {"op": "gte", "value": 1 + i % 4}})
        c = {
            "type": "group",
            "match": "any" if i % 2 else "all",
            "negate": negate and i % 3 == 1,
            "conditions": parts,
        }
    return {"level": "user", "conditions": [c]}


def _both_ways(conn, seg, monkeypatch) -> tuple:
    """Members and count with deep groups written as WITH tables, and inline."""
    clear_cache()
    hoisted = (count(conn, seg, T), member_ids(conn, seg, T))
    monkeypatch.setattr(compiler, "_HOIST_DEPTH", 1000)
    clear_cache()
    inline = (count(conn, seg, T), member_ids(conn, seg, T))
    monkeypatch.undo()
    clear_cache()
    return hoisted, inline


@pytest.mark.parametrize("depth", [5, 9, 12])
def test_deep_groups_mean_the_same_written_as_with_tables(proj, depth, monkeypatch):
    seg = load_definition(_nest(depth, negate=True))
    hoisted, inline = _both_ways(proj.conn, seg, monkeypatch)
    assert hoisted == inline
    assert 0 < hoisted[0] < 30


def test_32_nested_negated_groups_evaluate(proj):
    # Inline, SQLite's parser stack overflows at 14 such levels.
    for negate in (False, True):
        seg = load_definition(_nest(32, negate=negate))
        assert count(proj.conn, seg, T) == len(member_ids(proj.conn, seg, T))


def test_account_segment_nesting_through_a_users_condition(proj):
    inner = _nest(15, negate=True)
    d = {
        "level": "account",
        "conditions": [{"type": "users", "compare": {"op": "gte", "value": 1}, "match": inner}],
    }
    for _ in range(15):
        d = {
            "level": "account",
            "conditions": [{"type": "group", "match": "all", "negate": True, "conditions": d["conditions"]}],
        }
    seg = load_definition(d)
    clear_cache()
    assert count(proj.conn, seg, T) == len(member_ids(proj.conn, seg, T))


def test_33_nested_groups_are_refused():
    with pytest.raises(SegmentError, match=r"nest too deeply \(at most 32"):
        load_definition(_nest(33, sibling=False))


@pytest.mark.parametrize("depth", [300, 5000, 100_000])
def test_absurd_nesting_is_a_sentence_not_a_recursion_error(depth):
    text = '{"conditions":[' + '{"type":"group","conditions":[' * depth + "]}" * depth + "]}"
    with pytest.raises(SegmentError, match="nest too deeply"):
        load_definition(text)
    deep_value = {"conditions": [{"type": "property", "property": "plan", "op": "eq", "value": []}]}
    cell = deep_value["conditions"][0]
    for _ in range(depth):
        cell["value"] = [cell["value"]]
    with pytest.raises(SegmentError, match=r"conditions\[0\]\.value"):
        load_definition(deep_value)


def test_500_conditions_evaluate_and_501_are_refused(proj):
    conds = [
        {"type": "behavior", "event": "*", "compare": {"op": "gte", "value": 1 + i % 7}, "negate": i % 2 == 0}
        for i in range(500)
    ]
    for match in ("any", "all"):
        seg = load_definition({"match": match, "conditions": conds})
        assert count(proj.conn, seg, T) == len(member_ids(proj.conn, seg, T))
    nested = {"conditions": [{"type": "group", "match": "any", "conditions": conds}]}
    with pytest.raises(SegmentError, match="more than 500 conditions"):
        load_definition(nested)
    assert load_definition({"conditions": [*conds[:499], {"type": "group", "conditions": []}]})


def test_a_long_or_chain_means_the_same_as_a_short_one(proj, monkeypatch):
    conds = [
        {"type": "property", "entity": "user", "property": "seats", "op": "eq", "value": i}
        for i in range(0, 60, 2)
    ]
    conds += [{"type": "behavior", "event": "buy", "compare": {"op": "gte", "value": 4}}] * 60
    seg = load_definition({"match": "any", "conditions": conds})
    clear_cache()
    balanced = member_ids(proj.conn, seg, T)
    monkeypatch.setattr(compiler, "_FLAT_CHAIN", 10_000)
    clear_cache()
    assert member_ids(proj.conn, seg, T) == balanced
    assert len(balanced) == 15 + 3  # even seats, plus u9/u19/u29 who bought 4 times


@pytest.mark.parametrize("op", ["in", "not_in"])
def test_long_in_lists_bind_one_json_parameter_with_the_same_result(proj, op, monkeypatch):
    values = [f"u{i}" for i in range(0, 30, 3)] + [f"nobody{i}" for i in range(200)]
    cases = [
        ("user", "plan", ["pro", "team"] + [f"x{i}" for i in range(100)]),
        ("user", "seats", [*list(range(0, 30, 4)), 10.0, *list(range(1000, 1100))]),
    ]
    for entity, prop, vals in cases:
        seg = load_definition(
            {
                "conditions": [
                    {"type": "property", "entity": entity, "property": prop, "op": op, "value": vals}
                ]
            }
        )
        q = compiler.compile_segment(proj.conn, seg, T)
        assert "json_each" in q.sql.lower() and len(q.params) == 1
        clear_cache()
        with_json = member_ids(proj.conn, seg, T)
        monkeypatch.setattr(compiler, "_JSON_LIST", 10_000)
        clear_cache()
        assert member_ids(proj.conn, seg, T) == with_json
        monkeypatch.undo()
    where = {"type": "behavior", "event": "*", "where": [{"property": "plan", "op": op, "value": values}]}
    assert load_definition({"conditions": [where]})  # event property unknown: a validation matter only


def test_in_list_size_limit():
    ok = {"conditions": [{"type": "property", "property": "plan", "op": "in", "value": list(range(100_000))}]}
    assert load_definition(ok)
    ok["conditions"][0]["value"].append(-1)
    with pytest.raises(
        SegmentError, match=r"conditions\[0\]\.value: 100,001 values in one list; at most 100,000"
    ):
        load_definition(ok)


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (
            '{"conditions":[{"type":"property","property":"plan","op":["eq"],"value":1}]}',
            "conditions[0].op",
            "expected an operator, got a list",
        ),
        (
            '{"conditions":[{"type":"property","property":"plan","op":{"a":1},"value":1}]}',
            "conditions[0].op",
            "got an object",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"*","compare":{"op":[1],"value":1}}]}',
            "conditions[0].compare.op",
            "got a list",
        ),
        ('{"match":["all"]}', "match", "expected one of 'all', 'any', got a list"),
        (
            '{"conditions":[{"type":"behavior","event":"*","compare":{"op":"gte","value":123456789012345678901234567890}}]}',
            "conditions[0].compare.value",
            "too large",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"*","compare":{"op":"gte","value":1e300}}]}',
            "conditions[0].compare.value",
            "out of range",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"*","compare":{"op":"between","value":[0, 1e19]}}]}',
            "conditions[0].compare.value[1]",
            "out of range",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"*","compare":{"op":"gte","value":NaN}}]}',
            "conditions[0].compare.value",
            "expected a finite number, got NaN",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"*","compare":{"op":"gte","value":-Infinity}}]}',
            "conditions[0].compare.value",
            "got -Infinity",
        ),
        (
            '{"conditions":[{"type":"property","property":"seats","op":"in","value":[1, NaN]}]}',
            "conditions[0].value[1]",
            "got NaN",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"\\ud800"}]}',
            "conditions[0].event",
            "not valid Unicode",
        ),
        (
            '{"conditions":[{"type":"property","property":"plan","op":"in","value":["a","\\udfff"]}]}',
            "conditions[0].value[1]",
            "not valid Unicode",
        ),
        (
            '{"conditions":[{"type":"behavior","event":"*","window":{"last_days":100000000}}]}',
            "conditions[0].window.last_days",
            "0 to 1,000,000",
        ),
        (
            '{"conditions":[{"type":"sequence","steps":[{"event":"a"}],"within_days":1e12}]}',
            "conditions[0].within_days",
            "at most 1,000,000",
        ),
    ],
)
def test_hostile_values_get_a_sentence_with_the_path(text, path, message):
    with pytest.raises(SegmentError) as info:
        load_definition(text)
    assert info.value.path == path
    assert message in info.value.reason


def test_numbers_compared_with_properties(proj):
    def check(prop, value):
        seg = load_definition(
            {"conditions": [{"type": "property", "property": prop, "op": "gt", "value": value}]}
        )
        validate(proj.conn, seg)
        return count(proj.conn, seg, T)

    with pytest.raises(SegmentError, match="out of range for user property 'seats'"):
        check("seats", 1e300)
    with pytest.raises(SegmentError, match="out of range"):
        check("seats", "99999999999999999999")
    with pytest.raises(SegmentError, match="expected a number"):
        check("seats", "1e999")
    assert check("seats", 9.2e18) == 0
    assert check("seats", -9.2e18) == 30


def test_references_count_towards_the_depth(proj):
    conn = proj.conn
    save_segment(conn, "d0", load_definition(_nest(20, sibling=False)))
    save_segment(conn, "d1", load_definition({"conditions": [{"type": "segment", "segment": "d0"}]}))
    ref = {"type": "segment", "segment": "d1"}
    seg = load_definition(_nest(11, sibling=False, inner=ref))  # 11 + d1 + d0 + 20 groups
    with pytest.raises(SegmentError, match=r"nest more than 32 levels deep \(counting the saved segments"):
        validate(conn, seg)
    seg = load_definition(_nest(10, sibling=False, inner=ref))
    validate(conn, seg)
    assert count(conn, seg, T) == 10


def test_a_window_reaching_before_year_one_is_clamped(proj):
    window = {"last_days": 1_000_000}
    cond = {"type": "behavior", "event": "*", "measure": {"fn": "distinct_months"}, "window": window}
    seg = load_definition({"conditions": [cond]})
    assert count(proj.conn, seg, T) == 24  # everyone with an event
    # The core takes any as-of time (the command line keeps to 1900..2999, docs/cli.md).
    end_of_year_one = date_to_ms(dt.date(1, 1, 1)) + DAY_MS - 1
    assert count(proj.conn, seg, end_of_year_one) == 0
    far = date_to_ms(dt.date(8999, 12, 31))
    assert member_ids(proj.conn, seg, far) == []  # the window starts in 6261


def test_a_definition_too_large_in_all_is_refused_quickly():
    # Shared references (from Python, not JSON) could make the walk far longer than the input.
    big = [{"type": "behavior", "event": "*"}] * 500
    hostile = {"conditions": [{"type": "property", "property": "plan", "op": "in", "value": [big] * 100_000}]}
    with pytest.raises(SegmentError, match=r"too large \(more than 5,000,000 values in all\)"):
        load_definition(hostile)
