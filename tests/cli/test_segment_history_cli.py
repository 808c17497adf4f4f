"""`seglab segment history` / `segment restore` (docs/cli.md) and the core behind them."""

from __future__ import annotations

import csv
import io
import json

import pytest

from builders import build_project
from seglab.cli import main
from seglab.core import segments
from seglab.core.project import Project


def prop(plan):
    return {
        "version": 1,
        "level": "user",
        "match": "all",
        "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": plan}],
    }


@pytest.fixture
def project(tmp_path):
    path = build_project(
        tmp_path / "p.seglab", users=[{"user_id": "u1", "plan": "pro"}, {"user_id": "u2", "plan": "free"}]
    )
    with Project.open(path) as p:
        for plan in ("pro", "free", "team"):
            segments.save_segment(p.conn, "Plan", prop(plan))
        segments.save_segment(p.conn, "Plan", prop("team"))  # unchanged: no new version
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_history_csv_and_json_newest_first(project, capsys):
    code, out, err = run(capsys, "segment", "history", project, "--name", "Plan")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["version", "saved_at", "description"]
    assert [(r[0], r[2]) for r in rows[1:]] == [
        ("3", "Users whose plan is team"),
        ("2", "Users whose plan is free"),
        ("1", "Users whose plan is pro"),
    ]
    code, out, _ = run(capsys, "segment", "history", project, "--name", "Plan", "--json")
    versions = json.loads(out)
    assert [list(v) for v in versions] == [["version", "saved_at", "definition"]] * 3
    assert [v["definition"]["conditions"][0]["value"] for v in versions] == ["team", "free", "pro"]
    assert versions[0]["saved_at"] >= versions[1]["saved_at"] >= versions[2]["saved_at"]


def test_restore_saves_an_old_version_as_the_newest(project, capsys):
    code, out, err = run(capsys, "segment", "restore", project, "--name", "Plan", "--version", "1")
    assert code == 0, err
    assert out.strip() == "restored version 1 of 'Plan' as version 4"
    with Project.open(project, readonly=True) as p:
        assert segments.member_ids(p.conn, segments.get_saved(p.conn, "Plan").definition) == ["u1"]
        assert [v.version for v in segments.segment_versions(p.conn, "Plan")] == [4, 3, 2, 1]
    code, out, _ = run(capsys, "segment", "restore", project, "--name", "Plan", "--version", "4")
    assert "already the current one" in out
    for args, message in (
        (("--name", "Plan", "--version", "9"), "'Plan' has no version 9 (versions 1 to 4"),
        (("--name", "Nope", "--version", "1"), "no saved segment named 'Nope'"),
    ):
        code, out, err = run(capsys, "segment", "restore", project, *args)
        assert code == 2 and message in err and err.count("\n") == 1


def test_undo_last_save_takes_back_a_restore_without_a_trace(project):
    with Project.open(project) as p:
        before = [(v.version, v.definition_text) for v in segments.segment_versions(p.conn, "Plan")]
        segments.restore_version(p.conn, "Plan", 2)
        current = segments.segment_versions(p.conn, "Plan")[0].definition_text
        assert not segments.undo_last_save(p.conn, "Plan", "something else")
        assert segments.undo_last_save(p.conn, "Plan", current)
        assert [(v.version, v.definition_text) for v in segments.segment_versions(p.conn, "Plan")] == before


def test_diff_phrases_of_two_versions():
    old = segments.load_definition(
        {**prop("pro"), "conditions": [*prop("pro")["conditions"], {"type": "behavior", "event": "login"}]}
    )
    new = segments.load_definition(prop("free"))
    assert segments.diff_phrases(old, new) == [
        (" ", "Users matching all of:"),
        ("-", "whose plan is pro"),
        ("-", "who did login"),
        ("+", "whose plan is free"),
    ]
