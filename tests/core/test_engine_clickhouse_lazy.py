"""Connected analyses build the session's users and accounts tables only when a query reads them
(docs/sources.md): a funnel, a retention, or a trend of events, users or events per user, of
everyone or of a user segment whose members come from the events alone, reads the events only,
with the same results as a local project."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("chdb")

from test_analyses_funnel_chdb import SEGMENTS, USERS, _events
from test_analyses_support import build, ms

from chdb_support import connect_to
from seglab.core.analyses import FunnelRequest, FunnelStep, SeriesSpec, TrendRequest, run_funnel, run_trend
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import funnel, retention, trend
from seglab.core.project import Project
from seglab.core.segments import get_saved, load_definition, member_keys, save_segment

AS_OF = ms("2024-04-30T00:00:00")
FROM, TO = dt.date(2024, 3, 1), dt.date(2024, 3, 31)


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lazych")
    local = build(tmp / "f.seglab", _events(), USERS)
    for name, definition in SEGMENTS.items():
        save_segment(local.conn, name, definition)
    connect_to(local.conn, tmp / "ch", tmp / "c.seglab")
    with Project.open(tmp / "c.seglab") as project:
        for name, definition in SEGMENTS.items():
            save_segment(project.conn, name, definition)
    connected = Project.open(tmp / "c.seglab", readonly=True)
    yield local, connected
    connected.close()
    local.close()


@pytest.fixture
def fresh(projects):
    """A new engine (a new session: no users or accounts table yet) per test."""
    local, connected = projects
    engine = open_engine(connected.conn)
    yield local, engine
    engine.close()


def _series(local, name):
    if name is None:
        return [SeriesSpec("everyone")], [("everyone", None)]
    definition = get_saved(local.conn, name).definition
    keys = tuple(member_keys(local.conn, definition, AS_OF))
    return [SeriesSpec(name, definition.level, keys)], [(name, load_definition(SEGMENTS[name]))]


@pytest.mark.parametrize("segment", [None, "Did C"], ids=["everyone", "user segment"])
def test_funnel_of_users_reads_no_users_table(fresh, segment):
    local, engine = fresh
    local_series, series = _series(local, segment)
    steps = ["A", "B", "C"]
    request = FunnelRequest(
        steps=tuple(FunnelStep(s) for s in steps), within_days=3, series=tuple(local_series),
        as_of_ms=AS_OF, date_from=FROM, date_to=TO,
    )  # fmt: skip
    got = funnel(engine, steps, 3, series, AS_OF, FROM, TO)
    assert got.equals(run_funnel(local.conn, request))
    assert got.entered.sum() > 0
    assert engine.views.materialized == set()


@pytest.mark.parametrize("segment", [None, "Did C"], ids=["everyone", "user segment"])
def test_retention_of_users_reads_no_users_table(fresh, segment):
    _local, engine = fresh
    _, series = _series(_local, segment)
    got = retention(engine, "A", "*", "week", 4, series, AS_OF, FROM, TO)
    assert len(got) > 0
    assert engine.views.materialized == set()


@pytest.mark.parametrize("measure", ["count", "users", "per_user"])
@pytest.mark.parametrize("segment", [None, "Did C"], ids=["everyone", "user segment"])
def test_trend_of_users_reads_no_users_table(fresh, measure, segment):
    local, engine = fresh
    local_series, series = _series(local, segment)
    got = trend(engine, "*", measure, "week", series, AS_OF, FROM, TO)
    request = TrendRequest(
        event="*", measure=measure, interval="week", series=tuple(local_series),
        as_of_ms=AS_OF, date_from=FROM, date_to=TO,
    )  # fmt: skip
    expected = run_trend(local.conn, request)
    assert got.reset_index(drop=True).equals(expected.reset_index(drop=True)), (got, expected)
    assert got["value"].sum() > 0
    assert engine.views.materialized == set()


def test_the_accounts_measure_reads_the_users_table(fresh):
    """The user → account link is the users table's: an account measure builds it."""
    _local, engine = fresh
    got = trend(engine, "*", "accounts", "week", [("everyone", None)], AS_OF, FROM, TO)
    assert got["value"].sum() > 0
    assert engine.views.materialized == {"users"}


def test_an_account_segment_reads_the_users_and_accounts_tables(fresh):
    local, engine = fresh
    _, series = _series(local, "Busy accounts")
    got = funnel(engine, ["A", "B"], 3, series, AS_OF, FROM, TO)
    assert got.entered.sum() > 0
    assert {"users", "accounts"} <= engine.views.materialized


WINDOWED = [
    {"type": "behavior", "event": "A", "window": {"last_days": 7}},
    {"type": "behavior", "event": "B", "window": {"last_days": 10}, "negate": True},
    {"type": "behavior", "event": "C", "window": {"between": ["2024-03-05", "2024-03-12"]}},
]


@pytest.mark.parametrize("condition", WINDOWED, ids=["did", "did not", "between"])
def test_a_windowed_did_reads_the_window_of_events(fresh, condition):
    """A "did A in the last 7 days" reads A's events of the window (a range of the source's key),
    not the per-user roll-up grouped over every event; only "did not" counts everyone (the
    users table) to take them away from."""
    from seglab.core.segments import count
    from seglab.core.segments.compiler import _Compiler, _plain

    local, engine = fresh
    as_of = ms("2024-03-20T00:00:00")
    seg = load_definition({"level": "user", "conditions": [condition]})
    comp = _Compiler(engine.catalog(), as_of, "clickhouse")
    sql = _plain(comp.count_members(seg)).sql(dialect="clickhouse")
    assert "user_events" not in sql and "events" in sql
    expected = count(local.conn, seg, as_of)
    assert 0 < expected < len(USERS)
    assert engine.count(seg, as_of) == expected
    assert engine.views.materialized == ({"users"} if condition.get("negate") else set())
