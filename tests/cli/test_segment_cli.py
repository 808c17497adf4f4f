"""`seglab segment count | members | save | list`, exactly as docs/cli.md says."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from builders import build_project
from seglab.cli import main

PRO = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}
ACTIVE_ACCOUNTS = {
    "level": "account",
    "conditions": [{"type": "behavior", "event": "login", "per": "users", "window": {"last_days": 7}}],
}


@pytest.fixture
def project_file(tmp_path):
    return build_project(
        tmp_path / "p.seglab",
        accounts=[{"account_id": "acme"}, {"account_id": "zeta, inc"}, {"account_id": "idle"}],
        users=[
            {"user_id": "u2", "plan": "pro", "account_id": "acme"},
            {"user_id": "u10", "plan": "pro", "account_id": "zeta, inc"},
            {"user_id": "u1", "plan": "free"},
        ],
        events=[
            {"user_id": "u2", "event": "login", "timestamp": "2024-03-30T10:00:00Z"},
            {"user_id": "u10", "event": "login", "timestamp": "2024-03-01T10:00:00Z"},
            {"user_id": "u1", "event": "login", "timestamp": "2024-03-31T10:00:00Z"},
        ],
    )


def write(tmp_path, obj, name="def.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_count_json(project_file, tmp_path, capsys):
    code, out, err = run(capsys, "segment", "count", project_file, "--def", write(tmp_path, PRO), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert list(result) == ["level", "count", "seconds"]
    assert result["level"] == "user" and result["count"] == 2
    assert isinstance(result["seconds"], float) and result["seconds"] >= 0


def test_count_plain_and_as_of(project_file, tmp_path, capsys):
    path = write(tmp_path, ACTIVE_ACCOUNTS)
    assert run(capsys, "segment", "count", project_file, "--def", path)[1].strip() == "1"
    # a bare date is the end of that day: on 2024-03-05 acme's user had not logged in yet
    code, out, _ = run(
        capsys, "segment", "count", project_file, "--def", path, "--as-of", "2024-03-05", "--json"
    )
    assert code == 0 and json.loads(out) == {
        "level": "account",
        "count": 1,
        "seconds": json.loads(out)["seconds"],
    }
    code, out, _ = run(capsys, "segment", "members", project_file, "--def", path, "--as-of", "2024-03-05")
    assert out.splitlines() == ["id", '"zeta, inc"']


def test_members_csv_sorted_with_header(project_file, tmp_path, capsys):
    code, out, err = run(capsys, "segment", "members", project_file, "--def", write(tmp_path, PRO))
    assert code == 0, err
    assert out.splitlines() == ["id", "u10", "u2"]  # sorted as text
    out_file = tmp_path / "members.csv"
    code, out, _ = run(
        capsys,
        "segment",
        "members",
        project_file,
        "--def",
        write(tmp_path, {"level": "account"}),
        "--out",
        out_file,
    )
    assert code == 0 and out == ""
    rows = list(csv.reader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert rows == [["id"], ["acme"], ["idle"], ["zeta, inc"]]


def test_save_list_and_name(project_file, tmp_path, capsys):
    code, out, err = run(
        capsys, "segment", "save", project_file, "--name", "Pro users", "--def", write(tmp_path, PRO)
    )
    assert code == 0, err
    run(
        capsys,
        "segment",
        "save",
        project_file,
        "--name",
        "Active accounts",
        "--def",
        write(tmp_path, ACTIVE_ACCOUNTS),
    )
    code, out, _ = run(capsys, "segment", "list", project_file, "--json")
    listing = json.loads(out)
    assert [(r["name"], r["level"], r["size"]) for r in listing] == [
        ("Active accounts", "account", 1),
        ("Pro users", "user", 2),
    ]
    assert all(set(r) == {"name", "level", "size", "updated"} and r["updated"].endswith("Z") for r in listing)
    code, out, _ = run(capsys, "segment", "count", project_file, "--name", "Pro users", "--json")
    assert json.loads(out)["count"] == 2
    code, out, _ = run(capsys, "segment", "members", project_file, "--name", "Active accounts")
    assert out.splitlines() == ["id", "acme"]
    # replacing keeps one row
    replacement = write(tmp_path, {"level": "user"})
    run(capsys, "segment", "save", project_file, "--name", "Pro users", "--def", replacement)
    code, out, _ = run(capsys, "segment", "list", project_file, "--json")
    assert [r["size"] for r in json.loads(out)] == [1, 3]
    assert "Pro users" in run(capsys, "segment", "list", project_file)[1]


@pytest.mark.parametrize(
    ("definition", "fragment"),
    [
        (
            {
                "level": "user",
                "conditions": [{"type": "property", "property": "plan", "op": "eqq", "value": 1}],
            },
            "conditions[0].op",
        ),
        (
            {
                "level": "user",
                "conditions": [{"type": "property", "property": "nope", "op": "eq", "value": 1}],
            },
            "conditions[0].property",
        ),
        ({"level": "user", "conditions": [{"type": "segment", "segment": "Ghost"}]}, "conditions[0].segment"),
        ({"version": 9, "level": "user"}, "version"),
        ("{not json", "not valid JSON"),
        ("", "empty"),
    ],
)
def test_invalid_definition_exit_2_one_line(project_file, tmp_path, capsys, definition, fragment):
    code, out, err = run(capsys, "segment", "count", project_file, "--def", write(tmp_path, definition))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ("segment", "count", "{project}", "--name", "Ghost"),
        ("segment", "members", "{project}", "--name", "Ghost"),
        ("segment", "count", "{project}"),
        ("segment", "count", "{project}", "--def", "missing.json"),
        ("segment", "count", "{project}", "--def", "{def}", "--name", "x"),
        ("segment", "count", "{project}", "--def", "{def}", "--as-of", "someday"),
        ("segment", "count", "{tmp}/nothing.seglab", "--def", "{def}"),
        ("segment", "save", "{project}", "--name", "x"),
    ],
)
def test_request_errors_exit_2(project_file, tmp_path, capsys, args):
    fill = {"project": str(project_file), "def": str(write(tmp_path, PRO)), "tmp": str(tmp_path)}
    code, _, err = run(capsys, *[a.format(**fill) for a in args])
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_segment_message(project_file, capsys):
    _, _, err = run(capsys, "segment", "count", project_file, "--name", "Ghost")
    assert "no saved segment named 'Ghost'" in err


def test_def_from_stdin_in_a_real_process(project_file):
    out = subprocess.run(
        [sys.executable, "-m", "seglab", "segment", "count", str(project_file), "--def", "-", "--json"],
        input=json.dumps(PRO),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["count"] == 2


def test_read_commands_do_not_write(project_file, tmp_path, capsys):
    before = project_file.read_bytes()
    run(capsys, "segment", "count", project_file, "--def", write(tmp_path, PRO))
    run(capsys, "segment", "members", project_file, "--def", write(tmp_path, PRO))
    run(capsys, "segment", "list", project_file)
    assert project_file.read_bytes() == before


@pytest.mark.parametrize("command", ["count", "members", "save"])
def test_validation_errors_name_the_definition_file(project_file, tmp_path, capsys, command):
    bad = write(
        tmp_path,
        {"conditions": [{"type": "property", "property": "nope", "op": "eq", "value": 1}]},
        "mine.json",
    )
    args = ["segment", command, project_file, "--def", bad] + (["--name", "x"] if command == "save" else [])
    code, _, err = run(capsys, *args)
    assert code == 2
    assert err.startswith(f"seglab: error: {bad}: conditions[0].property: unknown user property 'nope'")


def test_stdin_that_is_not_utf8_or_holds_a_lone_surrogate(project_file):
    def count(data: bytes):
        return subprocess.run(
            [sys.executable, "-m", "seglab", "segment", "count", str(project_file), "--def", "-"],
            input=data,
            capture_output=True,
        )

    raw = count(b'{"conditions":[{"type":"behavior","event":"\xed\xa0\x80"}]}')
    assert raw.returncode == 2
    assert (
        raw.stderr.decode()
        == "seglab: error: standard input: the definition is not valid UTF-8 (at byte 44)\n"
    )
    escaped = count(b'{"conditions":[{"type":"behavior","event":"\\ud800"}]}')
    assert escaped.returncode == 2
    assert b"standard input: conditions[0].event: not valid Unicode text" in escaped.stderr


def test_list_shows_segments_that_cannot_be_evaluated(project_file, tmp_path, capsys):
    import sqlite3

    save = ("segment", "save", project_file, "--name")
    assert run(capsys, *save, "Pro", "--def", write(tmp_path, PRO))[0] == 0
    ghost = {"conditions": [{"type": "segment", "segment": "Pro"}]}
    assert run(capsys, *save, "Fan", "--def", write(tmp_path, ghost))[0] == 0
    conn = sqlite3.connect(project_file)
    with conn:  # behind SegLab's back: one segment too deep to read, the one Fan refers to gone
        conn.execute("DELETE FROM segments WHERE name = 'Pro'")
        deep = '{"conditions":[' + '{"type":"group","conditions":[' * 300 + "]}" * 300 + "]}"
        conn.executemany(
            "INSERT INTO segments(name, level, definition, created, updated) VALUES (?, 'user', ?, '', '')",
            [("Deep", deep), ("All", '{"conditions":[]}')],
        )
    conn.close()
    code, out, err = run(capsys, "segment", "list", project_file, "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["All"]["size"] == 3 and "problem" not in rows["All"]
    assert rows["Deep"]["size"] is None and "nest too deeply" in rows["Deep"]["problem"]
    assert rows["Fan"]["size"] is None and "no saved segment named 'Pro'" in rows["Fan"]["problem"]
    code, out, _ = run(capsys, "segment", "list", project_file)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and "cannot be evaluated: conditions[0].segment" in lines[2]
    assert run(capsys, "report", project_file, "--out", tmp_path / "w.html")[0] == 0
    assert "“Deep” cannot be evaluated" in (tmp_path / "w.html").read_text(encoding="utf-8")
