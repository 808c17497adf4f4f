"""The definition model: loading, structural errors with JSON paths, dump round trips."""

from __future__ import annotations

import json

import pytest

from seglab.core.errors import SegmentError, UserError
from seglab.core.segments import (
    OPERATORS,
    BehaviorCondition,
    GroupCondition,
    PropertyCondition,
    SegmentDef,
    describe,
    dump_definition,
    load_definition,
)
from seglab.core.segments.operators import COMPARE_OPS, MEASURES, operators_for_type

FULL = {
    "version": 1,
    "level": "account",
    "match": "any",
    "conditions": [
        {"type": "property", "entity": "account", "property": "tier", "op": "in", "value": ["a", "b"]},
        {
            "type": "behavior",
            "event": "purchase",
            "where": [{"property": "amount", "op": "gt", "value": 50}],
            "measure": {"fn": "sum", "property": "amount"},
            "compare": {"op": "between", "value": [1, 9]},
            "window": {"last_days": 30},
        },
        {
            "type": "behavior",
            "event": "login",
            "per": "users",
            "compare": {"op": "gte", "value": 5},
            "window": {"between": ["2024-01-01", "2024-01-31"]},
            "negate": True,
        },
        {"type": "first_seen", "event": "*", "window": {"since": "2024-02-01"}},
        {"type": "last_seen", "event": "login", "window": "ever"},
        {
            "type": "sequence",
            "steps": [{"event": "signup"}, {"event": "create_report", "where": []}],
            "within_days": 7,
            "window": {"last_days": 90},
        },
        {"type": "segment", "segment": "Big accounts"},
        {
            "type": "users",
            "share": True,
            "compare": {"op": "gte", "value": 0.5},
            "match": {
                "level": "user",
                "match": "all",
                "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "is_set"}],
            },
        },
        {
            "type": "group",
            "match": "all",
            "conditions": [
                {
                    "type": "property",
                    "entity": "account",
                    "property": "seats",
                    "op": "between",
                    "value": [1, 5],
                }
            ],
        },
    ],
}


def test_round_trip_every_condition_type():
    seg = load_definition(FULL)
    assert isinstance(seg, SegmentDef) and seg.level == "account" and len(seg.conditions) == 9
    again = load_definition(dump_definition(seg))
    assert again == seg
    assert load_definition(json.dumps(dump_definition(seg))) == seg
    assert hash(seg) == hash(again)  # frozen and hashable: usable as a cache key


def test_defaults():
    seg = load_definition({"conditions": [{"type": "behavior", "event": "login"}]})
    assert seg.version == 1 and seg.level == "user" and seg.match == "all"
    (c,) = seg.conditions
    assert isinstance(c, BehaviorCondition)
    assert (c.measure.fn, c.compare.op, c.compare.value, c.window.kind, c.per) == (
        "count",
        "gte",
        1,
        "ever",
        "events",
    )
    assert load_definition({"level": "user"}).conditions == ()


def test_integral_float_days_accepted():
    seg = load_definition({"conditions": [{"type": "behavior", "event": "x", "window": {"last_days": 7.0}}]})
    assert seg.conditions[0].window.days == 7 and isinstance(seg.conditions[0].window.days, int)


def test_frozen():
    seg = load_definition(
        {"conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "x"}]}
    )
    with pytest.raises(AttributeError):
        seg.level = "account"  # type: ignore[misc]
    assert isinstance(seg.conditions[0], PropertyCondition)


def test_newer_version_refused():
    with pytest.raises(SegmentError) as info:
        load_definition({"version": 2, "level": "user", "conditions": []})
    assert info.value.path == "version"
    assert "version 2" in str(info.value) and "update SegLab" in str(info.value)


@pytest.mark.parametrize(
    ("definition", "path", "fragment"),
    [
        ("not json", "definition", "not valid JSON"),
        ([], "definition", "expected a segment definition object"),
        ({"level": "team"}, "level", "'user', 'account'"),
        ({"match": "some"}, "match", "'all', 'any'"),
        ({"conditions": {}}, "conditions", "expected a list"),
        ({"conditions": [{"type": "magic"}]}, "conditions[0].type", "unknown condition type 'magic'"),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "like", "value": 1}]},
            "conditions[0].op",
            "unknown operator 'like'",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "eq"}]},
            "conditions[0]",
            "needs a 'value'",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "in", "value": "x"}]},
            "conditions[0].value",
            "non-empty list",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "between", "value": [1]}]},
            "conditions[0].value",
            "[low, high]",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "is_set", "value": 3}]},
            "conditions[0].value",
            "takes no value",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "eq", "value": {"a": 1}}]},
            "conditions[0].value",
            "single value",
        ),
        (
            {"conditions": [{"type": "property", "property": "", "op": "eq", "value": 1}]},
            "conditions[0].property",
            "non-empty string",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "eq", "value": 1, "negat": True}]},
            "conditions[0].negat",
            "unknown key 'negat'",
        ),
        (
            {"conditions": [{"type": "property", "property": "p", "op": "eq", "value": 1, "negate": "yes"}]},
            "conditions[0].negate",
            "true or false",
        ),
        (
            {
                "level": "account",
                "conditions": [{"type": "property", "entity": "user", "property": "p", "op": "is_set"}],
            },
            "conditions[0].entity",
            "account segment",
        ),
        ({"conditions": [{"type": "behavior"}]}, "conditions[0]", "missing key 'event'"),
        (
            {"conditions": [{"type": "behavior", "event": "x", "measure": {"fn": "median"}}]},
            "conditions[0].measure.fn",
            "'count'",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "measure": {"fn": "sum"}}]},
            "conditions[0].measure.property",
            "numeric event 'property'",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "compare": {"op": "gte", "value": "many"}}]},
            "conditions[0].compare.value",
            "expected a number",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "compare": {"op": "around", "value": 1}}]},
            "conditions[0].compare.op",
            "unknown comparison",
        ),
        (
            {
                "conditions": [
                    {"type": "behavior", "event": "x", "compare": {"op": "between", "value": [5, 1]}}
                ]
            },
            "conditions[0].compare.value",
            "above the high end",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "window": {"last_days": -1}}]},
            "conditions[0].window.last_days",
            "whole number",
        ),
        (
            {
                "conditions": [
                    {"type": "behavior", "event": "x", "window": {"between": ["2024-02-01", "2024-01-01"]}}
                ]
            },
            "conditions[0].window.between",
            "before the first date",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "window": {"since": "yesterday"}}]},
            "conditions[0].window.since",
            "YYYY-MM-DD",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "window": {"next_days": 3}}]},
            "conditions[0].window",
            "last_days",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "per": "users"}]},
            "conditions[0].per",
            "account",
        ),
        (
            {
                "level": "account",
                "conditions": [
                    {"type": "behavior", "event": "x", "per": "users", "measure": {"fn": "distinct_days"}}
                ],
            },
            "conditions[0].per",
            "fn 'count'",
        ),
        ({"conditions": [{"type": "sequence", "steps": []}]}, "conditions[0].steps", "non-empty list"),
        (
            {"conditions": [{"type": "sequence", "steps": [{"event": "a"}, {"name": "b"}]}]},
            "conditions[0].steps[1]",
            "missing key 'event'",
        ),
        (
            {"conditions": [{"type": "sequence", "steps": [{"event": "a"}], "within_days": 0}]},
            "conditions[0].within_days",
            "positive",
        ),
        (
            {"conditions": [{"type": "users", "match": {"level": "user"}}]},
            "conditions[0].type",
            "account segments",
        ),
        (
            {"level": "account", "conditions": [{"type": "users", "match": {"level": "account"}}]},
            "conditions[0].match.level",
            "'user' level",
        ),
        (
            {
                "level": "account",
                "conditions": [
                    {
                        "type": "users",
                        "share": True,
                        "compare": {"op": "gte", "value": 2},
                        "match": {"level": "user"},
                    }
                ],
            },
            "conditions[0].compare.value",
            "fraction",
        ),
        (
            {
                "conditions": [
                    {
                        "type": "group",
                        "conditions": [{"type": "property", "property": "p", "op": "zz", "value": 1}],
                    }
                ]
            },
            "conditions[0].conditions[0].op",
            "unknown operator",
        ),
        (
            {"conditions": [{"type": "behavior", "event": "x", "where": [{"property": "a", "op": "eq"}]}]},
            "conditions[0].where[0]",
            "needs a 'value'",
        ),
        (
            {
                "level": "account",
                "conditions": [
                    {
                        "type": "users",
                        "match": {
                            "level": "user",
                            "conditions": [{"type": "property", "property": "p", "op": "?"}],
                        },
                    }
                ],
            },
            "conditions[0].match.conditions[0].op",
            "unknown",
        ),
    ],
)
def test_structural_errors_name_the_path(definition, path, fragment):
    with pytest.raises(SegmentError) as info:
        load_definition(definition)
    assert info.value.path == path
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UserError)


def test_operator_table_drives_everything():
    # Every operator has a label, a sentence and a builder; negative ones are exactly the contract's.
    assert {o for o, spec in OPERATORS.items() if spec.negative} == {
        "neq",
        "not_in",
        "not_contains",
        "is_not_set",
    }
    assert set(OPERATORS) == {
        "eq",
        "neq",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "is_set",
        "is_not_set",
        "before",
        "after",
        "within_last_days",
    }
    assert set(COMPARE_OPS) == {"eq", "neq", "gt", "gte", "lt", "lte", "between"}
    assert set(MEASURES) == {
        "count",
        "distinct_days",
        "distinct_weeks",
        "distinct_months",
        "sum",
        "avg",
        "min",
        "max",
    }
    assert [o.op for o in operators_for_type("boolean")] == [
        "eq",
        "neq",
        "in",
        "not_in",
        "is_set",
        "is_not_set",
    ]
    assert "before" in [o.op for o in operators_for_type("datetime")]
    assert "contains" not in [o.op for o in operators_for_type("integer")]


def test_describe_every_condition_type():
    text = describe(load_definition(FULL))
    assert text.startswith("Accounts whose tier is one of a or b or ")
    for fragment in (
        "with a total amount of between 1 and 9",
        "in the last 30 days",
        "excluding those where at least 5",
        "first seen since 2024-02-01",
        "last seen doing login ever",
        "signup, then create_report within 7 days",
        "in the segment Big accounts",
        "a share of at least 0.5",
        "(whose seats is between 1 and 5)",
    ):
        assert fragment in text, fragment
    assert "\n" not in text


def test_group_and_nesting_model():
    seg = load_definition(FULL)
    group = seg.conditions[-1]
    assert isinstance(group, GroupCondition) and group.match == "all" and len(group.conditions) == 1


def test_demo_segments_are_valid_definitions_at_both_levels():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "resources" / "demo" / "segments.json"
    demo = json.loads(path.read_text(encoding="utf-8"))
    assert 5 <= len(demo) <= 7
    segs = {name: load_definition(d) for name, d in demo.items()}
    assert {s.level for s in segs.values()} == {"user", "account"}
    assert describe(segs["Accounts at risk"]).startswith(
        "Accounts whose users together did any event in the last 60"
    )


def test_negated_sentences_read_naturally():
    seg = load_definition(
        {
            "conditions": [
                {"type": "property", "property": "plan", "op": "eq", "value": "pro", "negate": True},
                {"type": "behavior", "event": "login", "compare": {"op": "eq", "value": 0}, "negate": True},
                {"type": "last_seen", "event": "*", "window": {"last_days": 30}, "negate": True},
                {"type": "segment", "segment": "Power users", "negate": True},
                {"type": "property", "property": "n", "op": "gt", "value": 3, "negate": True},
            ]
        }
    )
    assert describe(seg) == (
        "Users whose plan is not pro and who did login and who were not last seen in the last 30 days and "
        "who are not in the segment Power users and excluding those whose n is greater than 3"
    )


def test_version_1_fixture_still_loads():
    # Files written by format version 1 are kept as fixtures: later versions must upgrade them.
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "segments" / "v1_every_condition.json"
    seg = load_definition(path.read_text(encoding="utf-8"))
    assert seg.version == 1 and len(seg.conditions) == 9
    assert dump_definition(seg)["conditions"][1]["measure"] == {"fn": "sum", "property": "amount"}
