"""Issue #14 §4: a FIFO as the project, read-only media, full disks, a full standard output and a
tampered ``schema_version`` each get one sentence, never a hang, a traceback or leftovers.

Full disks and read-only media are real: a small tmpfs mounted for the test (root only; skipped
otherwise). Every command runs as a real process.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from builders import build_project
from seglab.core.project import Project
from seglab.core.segments import list_saved, save_segment

EVERYONE = {"version": 1, "level": "user", "match": "all", "conditions": []}
EVENTS = [
    {"user_id": f"u{i}", "event": "login", "timestamp": f"2024-01-{1 + i % 28:02d}T10:00:00Z"}
    for i in range(30)
]


def seglab(*args, stdout=subprocess.PIPE, stdin_text=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seglab", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        input=stdin_text,
        text=True,
        timeout=60,
    )


def one_sentence(done: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("seglab: error: "), done.stderr
    assert text in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Tmpfs:
    def __init__(self, where: Path, size: str):
        self.where = where
        where.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a small file system needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)])
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")

    def remount(self, option: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{option}", str(self.where)], check=True)

    def fill(self) -> Path:
        filler = self.where / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        return filler

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.where)])


@pytest.fixture
def tmpfs(tmp_path):
    mounted = []

    def make(size: str) -> Tmpfs:
        fs = Tmpfs(tmp_path / f"fs{len(mounted)}", size)
        mounted.append(fs)
        return fs

    yield make
    for fs in mounted:
        fs.unmount()


def test_a_fifo_as_the_project_is_refused_at_once(tmp_path):
    fifo = tmp_path / "p.seglab"
    os.mkfifo(fifo)
    definition = tmp_path / "d.json"
    definition.write_text(json.dumps(EVERYONE))
    for argv in (
        ["info", fifo],
        ["segment", "count", fifo, "--def", definition],
        ["segment", "save", fifo, "--name", "x", "--def", definition],
        ["analyze", "trend", fifo],
        ["report", fifo, "--out", tmp_path / "r.html"],
        ["import", fifo, tmp_path / "d.json"],
    ):
        one_sentence(seglab(*argv), 2, f"{fifo}: is a pipe (FIFO), not a project file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "p.seglab"]


def test_every_reading_command_works_on_read_only_media(tmpfs, tmp_path):
    fs = tmpfs("4m")
    path = build_project(fs.where / "p.seglab", events=EVENTS)
    with Project.open(path) as project:
        save_segment(project.conn, "everyone", EVERYONE)
    for csv_file in fs.where.glob("*.csv"):
        csv_file.unlink()
    fs.remount("ro")
    before = sorted(p.name for p in fs.where.iterdir())
    info = seglab("info", path, "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["users"] == 30
    count = seglab("segment", "count", path, "--name", "everyone")
    assert (count.returncode, count.stdout) == (0, "30\n"), count.stderr
    listed = seglab("segment", "list", path, "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["size"] == 30
    members = seglab("segment", "members", path, "--name", "everyone")
    assert members.returncode == 0 and len(members.stdout.splitlines()) == 31
    trend = seglab(
        "analyze", "trend", path, "--interval", "month", "--from", "2024-01-01", "--to", "2024-01-31"
    )
    assert trend.returncode == 0 and trend.stdout.splitlines()[1].endswith(",30"), trend.stderr
    report = seglab("report", path, "--out", tmp_path / "sheet.html")
    assert report.returncode == 0, report.stderr
    assert "everyone" in (tmp_path / "sheet.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in fs.where.iterdir()) == before
    # Writing is refused with the usual sentence.
    definition = tmp_path / "d.json"
    definition.write_text(json.dumps(EVERYONE))
    one_sentence(seglab("segment", "save", path, "--name", "x", "--def", definition), 2, "read-only")


def test_new_on_a_full_disk_leaves_nothing_behind(tmpfs):
    fs = tmpfs("64k")  # smaller than an empty project
    done = seglab("new", fs.where / "p.seglab")
    one_sentence(done, 1, "p.seglab: the disk is full; the project was not created")
    assert list(fs.where.iterdir()) == []


def test_segment_save_on_a_full_disk_says_so_and_keeps_the_project(tmpfs, tmp_path):
    fs = tmpfs("2m")
    path = build_project(fs.where / "p.seglab", events=EVENTS)
    with Project.open(path) as project:
        save_segment(project.conn, "kept", EVERYONE)
    definition = tmp_path / "d.json"
    definition.write_text(json.dumps(EVERYONE))
    filler = fs.fill()
    one_sentence(
        seglab("segment", "save", path, "--name", "new", "--def", definition),
        1,
        "the disk is full; nothing was changed",
    )
    assert not Path(str(path) + "-wal").exists() and not Path(str(path) + ".lock").exists()
    filler.unlink()
    with Project.open(path, readonly=True) as project:
        assert [s.name for s in list_saved(project.conn)] == ["kept"]


def test_a_full_disk_while_the_project_is_open_loses_no_earlier_save(tmpfs):
    fs = tmpfs("2m")
    path = build_project(fs.where / "p.seglab", events=EVENTS)
    project = Project.open(path)
    try:
        save_segment(project.conn, "before", EVERYONE)
        filler = fs.fill()
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for i in range(200):  # until the WAL cannot grow
                save_segment(project.conn, f"s{i}", EVERYONE)
        saved = [s.name for s in list_saved(project.conn)]
        filler.unlink()
    finally:
        project.close()
    with Project.open(path, readonly=True) as reopened:
        assert [s.name for s in list_saved(reopened.conn)] == saved
    assert "before" in saved


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "{p}"],
        ["segment", "members", "{p}", "--name", "everyone"],
        ["analyze", "trend", "{p}"],
    ],
)
def test_standard_output_on_a_full_device(tmp_path, argv):
    path = build_project(tmp_path / "p.seglab", events=EVENTS)
    with Project.open(path) as project:
        save_segment(project.conn, "everyone", EVERYONE)
    with open("/dev/full", "w") as full:
        done = seglab(*[a.format(p=path) for a in argv], stdout=full)
    one_sentence(done, 1, "cannot write to standard output (No space left on device)")


@pytest.mark.parametrize("value", ["'abc'", "NULL", "'2'", "-1", "''"])
def test_a_tampered_schema_version_is_one_sentence_and_leaves_nothing(tmp_path, value):
    path = build_project(tmp_path / "p.seglab", events=EVENTS)
    for csv_file in tmp_path.glob("*.csv"):
        csv_file.unlink()
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE meta SET value = {value} WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = digest(path)
    definition = tmp_path / "d.json"
    definition.write_text(json.dumps(EVERYONE))
    for argv in (
        ["info", path],
        ["segment", "count", path, "--def", definition],
        ["segment", "save", path, "--name", "x", "--def", definition],
    ):
        one_sentence(seglab(*argv), 2, "the file was changed outside SegLab")
        assert digest(path) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "p.seglab"]
