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
    }
    assert (report.kind, report.rows_read, report.rows_imported, report.rows_rejected) == ("events", 2, 1, 1)
    assert report.rejects_file == str(tmp_path / "ev.csv.rejects.csv")


def test_user_active_days_is_user_days_over_all_events(project, tmp_path, monkeypatch):
    """The any-event roll-up equals user_days summed per (user, day), across imports that add
    events to days already rolled up and across several flushes inside one import."""
    from seglab.core.importing import importer

    monkeypatch.setattr(importer._EventBatcher, "DAYS_FLUSH_ROWS", 3)
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
