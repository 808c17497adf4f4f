"""Funnel pushed down to chdb (the third engine): the same rows as SQLite's numpy funnel, which
the brute-force reference checks, on generated data with ties, repeats and window edges."""

from __future__ import annotations

import datetime as dt
import random

import pytest

pytest.importorskip("chdb")

from test_analyses_support import DAY, build, ms

from chdb_support import connect_to
from seglab.core.analyses import FunnelRequest, FunnelStep, SeriesSpec, run_funnel
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import funnel
from seglab.core.project import Project
from seglab.core.segments import load_definition, member_keys, save_segment

D = dt.date
T0 = ms("2024-03-04T09:00:00")
NAMES = ["A", "B", "C", "D"]
H = 3_600_000


def _events():
    rng = random.Random(18)
    out = []
    for u in range(60):
        t = T0 + rng.randrange(0, 20) * DAY + rng.randrange(0, 24) * H
        for _ in range(rng.randrange(1, 12)):
            out.append((f"u{u}", rng.choice(NAMES), t))
            # ties (same ms), a minute, hours or days later
            t += rng.choice([0, 0, 1, 60_000, 3 * H, DAY, 3 * DAY])
    return out


USERS = [(f"u{u}", f"acct{u % 7}" if u % 5 else None) for u in range(60)]
SEGMENTS = {
    "Did C": {"level": "user", "conditions": [{"type": "behavior", "event": "C", "window": "ever"}]},
    "Busy accounts": {
        "level": "account",
        "conditions": [
            {"type": "behavior", "event": "*", "compare": {"op": "gte", "value": 20}, "window": "ever"}
        ],
    },
}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("funnelch")
    local = build(tmp / "f.seglab", _events(), USERS)
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
    (["A", "B"], 1, D(2024, 3, 1), D(2024, 3, 31), None),
    (["A", "B", "C"], 2, D(2024, 3, 5), D(2024, 3, 15), ms("2024-03-20T00:00:00")),
    (["A", "A", "A"], 5, D(2024, 3, 1), D(2024, 3, 31), None),
    (["B", "*", "C", "D"], 3, D(2024, 3, 1), D(2024, 3, 25), ms("2024-03-18T12:30:00")),
    (["D", "C", "B", "A"], 14, D(2024, 3, 10), D(2024, 3, 12), None),
    (["A"], 1, D(2024, 3, 1), D(2024, 3, 31), None),
    (["A", "nosuch", "B"], 7, D(2024, 3, 1), D(2024, 3, 31), None),
    (["*", "*"], 0.5, D(2024, 3, 1), D(2024, 3, 31), None),
]


@pytest.mark.parametrize(
    "segments", [(), ("Did C",), ("Busy accounts",)], ids=["everyone", "users", "accounts"]
)
@pytest.mark.parametrize(("steps", "within", "date_from", "date_to", "as_of"), CASES)
def test_funnel_on_chdb_equals_sqlite(both, steps, within, date_from, date_to, as_of, segments):
    local, engine = both
    as_of = as_of if as_of is not None else ms("2024-04-30T00:00:00")
    from seglab.core.segments import get_saved

    local_series, connected_series = [], []
    for name in segments:
        definition = get_saved(local.conn, name).definition
        keys = tuple(member_keys(local.conn, definition, as_of))
        local_series.append(SeriesSpec(name, definition.level, keys))
        connected_series.append((name, load_definition(SEGMENTS[name])))
    if not segments:
        local_series, connected_series = [SeriesSpec("everyone")], [("everyone", None)]
    request = FunnelRequest(
        steps=tuple(FunnelStep(s) for s in steps), within_days=within, series=tuple(local_series),
        as_of_ms=as_of, date_from=date_from, date_to=date_to,
    )  # fmt: skip
    expected = run_funnel(local.conn, request)
    got = funnel(engine, steps, within, connected_series, as_of, date_from, date_to)
    assert got.equals(expected), (got, expected)
    assert expected.entered.sum() > 0 or "nosuch" in steps
