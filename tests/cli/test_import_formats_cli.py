"""`seglab import` on Parquet, JSON lines and compressed files (contract: docs/cli.md, "Import formats")."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seglab.cli import main

KEYS = ["file", "kind", "rows_read", "rows_imported", "rows_rejected", "rejects_file", "seconds"]
KEYS += ["account_conflicts"]


@pytest.fixture
def proj(tmp_path):
    path = tmp_path / "p.seglab"
    assert main(["new", str(path)]) == 0
    return path


def test_json_report_for_every_format(proj, tmp_path, capsys):
    accounts = tmp_path / "accounts.parquet"
    pq.write_table(pa.table({"account_id": ["a1", "a2"], "tier": ["gold", "silver"]}), accounts)
    users = tmp_path / "users.ndjson"
    users.write_text('{"user_id": "u1", "account_id": "a1"}\n{"user_id": "u2", "account_id": "a2"}\n')
    events = tmp_path / "events.jsonl.gz"
    events.write_bytes(
        gzip.compress(
            b'{"user_id": "u1", "event": "open", "timestamp": "2024-01-01T00:00:00Z", "p": {"x": 1}}\n'
            b"not json\n"
            b'{"user_id": "u2", "event": "open", "timestamp": "2024-01-02T00:00:00Z"}\n'
        )
    )
    capsys.readouterr()
    # Given in the wrong order: accounts, users, events is the order they go in.
    assert main(["import", str(proj), str(events), str(users), str(accounts), "--json"]) == 0
    reports = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [list(r) for r in reports] == [KEYS] * 3
    assert [(r["kind"], r["rows_read"], r["rows_imported"], r["rows_rejected"]) for r in reports] == [
        ("accounts", 2, 2, 0),
        ("users", 2, 2, 0),
        ("events", 3, 2, 1),
    ]
    assert reports[2]["rejects_file"] == str(tmp_path / "events.jsonl.gz.rejects.csv")
    lines = (tmp_path / "events.jsonl.gz.rejects.csv").read_text().splitlines()
    assert lines[1].startswith("2,not valid JSON: Expecting value (column 1),not json")


def test_mixpanel_shape_is_named_in_the_human_output(proj, tmp_path, capsys):
    path = tmp_path / "mixpanel.json"
    path.write_text('{"event": "Signup", "properties": {"time": 1704067200, "distinct_id": "u1"}}\n')
    capsys.readouterr()
    assert main(["import", str(proj), str(path)]) == 0
    assert "events (Mixpanel export), 1 of 1 rows imported" in capsys.readouterr().out


def test_truncated_gzip_exits_2_with_one_sentence(proj, tmp_path):
    whole = gzip.compress(b"user_id,event,timestamp\n" + b"u1,a,2024-01-01\n" * 50000)
    path = tmp_path / "events.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    done = subprocess.run(
        [sys.executable, "-m", "seglab", "import", str(proj), str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("seglab: error: events.csv.gz: the compressed file is cut short")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert main(["info", str(proj), "--json"]) == 0


def test_strict_on_a_parquet_file_with_rejects(proj, tmp_path, capsys):
    path = tmp_path / "ev.parquet"
    pq.write_table(
        pa.table({"user_id": ["u1", None], "event": ["a", "a"], "ts": ["2024-01-01", "2024-01-02"]}), path
    )
    capsys.readouterr()
    assert main(["import", str(proj), str(path), "--strict", "--json"]) == 2
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert (report["rows_read"], report["rows_imported"], report["rows_rejected"]) == (2, 0, 1)
    assert "1 row rejected; --strict: nothing imported" in out.err
    rejected = (tmp_path / "ev.parquet.rejects.csv").read_text().splitlines()
    assert rejected[1].startswith('2,no user id,"{""user_id"": null')
