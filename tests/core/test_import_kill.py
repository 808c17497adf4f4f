"""An import killed with SIGKILL mid-way leaves the project exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seglab.core.importing import import_file
from seglab.core.project import Project

pytestmark = [pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX"), pytest.mark.slow]


def snapshot(path: Path):
    with Project.open(path, readonly=True) as project:
        conn = project.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "events",
                "users",
                "event_names",
                "user_days",
                "user_active_days",
                "properties",
                "imports",
            )
        } | {"ts": conn.execute("SELECT sum(ts) FROM events").fetchone()[0]}


def test_sigkill_mid_import_leaves_project_unchanged(tmp_path):
    project_path = tmp_path / "p.seglab"
    small = tmp_path / "small.csv"
    small.write_text("user_id,event,timestamp\nu1,login,2024-01-01T00:00:00Z\n")
    with Project.create(project_path) as project:
        import_file(project, small)
    before = snapshot(project_path)

    big = tmp_path / "big.csv"
    with open(big, "w") as fh:
        fh.write("user_id,event,timestamp,amount\n")
        for i in range(300_000):
            fh.write(f"u{i % 5000},e{i % 13},{1704067200000 + i * 1000},{i % 97}\n")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                from seglab.core.importing import import_file
                from seglab.core.project import Project
                with Project.open({str(project_path)!r}) as project:
                    import_file(project, {str(big)!r})
                """
            ),
        ]
    )
    wal = Path(str(project_path) + "-wal")
    deadline = time.monotonic() + 60
    # Wait until the transaction is visibly writing, then kill it without warning.
    while time.monotonic() < deadline and child.poll() is None:
        if wal.exists() and wal.stat().st_size > 2_000_000:
            break
        time.sleep(0.01)
    assert child.poll() is None, "the import finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert snapshot(project_path) == before
    # And the project still takes the same import afterwards.
    with Project.open(project_path) as project:
        assert import_file(project, big).rows_imported == 300_000
