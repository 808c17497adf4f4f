"""The minimal importer contract other engineers' tests rely on (builders + import_file)."""

from __future__ import annotations

from builders import build_project
from seglab.core.importing import import_file
from seglab.core.project import Project


def test_build_project_imports_accounts_users_events(tmp_path):
    path = build_project(
        tmp_path / "p.seglab",
        accounts=[{"account_id": "a1", "tier": "gold", "seats": 10}, {"account_id": "a2", "tier": "free"}],
        users=[{"user_id": "u1", "account_id": "a1", "plan": "pro"}, {"user_id": "u2", "plan": "free"}],
        events=[
            {"user_id": "u1", "event": "login", "timestamp": "2024-01-01T10:00:00.123Z", "amount": 3},
            {"user_id": "u2", "event": "login", "timestamp": 1704110400000, "account_id": "a2"},
            {"user_id": "u3", "event": "purchase", "timestamp": "2024-01-02 08:00:00", "amount": 2.5},
        ],
    )
    with Project.open(path, readonly=True) as project:
        conn = project.conn
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 3
        assert conn.execute("SELECT min(ts) FROM events").fetchone()[0] == 1704103200123
        users = dict(
            conn.execute(
                "SELECT u.user_id, a.account_id FROM users u LEFT JOIN accounts a USING (account_key)"
            )
        )
        assert users == {"u1": "a1", "u2": "a2", "u3": None}
        props = {(p.entity, p.name): p.type for p in project.properties()}
        assert props == {
            ("account", "tier"): "text",
            ("account", "seats"): "integer",
            ("user", "plan"): "text",
            ("event", "amount"): "real",
        }
        days = conn.execute("SELECT sum(n) FROM user_days").fetchone()[0]
        assert days == 3
        first, last = conn.execute("SELECT first_ts, last_ts FROM users WHERE user_id = 'u1'").fetchone()
        assert first == last == 1704103200123


def test_import_file_report_json_keys(project, tmp_path):
    csv_path = tmp_path / "ev.csv"
    csv_path.write_text("user_id,event,timestamp\nu1,login,2024-01-01\n,login,2024-01-01\n")
    report = import_file(project, csv_path)
    assert report.to_json().keys() == {
        "file",
        "kind",
        "rows_read",
        "rows_imported",
        "rows_rejected",
        "rejects_file",
        "seconds",
        "account_conflicts",  # issue 14: conflicts are counted in --json too
    }
    assert (report.kind, report.rows_read, report.rows_imported, report.rows_rejected) == ("events", 2, 1, 1)
    assert report.rejects_file == str(tmp_path / "ev.csv.rejects.csv")


def test_user_active_days_is_user_days_over_all_events(project, tmp_path, monkeypatch):
    """The any-event roll-up equals user_days summed per (user, day), across imports that add
    events to days already rolled up and across several flushes inside one import."""
    from seglab.core.importing.events import EventBatcher

    monkeypatch.setattr(EventBatcher, "DAYS_FLUSH_ROWS", 3)
    first = tmp_path / "a.csv"
    first.write_text(
        "user_id,event,timestamp\n"
        "u1,login,2024-01-01T10:00:00Z\nu1,view,2024-01-01T23:59:59.999Z\nu1,login,2024-01-02T00:00:00Z\n"
        "u2,view,2024-01-01T05:00:00Z\nu2,view,2024-01-01T04:00:00Z\nu1,login,2024-01-01T01:00:00Z\n"
    )
    second = tmp_path / "b.csv"
    second.write_text(
        "user_id,event,timestamp\nu1,buy,2024-01-01T00:30:00Z\nu2,view,2024-01-03T00:00:00Z\n"
        "u3,login,2024-01-02T12:00:00Z\nu2,login,2024-01-01T06:00:00Z\n"
    )
    import_file(project, first)
    import_file(project, second)
    conn = project.conn
    got = conn.execute("SELECT * FROM user_active_days ORDER BY user_key, day").fetchall()
    want = conn.execute(
        "SELECT user_key, day, sum(n), min(first_ts), max(last_ts) FROM user_days"
        " GROUP BY user_key, day ORDER BY user_key, day"
    ).fetchall()
    assert got == want
    assert len(got) == 5 and sum(r[2] for r in got) == 10
    per_user = conn.execute(
        "SELECT u.first_ts, u.last_ts, min(d.first_ts), max(d.last_ts) FROM users u"
        " JOIN user_active_days d USING (user_key) GROUP BY u.user_key"
    ).fetchall()
    assert all(a == c and b == d for a, b, c, d in per_user)
    # The all-days roll-ups, per (event, user) and per (event, day), from the same flushes.
    for table, keys, n_rows in (
        ("user_events", "event_key, user_key", 6),
        ("event_days", "event_key, day", 5),
    ):
        got = conn.execute(f"SELECT * FROM {table} ORDER BY {keys}").fetchall()
        want = conn.execute(
            f"SELECT {keys}, sum(n), min(first_ts), max(last_ts) FROM user_days"
            f" GROUP BY {keys} ORDER BY {keys}"
        ).fetchall()
        assert got == want and len(got) == n_rows and sum(r[2] for r in got) == 10
    # ... and the raw events agree (the roll-ups are not just consistent with each other).
    raw = conn.execute(
        "SELECT event_key, user_key, count(*), min(ts), max(ts) FROM events GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    assert raw == conn.execute("SELECT * FROM user_events ORDER BY event_key, user_key").fetchall()


def test_rows_go_in_whatever_the_statement_length(project, tmp_path, monkeypatch):
    """Rows are written in statements as long as the parameter limit allows, the rest in a few
    fixed shorter lengths, and the roll-ups go through runs on disk merged back by user range:
    with small limits every path is used, and nothing is lost or doubled."""
    from seglab.core.importing import csvrows, events

    monkeypatch.setattr(events, "max_params", lambda conn: 300)  # 42 event rows, 50 roll-up rows
    # Roll-ups spilled in runs of ~200 rows and merged back ~150 rows at a time.
    monkeypatch.setattr(events.EventBatcher, "DAYS_FLUSH_ROWS", 200)
    monkeypatch.setattr(events.EventBatcher, "MERGE_ROWS", 150)
    monkeypatch.setattr(csvrows, "READ_CHUNK", 8192)  # ~200 rows per batch: several runs per import
    lines = ["user_id,event,timestamp,plan,amount"]
    for i in range(1337):
        lines.append(f"u{i % 97},e{i % 5},2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,p{i % 3},{i}")
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines[:1000]) + "\n")
    assert import_file(project, path).rows_imported == 999
    path.write_text("\n".join(lines[:1] + lines[1000:]) + "\n")  # the same users and days again
    report = import_file(project, path)
    conn = project.conn
    assert report.rows_imported == 338
    assert conn.execute("SELECT count(*), sum(p2) FROM events").fetchone() == (1337, sum(range(1337)))
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 97
    raw = conn.execute(
        "SELECT user_key, event_key, ts / 86400000, count(*), min(ts), max(ts) FROM events "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ).fetchall()
    assert raw == conn.execute("SELECT * FROM user_days ORDER BY 1, 2, 3").fetchall()
    raw = conn.execute(
        "SELECT user_key, ts / 86400000, count(*), min(ts), max(ts) FROM events GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    assert raw == conn.execute("SELECT * FROM user_active_days ORDER BY 1, 2").fetchall()
    raw = conn.execute(
        "SELECT event_key, user_key, count(*), min(ts), max(ts) FROM events GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    assert raw == conn.execute("SELECT * FROM user_events ORDER BY 1, 2").fetchall()
    raw = conn.execute("SELECT user_key, min(ts), max(ts) FROM events GROUP BY 1 ORDER BY 1").fetchall()
    assert raw == conn.execute("SELECT user_key, first_ts, last_ts FROM users ORDER BY 1").fetchall()


def test_grouping_order_matches_lexsort():
    """The packed one-key sort groups like lexsort, and falls back to it for keys too wide to pack."""
    import numpy as np

    from seglab.core.importing.rollups import grouped

    rng = np.random.default_rng(7)
    narrow = (rng.integers(0, 50, 5000), rng.integers(-3, 4, 5000), rng.integers(19000, 19400, 5000))
    wide = (rng.integers(0, 2**40, 5000), rng.integers(0, 2**30, 5000))
    for keys in (narrow, wide, (rng.integers(0, 5, 3),)):
        order, starts = grouped(keys)
        expected = np.lexsort(tuple(reversed(keys)))
        for key in keys:
            assert (key[order] == key[expected]).all()
        rows = list(zip(*(key[order].tolist() for key in keys)))
        assert starts.tolist() == [i for i in range(len(rows)) if i == 0 or rows[i] != rows[i - 1]]
    empty = grouped((np.zeros(0, dtype=np.int64),))
    assert len(empty[0]) == 0 and len(empty[1]) == 0


def test_the_former_importer_module_still_names_what_other_code_imports():
    """Until code written against the single module moves to the package's modules, the names it
    imports from seglab.core.importing.importer resolve to the same objects."""
    import numpy as np

    from seglab.core.importing import catalogue, events, importer, pipeline, rejects, rollups, transaction

    assert importer._EventBatcher is events.EventBatcher and importer._KindRunner is pipeline.KindRunner
    assert importer._Prop is catalogue.Prop and importer._Rejects is rejects.Rejects
    assert importer._Runs is rollups.Runs and importer._plan_properties is catalogue.plan_properties
    assert importer._apply_properties is catalogue.apply_properties
    assert importer._widen_column is catalogue.widen_column
    assert importer._import_pragmas is transaction.import_pragmas
    assert importer._restore_pragmas is transaction.restore_pragmas
    assert importer._rollback is transaction.rollback
    assert importer.import_file is pipeline.import_file and importer._import_file is pipeline._import_file
    assert importer.ImportReport.__module__ == "seglab.core.importing.report"
    # The group-bys keep their old signature there (numpy first).
    keys = (np.array([2, 1, 2]), np.array([5, 5, 5]))
    ones = np.ones(3, dtype=np.int64)
    times = np.array([30, 10, 20])
    got = importer._group_sums(np, keys, ones, times, times)
    assert [a.tolist() for a in got] == [[1, 2], [5, 5], [1, 2], [10, 20], [10, 30]]
