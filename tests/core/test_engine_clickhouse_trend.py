"""`seglab analyze` (every analysis but distinguish) pushed down to a connected chdb source: the
same CSV as the local project of the same rows (the hand-checked segment data), for each measure
and interval, segments of both levels, a cut as-of day, --from/--to and an unknown event."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from test_segment_eval import ACCOUNTS, EVENTS, USERS

from builders import build_project
from chdb_support import connect_to
from seglab.cli import main
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import trend
from seglab.core.project import Project
from seglab.core.segments import get_saved, save_segment


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """The hand-checked segment data, locally and connected, with a user and an account segment."""
    tmp = tmp_path_factory.mktemp("rich")
    local = build_project(tmp / "local.seglab", events=EVENTS, users=USERS, accounts=ACCOUNTS)
    saved = {
        "Buyers": {
            "level": "user",
            "conditions": [{"type": "behavior", "event": "purchase", "window": "ever"}],
        },
        "Logged in lately": {
            "level": "user",
            "conditions": [{"type": "behavior", "event": "login", "window": {"last_days": 14}}],
        },
        "Pro or free": {
            "level": "user",
            "conditions": [{"type": "property", "property": "plan", "op": "in", "value": ["pro", "free"]}],
        },
        "Big accounts": {
            "level": "account",
            "conditions": [
                {"type": "property", "entity": "account", "property": "seats", "op": "gte", "value": 5}
            ],
        },
    }
    with Project.open(local) as project:
        connect_to(project.conn, tmp / "ch", tmp / "connected.seglab")
        for name, definition in saved.items():
            save_segment(project.conn, name, definition)
    with Project.open(tmp / "connected.seglab") as project:
        for name, definition in saved.items():
            save_segment(project.conn, name, definition)
    return local, tmp / "connected.seglab"


TREND_ARGS = [
    ["--event", "login", "--measure", "count", "--interval", "day", "--from", "2024-03-20"],
    ["--event", "*", "--measure", "users", "--interval", "week", "--from", "2024-01-01"],
    ["--event", "*", "--measure", "accounts", "--interval", "month", "--from", "2024-01-01"],
    [
        "--event",
        "login",
        "--measure",
        "per_user",
        "--interval",
        "week",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
    ],
    [
        "--event",
        "purchase",
        "--measure",
        "count",
        "--interval",
        "month",
        "--segment",
        "Buyers",
        "--segment",
        "Big accounts",
        "--from",
        "2024-01-10",
    ],
    [
        "--event",
        "login",
        "--measure",
        "users",
        "--interval",
        "day",
        "--as-of",
        "2024-03-31T12:00:00Z",
        "--segment",
        "Big accounts",
        "--from",
        "2024-03-22",
    ],
    ["--event", "nosuch", "--measure", "count", "--interval", "week"],
]


@pytest.mark.parametrize("extra", TREND_ARGS, ids=lambda a: " ".join(a[:6]))
def test_analyze_trend_is_pushed_down_and_equal(rich, capsys, extra, tmp_path):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "trend", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 1


def test_trend_reads_back_one_row_per_bucket_at_most(rich):
    with Project.open(rich[1], readonly=True) as project:
        engine = open_engine(project.conn)
        try:
            engine.bounds()
            before = engine.client.rows_read_back
            seg = get_saved(project.conn, "Buyers").definition
            frame = trend(engine, "*", "count", "day", [("Buyers", seg)], None)
            assert engine.client.rows_read_back - before <= len(frame)
        finally:
            engine.close()


FUNNEL_ARGS = [
    ["--steps", "signup,create_report,purchase", "--from", "2024-01-01"],
    [
        "--steps",
        "login,login",
        "--within-days",
        "30",
        "--from",
        "2024-03-01",
        "--as-of",
        "2024-03-31T12:00:00Z",
    ],
    ["--steps", "login,purchase", "--segment", "Buyers", "--segment", "Big accounts", "--from", "2024-01-01"],
    ["--steps", "*,purchase,nosuch", "--within-days", "0.5", "--from", "2024-01-01"],
]


@pytest.mark.parametrize("extra", FUNNEL_ARGS, ids=lambda a: " ".join(a[:2]))
def test_analyze_funnel_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "funnel", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2


def test_funnel_reads_back_one_row_per_series(rich):
    from seglab.core.engines.clickhouse import funnel

    with Project.open(rich[1], readonly=True) as project:
        engine = open_engine(project.conn)
        try:
            engine.bounds()
            before = engine.client.rows_read_back
            seg = get_saved(project.conn, "Buyers").definition
            frame = funnel(engine, ["login", "purchase"], 14, [("Buyers", seg), ("everyone", None)], None)
            assert engine.client.rows_read_back - before == 2
            assert len(frame) == 4
        finally:
            engine.close()


RETENTION_ARGS = [
    ["--from", "2024-01-01"],
    [
        "--start-event",
        "signup",
        "--return-event",
        "login",
        "--interval",
        "day",
        "--periods",
        "5",
        "--from",
        "2024-01-10",
    ],
    [
        "--start-event",
        "login",
        "--interval",
        "month",
        "--periods",
        "3",
        "--segment",
        "Buyers",
        "--segment",
        "Big accounts",
        "--from",
        "2024-01-01",
        "--as-of",
        "2024-03-31T12:00:00Z",
    ],
]


@pytest.mark.parametrize("extra", RETENTION_ARGS, ids=lambda a: " ".join(a[:2]))
def test_analyze_retention_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "retention", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2


DISTRIBUTION_ARGS = [
    ["--from", "2024-01-01"],
    [
        "--event",
        "login",
        "--stats",
        "--from",
        "2024-03-01",
        "--segment",
        "Buyers",
        "--segment",
        "Big accounts",
    ],
    [
        "--event",
        "purchase",
        "--from",
        "2024-01-01",
        "--as-of",
        "2024-03-31T12:00:00Z",
        "--segment",
        "Big accounts",
    ],
]


@pytest.mark.parametrize("extra", DISTRIBUTION_ARGS, ids=lambda a: " ".join(a[:2]))
def test_analyze_distribution_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "distribution", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 1


OVERLAP_ARGS = [
    ["--segment", "Buyers", "--segment", "Logged in lately"],
    ["--segment", "Buyers", "--segment", "Logged in lately", "--segment", "Pro or free", "--pairs"],
    [
        "--segment",
        "Buyers",
        "--segment",
        "Logged in lately",
        "--segment",
        "Pro or free",
        "--as-of",
        "2024-03-01",
    ],
]


@pytest.mark.parametrize("extra", OVERLAP_ARGS, ids=lambda a: " ".join(a[-2:]))
def test_analyze_overlap_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "overlap", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2


SIZE_ARGS = [
    ["--segment", "Buyers", "--segment", "Big accounts", "--from", "2024-01-01"],
    [
        "--segment",
        "Logged in lately",
        "--interval",
        "day",
        "--from",
        "2024-03-20",
        "--as-of",
        "2024-03-31T12:00:00Z",
    ],
    ["--segment", "Pro or free", "--interval", "month", "--from", "2023-12-01"],
]


@pytest.mark.parametrize("extra", SIZE_ARGS, ids=lambda a: a[1])
def test_analyze_size_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "size", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2


TOP_EVENTS_ARGS = [
    ["--from", "2024-01-01"],
    ["--segment", "Buyers", "--segment", "Big accounts", "--from", "2024-01-01", "--limit", "3"],
    ["--segment", "Logged in lately", "--from", "2024-03-20", "--as-of", "2024-03-31T12:00:00Z"],
]


@pytest.mark.parametrize("extra", TOP_EVENTS_ARGS, ids=lambda a: " ".join(a[:2]))
def test_analyze_top_events_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "top-events", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2


STICKINESS_ARGS = [
    ["--from", "2024-01-01"],
    ["--event", "login", "--interval", "month", "--from", "2024-01-01", "--segment", "Big accounts"],
]


@pytest.mark.parametrize("extra", STICKINESS_ARGS, ids=lambda a: " ".join(a[:2]))
def test_analyze_stickiness_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "stickiness", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2


LIFECYCLE_ARGS = [
    ["--from", "2024-01-01"],
    ["--event", "login", "--interval", "day", "--from", "2024-03-20", "--segment", "Big accounts"],
]


@pytest.mark.parametrize("extra", LIFECYCLE_ARGS, ids=lambda a: " ".join(a[:2]))
def test_analyze_lifecycle_is_pushed_down_and_equal(rich, capsys, extra):
    outputs = []
    for project in rich:
        code, out, err = run(["analyze", "lifecycle", project, *extra], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0].splitlines()) > 2
