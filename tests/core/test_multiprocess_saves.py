"""Issue #14 §1: a save reported as done survives other processes and a SIGKILL.

Process A (tests/core/multiproc_writer.py) holds the project open for writing; in A, one
of the issue's paths opens the project again read-only; process B (``seglab info``,
``seglab segment list``) opens and closes it. B must never remove A's -wal/-shm, A keeps
writing, and after A is killed every save it reported is in the file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from builders import build_project
from seglab.core.project import Project
from seglab.core.segments import list_saved

WRITER = Path(__file__).with_name("multiproc_writer.py")


class Writer:
    def __init__(self, path: Path):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._answer() == "ok open"

    def _answer(self) -> str:
        line = self.proc.stdout.readline().strip()
        assert line, "the writer process died"
        return line

    def do(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()


def seglab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seglab", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def project_path(tmp_path):
    path = tmp_path / "shared.seglab"
    build_project(
        path,
        events=[
            {"user_id": f"u{i}", "event": "login", "timestamp": f"2024-01-{1 + i % 28:02d}T10:00:00Z"}
            for i in range(40)
        ],
    )
    return path


@pytest.mark.parametrize("path_in_a", ["check", "readonly", "save-copy", "worksheet", "reader"])
def test_saves_survive_readers_in_both_processes_and_a_sigkill(tmp_path, project_path, path_in_a):
    wal = Path(str(project_path) + "-wal")
    shm = Path(str(project_path) + "-shm")
    arg = {"save-copy": f" {tmp_path / 'copy.seglab'}", "worksheet": f" {tmp_path / 'sheet.html'}"}.get(
        path_in_a, ""
    )
    a = Writer(project_path)
    try:
        assert a.do("save one") == "ok save"
        assert wal.exists() and shm.exists()
        side_files = (wal.stat().st_ino, shm.stat().st_ino)

        assert a.do(path_in_a + arg) == f"ok {path_in_a}"
        info = seglab("info", str(project_path), "--json")  # process B opens and closes
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["segments"] == 1
        # B never removes A's side files (nor replaces them).
        assert (wal.stat().st_ino, shm.stat().st_ino) == side_files

        assert a.do("save two") == "ok save"  # A keeps writing ...
        listed = seglab("segment", "list", str(project_path), "--json")
        assert listed.returncode == 0, listed.stderr
        assert [s["name"] for s in json.loads(listed.stdout)] == ["one", "two"]  # ... where B sees it
        assert (wal.stat().st_ino, shm.stat().st_ino) == side_files
        assert a.do("save three") == "ok save"
    finally:
        a.kill()  # SIGKILL: no close, no checkpoint
    with Project.open(project_path, readonly=True) as project:
        assert [s.name for s in list_saved(project.conn)] == ["one", "three", "two"]
    if path_in_a == "save-copy":
        with Project.open(tmp_path / "copy.seglab", readonly=True) as copy:
            assert [s.name for s in list_saved(copy.conn)] == ["one"]
