"""Distribution (bins and --stats), stickiness and lifecycle pushed down to chdb: the same rows as SQLite's,
on the funnel's generated data (per-unit counts from 1 to dozens), for users and accounts."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("chdb")

from test_analyses_funnel_chdb import SEGMENTS, USERS, _events
from test_analyses_support import build, ms

from chdb_support import connect_to
from seglab.core.analyses import (
    DistributionRequest,
    LifecycleRequest,
    SeriesSpec,
    StickinessRequest,
    run_distribution,
    run_distribution_stats,
    run_lifecycle,
    run_stickiness,
)
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import distribution, lifecycle, stickiness
from seglab.core.project import Project
from seglab.core.segments import get_saved, load_definition, member_keys, save_segment

D = dt.date


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("distch")
    local = build(tmp / "d.seglab", _events(), USERS)
    for name, definition in SEGMENTS.items():
        save_segment(local.conn, name, definition)
    connect_to(local.conn, tmp / "ch", tmp / "c.seglab")
    with Project.open(tmp / "c.seglab") as project:
        for name, definition in SEGMENTS.items():
            save_segment(project.conn, name, definition)
    connected = Project.open(tmp / "c.seglab", readonly=True)
    engine = open_engine(connected.conn)
    yield local, engine
    engine.close()
    connected.close()
    local.close()


CASES = [
    ("*", D(2024, 3, 1), D(2024, 3, 31), None),
    ("A", D(2024, 3, 5), D(2024, 3, 20), ms("2024-03-18T12:30:00")),
    ("B", D(2024, 3, 10), D(2024, 3, 10), None),
    ("nosuch", D(2024, 3, 1), D(2024, 3, 31), None),
]


@pytest.mark.parametrize(
    "segments", [(), ("Did C",), ("Did C", "Busy accounts")], ids=["everyone", "users", "both"]
)
@pytest.mark.parametrize(("event", "date_from", "date_to", "as_of"), CASES)
@pytest.mark.parametrize("stats", [False, True], ids=["bins", "stats"])
def test_distribution_on_chdb_equals_sqlite(both, event, date_from, date_to, as_of, segments, stats):
    local, engine = both
    as_of = as_of if as_of is not None else ms("2024-04-30T00:00:00")
    local_series, connected_series = [], []
    for name in segments:
        definition = get_saved(local.conn, name).definition
        local_series.append(
            SeriesSpec(name, definition.level, tuple(member_keys(local.conn, definition, as_of)))
        )
        connected_series.append((name, load_definition(SEGMENTS[name])))
    if not segments:
        local_series, connected_series = [SeriesSpec("everyone")], [("everyone", None)]
    request = DistributionRequest(event, tuple(local_series), as_of, date_from, date_to)
    expected = (run_distribution_stats if stats else run_distribution)(local.conn, request)
    got = distribution(engine, event, connected_series, as_of, date_from, date_to, stats=stats)
    assert got.equals(expected), (got, expected)


@pytest.mark.parametrize(
    "segments", [(), ("Did C",), ("Did C", "Busy accounts")], ids=["everyone", "users", "both"]
)
@pytest.mark.parametrize(("event", "date_from", "date_to", "as_of"), CASES)
@pytest.mark.parametrize("interval", ["week", "month"])
def test_stickiness_on_chdb_equals_sqlite(both, event, date_from, date_to, as_of, segments, interval):
    local, engine = both
    as_of = as_of if as_of is not None else ms("2024-04-30T00:00:00")
    local_series, connected_series = [], []
    for name in segments:
        definition = get_saved(local.conn, name).definition
        local_series.append(
            SeriesSpec(name, definition.level, tuple(member_keys(local.conn, definition, as_of)))
        )
        connected_series.append((name, load_definition(SEGMENTS[name])))
    if not segments:
        local_series, connected_series = [SeriesSpec("everyone")], [("everyone", None)]
    request = StickinessRequest(event, interval, tuple(local_series), as_of, date_from, date_to)
    expected = run_stickiness(local.conn, request)
    got = stickiness(engine, event, interval, connected_series, as_of, date_from, date_to)
    assert got.equals(expected), (got, expected)


@pytest.mark.parametrize(
    "segments", [(), ("Did C",), ("Did C", "Busy accounts")], ids=["everyone", "users", "both"]
)
@pytest.mark.parametrize(("event", "date_from", "date_to", "as_of"), CASES)
@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_lifecycle_on_chdb_equals_sqlite(both, event, date_from, date_to, as_of, segments, interval):
    local, engine = both
    as_of = as_of if as_of is not None else ms("2024-04-30T00:00:00")
    local_series, connected_series = [], []
    for name in segments:
        definition = get_saved(local.conn, name).definition
        local_series.append(
            SeriesSpec(name, definition.level, tuple(member_keys(local.conn, definition, as_of)))
        )
        connected_series.append((name, load_definition(SEGMENTS[name])))
    if not segments:
        local_series, connected_series = [SeriesSpec("everyone")], [("everyone", None)]
    request = LifecycleRequest(event, interval, tuple(local_series), as_of, date_from, date_to)
    expected = run_lifecycle(local.conn, request)
    got = lifecycle(engine, event, interval, connected_series, as_of, date_from, date_to)
    assert got.equals(expected), (got, expected)
