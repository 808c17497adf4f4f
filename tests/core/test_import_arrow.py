"""The Arrow fast path of events imports gives byte-for-byte the exact path's project.

Each test imports the same files twice, once with ``SEGLAB_IMPORT_EXACT=1`` (the exact path
alone) and once with the fast path, and compares every table row for row, SQLite storage
classes included, plus the reports and the rejects files.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from seglab.core.importing import arrowpath, import_file
from seglab.core.project import Project

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from datagen import generate

# Roll-ups have no rowid: ordered by their keys.
KEYED = {
    "user_days": "user_key, event_key, day",
    "user_active_days": "user_key, day",
    "user_events": "event_key, user_key",
    "event_days": "event_key, day",
}
SKIP = {"meta"}  # its creation time


def snapshot(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        out = {}
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE '%fts_%' ORDER BY name"
            )
        ]
        for table in tables:
            if table in SKIP:
                continue
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            if table == "imports":
                cols = [c for c in cols if c not in ("seconds", "imported_at", "file_path", "rejects_file")]
            select = ", ".join(f"{c}, typeof({c})" for c in cols)
            order = KEYED.get(table, "rowid")
            out[table] = conn.execute(f"SELECT {select} FROM {table} ORDER BY {order}").fetchall()
        out["schema"] = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())
        return out
    finally:
        conn.close()


def import_both(tmp_path: Path, monkeypatch, files: list[Path], **options) -> tuple[dict, dict, list, list]:
    """(fast snapshot, exact snapshot, fast reports, exact reports)."""
    results = []
    for mode in ("0", "1"):
        monkeypatch.setenv("SEGLAB_IMPORT_EXACT", mode)
        path = tmp_path / f"mode{mode}.seglab"
        rejects = tmp_path / f"rejects{mode}"
        rejects.mkdir()
        project = Project.create(path)
        try:
            reports = [import_file(project, f, rejects_dir=rejects, **options) for f in files]
        finally:
            project.close()
        texts = sorted((p.name, p.read_text(encoding="utf-8")) for p in rejects.iterdir())
        results.append((snapshot(path), [_report(r) for r in reports], texts))
    (fast, fast_reports, fast_rejects), (exact, exact_reports, exact_rejects) = results
    assert fast_rejects == exact_rejects
    return fast, exact, fast_reports, exact_reports


def _report(report) -> dict:
    keep = (
        "kind rows_read rows_imported rows_rejected duplicates_skipped new_users new_accounts "
        "account_conflicts account_conflicts_from_file reject_reasons properties"
    ).split()
    return {k: getattr(report, k) for k in keep}


def assert_same(fast: dict, exact: dict) -> None:
    assert fast.keys() == exact.keys()
    for table in exact:
        assert len(fast[table]) == len(exact[table]), table
        for i, (a, b) in enumerate(zip(fast[table], exact[table], strict=True)):
            assert a == b, f"{table} row {i}: {a} != {b}"


@pytest.fixture
def arrow_blocks(monkeypatch):
    """Counts the blocks the fast path imported on Arrow (so a test knows it ran)."""
    counts = {"arrow": 0}
    original = arrowpath.ArrowCsv._arrow_block

    def counted(self, body, line_base):
        done = original(self, body, line_base)
        counts["arrow"] += done
        return done

    monkeypatch.setattr(arrowpath.ArrowCsv, "_arrow_block", counted)
    return counts


def test_benchmark_data_is_byte_equal(tmp_path, monkeypatch, arrow_blocks):
    events, users, accounts = generate(tmp_path / "data", 30_000)
    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 256 * 1024)  # several blocks
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [accounts, users, events])
    assert arrow_blocks["arrow"] >= 4
    assert fast_reports == exact_reports
    assert len(exact["events"]) == 30_000
    assert_same(fast, exact)


def test_events_before_the_users_file_are_byte_equal(tmp_path, monkeypatch, arrow_blocks):
    events, users, accounts = generate(tmp_path / "data", 20_000)
    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 128 * 1024)
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [events, accounts, users])
    assert arrow_blocks["arrow"] >= 4
    assert fast_reports == exact_reports
    assert_same(fast, exact)


def _messy_events(path: Path, rows: int = 6_000) -> Path:
    """Events with everything the fast path hands to the exact one, spread over many blocks."""
    lines = ["user_id,event,timestamp,account_id,insert_id,count,price,flag,note"]
    for i in range(rows):
        ts = f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}Z"
        count = str(i % 17)
        price = f"{i % 100}.{i % 7}5"
        flag = ("true", "no", "Y", "")[i % 4]
        note = ("plain", "", " spaced ", "é ü")[i % 4]
        iid = f"id{i % 3000}" if i % 3 == 0 else ""  # duplicates once past 3,000
        account = f"acct{i % 37}" if i % 5 else ""
        user = f"u{i % 411}"
        if i == 1500:
            count = "2.5"  # widens count to real
        if i == 2100:
            ts = "not a time"
        if i == 2500:
            user = "  "
        if i == 3100:
            lines.append("u1,ragged,row")
        if i == 3500:
            ts = "1709251200"  # epoch seconds in an ISO column
        if i == 3900:
            lines.append("")
        if i == 5200:
            note = '"quoted, with comma"'
        lines.append(",".join((user, f"ev{i % 9}", ts, account, iid, count, price, flag, note)))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def test_messy_file_gives_the_exact_rejects_and_rows(tmp_path, monkeypatch, arrow_blocks):
    events = _messy_events(tmp_path / "messy.csv")
    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 16 * 1024)
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [events])
    assert arrow_blocks["arrow"] >= 5
    assert fast_reports == exact_reports
    assert exact_reports[0]["rows_rejected"] == 3  # bad time, no user id, ragged
    assert exact_reports[0]["duplicates_skipped"] > 0
    assert dict(exact_reports[0]["properties"])["count"] == "real"
    assert_same(fast, exact)


def test_a_second_file_against_existing_keys_and_insert_ids(tmp_path, monkeypatch, arrow_blocks):
    first = _messy_events(tmp_path / "first.csv", 3_000)
    second = tmp_path / "second.csv"
    second.write_text(
        "user_id,event,timestamp,insert_id,count\n"
        + "".join(f"u{i % 900},ev{i % 4},2024-04-01T10:00:{i % 60:02d}Z,id{i},{i}\n" for i in range(4_000)),
        encoding="utf-8",
    )
    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 16 * 1024)
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [first, second])
    assert arrow_blocks["arrow"] >= 5
    assert fast_reports == exact_reports
    assert exact_reports[1]["duplicates_skipped"] > 0
    assert_same(fast, exact)


@pytest.fixture
def arrow_columns(monkeypatch):
    """Counts the batches of any format imported on Arrow."""
    counts = {"arrow": 0}
    original = arrowpath.ArrowColumns.columns

    def counted(self, cols, raw=None):
        done = original(self, cols, raw)
        counts["arrow"] += done
        return done

    monkeypatch.setattr(arrowpath.ArrowColumns, "columns", counted)
    return counts


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv.gz"])
def test_other_formats_through_the_staging_file_are_byte_equal(tmp_path, monkeypatch, fmt, arrow_columns):
    import gzip
    import json

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    events, _users, _accounts = generate(tmp_path / "data", 5_000)
    target = tmp_path / f"events.{fmt}"
    if fmt == "csv.gz":
        target.write_bytes(gzip.compress(events.read_bytes()))
    else:
        zoned = {"timestamp": pa.timestamp("ms", "UTC")}
        table = pacsv.read_csv(events, convert_options=pacsv.ConvertOptions(column_types=zoned))
        if fmt == "parquet":
            pq.write_table(table, target, row_group_size=1000)
        else:
            with open(target, "w", encoding="utf-8") as out:
                for row in table.to_pylist():
                    row["timestamp"] = row["timestamp"].isoformat().replace("+00:00", "Z")
                    out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [target])
    assert fast_reports == exact_reports
    assert len(exact["events"]) == 5_000
    assert_same(fast, exact)
    # Plain and gzip CSV are read in blocks; Parquet a row group at a time; JSON lines by the exact batcher.
    assert (arrow_columns["arrow"] > 0) == (fmt != "jsonl")


@pytest.mark.parametrize("zone", [None, "Europe/Berlin"])
def test_parquet_of_every_column_type_is_byte_equal(tmp_path, monkeypatch, arrow_columns, zone):
    import math

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 3_000
    monkeypatch.setattr(arrowpath.ArrowParquet, "ROWS", 500)
    seconds = pa.array([1_709_251_200 + 37 * i for i in range(n)], type=pa.timestamp("s"))
    table = pa.table(
        {
            "user_id": pa.array([None if i == 700 else i % 97 for i in range(n)], type=pa.int64()),
            "event": pa.array([f"ev{i % 5}" for i in range(n)]).dictionary_encode(),
            "timestamp": seconds,
            "ms_zoned": pa.array([1_709_251_200_123 + i for i in range(n)], type=pa.timestamp("ms", "UTC")),
            "amount": pa.array(
                [None if i % 7 == 0 else math.nan if i % 11 == 0 else i / 8 for i in range(n)]
            ),
            "ratio": pa.array([math.inf if i == 2_400 else 0.5 for i in range(n)]),
            "count": pa.array([i for i in range(n)], type=pa.int32()),
            "flag": pa.array([None if i % 3 == 0 else i % 2 == 0 for i in range(n)]),
            "context": pa.array([{"plan": f"p{i % 3}", "seats": i % 4} for i in range(n)]),
            "big": pa.array([2**62 if i == 1_800 else i for i in range(n)], type=pa.int64()),
        }
    )
    target = tmp_path / "events.parquet"
    pq.write_table(table, target, row_group_size=700)
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [target], timezone=zone)
    # A source time zone for naive times: the exact batcher (the fast path parses UTC only).
    assert (arrow_columns["arrow"] >= 3) == (zone is None)
    assert fast_reports == exact_reports
    assert exact_reports[0]["rows_rejected"] == 1  # no user id
    kinds = dict(exact_reports[0]["properties"])
    assert kinds["ratio"] == "text" and kinds["big"] == "text"
    assert_same(fast, exact)


@pytest.fixture
def staging_dir(tmp_path, monkeypatch) -> Path:
    """A private temporary folder (``TMPDIR``) for the staging files, so a test sees them all."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return folder


def test_the_staging_file_is_gone_after_an_import_and_after_a_cancel(tmp_path, monkeypatch, staging_dir):

    from seglab.core.errors import Cancelled
    from seglab.core.progress import Progress

    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 64 * 1024)
    events, _users, _accounts = generate(tmp_path / "data", 10_000)
    project = Project.create(tmp_path / "p.seglab")

    class CancelLater(Progress):
        def __init__(self):
            self.calls = 0

        def report(self, done, total, message=""):
            pass

        def is_cancelled(self) -> bool:
            self.calls += 1
            return self.calls > 12

    with pytest.raises(Cancelled):
        import_file(project, events, progress=CancelLater())
    assert list(staging_dir.iterdir()) == []
    assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert [r[1] for r in project.conn.execute("PRAGMA database_list")] == ["main"]
    report = import_file(project, events)
    assert report.rows_imported == 10_000
    assert list(staging_dir.iterdir()) == []
    assert [r[1] for r in project.conn.execute("PRAGMA database_list")] == ["main"]
    project.close()


def test_a_killed_imports_staging_folder_goes_with_the_next_import(tmp_path, monkeypatch, staging_dir):
    import subprocess

    child = [sys.executable, "-c", "import os; print(os.getpid())"]
    gone = subprocess.run(child, capture_output=True, text=True)
    orphan = staging_dir / f"seglab-staging-{int(gone.stdout)}-abc"
    orphan.mkdir()
    (orphan / "staging.sqlite").write_bytes(b"x" * 100)
    alive = staging_dir / f"seglab-staging-{os.getppid()}-def"  # a running process's
    alive.mkdir()
    events = tmp_path / "events.csv"
    events.write_text("user_id,event,timestamp\nu1,login,2024-01-01T00:00:00Z\n", encoding="utf-8")
    project = Project.create(tmp_path / "p.seglab")
    try:
        assert import_file(project, events).rows_imported == 1
    finally:
        project.close()
    assert not orphan.exists()
    assert alive.exists()


def test_spilled_roll_up_runs_give_the_same_roll_ups(tmp_path, monkeypatch, arrow_blocks):
    from seglab.core.importing.events import EventBatcher

    events, users, accounts = generate(tmp_path / "data", 20_000)
    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(EventBatcher, "DAYS_FLUSH_ROWS", 700)  # many runs
    monkeypatch.setattr(EventBatcher, "MERGE_ROWS", 900)  # many user ranges
    monkeypatch.setattr(arrowpath.StagedBatcher, "MERGE_ROWS", 900)
    merged = []
    original = arrowpath._FileRuns.ranges

    def ranges(self, rows):
        merged.append(len(self.runs))
        yield from original(self, rows)

    monkeypatch.setattr(arrowpath._FileRuns, "ranges", ranges)
    fast, exact, fast_reports, exact_reports = import_both(tmp_path, monkeypatch, [accounts, events, users])
    assert arrow_blocks["arrow"] >= 4
    assert merged and merged[0] > 5
    assert fast_reports == exact_reports
    assert_same(fast, exact)


def _import_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith(("seglab-adbc", "seglab-rollups"))]


@pytest.mark.parametrize("fail_at", [3, "roll-ups"])
def test_a_failed_staging_write_on_its_thread_fails_the_import(tmp_path, monkeypatch, staging_dir, fail_at):
    """ADBC writes on a thread of its own, and the roll-ups are staged on another while the events
    are copied: a failure there (here: the disk filling up) still stops the import, rolls it back
    and leaves no staging file and no thread behind."""
    import errno

    from seglab.core.errors import UserError
    from seglab.core.importing import writer

    monkeypatch.setattr(arrowpath, "BLOCK_BYTES", 64 * 1024)
    events, _users, _accounts = generate(tmp_path / "data", 10_000)
    project = Project.create(tmp_path / "p.seglab")
    calls = []
    ingest = writer.Staging._ingest

    def failing(self, table, data, create):
        calls.append(table)
        failed = table.startswith("rollup") if fail_at == "roll-ups" else len(calls) == fail_at
        if failed:
            raise OSError(errno.ENOSPC, "no space left for the staging file", str(self.path))
        return ingest(self, table, data, create)

    monkeypatch.setattr(writer.Staging, "_ingest", failing)
    with pytest.raises(UserError, match="no space left for the import's temporary files"):
        import_file(project, events)
    assert any(t.startswith("rollup") for t in calls) == (fail_at == "roll-ups")
    assert list(staging_dir.iterdir()) == []
    assert _import_threads() == []
    assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert project.conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    assert project.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    assert [r[1] for r in project.conn.execute("PRAGMA database_list")] == ["main"]
    monkeypatch.setattr(writer.Staging, "_ingest", ingest)
    assert import_file(project, events).rows_imported == 10_000
    assert _import_threads() == []
    project.close()


def test_a_cancel_while_the_roll_ups_are_staged_changes_nothing(tmp_path, monkeypatch, staging_dir):
    """Cancelled after the file is read, while the events are copied and the roll-ups staged."""

    from seglab.core.errors import Cancelled
    from seglab.core.progress import Progress

    events, _users, _accounts = generate(tmp_path / "data", 10_000)
    project = Project.create(tmp_path / "p.seglab")

    class CancelAtTheRollUps(Progress):
        def report(self, done, total, message=""):
            pass

        def is_cancelled(self) -> bool:
            import threading

            return threading.current_thread().name == "seglab-rollups"

    with pytest.raises(Cancelled):
        import_file(project, events, progress=CancelAtTheRollUps())
    assert list(staging_dir.iterdir()) == []
    assert _import_threads() == []
    assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert project.conn.execute("SELECT count(*) FROM user_days").fetchone()[0] == 0
    project.close()
