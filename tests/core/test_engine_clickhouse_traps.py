"""The ClickHouse engine's known traps that need a chdb folder of their own: time columns in
another zone or as epoch ms, a process in a non-UTC zone, JSON properties with missing keys,
Monday weeks (docs/sources.md). Kept apart from test_engine_clickhouse.py, whose module-wide
engine holds its folder open (one chdb folder per process at a time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("chdb")

from test_engine_clickhouse import _connected
from test_segment_eval import CASES, T, did, users

from builders import build_project
from chdb_support import connect_to
from seglab.core.engines.base import open_engine
from seglab.core.project import Project
from seglab.core.segments import count, load_definition, member_ids

WINDOW_CASES = [
    c for c in CASES if any(w in c[0] for w in ("last", "window", "between", "week", "date", "seen"))
]


@pytest.mark.parametrize("ts_type", ["DateTime64(3, 'America/Los_Angeles')", "DateTime64(6, 'UTC')", "Int64"])
def test_trap_time_zones_and_epoch_ms(tmp_path, ts_type):
    """A time column in another zone, or epoch ms, holds the same instants: same members."""
    _, connected = _connected(tmp_path, ts_type=ts_type)
    with Project.open(connected, readonly=True) as project:
        eng = open_engine(project.conn)
        try:
            for name, definition, expected in WINDOW_CASES:
                assert set(eng.member_ids(load_definition(definition), T)) == expected, name
        finally:
            eng.close()


def test_trap_non_utc_process_time_zone(tmp_path):
    """The CLI in a process whose zone is Tokyo (chdb's session zone follows it) counts the same:
    every query sends session_timezone='UTC' and times are epoch ms computed in Python."""
    _, connected = _connected(tmp_path)
    results = {}
    for zone in ("UTC", "Asia/Tokyo"):
        out = []
        for _name, definition, _ in WINDOW_CASES[:12]:
            path = tmp_path / "def.json"
            path.write_text(json.dumps(definition))
            env = dict(os.environ, TZ=zone)
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "seglab",
                    "segment",
                    "count",
                    str(connected),
                    "--def",
                    str(path),
                    "--as-of",
                    "2024-03-31T12:00:00Z",
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            assert proc.returncode == 0, proc.stderr
            out.append(int(proc.stdout))
        results[zone] = out
    assert results["UTC"] == results["Asia/Tokyo"] == [len(c[2]) for c in WINDOW_CASES[:12]]


JSON_EVENTS = [
    {"user_id": "j1", "event": "view", "timestamp": "2024-03-04T10:00:00Z", "plan": "pro", "n": 3},
    {"user_id": "j2", "event": "view", "timestamp": "2024-03-04T11:00:00Z", "plan": "free"},
    {"user_id": "j3", "event": "view", "timestamp": "2024-03-05T11:00:00Z"},  # no key at all
    {"user_id": "j4", "event": "view", "timestamp": "2024-03-06T11:00:00Z", "n": 7},
    # Monday weeks: Sunday 2024-03-10 and Monday 2024-03-11 are two weeks; Mon 4th..Sun 10th one.
    {"user_id": "w1", "event": "view", "timestamp": "2024-03-10T23:00:00Z"},
    {"user_id": "w1", "event": "view", "timestamp": "2024-03-11T01:00:00Z"},
    {"user_id": "w2", "event": "view", "timestamp": "2024-03-04T00:30:00Z"},
    {"user_id": "w2", "event": "view", "timestamp": "2024-03-10T23:30:00Z"},
]
JSON_CASES = [
    (
        "is not: a missing key is no value",
        did("view", where=[{"property": "plan", "op": "neq", "value": "pro"}]),
        {"j2", "j3", "j4", "w1", "w2"},
    ),
    ("is not set", did("view", where=[{"property": "plan", "op": "is_not_set"}]), {"j3", "j4", "w1", "w2"}),
    ("number from JSON", did("view", where=[{"property": "n", "op": "gt", "value": 5}]), {"j4"}),
    (
        "none of",
        did("view", where=[{"property": "plan", "op": "not_in", "value": ["free"]}]),
        {"j1", "j3", "j4", "w1", "w2"},
    ),
    (
        "two Monday weeks",
        did("view", measure={"fn": "distinct_weeks"}, compare={"op": "gte", "value": 2}),
        {"w1"},
    ),
    (
        "one week",
        did("view", measure={"fn": "distinct_weeks"}, compare={"op": "eq", "value": 1}),
        {"j1", "j2", "j3", "j4", "w2"},
    ),
]


@pytest.mark.parametrize("json_props", [False, True], ids=["columns", "json"])
def test_trap_json_missing_key_and_monday_weeks(tmp_path, json_props):
    local = build_project(tmp_path / "j.seglab", events=JSON_EVENTS)
    with Project.open(local) as project:
        connect_to(project.conn, tmp_path / "ch", tmp_path / "jc.seglab", json_props=json_props)
        with Project.open(tmp_path / "jc.seglab", readonly=True) as connected:
            eng = open_engine(connected.conn)
            try:
                for name, condition, expected in JSON_CASES:
                    seg = load_definition(users(condition))
                    assert set(member_ids(project.conn, seg)) == expected, name  # the local truth
                    assert set(eng.member_ids(seg)) == expected, name
                    assert eng.count(seg) == count(project.conn, seg), name
            finally:
                eng.close()


RAW_EVENTS = [  # (user_id, event, timestamp or None, insert_id)
    ("a", "buy", "2024-03-01T10:00:00.000Z", "i1"),
    ("a", "buy", "2024-03-01T10:00:00.000Z", "i1"),  # a duplicate delivery: counts once
    ("a", "buy", "2024-03-02T10:00:00.000Z", ""),  # no insert_id: always counts
    ("a", "buy", "2024-03-02T10:00:00.000Z", ""),
    (" b ", " buy ", "2024-03-03T10:00:00.250Z", "i2"),  # trimmed
    ("", "buy", "2024-03-03T10:00:00.000Z", "i3"),  # no user: left out
    ("c", "", "2024-03-03T10:00:00.000Z", "i4"),  # no event name: left out
    ("c", "buy", None, "i5"),  # no time: left out
    ("c", "view", "2024-03-04T10:00:00.000Z", "i6"),
]


def test_source_rows_are_read_as_the_importer_reads_them(tmp_path):
    from chdb import session

    from seglab.core.engines.connect import connect_project

    rows = [{"user_id": u, "event": e, "timestamp": ts or "", "insert_id": i} for u, e, ts, i in RAW_EVENTS]
    local = build_project(tmp_path / "l.seglab", events=rows)
    folder = tmp_path / "ch"
    folder.mkdir()
    s = session.Session(str(folder))
    try:
        s.query(
            "CREATE TABLE ev (uid String, name String, at Nullable(DateTime64(3, 'UTC')), insert_id String) "
            "ENGINE = MergeTree ORDER BY (name, uid)"
        )
        values = ", ".join(
            "({}, {}, {}, {})".format(
                *[
                    "NULL" if v is None else "'" + v.replace("Z", "").replace("T", " ") + "'"
                    for v in (u, e, ts, i)
                ]
            )
            for u, e, ts, i in RAW_EVENTS
        )
        s.query(f"INSERT INTO ev VALUES {values}")
    finally:
        s.close()
    connect_project(
        tmp_path / "c.seglab",
        f"chdb://{folder}",
        {"events": "ev"},
        ["user_id=uid", "event=name", "timestamp=at"],
    )
    buys = {"level": "user", "conditions": [did("buy", compare={"op": "gte", "value": 3})]}
    with Project.open(local, readonly=True) as lp, Project.open(tmp_path / "c.seglab", readonly=True) as cp:
        eng = open_engine(cp.conn)
        try:
            got = eng.info()
            expected = lp.info()
            for key in ("events", "users", "event_names", "first_event", "last_event"):
                assert got[key] == expected[key], key
            assert got["events"] == 5
            seg = load_definition(buys)
            assert eng.member_ids(seg) == member_ids(lp.conn, seg) == ["a"]
            everyone = load_definition({"level": "user"})
            assert eng.member_ids(everyone) == member_ids(lp.conn, everyone) == ["a", "b", "c"]
        finally:
            eng.close()
