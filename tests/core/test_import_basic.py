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
