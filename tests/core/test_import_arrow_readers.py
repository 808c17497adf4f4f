"""Readers in other processes hold the project open during a fast-path import.

The ADBC driver carries its own SQLite: if it ever opened the project, closing it would drop
the import's POSIX locks, and a reader closing its own connection could then checkpoint and
delete the live -wal file (docs/performance.md, "Import"). Here reader processes open, read and
close the project over and over while ``seglab import`` writes a large events file through the
Arrow path; afterwards the project is intact, each reader saw the events either all or not at
all, and the import's -wal file was never replaced while it ran.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from datagen import generate

READER = r"""
import json, sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
seen = set()
rounds = 0
import os
error = None
while not os.path.exists(stop) and error is None:
    conn = sqlite3.connect(path, timeout=30)
    try:
        seen.add(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        conn.execute("SELECT count(*) FROM user_days").fetchone()
    except sqlite3.Error as exc:  # e.g. "database disk image is malformed"
        error = str(exc)
    finally:
        conn.close()
    rounds += 1
    time.sleep(0.005)
print(json.dumps({"seen": sorted(seen), "rounds": rounds, "error": error}))
"""

# The import as the CLI runs it, saying when it holds the project open and when it is done.
WRITER = r"""
import json, sys
from seglab.core.importing import import_file
from seglab.core.project import Project
project = Project.open(sys.argv[1])
project.conn.execute("SELECT count(*) FROM events").fetchone()
print("open", flush=True)
report = import_file(project, sys.argv[2])
print(json.dumps(report.to_json()), flush=True)
sys.stdin.readline()
project.close()
"""


def test_readers_in_other_processes_during_a_fast_path_import(tmp_path):
    events, users, accounts = generate(tmp_path / "data", 150_000)
    project = tmp_path / "shared.seglab"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), SEGLAB_IMPORT_EXACT="0")
    seglab = [sys.executable, "-m", "seglab"]
    subprocess.run([*seglab, "new", str(project)], check=True, env=env, capture_output=True)
    for path in (accounts, users):
        subprocess.run([*seglab, "import", str(project), str(path)], check=True, env=env, capture_output=True)
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(project), str(stop)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    time.sleep(0.5)  # the readers are reading before the import starts
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(project), str(events)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert writer.stdout.readline().strip() == "open"
    wal = Path(f"{project}-wal")
    inodes = set()
    done = []

    def wait_for_report():
        done.append(writer.stdout.readline())

    import threading

    waiting = threading.Thread(target=wait_for_report)
    waiting.start()
    while not done:  # the writer holds the project open all along
        try:
            inodes.add(wal.stat().st_ino)
        except FileNotFoundError:
            inodes.add(None)
        time.sleep(0.005)
    waiting.join()
    out = done[0]
    if not out.startswith("{"):
        stop.touch()
        raise AssertionError(writer.communicate("close\n", timeout=60)[1])
    time.sleep(0.3)  # the readers see the committed import too
    stop.touch()
    seen = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    _, err = writer.communicate("close\n", timeout=60)
    assert writer.returncode == 0, err
    assert json.loads(out)["rows_imported"] == 150_000
    # One -wal file while the import ran: nobody deleted it from under the writer.
    assert len(inodes) == 1 and None not in inodes, inodes
    for reader in seen:
        assert reader["error"] is None, reader
        assert reader["rounds"] > 5
        assert set(reader["seen"]) <= {0, 150_000}, reader
        assert 150_000 in reader["seen"], reader
    conn = sqlite3.connect(project)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 150_000
        assert conn.execute("SELECT sum(n) FROM user_days").fetchone()[0] == 150_000
        unset = (
            "SELECT count(*) FROM users WHERE first_ts IS NULL AND user_key IN (SELECT user_key FROM events)"
        )
        # Every user with events has first/last times.
        assert conn.execute(unset).fetchone()[0] == 0
    finally:
        conn.close()
