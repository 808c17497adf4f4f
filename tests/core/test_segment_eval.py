"""Segment evaluation on a small hand-built project, every id set checked by hand.

As-of time T is 2024-03-31T12:00:00.000Z (a Sunday) and passed explicitly, so events
after T exist in the data and must never count. The same cases run on SQLite and on
DuckDB (the compiler's other dialect) over the same tables.
"""

from __future__ import annotations

import sqlite3

import pytest

from builders import build_project
from seglab.core.errors import SegmentError
from seglab.core.project import Project
from seglab.core.segments import (
    compile_segment,
    condition_counts,
    count,
    describe,
    load_definition,
    member_ids,
    member_keys,
    prepare_connection,
    save_segment,
    universe_size,
)
from seglab.core.storage.schema import QUERY_TABLES
from seglab.core.timeutil import parse_as_of

T = parse_as_of("2024-03-31T12:00:00Z")
HOUR = 3_600_000
DAY = 24 * HOUR
HOSTILE_NAME = "'; DROP TABLE users; --"


def iso(ms: int) -> str:
    from seglab.core.timeutil import ms_to_iso

    return ms_to_iso(ms)


EVENTS = [
    # login: the last_days 7 window is (T - 7 days, T]
    {"user_id": "u1", "event": "login", "timestamp": iso(T - 7 * DAY)},  # exactly T - 7 days: out
    {"user_id": "u1", "event": "login", "timestamp": "2024-03-01T09:00:00Z"},
    {"user_id": "u2", "event": "login", "timestamp": iso(T - 7 * DAY + 1)},  # 1 ms later: in
    {"user_id": "u3", "event": "login", "timestamp": iso(T)},  # exactly T: in
    {"user_id": "u4", "event": "login", "timestamp": iso(T + 1)},  # after T: never
    {"user_id": "u6", "event": "login", "timestamp": iso(T - 7 * DAY - HOUR)},
    {"user_id": "u6", "event": "login", "timestamp": iso(T - 7 * DAY + HOUR)},
    {"user_id": "u6", "event": "login", "timestamp": iso(T - 7 * DAY + 2 * HOUR)},
    {"user_id": "u6", "event": "login", "timestamp": iso(T - HOUR)},
    {"user_id": "u6", "event": "login", "timestamp": iso(T + HOUR)},
    {"user_id": "u1", "event": "purchase", "timestamp": "2024-03-10T00:00:00Z", "amount": 60},
    {"user_id": "u1", "event": "purchase", "timestamp": "2024-03-20T00:00:00Z", "amount": 40},
    {"user_id": "u2", "event": "purchase", "timestamp": "2024-03-30T00:00:00Z"},  # amount missing
    {"user_id": "u5", "event": "purchase", "timestamp": "2024-02-10T00:00:00Z", "amount": 100},
    {"user_id": "u1", "event": "signup", "timestamp": "2024-03-01T08:00:00Z"},
    {"user_id": "u2", "event": "signup", "timestamp": "2024-01-15T10:00:00Z"},
    {"user_id": "u5", "event": "signup", "timestamp": "2024-02-01T10:00:00Z"},
    {"user_id": "u1", "event": "create_report", "timestamp": "2024-03-01T10:00:00Z"},
    {"user_id": "u2", "event": "create_report", "timestamp": "2024-01-25T10:00:00Z"},  # exactly 10 days
    {"user_id": "u5", "event": "create_report", "timestamp": "2024-02-01T10:00:00Z"},  # same ms as signup
]

USERS = [
    {
        "user_id": "u1",
        "account_id": "A1",
        "plan": "pro",
        "age": 30,
        "score": 1.5,
        "beta": "true",
        "signup_date": "2024-03-01",
        "nick": "alice",
        HOSTILE_NAME: "yes",
    },
    {
        "user_id": "u2",
        "account_id": "A1",
        "plan": "free",
        "age": 40,
        "score": 2.5,
        "beta": "false",
        "signup_date": "2024-01-15",
        "nick": "' OR '1'='1",
    },
    {"user_id": "u3", "plan": "Pro", "signup_date": "2023-12-31", "nick": "Élodie"},
    {"user_id": "u4", "account_id": "A2", "plan": "", "age": 25, "nick": '"; DROP TABLE users; --'},
    {"user_id": "u5", "account_id": "A4", "plan": "enterprise plan", "age": 10, "nick": "bob"},
    {"user_id": "u7", "account_id": "A2", "plan": "free"},
]

ACCOUNTS = [
    {"account_id": "A1", "tier": "enterprise", "seats": 10},
    {"account_id": "A2", "tier": "free", "seats": ""},
    {"account_id": "A3", "tier": "pro", "seats": 3},
]

ALL_USERS = {"u1", "u2", "u3", "u4", "u5", "u6", "u7"}


@pytest.fixture(scope="module")
def project_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("seg") / "seg.seglab"
    build_project(path, events=EVENTS, users=USERS, accounts=ACCOUNTS)
    with Project.open(path) as project:
        save_segment(
            project.conn,
            "Pro users",
            {
                "level": "user",
                "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "pro"}],
            },
        )
        save_segment(
            project.conn,
            "Free plan",
            {
                "level": "user",
                "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "free"}],
            },
        )
    return path


@pytest.fixture(scope="module")
def conn(project_path):
    project = Project.open(project_path, readonly=True)
    yield project.conn
    project.close()


@pytest.fixture(scope="module")
def duck(conn):
    return to_duckdb(conn)


def to_duckdb(conn: sqlite3.Connection):
    """The project's tables in an in-memory DuckDB database, with the same column types."""
    import duckdb

    duck = duckdb.connect()
    types = {"INTEGER": "BIGINT", "REAL": "DOUBLE", "TEXT": "VARCHAR"}
    prop_types = {
        "integer": "BIGINT",
        "real": "DOUBLE",
        "boolean": "BIGINT",
        "datetime": "BIGINT",
        "text": "VARCHAR",
    }
    entity_of = {"users": "user", "accounts": "account", "events": "event"}
    for table in QUERY_TABLES:
        cols = conn.execute(f"PRAGMA table_info({table})").fetchall()
        catalog = dict(
            conn.execute(
                "SELECT column_name, type FROM properties WHERE entity = ?", (entity_of.get(table, ""),)
            ).fetchall()
        )
        col_types = [
            prop_types[catalog[c[1]]] if c[1] in catalog else types.get((c[2] or "TEXT").upper(), "VARCHAR")
            for c in cols
        ]
        ddl = ", ".join(f'"{c[1]}" {t}' for c, t in zip(cols, col_types))
        duck.execute(f"CREATE TABLE {table} ({ddl})")
        rows = conn.execute(f"SELECT * FROM {table}").fetchall()
        if rows:
            marks = ", ".join("?" for _ in cols)
            duck.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    return duck


def duck_ids(conn, duck, seg) -> set[str]:
    q = compile_segment(conn, seg, T, dialect="duckdb")
    keys = [row[0] for row in duck.execute(q.sql, q.params).fetchall()]
    table, key, ident = (
        ("users", "user_key", "user_id") if seg.level == "user" else ("accounts", "account_key", "account_id")
    )
    if not keys:
        return set()
    marks = ", ".join("?" for _ in keys)
    return {r[0] for r in conn.execute(f"SELECT {ident} FROM {table} WHERE {key} IN ({marks})", keys)}


def prop(name, op, value=None, entity="user"):
    c = {"type": "property", "entity": entity, "property": name, "op": op}
    if value is not None:
        c["value"] = value
    return c


def users(*conditions, match="all"):
    return {"version": 1, "level": "user", "match": match, "conditions": list(conditions)}


def accounts(*conditions, match="all"):
    return {"version": 1, "level": "account", "match": match, "conditions": list(conditions)}


def did(event, **kw):
    return {"type": "behavior", "event": event, **kw}


def neg(cond):
    return {**cond, "negate": True}


CASES = [
    # -- user properties: strings are exact and case-sensitive; the missing match only negatives
    ("eq", users(prop("plan", "eq", "pro")), {"u1"}),
    ("eq case", users(prop("plan", "eq", "Pro")), {"u3"}),
    ("neq incl. missing", users(prop("plan", "neq", "pro")), ALL_USERS - {"u1"}),
    ("in", users(prop("plan", "in", ["pro", "free"])), {"u1", "u2", "u7"}),
    ("not_in", users(prop("plan", "not_in", ["pro", "free"])), {"u3", "u4", "u5", "u6"}),
    ("contains ci", users(prop("plan", "contains", "PRO")), {"u1", "u3"}),
    ("not_contains", users(prop("plan", "not_contains", "pro")), {"u2", "u4", "u5", "u6", "u7"}),
    ("starts_with", users(prop("plan", "starts_with", "FR")), {"u2", "u7"}),
    ("ends_with", users(prop("plan", "ends_with", "PLAN")), {"u5"}),
    ("is_set (empty = unset)", users(prop("plan", "is_set")), {"u1", "u2", "u3", "u5", "u7"}),
    ("is_not_set", users(prop("plan", "is_not_set")), {"u4", "u6"}),
    ("gt numeric string", users(prop("age", "gt", "25")), {"u1", "u2"}),
    ("gte", users(prop("age", "gte", 25)), {"u1", "u2", "u4"}),
    ("lt", users(prop("age", "lt", 30)), {"u4", "u5"}),
    ("lte", users(prop("age", "lte", 30)), {"u1", "u4", "u5"}),
    ("between", users(prop("age", "between", [10, 30])), {"u1", "u4", "u5"}),
    ("eq number as string", users(prop("age", "eq", "10")), {"u5"}),
    ("neq number", users(prop("age", "neq", 10)), ALL_USERS - {"u5"}),
    ("real gt", users(prop("score", "gt", 2)), {"u2"}),
    ("real lt", users(prop("score", "lt", 2.0)), {"u1"}),
    ("boolean eq true", users(prop("beta", "eq", True)), {"u1"}),
    ("boolean eq 'false'", users(prop("beta", "eq", "false")), {"u2"}),
    ("boolean neq true", users(prop("beta", "neq", True)), ALL_USERS - {"u1"}),
    ("date before", users(prop("signup_date", "before", "2024-01-15")), {"u3"}),
    ("date after", users(prop("signup_date", "after", "2024-01-15")), {"u1"}),
    ("date eq", users(prop("signup_date", "eq", "2024-01-15")), {"u2"}),
    ("date gt", users(prop("signup_date", "gt", "2024-01-15")), {"u1"}),
    ("date gte", users(prop("signup_date", "gte", "2024-01-15")), {"u1", "u2"}),
    ("date lte", users(prop("signup_date", "lte", "2024-01-15")), {"u2", "u3"}),
    ("date lt", users(prop("signup_date", "lt", "2024-01-15")), {"u3"}),
    ("date between", users(prop("signup_date", "between", ["2023-12-31", "2024-01-15"])), {"u2", "u3"}),
    ("date within_last_days", users(prop("signup_date", "within_last_days", 31)), {"u1"}),
    ("date within_last_days none", users(prop("signup_date", "within_last_days", 30)), set()),
    ("date in", users(prop("signup_date", "in", ["2024-03-01", "2023-12-31"])), {"u1", "u3"}),
    ("date-time eq", users(prop("signup_date", "eq", "2024-03-01T00:00:00Z")), {"u1"}),
    ("hostile value", users(prop("nick", "eq", "' OR '1'='1")), {"u2"}),
    ("hostile value 2", users(prop("nick", "eq", '"; DROP TABLE users; --')), {"u4"}),
    ("unicode contains", users(prop("nick", "contains", "ÉLO")), {"u3"}),
    ("hostile property name", users(prop(HOSTILE_NAME, "eq", "yes")), {"u1"}),
    ("negate eq (null-safe)", users(neg(prop("plan", "eq", "pro"))), ALL_USERS - {"u1"}),
    ("negate is_set", users(neg(prop("plan", "is_set"))), {"u4", "u6"}),
    # -- the user's account
    ("account eq", users(prop("tier", "eq", "enterprise", "account")), {"u1", "u2"}),
    (
        "account neq (no account matches)",
        users(prop("tier", "neq", "enterprise", "account")),
        {"u3", "u4", "u5", "u6", "u7"},
    ),
    ("account is_not_set", users(prop("tier", "is_not_set", entity="account")), {"u3", "u5", "u6"}),
    ("account gt", users(prop("seats", "gt", 5, "account")), {"u1", "u2"}),
    (
        "negate account eq",
        users(neg(prop("tier", "eq", "enterprise", "account"))),
        {"u3", "u4", "u5", "u6", "u7"},
    ),
    # -- account level
    ("acct all", accounts(), {"A1", "A2", "A3", "A4"}),
    ("acct eq", accounts(prop("tier", "eq", "free", "account")), {"A2"}),
    ("acct neq", accounts(prop("tier", "neq", "free", "account")), {"A1", "A3", "A4"}),
    ("acct is_not_set", accounts(prop("seats", "is_not_set", entity="account")), {"A2", "A4"}),
    # -- behaviour: windows and boundaries
    ("did last 7", users(did("login", window={"last_days": 7})), {"u2", "u3", "u6"}),
    (
        "did not last 7",
        users(did("login", compare={"op": "eq", "value": 0}, window={"last_days": 7})),
        {"u1", "u4", "u5", "u7"},
    ),
    (
        "count eq 3 last 7",
        users(did("login", compare={"op": "eq", "value": 3}, window={"last_days": 7})),
        {"u6"},
    ),
    (
        "count gte 2 last 7",
        users(did("login", compare={"op": "gte", "value": 2}, window={"last_days": 7})),
        {"u6"},
    ),
    (
        "count lt 3 last 7",
        users(did("login", compare={"op": "lt", "value": 3}, window={"last_days": 7})),
        ALL_USERS - {"u6"},
    ),
    (
        "count between last 7",
        users(did("login", compare={"op": "between", "value": [1, 2]}, window={"last_days": 7})),
        {"u2", "u3"},
    ),
    (
        "count neq 1 last 7",
        users(did("login", compare={"op": "neq", "value": 1}, window={"last_days": 7})),
        ALL_USERS - {"u2", "u3"},
    ),
    ("count ever", users(did("login", compare={"op": "gte", "value": 2})), {"u1", "u6"}),
    (
        "between window",
        users(did("login", window={"between": ["2024-03-24", "2024-03-24"]})),
        {"u1", "u2", "u6"},
    ),
    ("since window", users(did("login", window={"since": "2024-03-25"})), {"u3", "u6"}),
    ("any event none (no events incl.)", users(did("*", compare={"op": "eq", "value": 0})), {"u4", "u7"}),
    ("unknown event never done", users(did("teleport", compare={"op": "eq", "value": 0})), ALL_USERS),
    (
        "sum lt incl. nothing",
        users(
            did("purchase", measure={"fn": "sum", "property": "amount"}, compare={"op": "lt", "value": 50})
        ),
        {"u2", "u3", "u4", "u6", "u7"},
    ),
    (
        "avg over no values matches nothing",
        users(
            did("purchase", measure={"fn": "avg", "property": "amount"}, compare={"op": "gte", "value": 0})
        ),
        {"u1", "u5"},
    ),
    (
        "avg lt matches nothing without events",
        users(
            did("purchase", measure={"fn": "avg", "property": "amount"}, compare={"op": "lt", "value": 1000})
        ),
        {"u1", "u5"},
    ),
    (
        "min",
        users(
            did("purchase", measure={"fn": "min", "property": "amount"}, compare={"op": "lt", "value": 50})
        ),
        {"u1"},
    ),
    (
        "max",
        users(
            did("purchase", measure={"fn": "max", "property": "amount"}, compare={"op": "eq", "value": "100"})
        ),
        {"u5"},
    ),
    (
        "where gt",
        users(did("purchase", where=[{"property": "amount", "op": "gt", "value": 50}])),
        {"u1", "u5"},
    ),
    ("where is_not_set", users(did("purchase", where=[{"property": "amount", "op": "is_not_set"}])), {"u2"}),
    (
        "where count window",
        users(
            did(
                "purchase",
                where=[{"property": "amount", "op": "gte", "value": 40}],
                compare={"op": "eq", "value": 2},
                window={"last_days": 30},
            )
        ),
        {"u1"},
    ),
    (
        "distinct_days",
        users(did("*", measure={"fn": "distinct_days"}, compare={"op": "gte", "value": 3})),
        {"u1", "u2"},
    ),
    (
        "distinct_days window",
        users(
            did(
                "login",
                measure={"fn": "distinct_days"},
                compare={"op": "eq", "value": 2},
                window={"last_days": 7},
            )
        ),
        {"u6"},
    ),
    (
        "distinct_weeks (Monday weeks)",
        users(
            did(
                "*",
                measure={"fn": "distinct_weeks"},
                compare={"op": "gte", "value": 2},
                window={"last_days": 28},
            )
        ),
        {"u1", "u2", "u6"},
    ),
    (
        "distinct_weeks not Sunday weeks",
        users(
            did(
                "*",
                measure={"fn": "distinct_weeks"},
                compare={"op": "gte", "value": 3},
                window={"last_days": 28},
            )
        ),
        set(),
    ),
    (
        "distinct_weeks where",
        users(
            did(
                "login",
                where=[{"property": "amount", "op": "is_not_set"}],
                measure={"fn": "distinct_weeks"},
                compare={"op": "eq", "value": 2},
                window={"last_days": 28},
            )
        ),
        {"u6"},
    ),
    (
        "distinct_months",
        users(did("*", measure={"fn": "distinct_months"}, compare={"op": "gte", "value": 2})),
        {"u2"},
    ),
    (
        "distinct_months zero",
        users(did("*", measure={"fn": "distinct_months"}, compare={"op": "lt", "value": 1})),
        {"u4", "u7"},
    ),
    # -- first / last seen
    (
        "first_seen any last 30",
        users({"type": "first_seen", "event": "*", "window": {"last_days": 30}}),
        {"u3", "u6"},
    ),
    ("first_seen login ever", users({"type": "first_seen", "event": "login"}), {"u1", "u2", "u3", "u6"}),
    (
        "last_seen login last 7",
        users({"type": "last_seen", "event": "login", "window": {"last_days": 7}}),
        {"u2", "u3", "u6"},
    ),
    (
        "churned",
        users(neg({"type": "last_seen", "event": "*", "window": {"between": ["2024-02-01", "2024-02-29"]}})),
        ALL_USERS - {"u5"},
    ),
    (
        "last_seen between",
        users(
            {"type": "last_seen", "event": "purchase", "window": {"between": ["2024-03-01", "2024-03-25"]}}
        ),
        {"u1"},
    ),
    # -- sequence: strictly later, within days x 24 h
    (
        "sequence 7d",
        users(
            {"type": "sequence", "steps": [{"event": "signup"}, {"event": "create_report"}], "within_days": 7}
        ),
        {"u1"},
    ),
    (
        "sequence 10d inclusive",
        users(
            {
                "type": "sequence",
                "steps": [{"event": "signup"}, {"event": "create_report", "where": []}],
                "within_days": 10,
            }
        ),
        {"u1", "u2"},
    ),
    (
        "sequence 3 steps",
        users(
            {
                "type": "sequence",
                "steps": [{"event": "signup"}, {"event": "create_report"}, {"event": "purchase"}],
                "within_days": 30,
            }
        ),
        {"u1"},
    ),
    (
        "sequence window",
        users(
            {
                "type": "sequence",
                "steps": [{"event": "signup"}, {"event": "create_report"}],
                "within_days": 30,
                "window": {"since": "2024-02-01"},
            }
        ),
        {"u1"},
    ),
    (
        "sequence where",
        users(
            {
                "type": "sequence",
                "steps": [
                    {"event": "purchase", "where": [{"property": "amount", "op": "gt", "value": 50}]},
                    {"event": "purchase"},
                ],
                "within_days": 15,
            }
        ),
        {"u1"},
    ),
    # -- account-level behaviour and users
    ("per users", accounts(did("login", per="users", window={"last_days": 7})), {"A1"}),
    ("per users gte 2", accounts(did("login", per="users", compare={"op": "gte", "value": 2})), {"A1"}),
    (
        "per users eq 0",
        accounts(did("login", per="users", compare={"op": "eq", "value": 0}, window={"last_days": 7})),
        {"A2", "A3", "A4"},
    ),
    ("acct count", accounts(did("login", compare={"op": "gte", "value": 3})), {"A1"}),
    ("acct count exact 3", accounts(did("login", compare={"op": "eq", "value": 3})), {"A1"}),
    ("acct did not", accounts(did("purchase", compare={"op": "eq", "value": 0})), {"A2", "A3"}),
    (
        "acct sum",
        accounts(
            did("purchase", measure={"fn": "sum", "property": "amount"}, compare={"op": "gte", "value": 100})
        ),
        {"A1", "A4"},
    ),
    (
        "acct distinct_days",
        accounts(did("*", measure={"fn": "distinct_days"}, compare={"op": "gte", "value": 5})),
        {"A1"},
    ),
    ("acct first_seen", accounts({"type": "first_seen", "event": "*", "window": {"last_days": 60}}), {"A4"}),
    (
        "acct sequence",
        accounts(
            {"type": "sequence", "steps": [{"event": "signup"}, {"event": "create_report"}], "within_days": 7}
        ),
        {"A1"},
    ),
    (
        "users gte 2",
        accounts(
            {"type": "users", "compare": {"op": "gte", "value": 2}, "match": users(prop("plan", "is_set"))}
        ),
        {"A1"},
    ),
    (
        "users share",
        accounts(
            {
                "type": "users",
                "share": True,
                "compare": {"op": "gte", "value": 0.5},
                "match": users(prop("plan", "eq", "free")),
            }
        ),
        {"A1", "A2"},
    ),
    (
        "users share lt (no users never)",
        accounts(
            {
                "type": "users",
                "share": True,
                "compare": {"op": "lt", "value": 0.5},
                "match": users(prop("plan", "eq", "free")),
            }
        ),
        {"A4"},
    ),
    (
        "users eq 0 incl. no users",
        accounts(
            {"type": "users", "compare": {"op": "eq", "value": 0}, "match": users(prop("plan", "eq", "pro"))}
        ),
        {"A2", "A3", "A4"},
    ),
    (
        "users with segment",
        accounts({"type": "users", "match": users({"type": "segment", "segment": "Pro users"})}),
        {"A1"},
    ),
    # -- references, groups, match any
    ("segment ref", users({"type": "segment", "segment": "Pro users"}), {"u1"}),
    ("segment ref negate", users(neg({"type": "segment", "segment": "Pro users"})), ALL_USERS - {"u1"}),
    ("match any", users(prop("plan", "eq", "pro"), prop("age", "gt", 35), match="any"), {"u1", "u2"}),
    (
        "group",
        users(
            prop("age", "is_set"),
            {
                "type": "group",
                "match": "any",
                "conditions": [prop("plan", "eq", "free"), {"type": "segment", "segment": "Pro users"}],
            },
        ),
        {"u1", "u2"},
    ),
    (
        "negated group",
        users(
            neg(
                {
                    "type": "group",
                    "match": "any",
                    "conditions": [prop("plan", "eq", "free"), prop("age", "gt", 20)],
                }
            )
        ),
        {"u3", "u5", "u6"},
    ),
    ("empty group", users({"type": "group", "match": "all", "conditions": []}), ALL_USERS),
]


@pytest.mark.parametrize(("name", "definition", "expected"), CASES, ids=[c[0] for c in CASES])
def test_members_sqlite(conn, name, definition, expected):
    seg = load_definition(definition)
    ids = member_ids(conn, seg, T)
    assert set(ids) == expected
    assert ids == sorted(ids)
    assert count(conn, seg, T) == len(expected)


@pytest.mark.parametrize(("name", "definition", "expected"), CASES, ids=[c[0] for c in CASES])
def test_members_duckdb(conn, duck, name, definition, expected):
    assert duck_ids(conn, duck, load_definition(definition)) == expected


def test_events_after_as_of_count_with_a_later_as_of(conn):
    seg = load_definition(users(did("login", window={"last_days": 7})))
    assert set(member_ids(conn, seg, T + 1)) == {"u3", "u4", "u6"}  # u2's event is now exactly at the edge


def test_default_as_of_is_the_latest_event(conn):
    seg = load_definition(users(did("login", window={"last_days": 1})))
    # latest event is T + 1 h (u6): the window is (T - 23 h, T + 1 h]
    assert set(member_ids(conn, seg)) == {"u3", "u4", "u6"}


def test_member_keys_sorted_and_universe(conn):
    seg = load_definition(users())
    keys = member_keys(conn, seg, T)
    assert keys == sorted(keys) and len(keys) == 7
    assert universe_size(conn, "user") == 7
    assert universe_size(conn, "account") == 4


def test_condition_counts(conn):
    seg = load_definition(users(prop("plan", "is_set"), did("login", window={"last_days": 7})))
    counts = condition_counts(conn, seg, T)
    assert [(c.path, c.alone, c.running) for c in counts] == [
        ("conditions[0]", 5, 5),
        ("conditions[1]", 3, 2),
    ]
    seg_any = load_definition(users(prop("plan", "eq", "pro"), prop("age", "gt", 35), match="any"))
    assert [(c.alone, c.running) for c in condition_counts(conn, seg_any, T)] == [(1, 1), (1, 2)]


def test_values_are_parameters_not_sql(conn):
    seg = load_definition(users(prop("nick", "eq", "' OR '1'='1")))
    q = compile_segment(conn, seg, T)
    assert "OR '1'='1" not in q.sql
    assert "' OR '1'='1" in q.params.values()
    assert (
        HOSTILE_NAME not in compile_segment(conn, load_definition(users(prop(HOSTILE_NAME, "is_set"))), T).sql
    )
    # the table is still there
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 7


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        (users(prop("plann", "eq", "pro")), "conditions[0].property"),
        (users(prop("age", "eq", "ten")), "conditions[0].value"),
        (users(prop("age", "contains", "1")), "conditions[0].op"),
        (users(prop("signup_date", "before", "soon")), "conditions[0].value"),
        (users(prop("beta", "eq", "maybe")), "conditions[0].value"),
        (users(prop("age", "in", [1, "x"])), "conditions[0].value[1]"),
        (
            users(did("purchase", where=[{"property": "amount", "op": "gt", "value": "lots"}])),
            "conditions[0].where[0].value",
        ),
        (
            users(did("purchase", where=[{"property": "nope", "op": "is_set"}])),
            "conditions[0].where[0].property",
        ),
        (users(did("purchase", measure={"fn": "sum", "property": "nope"})), "conditions[0].measure.property"),
        (users({"type": "segment", "segment": "Nobody"}), "conditions[0].segment"),
        (accounts({"type": "segment", "segment": "Pro users"}), "conditions[0].segment"),
        (
            users({"type": "group", "conditions": [prop("plan", "eq", "x"), prop("x", "eq", 1)]}),
            "conditions[0].conditions[1].property",
        ),
        (
            accounts({"type": "users", "match": users(prop("zzz", "eq", 1))}),
            "conditions[0].match.conditions[0].property",
        ),
    ],
)
def test_invalid_against_project(conn, definition, path):
    seg = load_definition(definition)
    with pytest.raises(SegmentError) as info:
        count(conn, seg, T)
    assert info.value.path == path
    assert str(info.value).startswith(path + ": ")


def test_describe_sentences():
    seg = load_definition(
        accounts(
            did("login", per="users", compare={"op": "gte", "value": 5}, window={"last_days": 7}),
            prop("tier", "eq", "enterprise", "account"),
        )
    )
    assert describe(seg) == (
        "Accounts where at least 5 users did login in the last 7 days and whose tier is enterprise"
    )
    seg = load_definition(
        users(
            did("purchase", compare={"op": "gte", "value": 3}, window={"last_days": 30}),
            prop("plan", "eq", "pro"),
        )
    )
    assert (
        describe(seg) == "Users who did purchase at least 3 times in the last 30 days and whose plan is pro"
    )
    assert describe(load_definition(users())) == "All users"


def test_seglab_lower_is_registered_for_raw_sql(conn):
    prepare_connection(conn)
    assert conn.execute("SELECT seglab_lower('ÉLODIE')").fetchone()[0] == "élodie"


def test_account_on_event_rows_does_not_move_events(tmp_path):
    path = build_project(
        tmp_path / "link.seglab",
        users=[{"user_id": "x", "account_id": "A"}, {"user_id": "y"}],
        events=[
            {"user_id": "x", "event": "login", "timestamp": "2024-03-01T00:00:00Z", "account_id": "B"},
            {"user_id": "y", "event": "login", "timestamp": "2024-03-02T00:00:00Z", "account_id": "C"},
        ],
    )
    with Project.open(path, readonly=True) as project:
        did_login = load_definition(accounts(did("login")))
        # x's events count for A (the users file's link), never for B written on the event
        # row; y has no users-file account, so the account on its latest event (C) is its link.
        linked = dict(
            project.conn.execute(
                "SELECT u.user_id, a.account_id FROM users u LEFT JOIN accounts a USING (account_key)"
            ).fetchall()
        )
        expected = {linked[u] for u in ("x", "y") if linked[u]}
        assert "B" not in expected
        assert set(member_ids(project.conn, did_login)) == expected
        assert "B" not in member_ids(project.conn, load_definition(accounts()))


def _seen(kind, event="*", window="ever", negate=False):
    return {"type": kind, "event": event, "window": window, "negate": negate}


AT_LATEST = [  # as-of = the latest event (T + 1 h): the all-time roll-ups and times answer
    ("users first seen ever", users(_seen("first_seen")), ALL_USERS - {"u7"}),
    ("users last seen ever", users(_seen("last_seen")), ALL_USERS - {"u7"}),
    ("users not first seen ever", users(_seen("first_seen", negate=True)), {"u7"}),
    ("users first login ever", users(_seen("first_seen", "login")), {"u1", "u2", "u3", "u4", "u6"}),
    ("accounts first seen ever", accounts(_seen("first_seen")), {"A1", "A2", "A4"}),
    ("accounts last seen in 2 days", accounts(_seen("last_seen", window={"last_days": 2})), {"A1", "A2"}),
    ("accounts first seen in 60 days", accounts(_seen("first_seen", window={"last_days": 60})), {"A2", "A4"}),
    ("accounts did anything ever", accounts(did("*")), {"A1", "A2", "A4"}),
    (
        "accounts did nothing in 30 days",
        accounts(did("*", compare={"op": "eq", "value": 0}, window={"last_days": 30})),
        {"A3", "A4"},
    ),
    (
        "accounts a user did anything in 2 days",
        accounts(did("*", per="users", window={"last_days": 2})),
        {"A1", "A2"},
    ),
]


@pytest.mark.parametrize("name, definition, expected", AT_LATEST, ids=[c[0] for c in AT_LATEST])
def test_at_the_latest_event(conn, duck, name, definition, expected):
    seg = load_definition(definition)
    assert set(member_ids(conn, seg)) == expected
    assert count(conn, seg) == len(expected)
    latest = conn.execute("SELECT max(ts) FROM events").fetchone()[0]
    q = compile_segment(conn, seg, latest, dialect="duckdb")
    assert len(duck.execute(q.sql, q.params).fetchall()) == len(expected)
