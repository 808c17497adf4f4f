"""Retention pushed down to chdb (the third engine): the same rows as SQLite's, which the pandas
reference checks, on the funnel's generated data and on the hand-checked retention data."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("chdb")

from test_analyses_funnel_chdb import SEGMENTS, USERS, _events
from test_analyses_retention import AS_OF as HAND_AS_OF
from test_analyses_retention import EVENTS as HAND_EVENTS
from test_analyses_retention import USERS as HAND_USERS
from test_analyses_support import build, ms

from chdb_support import connect_to
from seglab.core.analyses import RetentionRequest, SeriesSpec, run_retention
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import retention
from seglab.core.project import Project
from seglab.core.segments import get_saved, load_definition, member_keys, save_segment

D = dt.date


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retch")
    local = build(tmp / "r.seglab", _events() + [(u, n, t) for u, n, t in HAND_EVENTS], USERS + HAND_USERS)
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
    ("A", "B", "week", 4, D(2024, 3, 1), D(2024, 3, 31), None),
    ("*", "*", "day", 10, D(2024, 3, 5), D(2024, 3, 20), ms("2024-03-18T12:30:00")),
    ("C", "*", "month", 3, D(2024, 2, 15), D(2024, 3, 31), None),
    ("D", "A", "week", 6, D(2024, 3, 6), D(2024, 3, 13), ms("2024-03-27T00:00:00")),
    ("signup", "use", "week", 4, D(2024, 1, 1), D(2024, 1, 21), HAND_AS_OF),
    ("signup", "use", "day", 9, D(2024, 1, 1), D(2024, 1, 21), HAND_AS_OF),
    ("nosuch", "A", "week", 2, D(2024, 3, 1), D(2024, 3, 31), None),
    ("A", "nosuch", "week", 2, D(2024, 3, 1), D(2024, 3, 31), None),
]


@pytest.mark.parametrize(
    "segments", [(), ("Did C",), ("Busy accounts",)], ids=["everyone", "users", "accounts"]
)
@pytest.mark.parametrize(("start", "ret", "interval", "periods", "date_from", "date_to", "as_of"), CASES)
def test_retention_on_chdb_equals_sqlite(
    both, start, ret, interval, periods, date_from, date_to, as_of, segments
):
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
    request = RetentionRequest(
        start_event=start, return_event=ret, interval=interval, periods=periods, series=tuple(local_series),
        as_of_ms=as_of, date_from=date_from, date_to=date_to,
    )  # fmt: skip
    expected = run_retention(local.conn, request)
    got = retention(engine, start, ret, interval, periods, connected_series, as_of, date_from, date_to)
    assert got.equals(expected), (got, expected)
    assert len(expected) > 0 or "nosuch" in (start, ret) or segments
