"""Project lifecycle, migrations and every refusal (the file must stay byte-identical)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from seglab.core.errors import ProjectError, ProjectLockedError
from seglab.core.project import Project
from seglab.core.storage import SCHEMA_VERSION, connect, migrate
from seglab.core.storage.schema import schema_version


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_then_open_has_schema_and_meta(tmp_path):
    path = tmp_path / "a.seglab"
    with Project.create(path) as proj:
        assert proj.meta("schema_version") == str(SCHEMA_VERSION)
        assert proj.meta("created")
        assert proj.info()["events"] == 0
    with Project.open(path) as proj:
        tables = {r[0] for r in proj.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"users", "accounts", "events", "event_names", "properties", "segments", "imports"} <= tables
        assert proj.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # closing the last connection removes the WAL side files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seglab"]


def test_migrate_from_empty_and_reapply_is_noop(tmp_path):
    path = tmp_path / "m.db"
    sqlite3.connect(path).close()
    conn = connect(path)
    assert schema_version(conn) == 0
    assert migrate(conn) == SCHEMA_VERSION
    before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert migrate(conn) == 0
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
    conn.close()


def test_create_refuses_existing_file(tmp_path):
    path = tmp_path / "a.seglab"
    path.write_text("keep me")
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(path)
    assert path.read_text() == "keep me"


def test_readonly_open_writes_nothing(tmp_path):
    path = tmp_path / "a.seglab"
    Project.create(path).close()
    before = digest(path)
    with Project.open(path, readonly=True) as proj:
        assert proj.info()["users"] == 0
        with pytest.raises(sqlite3.OperationalError):
            proj.conn.execute("DELETE FROM users")
    assert digest(path) == before


def _sqlite_file(path, sql):
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "no such project file"),
        ("empty", "the file is empty"),
        ("text", "not an SQLite database"),
        ("png", "not an SQLite database"),
        ("other_sqlite", "not a SegLab project"),
        ("newer", "newer SegLab"),
        ("damaged", "damaged"),
    ],
)
def test_refusals_leave_file_identical(tmp_path, case, expected):
    path = tmp_path / "x.seglab"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("user_id,event\n1,login\n")
    elif case == "png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    elif case == "other_sqlite":
        _sqlite_file(path, "CREATE TABLE invoices (id INTEGER)")
    elif case == "newer":
        Project.create(path).close()
        _sqlite_file(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    elif case == "damaged":
        Project.create(path).close()
        data = bytearray(path.read_bytes())
        # keep the header, scribble over the schema page and beyond
        data[100:] = bytes([0xA5]) * (len(data) - 100)
        path.write_bytes(bytes(data))
    before = digest(path) if path.exists() else None
    for readonly in (False, True):
        with pytest.raises(ProjectError, match=expected):
            Project.open(path, readonly=readonly)
    assert (digest(path) if path.exists() else None) == before
    assert not (tmp_path / "x.seglab-wal").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_readonly_location_refused(tmp_path):
    path = tmp_path / "ro.seglab"
    Project.create(path).close()
    os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(ProjectError, match="read-only"):
            Project.open(path)
    finally:
        os.chmod(tmp_path, 0o755)


def test_readonly_file_refused_for_writing(tmp_path):
    path = tmp_path / "ro.seglab"
    Project.create(path).close()
    before = digest(path)
    os.chmod(path, 0o444)
    try:
        if os.geteuid() == 0:
            pytest.skip("root ignores file permissions")
        with pytest.raises(ProjectError, match="read-only"):
            Project.open(path)
    finally:
        os.chmod(path, 0o644)
    assert digest(path) == before


def test_lock_held_by_a_command_names_it(tmp_path):
    path = tmp_path / "b.seglab"
    Project.create(path).close()
    holder = Project.open(path, purpose="seglab import")
    try:
        with pytest.raises(
            ProjectLockedError,
            match=r"b.seglab is in use by `seglab import` \(process \d+ on .+\); try again",
        ):
            Project.open(path)
    finally:
        holder.close()


def test_lock_in_same_process(tmp_path):
    path = tmp_path / "a.seglab"
    first = Project.create(path)
    with pytest.raises(
        ProjectLockedError,
        match=r"a.seglab is open in another SegLab window \(process \d+ on [^,)]+\); close it",
    ):
        Project.open(path)
    # readers do not need the lock
    Project.open(path, readonly=True).close()
    first.close()
    Project.open(path).close()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from seglab.core.project import Project
    p = Project.open(sys.argv[1])
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_lock_across_processes_and_stale_lock_taken_over(tmp_path):
    path = tmp_path / "a.seglab"
    Project.create(path).close()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectLockedError) as info:
            Project.open(path)
        assert f"process {proc.pid}" in str(info.value)
    finally:
        proc.kill()  # a crash: the lock file stays behind, the OS lock does not
        proc.wait()
        proc.stdout.close()
    assert (tmp_path / "a.seglab.lock").exists()
    with Project.open(path) as proj:
        assert proj.info()["events"] == 0


def test_save_as_copies_consistently(tmp_path):
    path = tmp_path / "a.seglab"
    with Project.create(path) as proj:
        proj.set_as_of_pin(1_700_000_000_000)
        copy = proj.save_as(tmp_path / "b.seglab")
    with Project.open(copy) as other:
        assert other.as_of_pin() == 1_700_000_000_000
        assert other.as_of() == 1_700_000_000_000


def test_damage_past_the_schema_reads_as_damaged_in_the_cli(tmp_path):
    """Opening reads only the schema and small tables; later damage still gets the sentence."""
    import json

    from builders import build_project

    path = build_project(
        tmp_path / "big.seglab",
        events=[
            {"user_id": f"u{i}", "event": "login", "timestamp": 1_700_000_000 + i} for i in range(20_000)
        ],
    )
    data = bytearray(path.read_bytes())
    page_size = 4096
    # scribble over pages in the second half (event rows / indexes), keep the schema page intact
    start = (len(data) // 2 // page_size) * page_size
    data[start : start + 8 * page_size] = bytes([0x5A]) * (8 * page_size)
    path.write_bytes(bytes(data))
    out = subprocess.run(
        [sys.executable, "-m", "seglab", "info", str(path), "--json"], capture_output=True, text=True
    )
    if out.returncode == 0:  # the scribble missed every page info reads: still valid output
        json.loads(out.stdout)
        with Project.open(path, readonly=True) as proj:
            assert proj.check_integrity() is False
    else:
        assert out.returncode == 2, out.stderr
        assert "damaged" in out.stderr and "Traceback" not in out.stderr


def _drop_version_4(conn) -> None:
    conn.execute("DROP TABLE people_text_fts")  # people search, added by version 4
    conn.execute("DROP TABLE people_text")


def _as_version_1(path) -> list[tuple]:
    """Turn a project into what SegLab 1 wrote (no user_events); return the table it had."""
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT * FROM user_events ORDER BY event_key, user_key").fetchall()
    conn.execute("DROP TABLE user_events")
    conn.execute("DROP TABLE event_days")
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND (name LIKE 'users\\_%' ESCAPE '\\' "
        "OR name LIKE 'accounts\\_%' ESCAPE '\\') AND name NOT IN ('users_account')"
    ).fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("ALTER TABLE accounts DROP COLUMN first_ts")  # added by version 3
    conn.execute("ALTER TABLE accounts DROP COLUMN last_ts")
    _drop_version_4(conn)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    return rows


@pytest.mark.parametrize("readonly", [False, True])
def test_a_version_1_project_gains_user_events_on_open(tmp_path, readonly):
    from builders import build_project

    path = build_project(
        tmp_path / "old.seglab",
        users=[{"user_id": "u1", "plan": "pro"}],
        events=[
            {"user_id": "u1", "event": "login", "timestamp": "2024-03-01T10:00:00Z"},
            {"user_id": "u1", "event": "login", "timestamp": "2024-03-04T09:00:00Z"},
            {"user_id": "u2", "event": "buy", "timestamp": "2024-03-02T23:59:59.999Z"},
            {"user_id": "u1", "event": "buy", "timestamp": "2024-03-03T00:00:00Z"},
        ],
    )
    built = _as_version_1(path)
    assert len(built) == 3
    with Project.open(path, readonly=readonly) as proj:
        assert proj.meta("schema_version") == str(SCHEMA_VERSION)
        got = proj.conn.execute("SELECT * FROM user_events ORDER BY event_key, user_key").fetchall()
        days = proj.conn.execute("SELECT event_key, day, n FROM event_days ORDER BY 1, 2").fetchall()
        indexes = {r[0] for r in proj.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"users_first_ts", "users_last_ts", "users_p1", "user_events_last"} <= indexes
    assert got == built
    assert days == [(1, 19783, 1), (1, 19786, 1), (2, 19784, 1), (2, 19785, 1)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".seglab", ".lock", ".seglab-wal")) == [
        "old.seglab"
    ]


def test_a_version_2_project_gains_the_last_seen_index_on_a_readonly_open(tmp_path):
    from builders import build_project

    path = build_project(
        tmp_path / "v2.seglab",
        users=[{"user_id": "u1", "account_id": "A1"}],
        accounts=[{"account_id": "A1"}, {"account_id": "A2"}],
        events=[{"user_id": "u1", "event": "login", "timestamp": "2024-03-01T10:00:00Z"}]
        + [{"user_id": "u1", "event": "view", "timestamp": f"2024-03-0{d}T10:00:00Z"} for d in range(2, 9)]
        + [{"user_id": "u1", "event": "buy", "timestamp": "2024-03-09T10:00:00Z", "amount": 5}],
    )
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX user_events_last")
    conn.execute("DROP INDEX IF EXISTS events_p1_set")
    conn.execute("ALTER TABLE accounts DROP COLUMN first_ts")
    conn.execute("ALTER TABLE accounts DROP COLUMN last_ts")
    _drop_version_4(conn)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with Project.open(path, readonly=True) as proj:
        assert proj.meta("schema_version") == str(SCHEMA_VERSION)
        times = proj.conn.execute("SELECT account_id, first_ts, last_ts FROM accounts ORDER BY 1").fetchall()
        indexes = {r[0] for r in proj.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = proj.conn.execute(
            "EXPLAIN QUERY PLAN SELECT user_key FROM user_events WHERE event_key = 1 AND last_ts > 0"
        ).fetchall()
        assert proj.check_integrity() is True
    assert "user_events_last" in str(plan)
    assert "events_p1_set" in indexes  # amount: on 1 of 9 events
    # u1's first and last events (2024-03-01 and 03-09, 10:00Z) for u1's account; none for an
    # account without users.
    assert times == [("A1", 1709287200000, 1709978400000), ("A2", None, None)]
