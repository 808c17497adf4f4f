"""``seglab analyze`` breakdowns, filters, value measures, previous period and --unit;
``segment count --sum``; ``chart list`` / ``chart run``: exact columns, cells and exit codes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from builders import build_project
from seglab.cli import main

EVENTS = [
    {"user_id": "a", "event": "buy", "timestamp": "2024-01-01T10:00:00Z", "amount": "100", "platform": "web"},
    {
        "user_id": "a",
        "event": "buy",
        "timestamp": "2024-01-02T10:00:00Z",
        "amount": "50.5",
        "platform": "ios",
    },
    {"user_id": "b", "event": "buy", "timestamp": "2024-01-03T10:00:00Z", "amount": "30", "platform": "web"},
    {"user_id": "c", "event": "buy", "timestamp": "2024-01-09T10:00:00Z", "platform": "web"},
    {"user_id": "c", "event": "view", "timestamp": "2024-01-10T10:00:00Z", "platform": "a;b c"},
    {"user_id": "d", "event": "view", "timestamp": "2023-12-28T10:00:00Z", "platform": "web"},
]
USERS = [
    {"user_id": "a", "account_id": "X", "plan": "pro"},
    {"user_id": "b", "account_id": "X", "plan": "free"},
    {"user_id": "c", "account_id": "Y", "plan": "pro"},
    {"user_id": "d"},
]
ACCOUNTS = [
    {"account_id": "X", "tier": "gold", "mrr": "1000.5"},
    {"account_id": "Y", "tier": "silver", "mrr": "20"},
]
RANGE = ("--from", "2024-01-01", "--to", "2024-01-14")


@pytest.fixture
def proj(tmp_path):
    path = build_project(tmp_path / "p.seglab", events=EVENTS, users=USERS, accounts=ACCOUNTS)
    conn = sqlite3.connect(path)
    for name, level, conditions in [
        ("buyers", "user", [{"type": "behavior", "event": "buy"}]),
        ("all accounts", "account", []),
    ]:
        definition = {"version": 1, "level": level, "match": "all", "conditions": conditions}
        conn.execute(
            "INSERT INTO segments(name, level, definition, created, updated) VALUES (?, ?, ?, 'x', 'x')",
            (name, level, json.dumps(definition)),
        )
    conn.commit()
    conn.close()
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, list(csv.reader(io.StringIO(out))), err


def test_filtered_event_on_the_command_line(proj, capsys):
    code, rows, err = run(
        capsys,
        "analyze",
        "trend",
        proj,
        "--event",
        "buy[amount>=50; platform=web]",
        "--interval",
        "week",
        *RANGE,
    )
    assert code == 0, err
    assert rows == [
        ["segment", "period_start", "value"],
        ["everyone", "2024-01-01", "1"],
        ["everyone", "2024-01-08", "0"],
    ]
    code, rows, err = run(
        capsys, "analyze", "trend", proj, "--event", '*[platform="a;b c"]', "--interval", "week", *RANGE
    )
    assert [r[2] for r in rows[1:]] == ["0", "1"]


def test_funnel_event_cell_is_the_normalised_step(proj, capsys):
    code, rows, err = run(capsys, "analyze", "funnel", proj, "--steps", "buy[ amount >= 50 ], view", *RANGE)
    assert code == 0, err
    assert [r[2] for r in rows[1:]] == ["buy[amount>=50]", "view"]
    assert [r[3] for r in rows[1:]] == ["1", "0"]


def test_trend_by_user_property_puts_group_after_segment(proj, capsys):
    code, rows, err = run(
        capsys, "analyze", "trend", proj, "--event", "buy", "--measure", "users", "--interval", "week",
        "--by", "user.plan", "--segment", "buyers", *RANGE,
    )  # fmt: skip
    assert code == 0, err
    assert rows == [
        ["segment", "group", "period_start", "value"],
        ["buyers", "pro", "2024-01-01", "1"], ["buyers", "pro", "2024-01-08", "1"],
        ["buyers", "free", "2024-01-01", "1"], ["buyers", "free", "2024-01-08", "0"],
    ]  # fmt: skip


def test_trend_by_event_property_with_limit_other_and_none(proj, capsys):
    code, rows, err = run(
        capsys, "analyze", "trend", proj, "--event", "*", "--interval", "month", "--by", "event.platform",
        "--by-limit", "1", *RANGE,
    )  # fmt: skip
    assert code == 0, err
    assert rows[1:] == [["everyone", "web", "2024-01-01", "3"], ["everyone", "(other)", "2024-01-01", "2"]]


def test_value_measures_print_plain_numbers(proj, capsys):
    base = ("analyze", "trend", proj, "--event", "buy", "--interval", "week", "--of", "amount", *RANGE)
    code, rows, err = run(capsys, *base, "--measure", "sum")
    assert code == 0, err
    assert [r[2] for r in rows[1:]] == ["180.5", "0"]
    code, rows, err = run(capsys, *base, "--measure", "median")
    assert [r[2] for r in rows[1:]] == ["50.5", ""]
    code, rows, err = run(capsys, *base, "--measure", "max")
    assert [r[2] for r in rows[1:]] == ["100", ""]


def test_previous_period_labels_and_rows(proj, capsys):
    code, rows, err = run(
        capsys, "analyze", "trend", proj, "--event", "view", "--interval", "week", "--compare", "previous",
        "--from", "2024-01-08", "--to", "2024-01-14",
    )  # fmt: skip
    assert code == 0, err
    assert rows[1:] == [["everyone", "2024-01-08", "1"], ["everyone (previous period)", "2024-01-08", "0"]]
    code, rows, err = run(
        capsys, "analyze", "trend", proj, "--event", "view", "--interval", "day", "--compare", "previous",
        "--from", "2024-01-04", "--to", "2024-01-10", "--segment", "buyers",
    )  # fmt: skip
    prev = [r for r in rows[1:] if r[0] == "buyers (previous period)"]
    assert len(prev) == 7 and prev[0] == ["buyers (previous period)", "2024-01-04", "0"]


def test_unit_account_and_its_refusal(proj, capsys):
    code, rows, err = run(
        capsys, "analyze", "lifecycle", proj, "--unit", "account", "--interval", "week", *RANGE
    )
    assert code == 0, err
    new = [r for r in rows[1:] if r[2] == "new"]
    assert sum(int(r[3]) for r in new) == 2
    code, rows, err = run(
        capsys,
        "analyze",
        "funnel",
        proj,
        "--steps",
        "buy",
        "--unit",
        "account",
        "--by",
        "account.tier",
        *RANGE,
    )
    assert code == 0, err
    assert rows[1:] == [
        ["everyone", "gold", "1", "buy", "1", "1.0", "1.0", ""],
        ["everyone", "silver", "1", "buy", "1", "1.0", "1.0", ""],
    ]
    code, _rows, err = run(
        capsys, "analyze", "funnel", proj, "--steps", "buy", "--unit", "account", "--by", "user.plan"
    )
    assert code == 2 and err.startswith("seglab: error: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ("analyze", "trend", "P", "--event", "buy[amount>=]x"),
        ("analyze", "trend", "P", "--event", "buy[price>1]"),
        ("analyze", "trend", "P", "--measure", "sum"),
        ("analyze", "trend", "P", "--by", "plan"),
        ("analyze", "trend", "P", "--by", "user.nope"),
        ("analyze", "retention", "P", "--by", "event.platform"),
        ("analyze", "funnel", "P", "--steps", "buy", "--by-limit", "3"),
    ],
)
def test_refused_combinations_exit_2(proj, capsys, argv):
    argv = [proj if a == "P" else a for a in argv]
    code, _rows, err = run(capsys, *argv)
    assert code == 2 and err.startswith("seglab: error: ") and err.count("\n") == 1, err


def test_segment_count_sum(proj, capsys):
    code = main(
        ["segment", "count", proj, "--name", "buyers", "--json", "--sum", "account.mrr", "--sum", "user.nope"]
    )
    assert code == 2
    capsys.readouterr()
    assert main(["segment", "count", proj, "--name", "buyers", "--json", "--sum", "account.mrr"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3 and out["sums"] == {"account.mrr": 1020.5}  # X once, Y once
    assert main(["segment", "count", proj, "--name", "buyers", "--sum", "account.mrr"]) == 0
    assert capsys.readouterr().out.strip() == "3"  # sums only in --json


def test_chart_list_and_run(proj, capsys):
    from seglab.core.charts import ChartSpec, save_chart

    conn = sqlite3.connect(proj)
    spec = ChartSpec(
        kind="funnel", interval="week", last_days=None, date_from="2024-01-01", date_to="2024-01-14"
    )
    save_chart(conn, "Buy then view", spec.with_options(steps=["buy", "view"], by="user.plan"))
    save_chart(conn, "Top", ChartSpec(kind="top_events", segments=("buyers",)))
    conn.close()
    assert main(["chart", "list", proj, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [
        {"name": "Buy then view", "kind": "funnel", "segments": []},
        {"name": "Top", "kind": "top-events", "segments": ["buyers"]},
    ]
    code, rows, err = run(capsys, "chart", "run", proj, "--name", "Buy then view")
    assert code == 0, err
    _code, expected, _ = run(
        capsys, "analyze", "funnel", proj, "--steps", "buy,view", "--by", "user.plan", *RANGE
    )
    assert rows == expected
    conn = sqlite3.connect(proj)
    revenue = ChartSpec(interval="week", last_days=None, date_from="2024-01-01", date_to="2024-01-14")
    save_chart(conn, "Revenue", revenue.with_options(event="buy", measure="sum", of="amount"))
    conn.close()
    code, rows, err = run(capsys, "chart", "run", proj, "--name", "Revenue")
    _code, expected, _ = run(
        capsys, "analyze", "trend", proj, "--event", "buy", "--measure", "sum", "--of", "amount",
        "--interval", "week", *RANGE,
    )  # fmt: skip
    assert code == 0 and rows == expected and rows[2] == ["everyone", "2024-01-08", "0"]
    code, _rows, err = run(capsys, "chart", "run", proj, "--name", "nope")
    assert code == 2 and "no saved chart" in err
