"""`seglab import` and `seglab demo`: output, JSON, exit codes (reference: docs/cli.md)."""

from __future__ import annotations

import json

import pytest

from seglab.cli import main

HEADER = "user_id,event,timestamp\n"


@pytest.fixture
def proj(tmp_path):
    path = tmp_path / "p.seglab"
    assert main(["new", str(path)]) == 0
    return path


def test_import_json_one_object_per_file(proj, tmp_path, capsys):
    capsys.readouterr()
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,tier\na1,gold\n")
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "u1,login,2024-01-01\nu2,login\n")
    assert main(["import", str(proj), str(acc), str(ev), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    keys = ["file", "kind", "rows_read", "rows_imported", "rows_rejected", "rejects_file", "seconds"]
    keys.append("account_conflicts")  # docs/cli.md: counted, never hidden
    assert list(first) == keys
    assert (first["kind"], first["rows_imported"], first["rejects_file"]) == ("accounts", 1, None)
    assert (second["kind"], second["rows_read"], second["rows_imported"], second["rows_rejected"]) == (
        "events",
        2,
        1,
        1,
    )
    assert second["rejects_file"] == str(tmp_path / "ev.csv.rejects.csv")
    assert second["file"] == str(ev)


def test_import_human_output(proj, tmp_path, capsys):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "u1,login,2024-01-01\nu2,login,nope\n")
    assert main(["import", str(proj), str(ev)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 rows imported" in out and "1 bad timestamp" in out and "ev.csv.rejects.csv" in out


def test_map_kind_and_date_format(proj, tmp_path, capsys):
    ev = tmp_path / "export.csv"
    ev.write_text("Customer ID,What,When\nc1,signup,01/02/2024\n")
    args = [
        "import",
        str(proj),
        str(ev),
        "--map",
        "user_id=Customer ID",
        "--map",
        "event=What",
        "--map",
        "timestamp=When",
        "--kind",
        "events",
        "--date-format",
        "%d/%m/%Y",
        "--json",
    ]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["rows_imported"] == 1
    assert main(["info", str(proj), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["first_event"] == "2024-02-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.csv", "no such file"),
        (lambda d: d, "not a file"),
        (lambda d: (d / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500)) and d / "x.png", "PNG image"),
        (lambda d: (d / "h.csv").write_text(HEADER) and d / "h.csv", "no data rows"),
    ],
)
def test_unreadable_files_exit_2_with_one_line(proj, tmp_path, capsys, make, message):
    capsys.readouterr()
    assert main(["import", str(proj), str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_map_and_unknown_column_exit_2(proj, tmp_path, capsys):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "u1,login,2024-01-01\n")
    assert main(["import", str(proj), str(ev), "--map", "user_id"]) == 2
    assert "expected FIELD=COLUMN" in capsys.readouterr().err
    assert main(["import", str(proj), str(ev), "--map", "user_id=Nope"]) == 2
    assert "has no column 'Nope'" in capsys.readouterr().err


def test_strict_exits_2_and_imports_nothing(proj, tmp_path, capsys):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "u1,login,2024-01-01\nu2,login,bad\n")
    assert main(["import", str(proj), str(ev), "--strict", "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows_imported"] == 0
    assert "--strict: nothing imported" in captured.err
    assert main(["info", str(proj), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 0


def test_duplicate_content_refused_then_forced(proj, tmp_path, capsys):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "u1,login,2024-01-01\n")
    assert main(["import", str(proj), str(ev)]) == 0
    assert main(["import", str(proj), str(ev)]) == 2
    assert "already imported" in capsys.readouterr().err
    assert main(["import", str(proj), str(ev), "--force"]) == 0


def test_missing_project_exit_2(tmp_path, capsys):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "u1,login,2024-01-01\n")
    assert main(["import", str(tmp_path / "none.seglab"), str(ev)]) == 2
    assert "no such project file" in capsys.readouterr().err


def test_demo_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEGLAB_CACHE_DIR", str(tmp_path / "cache"))
    target = tmp_path / "demo.seglab"
    assert main(["demo", str(target)]) == 0
    assert main(["segment", "list", str(target), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(listed) >= 5
    assert main(["demo", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_files_are_imported_accounts_users_events(proj, tmp_path, capsys):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER.strip() + ",account_id\nu1,login,2024-01-01,a2\n")
    users = tmp_path / "users.csv"
    users.write_text("user_id,account_id\nu1,a1\n")
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,tier\na1,gold\n")
    capsys.readouterr()
    assert main(["import", str(proj), str(ev), str(users), str(acc), "--json"]) == 0
    kinds = [json.loads(line)["kind"] for line in capsys.readouterr().out.strip().splitlines()]
    assert kinds == ["accounts", "users", "events"]
