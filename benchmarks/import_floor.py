"""How fast could any importer be that writes what ``seglab import`` writes? A floor, beside ``.import``.

    python benchmarks/import_floor.py                  # 1M rows, medians of 5
    python benchmarks/import_floor.py --rows 5000000 --repeat 3

The import's target is a share of the sqlite3 shell's ``.import`` rate, but the two do not write
the same thing: ``.import`` fills one table of text columns, without an index; a SegLab import
leaves the project ready to query, with the events table's two indexes, four roll-up tables,
users, accounts and event names, all in one transaction of a WAL project, checkpointed when the
project closes. This script measures the SQLite part of that alone:

1. the benchmark events file (benchmarks/datagen.py) is imported once with ``seglab import``
   (untimed); that project holds exactly the rows an import writes;
2. an empty copy of it (same tables, columns and indexes) is made;
3. timed, in a child process: SegLab's own connection settings and import pragmas, the finished
   project attached, then ``BEGIN IMMEDIATE``, one ``INSERT … SELECT`` per table in the
   order an import writes them (accounts, users, event names, events, the roll-ups),
   ``COMMIT`` and the checkpoint ``Project.close`` runs. No file is parsed, no key looked up, no
   value passes through Python, nothing is staged;
4. ``.import`` of the same CSV, in turns with step 3.

Step 3 leaves out what an import also does (the people-search index, statistics, the ``imports``
row, links and users' times as separate updates, reading the finished project is included), so
the real floor is a little higher. ``--engine adbc`` runs step 3 with the SQLite the ADBC driver
carries (a newer version) instead of Python's ``sqlite3``: the floor of an import that would let
ADBC write the project from a process of its own.

It prints the medians and the best ratio to ``.import`` such an importer could reach on this
machine: the ceiling for ``benchmarks/import_bench.py``'s ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datagen import generate  # noqa: E402
from import_bench import run  # noqa: E402

# In the order an events import writes them (keys first, then rows, then roll-ups).
TABLES = (
    "accounts",
    "users",
    "event_names",
    "events",
    "user_days",
    "user_events",
    "event_days",
    "user_active_days",
)

CHILD = r"""
import sys
engine, target, source = sys.argv[1:4]
tables = sys.argv[4:]
if engine == "sqlite3":
    from seglab.core.importing.transaction import import_pragmas
    from seglab.core.storage.connection import connect

    conn = connect(target)  # SegLab's connection settings (WAL, synchronous NORMAL, ...)
    import_pragmas(conn)  # and the import's (page cache, no mmap)
    run = conn.execute
else:
    import adbc_driver_sqlite.dbapi as dbapi

    conn = dbapi.connect(target, autocommit=True)
    cur = conn.cursor()
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -32768", "foreign_keys = ON"):
        cur.execute("PRAGMA " + pragma)
        cur.fetchall()

    def run(sql, params=()):
        cur.execute(sql, params)
        if cur.description:
            cur.fetchall()

run("ATTACH DATABASE ? AS done", (source,))
run("BEGIN IMMEDIATE")
for table in tables:
    order = "ORDER BY rowid" if table in ("events", "users", "accounts", "event_names") else ""
    run(f"INSERT INTO main.{table} SELECT * FROM done.{table} {order}")
run("COMMIT")
run("DETACH DATABASE done")
run("PRAGMA wal_checkpoint(TRUNCATE)")
conn.close()
"""


def finished_project(n: int, events: Path, work: Path) -> Path:
    """The project ``seglab import`` makes of the events file (made once, untimed)."""
    done = work / f"done_{n}.seglab"
    seglab = [sys.executable, "-m", "seglab"]
    subprocess.run([*seglab, "new", str(done)], check=True, capture_output=True)
    subprocess.run([*seglab, "import", str(done), str(events)], check=True, capture_output=True)
    return done


def empty_copy(done: Path, template: Path) -> None:
    """``done`` with every row of ``TABLES`` gone: the same columns and indexes, nothing in them."""
    shutil.copyfile(done, template)
    conn = sqlite3.connect(template, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")  # our own table names
        conn.execute("VACUUM")
    finally:
        conn.close()


def floor(n: int, data_root: Path, work: Path, repeat: int, engine: str) -> dict:
    events, _users, _accounts = generate(data_root / f"events_{n}", n)
    done = finished_project(n, events, work)
    template = work / "empty.seglab"
    empty_copy(done, template)
    target = work / "floor.seglab"
    ref = work / "ref.db"
    sqlite3_shell = shutil.which("sqlite3")
    if sqlite3_shell is None:
        raise SystemExit("the sqlite3 shell is needed for the reference (apt-get install sqlite3)")
    floors, refs = [], []
    for _ in range(repeat):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, target)
        wall, cpu, rss, _ = run([sys.executable, "-c", CHILD, engine, str(target), str(done), *TABLES])
        floors.append((wall, cpu, rss))
        ref.unlink(missing_ok=True)
        wall, cpu, _, _ = run([sqlite3_shell, str(ref), "-cmd", ".mode csv", f".import {events} events"])
        refs.append((wall, cpu))
    check = sqlite3.connect(target)
    try:
        assert check.execute("SELECT count(*) FROM events").fetchone()[0] == n
    finally:
        check.close()
    floor_wall = statistics.median(f[0] for f in floors)
    floor_cpu = statistics.median(f[1] for f in floors)
    ref_wall = statistics.median(r[0] for r in refs)
    ref_cpu = statistics.median(r[1] for r in refs)
    return {
        "rows": n,
        "engine": engine,
        "runs": repeat,
        "floor_s": round(floor_wall, 2),
        "floor_s_all": [round(f[0], 2) for f in floors],
        "floor_cpu_s": round(floor_cpu, 2),
        "ref_s": round(ref_wall, 2),
        "ref_s_all": [round(r[0], 2) for r in refs],
        "ref_cpu_s": round(ref_cpu, 2),
        "best_ratio": round(ref_wall / floor_wall, 2),
        "best_cpu_ratio": round(ref_cpu / floor_cpu, 2),
        "floor_rss_mb": max(f[2] for f in floors),
        "project_mb": round(os.path.getsize(target) / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="the SQLite floor of an import, against sqlite3 .import")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data-dir", default=os.environ.get("SEGLAB_BENCH_DATA", "/tmp/seglab-bench-data"))
    parser.add_argument("--repeat", type=int, default=5, help="runs (medians are reported)")
    parser.add_argument("--engine", choices=("sqlite3", "adbc"), default="sqlite3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seglab-import-floor-") as work:
        result = floor(args.rows, Path(args.data_dir), Path(work), max(1, args.repeat), args.engine)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
