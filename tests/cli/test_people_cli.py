"""`seglab find` and `seglab as-of`, exactly as docs/cli.md says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from builders import build_project
from seglab.cli import main


@pytest.fixture
def project(tmp_path):
    return build_project(
        tmp_path / "p.seglab",
        accounts=[{"account_id": "A1", "name": "ACME GmbH"}],
        users=[
            {"user_id": "u1", "name": "Ann Lee", "email": "ann@acme.com", "account_id": "A1"},
            {"user_id": "u2", "name": "Bob", "email": "bob@globex.com"},
        ],
        events=[
            {"user_id": "u1", "event": "login", "timestamp": "2024-03-30T10:00:00Z"},
            {"user_id": "u2", "event": "login", "timestamp": "2024-03-31T10:00:00Z"},
        ],
    )


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_find_json_keys_order_and_limit(project, capsys):
    code, out, err = run(capsys, "find", project, "ACM", "--json")
    assert code == 0, err
    assert json.loads(out) == [
        {"kind": "account", "id": "A1", "label": "ACME GmbH", "matched": "name"},
        {"kind": "user", "id": "u1", "label": "Ann Lee", "matched": "email"},
    ]
    code, out, _ = run(capsys, "find", project, "acme", "--json", "--limit", "1")
    assert [r["id"] for r in json.loads(out)] == ["A1"]
    code, out, _ = run(capsys, "find", project, "nobody here", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "find", project, "bob")
    assert out.splitlines() == ["user     u2  Bob  (matched name)"]


def test_find_refuses_bad_requests_with_one_line(project, tmp_path, capsys):
    for args, message in (
        (("find", project, "x", "--limit", "0"), "--limit must be 1 or more"),
        (("find", project, "  -- "), "nothing to search for"),
        (("find", tmp_path / "missing.seglab", "x"), "no such project file"),
    ):
        code, out, err = run(capsys, *args)
        assert code == 2 and out == ""
        assert err.startswith("seglab: error: ") and message in err and err.count("\n") == 1


def test_as_of_show_pin_clear(project, capsys):
    code, out, _ = run(capsys, "as-of", project)
    assert code == 0 and out.strip() == "2024-03-31T10:00:00.000Z (the latest event)"
    code, out, err = run(capsys, "as-of", project, "2024-03-30")
    assert code == 0, err
    assert out.strip() == "2024-03-30T23:59:59.999Z (pinned)"
    code, out, _ = run(capsys, "as-of", project, "--json")
    assert json.loads(out) == {
        "as_of": "2024-03-30T23:59:59.999Z",
        "pinned": True,
        "latest_event": "2024-03-31T10:00:00.000Z",
    }
    # Every command follows the pin.
    code, out, _ = run(capsys, "info", project, "--json")
    assert json.loads(out)["as_of"] == "2024-03-30T23:59:59.999Z"
    code, out, _ = run(capsys, "as-of", project, "--clear")
    assert out.strip() == "2024-03-31T10:00:00.000Z (the latest event)"
    for args, message in (
        (("as-of", project, "yesterday"), "is not an ISO date"),
        (("as-of", project, "2024-01-01", "--clear"), "not both"),
    ):
        code, out, err = run(capsys, *args)
        assert code == 2 and message in err


def test_find_as_a_real_process(project):
    done = subprocess.run(
        [sys.executable, "-m", "seglab", "find", str(project), "ann lee", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"kind": "user", "id": "u1", "label": "Ann Lee", "matched": "name"}]
