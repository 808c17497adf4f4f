"""``--out`` never destroys a file (docs/cli.md, "Safe output"), and CSV cells are formula-safe."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from builders import build_project
from seglab.cli import main
from seglab.core.project import Project
from seglab.core.segments import list_saved, save_segment

NEVER_OVER_A_PROJECT = "SegLab never writes its output over a project"
EVERYONE = {"version": 1, "level": "user", "match": "all", "conditions": []}


@pytest.fixture
def proj(tmp_path):
    path = build_project(
        tmp_path / "p.seglab",
        events=[
            {"user_id": uid, "event": "login", "timestamp": "2024-01-02T10:00:00Z"}
            for uid in ("=cmd|' /C calc'!A0", "-5", "+1 555", "@me", "plain", "-12.5")
        ],
    )
    with Project.open(path) as project:
        save_segment(project.conn, "=HYPERLINK(1)", EVERYONE)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _commands(project: Path, out: Path) -> list[list]:
    return [
        ["segment", "members", project, "--name", "=HYPERLINK(1)", "--out", out],
        ["analyze", "trend", project, "--out", out],
        ["analyze", "funnel", project, "--steps", "login", "--out", out],
        ["report", project, "--out", out],
    ]


def test_out_never_replaces_the_project_being_read(capsys, proj):
    before = digest(proj)
    for argv in _commands(proj, proj):
        code, _out, err = run(capsys, *argv)
        assert code == 2, argv
        assert err == f"seglab: error: {proj}: is the project being read; choose another file name\n"
        assert digest(proj) == before
    with Project.open(proj, readonly=True) as project:
        assert [s.name for s in list_saved(project.conn)] == ["=HYPERLINK(1)"]


def test_out_never_replaces_another_project_even_one_open_in_this_process(capsys, proj, tmp_path):
    other = build_project(
        tmp_path / "other.seglab", events=[{"user_id": "x", "event": "e", "timestamp": "2024-01-01"}]
    )
    # Held open for writing here, with a save still in its WAL: the check must read the
    # target through SQLite, or closing a plain handle would drop this connection's locks.
    held = Project.open(other)
    try:
        save_segment(held.conn, "kept", EVERYONE)
        wal = Path(str(other) + "-wal")
        wal_ino = wal.stat().st_ino
        for argv in _commands(proj, other):
            code, _out, err = run(capsys, *argv)
            assert code == 2, argv
            assert err == f"seglab: error: {other}: is a SegLab project; {NEVER_OVER_A_PROJECT}\n"
        info = subprocess.run(
            [sys.executable, "-m", "seglab", "info", str(other), "--json"], capture_output=True, text=True
        )
        assert info.returncode == 0 and json.loads(info.stdout)["segments"] == 1
        assert wal.stat().st_ino == wal_ino  # the other process left our WAL alone
        save_segment(held.conn, "still writing", EVERYONE)
    finally:
        held.close()
    with Project.open(other, readonly=True) as project:
        assert [s.name for s in list_saved(project.conn)] == ["kept", "still writing"]


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_out_refuses_what_is_not_a_regular_file(tmp_path, proj, kind):
    if kind == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
        expected = "is a pipe (FIFO); SegLab writes its output only to regular files"
    elif kind == "device":
        target = Path("/dev/null")
        expected = "is a device; SegLab writes its output only to regular files"
    else:
        target = tmp_path / "folder"
        target.mkdir()
        expected = "is a folder; give a file name"
    for argv in _commands(proj, target):
        # a real process with a timeout: opening a FIFO for writing would block forever
        done = subprocess.run(
            [sys.executable, "-m", "seglab", *map(str, argv)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, argv
        assert done.stderr == f"seglab: error: {target}: {expected}\n"
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(target).st_mode)
    if kind == "device":
        assert stat.S_ISCHR(os.stat(target).st_mode)


def test_a_symlink_is_written_through_and_the_old_file_keeps_its_mode(capsys, proj, tmp_path):
    real = tmp_path / "data" / "members.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    os.chmod(real, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _out, err = run(
        capsys, "segment", "members", proj, "--name", "=HYPERLINK(1)", "--out", link, "--raw"
    )
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().splitlines()[0] == "id"
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["members.csv"]  # no temporary file left
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "data" / "new.csv")
    code, _out, err = run(capsys, "analyze", "trend", proj, "--out", dangling)
    assert code == 0, err
    assert dangling.is_symlink() and (tmp_path / "data" / "new.csv").read_text().startswith("segment,")


def test_csv_cells_are_formula_safe_unless_raw(capsys, proj, tmp_path):
    code, out, err = run(capsys, "segment", "members", proj, "--name", "=HYPERLINK(1)")
    assert code == 0, err
    ids = [row[0] for row in csv.reader(io.StringIO(out))]
    assert ids[0] == "id"
    assert sorted(ids[1:]) == sorted(["'=cmd|' /C calc'!A0", "-5", "'+1 555", "'@me", "plain", "-12.5"])
    code, out, err = run(capsys, "segment", "members", proj, "--name", "=HYPERLINK(1)", "--raw")
    assert sorted(row[0] for row in csv.reader(io.StringIO(out)))[:1] == ["+1 555"]
    assert "=cmd|' /C calc'!A0" in out.splitlines()
    target = tmp_path / "trend.csv"
    code, _out, err = run(capsys, "analyze", "trend", proj, "--segment", "=HYPERLINK(1)", "--out", target)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == ["segment", "period_start", "value"]
    assert {r[0] for r in rows[1:]} == {"'=HYPERLINK(1)"}
    code, out, err = run(capsys, "analyze", "trend", proj, "--segment", "=HYPERLINK(1)", "--raw")
    assert {r[0] for r in list(csv.reader(io.StringIO(out)))[1:]} == {"=HYPERLINK(1)"}


def test_an_existing_csv_is_replaced_whole(capsys, proj, tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("x\n" * 100_000)
    code, _out, err = run(capsys, "analyze", "trend", proj, "--out", target)
    assert code == 0, err
    assert target.read_text().startswith("segment,period_start,value\n")
    assert "x" not in target.read_text()


def test_a_project_is_never_imported_as_data(capsys, proj, tmp_path):
    other = build_project(
        tmp_path / "other.db", events=[{"user_id": "x", "event": "e", "timestamp": "2024-01-01"}]
    )
    for source in (proj, other):
        code, _out, err = run(capsys, "import", proj, source)
        assert code == 2
        assert err == f"seglab: error: {source}: is a SegLab project, not a data file to import\n"
    with Project.open(proj, readonly=True) as project:
        assert project.info()["imports"] == 1
