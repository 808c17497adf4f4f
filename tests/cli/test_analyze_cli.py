"""``seglab analyze``: exact CSV columns, values, exit codes and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from builders import build_project
from seglab.cli import main

EVENTS = [
    {"user_id": "a", "event": "A", "timestamp": "2024-01-01T10:00:00.000Z"},
    {"user_id": "a", "event": "B", "timestamp": "2024-01-01T10:00:00.250Z"},
    {"user_id": "b", "event": "A", "timestamp": "2024-01-02T10:00:00Z"},
    {"user_id": "b", "event": "B", "timestamp": "2024-01-09T10:00:00Z"},
    {"user_id": "c", "event": "A", "timestamp": "2024-01-08T00:00:00Z"},
    {"user_id": "c", "event": "B", "timestamp": "2024-01-20T00:00:00Z"},
]
USERS = [{"user_id": "a", "account_id": "X"}, {"user_id": "b", "account_id": "X"}, {"user_id": "c"}]


@pytest.fixture
def proj(tmp_path):
    path = build_project(tmp_path / "p.seglab", events=EVENTS, users=USERS)
    import sqlite3

    conn = sqlite3.connect(path)
    for name, level, conditions in [
        ("did B", "user", [{"type": "behavior", "event": "B"}]),
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
    return code, out, err


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_trend_weekly(proj, capsys):
    code, out, err = run(
        capsys, "analyze", "trend", proj, "--event", "A", "--measure", "users", "--interval", "week",
        "--from", "2024-01-01", "--to", "2024-01-21",
    )  # fmt: skip
    assert code == 0, err
    assert table(out) == [
        ["segment", "period_start", "value"],
        ["everyone", "2024-01-01", "2"],
        ["everyone", "2024-01-08", "1"],
        ["everyone", "2024-01-15", "0"],
    ]


def test_trend_per_user_and_segments(proj, capsys):
    code, out, err = run(
        capsys, "analyze", "trend", proj, "--measure", "per_user", "--interval", "month",
        "--segment", "did B", "--segment", "all accounts", "--from", "2024-01-01", "--to", "2024-01-31",
    )  # fmt: skip
    assert code == 0, err
    assert table(out)[1:] == [["did B", "2024-01-01", "2.0"], ["all accounts", "2024-01-01", "2.0"]]


def test_funnel_full_precision(proj, capsys, tmp_path):
    out_file = tmp_path / "f.csv"
    code, out, err = run(
        capsys, "analyze", "funnel", proj, "--steps", "A,B", "--within-days", "7",
        "--from", "2024-01-01", "--to", "2024-01-31", "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    assert out == ""
    assert table(out_file.read_text()) == [
        ["segment", "step", "event", "entered", "conversion_from_start", "conversion_from_previous",
         "median_seconds_from_previous"],
        ["everyone", "1", "A", "3", "1.0", "1.0", ""],
        ["everyone", "2", "B", "2", "0.6666666666666666", "0.6666666666666666", "302400.125"],
    ]  # fmt: skip


def test_retention(proj, capsys):
    code, out, err = run(
        capsys, "analyze", "retention", proj, "--start-event", "A", "--return-event", "B",
        "--interval", "week", "--periods", "3", "--from", "2024-01-01", "--to", "2024-01-14",
        "--as-of", "2024-01-21",
    )  # fmt: skip
    assert code == 0, err
    assert table(out) == [
        ["segment", "cohort_start", "cohort_size", "period", "retained", "rate", "complete"],
        ["everyone", "2024-01-01", "2", "0", "1", "0.5", "true"],
        ["everyone", "2024-01-01", "2", "1", "1", "0.5", "true"],
        ["everyone", "2024-01-01", "2", "2", "0", "0.0", "true"],
        ["everyone", "2024-01-08", "1", "0", "0", "0.0", "true"],
        ["everyone", "2024-01-08", "1", "1", "1", "1.0", "true"],
        ["everyone", "2024-01-08", "1", "2", "0", "0.0", "false"],
    ]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["trend", "--segment", "nope"], "nope"),
        (["trend", "--from", "2024-02-01", "--to", "2024-01-01"], "after"),
        (["trend", "--from", "2024-13-01"], "--from"),
        (["trend", "--as-of", "yesterday"], "as-of"),
        (["trend", "--measure", "sum"], "measure"),
        (["funnel", "--steps", "A,,B"], "--steps"),
        (["funnel", "--steps", "A,B", "--within-days", "0"], "within-days"),
        (["funnel", "--steps", "A,B", "--within-days", "inf"], "within-days"),
        (["retention", "--periods", "0"], "periods"),
    ],
)
def test_bad_requests_exit_2_with_one_line(proj, capsys, argv, needle):
    code, out, err = run(capsys, "analyze", argv[0], proj, *argv[1:])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_unknown_event_is_zero_with_a_warning(proj, capsys):
    code, out, err = run(capsys, "analyze", "trend", proj, "--event", "nope", "--interval", "month")
    assert code == 0
    assert all(row[2] == "0" for row in table(out)[1:])
    assert "no event named 'nope'" in err


def test_missing_project_exit_2(tmp_path, capsys):
    code, _out, err = run(capsys, "analyze", "trend", str(tmp_path / "none.seglab"))
    assert code == 2 and "no such project" in err


@pytest.mark.parametrize(
    ("argv", "header"),
    [
        (["distribution"], "segment,bin_low,bin_high,units,share"),
        (["distribution", "--stats"], "segment,units,mean,median,p75,p90,p99,max"),
        (["top-events", "--segment", "did B"], "segment,event,units,share,rest_units,rest_share,lift"),
        (["stickiness", "--interval", "month"], "segment,period_start,days,units,share"),
        (["lifecycle"], "segment,period_start,status,units"),
        (["overlap", "--segment", "did B", "--segment", "all accounts"], None),
        (["overlap", "--segment", "did B", "--segment", "did A"], "region,segments,units,share"),
        (
            ["overlap", "--pairs", "--segment", "did B", "--segment", "did A"],
            "segment_a,segment_b,intersection,union,jaccard",
        ),
        (
            ["distinguish", "--segment", "did B"],
            "segment,kind,name,value,segment_value,rest_value,difference,effect_size,p_value",
        ),
        (["size", "--segment", "did B"], "segment,period_start,evaluated_at,size"),
    ],
)
def test_further_analyses(proj, capsys, argv, header):
    import sqlite3

    conn = sqlite3.connect(proj)
    did_a = [{"type": "behavior", "event": "A"}]
    definition = {"version": 1, "level": "user", "match": "all", "conditions": did_a}
    conn.execute(
        "INSERT INTO segments(name, level, definition, created, updated) VALUES ('did A', 'user', ?, '', '')",
        (json.dumps(definition),),
    )
    conn.commit()
    conn.close()
    dates = ["--from", "2024-01-01", "--to", "2024-01-21"]
    code, out, err = run(capsys, "analyze", argv[0], proj, *argv[1:], *dates)
    if header is None:  # mixed levels
        assert code == 2 and "all be user segments or all account segments" in err
        return
    assert code == 0, err
    assert out.splitlines()[0] == header
    assert len(out.splitlines()) > 1


def test_vs_rest_adds_the_complement(proj, capsys):
    code, out, err = run(
        capsys, "analyze", "trend", proj, "--segment", "all accounts", "--vs-rest", "--measure", "users",
        "--interval", "month", "--from", "2024-01-01", "--to", "2024-01-31",
    )  # fmt: skip
    assert code == 0, err
    assert table(out)[1:] == [["all accounts", "2024-01-01", "2"], ["not all accounts", "2024-01-01", "0"]]
    code, _out, err = run(capsys, "analyze", "trend", proj, "--vs-rest")
    assert code == 2 and "--vs-rest" in err


def test_out_file_that_cannot_be_written(proj, capsys, tmp_path):
    missing = tmp_path / "no" / "such" / "dir.csv"
    code, _out, err = run(capsys, "analyze", "trend", proj, "--out", str(missing))
    assert code == 2 and "cannot write" in err and err.count("\n") == 1


def test_as_of_date_time_with_zone(proj, capsys):
    # as-of at 10:00:00.250Z on 2024-01-01 counts a's B (10:00:00.250) but not b's A next day
    code, out, err = run(
        capsys, "analyze", "trend", proj, "--as-of", "2024-01-01T10:00:00.250Z", "--from", "2024-01-01",
        "--to", "2024-01-02",
    )  # fmt: skip
    assert code == 0, err
    assert table(out)[1:] == [["everyone", "2024-01-01", "2"], ["everyone", "2024-01-02", "0"]]
