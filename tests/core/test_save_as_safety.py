"""``Project.save_as`` and ``seglab.core.output``: nothing chosen as a target is lost or left half-written."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from builders import build_project
from seglab.core.errors import OutputError, ProjectError, StorageError
from seglab.core.output import write_text
from seglab.core.project import Project
from seglab.core.segments import list_saved, save_segment

EVERYONE = {"version": 1, "level": "user", "match": "all", "conditions": []}
EVENTS = [{"user_id": f"u{i}", "event": "login", "timestamp": "2024-01-02T10:00:00Z"} for i in range(20)]


def test_save_as_replaces_an_old_project_and_drops_its_stale_side_files(tmp_path):
    source = build_project(tmp_path / "a.seglab", events=EVENTS)
    old = build_project(tmp_path / "old.seglab", events=EVENTS[:3])
    (tmp_path / "old.seglab-wal").write_bytes(b"stale wal of a crashed session")
    with Project.open(source) as project:
        save_segment(project.conn, "everyone", EVERYONE)
        project.save_as(old)
    assert not (tmp_path / "old.seglab-wal").exists()
    with Project.open(old, readonly=True) as copy:
        assert copy.info()["users"] == 20 and [s.name for s in list_saved(copy.conn)] == ["everyone"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_save_as_writes_through_a_symlink(tmp_path):
    source = build_project(tmp_path / "a.seglab", events=EVENTS)
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.seglab"
    link.symlink_to(tmp_path / "real" / "copy.seglab")
    with Project.open(source, readonly=True) as project:
        project.save_as(link)
    assert link.is_symlink()
    with Project.open(tmp_path / "real" / "copy.seglab", readonly=True) as copy:
        assert copy.info()["users"] == 20


def test_save_as_refuses_the_same_file_and_non_regular_files(tmp_path):
    source = build_project(tmp_path / "a.seglab", events=EVENTS)
    os.mkfifo(tmp_path / "pipe.seglab")
    os.link(source, tmp_path / "hardlink.seglab")
    with Project.open(source, readonly=True) as project:
        with pytest.raises(ProjectError, match="different file name"):
            project.save_as(tmp_path / "hardlink.seglab")
        with pytest.raises(ProjectError, match=r"is a pipe \(FIFO\)"):
            project.save_as(tmp_path / "pipe.seglab")
        with pytest.raises(ProjectError, match="is a folder"):
            project.save_as(tmp_path)


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", "-l", str(where)])


def test_a_full_disk_leaves_the_old_target_whole_and_no_partial_file(tmp_path, small_disk):
    source = build_project(tmp_path / "a.seglab", events=EVENTS)
    kept = small_disk / "kept.seglab"
    kept.write_text("the old content\n")
    with Project.open(source, readonly=True) as project:
        with pytest.raises(StorageError, match="the disk is full"):
            project.save_as(kept)
    assert kept.read_text() == "the old content\n"
    with pytest.raises(StorageError, match="the disk is full; nothing was written"):
        write_text(kept, "x" * 1_000_000)
    assert kept.read_text() == "the old content\n"
    assert sorted(p.name for p in small_disk.iterdir()) == ["kept.seglab"]


def test_output_never_over_a_project_in_rollback_mode_either(tmp_path):
    # A SegLab project copied by Save As is in rollback-journal mode: still a project.
    source = build_project(tmp_path / "a.seglab", events=EVENTS)
    with Project.open(source, readonly=True) as project:
        project.save_as(tmp_path / "copy.seglab")
    conn = sqlite3.connect(tmp_path / "copy.seglab")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    with pytest.raises(OutputError, match="is a SegLab project"):
        write_text(tmp_path / "copy.seglab", "csv")
    # ... while any other SQLite database may be replaced by an output the person asked for.
    other = sqlite3.connect(tmp_path / "cache.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    write_text(tmp_path / "cache.db", "a,b\n")
    assert (tmp_path / "cache.db").read_text() == "a,b\n"
