"""Random definitions over a random small data set: SQLite, DuckDB and an independent
pure-Python/pandas reference (written from the contract, not from the compiler) agree."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_segment_eval import to_duckdb  # the same DuckDB copy the hand-checked tests use

from builders import build_project
from seglab.core.project import Project
from seglab.core.segments import compile_segment, load_definition, member_ids
from seglab.core.segments.compiler import compile_count
from seglab.core.timeutil import DAY_MS, ms_to_iso, parse_as_of

T = parse_as_of("2024-05-15T13:30:00Z")
EVENTS = ("login", "buy", "share")
PLANS = ("a", "B", "ab", "")


def make_data(seed: int = 7):
    rng = random.Random(seed)
    accounts = [{"account_id": f"A{i}", "tier": rng.choice(["gold", "free", ""])} for i in range(5)]
    users = []
    for i in range(14):
        row = {"user_id": f"u{i}", "plan": rng.choice(PLANS)}
        if rng.random() < 0.75:
            row["account_id"] = f"A{rng.randrange(4)}"  # A4 has no users
        if rng.random() < 0.8:
            row["n"] = rng.randrange(0, 20)
        users.append(row)
    events = []
    for _ in range(160):
        user = f"u{rng.randrange(16)}"  # u14, u15 exist only in events
        days = rng.choice([0, 1, 3, 7, 7, 10, 30, 30, rng.randrange(0, 60)])
        offset = rng.choice([-1, 0, 1, rng.randrange(-DAY_MS, DAY_MS)])
        ts = T - days * DAY_MS + offset
        row = {"user_id": user, "event": rng.choice(EVENTS), "timestamp": ms_to_iso(ts)}
        if rng.random() < 0.7:
            row["amount"] = rng.randrange(0, 100)
        events.append(row)
    return events, users, accounts


EVENT_ROWS, USER_ROWS, ACCOUNT_ROWS = make_data()
# As-of = the latest event (the default): then the all-time roll-up (user_events) decides
# "did X in the last N days", "last did X" and "X ever", a different SQL path from T's.
LATEST = max(parse_as_of(e["timestamp"]) for e in EVENT_ROWS)


# -- the reference -------------------------------------------------------------------------------


class Reference:
    def __init__(self, events, users, accounts, t=T):
        ev = pd.DataFrame(events)
        ev["ts"] = ev["timestamp"].map(parse_as_of)
        ev["amount"] = ev["amount"].astype("float") if "amount" in ev else float("nan")
        self.t = t
        self.events = ev[ev["ts"] <= t]
        self.user_ids = sorted({u["user_id"] for u in users} | set(ev["user_id"]))
        self.user_props = {u["user_id"]: {k: v for k, v in u.items() if v != ""} for u in users}
        self.account_of = {u: self.user_props.get(u, {}).get("account_id") for u in self.user_ids}
        self.account_props = {a["account_id"]: {k: v for k, v in a.items() if v != ""} for a in accounts}
        self.account_ids = sorted(set(self.account_props) | {a for a in self.account_of.values() if a})
        self.members_of = {a: [u for u in self.user_ids if self.account_of[u] == a] for a in self.account_ids}

    @staticmethod
    def test(value, op, v):
        if op == "is_set":
            return value is not None
        if op == "is_not_set":
            return value is None
        if value is None:
            return op in ("neq", "not_in", "not_contains")
        if isinstance(value, str):
            if op in ("contains", "not_contains", "starts_with"):
                text, needle = value.lower(), str(v).lower()
                hit = needle in text if op != "starts_with" else text.startswith(needle)
                return hit if op != "not_contains" else not hit
            v = [str(x) for x in v] if isinstance(v, list) else str(v)
        else:
            v = [float(x) for x in v] if isinstance(v, list) else float(v)
        return {
            "eq": lambda: value == v,
            "neq": lambda: value != v,
            "in": lambda: value in v,
            "not_in": lambda: value not in v,
            "gt": lambda: value > v,
            "gte": lambda: value >= v,
            "lt": lambda: value < v,
            "lte": lambda: value <= v,
            "between": lambda: v[0] <= value <= v[1],
        }[op]()

    @staticmethod
    def compare(x, op, v):
        if x is None:
            return False
        if op == "between":
            return v[0] <= x <= v[1]
        return {"eq": x == v, "neq": x != v, "gt": x > v, "gte": x >= v, "lt": x < v, "lte": x <= v}[op]

    def window(self, w):
        t = self.t
        if w is None or w == "ever":
            return None, t
        if "last_days" in w:
            return t - w["last_days"] * DAY_MS, t
        start = parse_as_of(w["between"][0] + "T00:00:00Z")
        end = parse_as_of(w["between"][1] + "T00:00:00Z") + DAY_MS - 1
        return start - 1, min(end, t)

    def rows(self, users, event, where=(), window=None):
        lo, hi = self.window(window)
        ev = self.events[self.events["user_id"].isin(users)]
        if event != "*":
            ev = ev[ev["event"] == event]
        ev = ev[(ev["ts"] <= hi) & ((ev["ts"] > lo) if lo is not None else True)]
        for f in where:
            keep = [self.test(None if pd.isna(a) else a, f["op"], f.get("value")) for a in ev["amount"]]
            ev = ev[keep] if len(ev) else ev
        return ev

    def measure(self, ev, m):
        fn = m.get("fn", "count")
        if fn == "count":
            return len(ev)
        if fn == "distinct_days":
            return len({ts // DAY_MS for ts in ev["ts"]})
        if fn == "distinct_weeks":
            return len({(ts // DAY_MS + 3) // 7 for ts in ev["ts"]})
        values = [a for a in ev["amount"] if not pd.isna(a)]
        if fn == "sum":
            return sum(values)
        if not values:
            return None
        return {"avg": sum(values) / len(values), "min": min(values), "max": max(values)}[fn]

    def condition(self, c, level) -> set[str]:
        out = self._condition(c, level)
        universe = set(self.user_ids if level == "user" else self.account_ids)
        return universe - out if c.get("negate") else out

    def _condition(self, c, level) -> set[str]:
        kind = c["type"]
        if kind == "property":
            if level == "account":
                return {
                    a
                    for a in self.account_ids
                    if self.test(self.account_props.get(a, {}).get(c["property"]), c["op"], c.get("value"))
                }
            if c.get("entity") == "account":
                return {
                    u
                    for u in self.user_ids
                    if self.test(
                        self.account_props.get(self.account_of[u], {}).get(c["property"])
                        if self.account_of[u]
                        else None,
                        c["op"],
                        c.get("value"),
                    )
                }
            return {
                u
                for u in self.user_ids
                if self.test(self.user_props.get(u, {}).get(c["property"]), c["op"], c.get("value"))
            }
        groups = {u: [u] for u in self.user_ids} if level == "user" else self.members_of
        if kind == "behavior":
            cmp = c.get("compare", {"op": "gte", "value": 1})
            out = set()
            for key, members in groups.items():
                ev = self.rows(members, c["event"], c.get("where", ()), c.get("window"))
                x = (
                    ev["user_id"].nunique()
                    if c.get("per") == "users"
                    else self.measure(ev, c.get("measure", {}))
                )
                if self.compare(x, cmp["op"], cmp["value"]):
                    out.add(key)
            return out
        if kind in ("first_seen", "last_seen"):
            lo, hi = self.window(c.get("window"))
            out = set()
            for key, members in groups.items():
                ev = self.rows(members, c["event"])
                if len(ev):
                    ts = ev["ts"].min() if kind == "first_seen" else ev["ts"].max()
                    if (lo is None or ts > lo) and ts <= hi:
                        out.add(key)
            return out
        if kind == "sequence":
            limit = c["within_days"] * DAY_MS if c.get("within_days") is not None else float("inf")
            out = set()
            for key, members in groups.items():
                for u in members:
                    steps = [
                        sorted(self.rows([u], s["event"], s.get("where", ()), c.get("window"))["ts"])
                        for s in c["steps"]
                    ]

                    def chain(i, prev, start, steps=steps):
                        if i == len(steps):
                            return True
                        return any(chain(i + 1, ts, start) for ts in steps[i] if prev < ts <= start + limit)

                    if any(chain(1, t1, t1) for t1 in steps[0]):
                        out.add(key)
            return out
        if kind == "users":
            inner = self.definition(c["match"])
            cmp = c.get("compare", {"op": "gte", "value": 1})
            out = set()
            for a, members in self.members_of.items():
                hits = sum(u in inner for u in members)
                if c.get("share"):
                    x = hits / len(members) if members else None
                else:
                    x = hits
                if self.compare(x, cmp["op"], cmp["value"]):
                    out.add(a)
            return out
        if kind == "list":
            return set(groups) & {str(i) for i in c["ids"]}
        if kind == "group":
            return self.combine(c["conditions"], c.get("match", "all"), level)
        raise AssertionError(kind)

    def combine(self, conditions, match, level) -> set[str]:
        universe = set(self.user_ids if level == "user" else self.account_ids)
        sets = [self.condition(c, level) for c in conditions]
        if not sets:
            return universe
        out = sets[0]
        for s in sets[1:]:
            out = out & s if match == "all" else out | s
        return out

    def definition(self, d) -> set[str]:
        return self.combine(d.get("conditions", []), d.get("match", "all"), d["level"])


# -- random definitions -------------------------------------------------------------------------

windows = st.sampled_from(
    [
        None,
        "ever",
        {"last_days": 1},
        {"last_days": 3},
        {"last_days": 7},
        {"last_days": 30},
        {"between": ["2024-04-15", "2024-05-08"]},
        {"between": ["2024-05-15", "2024-05-15"]},
    ]
)
small = st.integers(min_value=0, max_value=4)
compares = st.one_of(
    st.fixed_dictionaries({"op": st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), "value": small}),
    st.tuples(small, small).map(lambda p: {"op": "between", "value": sorted(p)}),
)
where = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "property": st.just("amount"),
                "op": st.sampled_from(["gt", "lte", "eq", "neq"]),
                "value": st.integers(0, 100),
            }
        ),
        st.fixed_dictionaries(
            {"property": st.just("amount"), "op": st.sampled_from(["is_set", "is_not_set"])}
        ),
    ),
    max_size=1,
)
events = st.sampled_from([*EVENTS, "*"])


@st.composite
def user_property(draw):
    if draw(st.booleans()):
        op = draw(
            st.sampled_from(
                [
                    "eq",
                    "neq",
                    "in",
                    "not_in",
                    "contains",
                    "not_contains",
                    "starts_with",
                    "is_set",
                    "is_not_set",
                ]
            )
        )
        value = {
            "in": ["a", "ab"],
            "not_in": ["a", "B"],
            "contains": "b",
            "not_contains": "A",
            "starts_with": "A",
        }.get(op, draw(st.sampled_from(["a", "B", "ab", "zz"])))
        c = {"type": "property", "entity": "user", "property": "plan", "op": op}
    else:
        op = draw(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", "between", "is_set", "is_not_set"]))
        value = (
            [3, 12]
            if op == "between"
            else draw(st.integers(0, 20).map(lambda n: str(n) if n % 3 == 0 else n))
        )
        c = {"type": "property", "entity": "user", "property": "n", "op": op}
    if op not in ("is_set", "is_not_set"):
        c["value"] = value
    return c


@st.composite
def account_property(draw, entity="account"):
    op = draw(st.sampled_from(["eq", "neq", "is_set", "is_not_set", "in", "not_in"]))
    c = {"type": "property", "entity": entity, "property": "tier", "op": op}
    if op in ("eq", "neq"):
        c["value"] = draw(st.sampled_from(["gold", "free"]))
    elif op in ("in", "not_in"):
        c["value"] = ["gold", "silver"]
    return c


@st.composite
def behavior(draw, level):
    c = {"type": "behavior", "event": draw(events), "where": draw(where), "compare": draw(compares)}
    w = draw(windows)
    if w is not None:
        c["window"] = w
    if level == "account" and draw(st.booleans()):
        c["per"] = "users"
        return c
    fn = draw(
        st.sampled_from(["count", "count", "distinct_days", "distinct_weeks", "sum", "avg", "min", "max"])
    )
    c["measure"] = {"fn": fn, "property": "amount"} if fn in ("sum", "avg", "min", "max") else {"fn": fn}
    if fn in ("sum", "avg", "min", "max"):
        c["compare"] = (
            {"op": c["compare"]["op"], "value": c["compare"]["value"] * 25}
            if c["compare"]["op"] != "between"
            else {"op": "between", "value": [v * 25 for v in c["compare"]["value"]]}
        )
    return c


@st.composite
def seen(draw):
    return {
        "type": draw(st.sampled_from(["first_seen", "last_seen"])),
        "event": draw(events),
        "window": draw(windows.filter(lambda w: w is not None)),
    }


@st.composite
def sequence(draw):
    # Named steps run in numpy on SQLite, a "*" step as SQL: both against DuckDB's SQL.
    steps = draw(
        st.lists(st.fixed_dictionaries({"event": events}, optional={"where": where}), min_size=2, max_size=3)
    )
    c = {"type": "sequence", "steps": steps, "window": draw(windows.filter(bool))}
    within = draw(st.sampled_from([1, 3, 10, 60, None]))
    if within is not None:
        c["within_days"] = within
    return c


# Lists mix known ids, ids the project does not have and repeats.
user_lists = st.lists(
    st.sampled_from(["u0", "u3", "u14", "u15", "nobody", "u7"]), min_size=1, max_size=5
).map(lambda ids: {"type": "list", "ids": ids})
account_lists = st.lists(st.sampled_from(["A0", "A2", "A4", "Z9"]), min_size=1, max_size=3).map(
    lambda ids: {"type": "list", "ids": ids}
)


def leaf(level):
    if level == "user":
        return st.one_of(
            user_property(), account_property("account"), behavior("user"), seen(), sequence(), user_lists
        )
    inner = st.lists(st.one_of(user_property(), behavior("user")), max_size=2).map(
        lambda cs: {"level": "user", "match": "all", "conditions": cs}
    )
    users = st.builds(
        lambda m, share, c, f: {
            "type": "users",
            "match": m,
            "share": share,
            "compare": {"op": c, "value": f if share else int(f * 3)},
        },
        inner,
        st.booleans(),
        st.sampled_from(["gte", "lt", "eq"]),
        st.sampled_from([0, 0.5, 1]),
    )
    return st.one_of(account_property(), behavior("account"), seen(), sequence(), users, account_lists)


def with_negate(cond_strategy):
    return st.builds(lambda c, n: {**c, "negate": True} if n else c, cond_strategy, st.booleans())


@st.composite
def definitions(draw):
    level = draw(st.sampled_from(["user", "account"]))
    item = with_negate(leaf(level))
    group = st.builds(
        lambda cs, m, n: {"type": "group", "match": m, "conditions": cs, "negate": n},
        st.lists(item, max_size=2),
        st.sampled_from(["all", "any"]),
        st.booleans(),
    )
    conditions = draw(st.lists(st.one_of(item, item, group), max_size=3))
    return {
        "version": 1,
        "level": level,
        "match": draw(st.sampled_from(["all", "any"])),
        "conditions": conditions,
    }


# -- the test -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    path = build_project(
        tmp_path_factory.mktemp("ref") / "ref.seglab",
        events=EVENT_ROWS,
        users=USER_ROWS,
        accounts=ACCOUNT_ROWS,
    )
    project = Project.open(path, readonly=True)
    refs = {t: Reference(EVENT_ROWS, USER_ROWS, ACCOUNT_ROWS, t) for t in (T, LATEST)}
    yield project.conn, to_duckdb(project.conn), refs
    project.close()


def test_reference_sees_the_same_universe(engines):
    conn, _duck, refs = engines
    ref = refs[T]
    assert member_ids(conn, load_definition({"level": "user"}), T) == ref.user_ids
    assert member_ids(conn, load_definition({"level": "account"}), T) == ref.account_ids


DEEP = {  # once overflowed SQLite's parser stack: nested sequence stages must stay flat
    "version": 1,
    "level": "account",
    "match": "all",
    "conditions": [
        {"type": "property", "entity": "account", "property": "tier", "op": "is_set"},
        {"type": "sequence", "steps": [{"event": "login"}] * 3, "within_days": 1, "window": "ever"},
        {
            "type": "group",
            "match": "any",
            "negate": True,
            "conditions": [
                {
                    "type": "users",
                    "compare": {"op": "gte", "value": 1},
                    "match": {
                        "level": "user",
                        "conditions": [
                            {
                                "type": "group",
                                "match": "all",
                                "negate": True,
                                "conditions": [
                                    {
                                        "type": "sequence",
                                        "steps": [
                                            {"event": e} for e in ("login", "buy", "share", "login", "buy")
                                        ],
                                        "within_days": 60,
                                        "window": {"last_days": 30},
                                    }
                                ],
                            }
                        ],
                    },
                }
            ],
        },
    ],
}


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=definitions())
@example(definition=DEEP)
def test_sqlite_duckdb_and_reference_agree(engines, definition):
    _agree(engines, definition, T)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=definitions())
def test_agree_at_the_latest_event(engines, definition):
    _agree(engines, definition, LATEST)


LONE = [  # one membership condition: counted from its subquery (compile_count's shortcut)
    {"type": "behavior", "event": "login", "window": {"last_days": 7}},
    {"type": "behavior", "event": "login", "window": {"last_days": 7}, "negate": True},
    {"type": "behavior", "event": "buy", "compare": {"op": "eq", "value": 0}, "window": {"last_days": 30}},
    {"type": "behavior", "event": "buy", "compare": {"op": "gte", "value": 2}, "window": "ever"},
    {"type": "behavior", "event": "buy", "compare": {"op": "lt", "value": 2}, "window": {"last_days": 60}},
    {"type": "behavior", "event": "nosuch", "window": {"last_days": 7}, "negate": True},
    {"type": "first_seen", "event": "share", "window": {"last_days": 30}},
    {"type": "last_seen", "event": "login", "window": {"last_days": 30}, "negate": True},
    {"type": "last_seen", "event": "*", "window": {"last_days": 30}, "negate": True},
    {"type": "sequence", "steps": [{"event": "login"}, {"event": "buy"}], "within_days": 3, "window": "ever"},
    {"type": "sequence", "steps": [{"event": "login"}] * 3, "window": {"last_days": 60}, "negate": True},
    {"type": "list", "ids": ["u0", "u3", "nobody", "u3", "u15"]},
    {"type": "list", "ids": ["u0", "u3", "nobody"], "negate": True},
]


LONE_ACCOUNT = [
    {"type": "list", "ids": ["A0", "A4", "Z9", "A0"]},
    {"type": "list", "ids": ["A1"], "negate": True},
    {
        "type": "sequence",
        "steps": [{"event": "buy"}, {"event": "share"}],
        "within_days": 10,
        "window": "ever",
    },
    {
        "type": "behavior",
        "event": "login",
        "per": "users",
        "compare": {"op": "gte", "value": 2},
        "window": "ever",
    },
    {
        "type": "behavior",
        "event": "buy",
        "per": "users",
        "compare": {"op": "lt", "value": 2},
        "window": "ever",
    },
    {"type": "behavior", "event": "buy", "compare": {"op": "gte", "value": 2}, "window": {"last_days": 30}},
    {"type": "behavior", "event": "buy", "compare": {"op": "lte", "value": 1}, "window": {"last_days": 30}},
    {
        "type": "users",
        "compare": {"op": "gte", "value": 2},
        "match": {"level": "user", "conditions": [LONE[0]]},
    },
    {
        "type": "users",
        "compare": {"op": "eq", "value": 0},
        "match": {"level": "user", "conditions": [LONE[3]]},
    },
    {
        "type": "users",
        "share": True,
        "compare": {"op": "gte", "value": 0.5},
        "match": {
            "level": "user",
            "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "is_set"}],
        },
    },
]


@pytest.mark.parametrize("t", ["T", "LATEST"])
@pytest.mark.parametrize(
    "level, condition", [("user", c) for c in LONE] + [("account", c) for c in LONE_ACCOUNT]
)
def test_lone_conditions_count_their_members(engines, level, condition, t):
    _agree(engines, {"version": 1, "level": level, "conditions": [condition]}, {"T": T, "LATEST": LATEST}[t])


def _agree(engines, definition, t):
    conn, duck, refs = engines
    seg = load_definition(definition)
    expected = sorted(refs[t].definition(definition))
    assert member_ids(conn, seg, t) == expected
    q = compile_segment(conn, seg, t, dialect="duckdb")
    keys = [r[0] for r in duck.execute(q.sql, q.params).fetchall()]
    table, key, ident = (
        ("users", "user_key", "user_id") if seg.level == "user" else ("accounts", "account_key", "account_id")
    )
    id_of = dict(conn.execute(f"SELECT {key}, {ident} FROM {table}").fetchall())
    assert sorted(id_of[k] for k in keys) == expected
    # Counts are compiled on their own (a lone membership counts its subquery directly).
    for engine, dialect in ((conn, "sqlite"), (duck, "duckdb")):
        q = compile_count(conn, seg, t, dialect=dialect)
        params = q.bind(conn) if dialect == "sqlite" else q.params
        assert engine.execute(q.sql, params).fetchone()[0] == len(expected), dialect
