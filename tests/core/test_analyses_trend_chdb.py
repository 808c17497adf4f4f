"""The trend matrix of test_analyses_trend.py (every measure and interval, cut as-of days, ranges
starting mid-week) on chdb as the third engine: the pushed-down trend equals SQLite's, which the
pandas reference checks."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from test_analyses_support import build, frame_of, ref_trend
from test_analyses_trend import CASES, EVENTS, USERS

from chdb_support import connect_to
from seglab.core.analyses import TrendRequest, run_trend
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import trend
from seglab.core.project import Project


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trendch")
    local = build(tmp / "t.seglab", EVENTS, USERS)
    connect_to(local.conn, tmp / "ch", tmp / "c.seglab")
    connected = Project.open(tmp / "c.seglab", readonly=True)
    engine = open_engine(connected.conn)
    yield local, engine
    engine.close()
    connected.close()
    local.close()


@pytest.mark.parametrize("case", CASES)
def test_trend_on_chdb_matches_sqlite_and_reference(both, case):
    local, engine = both
    expected = run_trend(local.conn, TrendRequest(**case))
    got = trend(
        engine,
        case["event"],
        case["measure"],
        case["interval"],
        [("everyone", None)],
        case["as_of_ms"],
        case["date_from"],
        case["date_to"],
    )
    assert got.equals(expected)
    ref = ref_trend(
        frame_of(EVENTS, USERS),
        event=case["event"],
        measure=case["measure"],
        interval=case["interval"],
        as_of=case["as_of_ms"],
        date_from=case["date_from"],
        date_to=case["date_to"],
    )
    assert list(got.value) == pytest.approx([r[1] for r in ref], rel=1e-12)
