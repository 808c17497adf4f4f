"""One rule for --as-of (and --from/--to) in every command: docs/cli.md "As-of time"."""

from __future__ import annotations

import json

import pytest

from builders import build_project
from seglab.cli import main


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("asof")
    path = build_project(
        folder / "p.seglab",
        users=[{"user_id": "u1", "plan": "pro"}],
        events=[{"user_id": "u1", "event": "login", "timestamp": "2024-03-30T10:00:00Z"}],
    )
    (folder / "def.json").write_text(json.dumps({"conditions": [{"type": "behavior", "event": "*"}]}))
    return path


def _commands(project, as_of):
    folder = project.parent
    return [
        ["segment", "count", project, "--def", folder / "def.json", "--as-of", as_of],
        ["segment", "members", project, "--def", folder / "def.json", "--as-of", as_of],
        ["segment", "list", project, "--as-of", as_of],
        ["analyze", "trend", project, "--as-of", as_of, "--interval", "month"],
        ["analyze", "retention", project, "--as-of", as_of, "--interval", "month"],
        ["analyze", "funnel", project, "--as-of", as_of, "--steps", "login,login"],
        ["report", project, "--out", folder / "w.html", "--as-of", as_of],
    ]


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "1899-12-31T23:59:59Z", "3000-01-01"])
def test_out_of_range_as_of_is_refused_by_every_command(project, capsys, as_of):
    for args in _commands(project, as_of):
        code = main([str(a) for a in args])
        _, err = capsys.readouterr()
        assert code == 2, (args, err)
        assert err == (
            f"seglab: error: as-of {as_of!r} is out of range (use a date from 1900-01-01 to 2999-12-31)\n"
        ), args


@pytest.mark.parametrize("as_of", ["1900-01-01", "2999-12-31"])
def test_the_ends_of_the_range_work_in_every_command(project, capsys, as_of):
    for args in _commands(project, as_of):
        code = main([str(a) for a in args])
        _, err = capsys.readouterr()
        assert code == 0, (args, err)


@pytest.mark.parametrize(("option", "day"), [("--from", "0001-01-01"), ("--to", "9999-12-31")])
def test_the_reporting_range_follows_the_same_rule(project, capsys, option, day):
    code = main(["analyze", "trend", str(project), option, day])
    _, err = capsys.readouterr()
    assert code == 2
    assert f"{option} '{day}' is out of range" in err
