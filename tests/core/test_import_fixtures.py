"""The committed fixtures in tests/data/import/ import as their README says."""

from __future__ import annotations

from pathlib import Path

import pytest

from seglab.core.errors import ImportFileError
from seglab.core.importing import import_file, preview

DATA = Path(__file__).resolve().parent.parent / "data" / "import"


def test_fixtures_import_in_order(project, tmp_path):
    reports = [
        import_file(project, DATA / name, rejects_dir=tmp_path)
        for name in ("accounts.csv", "users_semicolon.csv", "events_tricky.csv")
    ]
    assert [r.kind for r in reports] == ["accounts", "users", "events"]
    assert [(r.rows_read, r.rows_imported, r.rows_rejected) for r in reports] == [
        (3, 3, 0),
        (4, 4, 0),
        (10, 7, 3),
    ]
    assert reports[1].delimiter == ";"
    assert reports[2].encoding == "utf-8-sig"
    assert reports[2].reject_reasons == {"bad timestamp": 1, "wrong number of fields": 1, "no user id": 1}
    info = project.info()
    assert (info["users"], info["accounts"], info["events"]) == (4, 3, 7)
    assert info["first_event"] == "2024-01-02T09:00:00.000Z"
    names = {n for (n,) in project.conn.execute("SELECT name FROM event_names")}
    assert names == {"signup", "create_report", "purchase", "share_report", "login"}


def test_day_month_fixture_needs_a_format(project):
    path = DATA / "events_daymonth.tsv"
    assert "day/month" in preview(path).problem
    with pytest.raises(ImportFileError, match="day/month"):
        import_file(project, path)
    report = import_file(project, path, date_format="%d/%m/%Y %H:%M")
    assert report.rows_imported == 2
    assert project.info()["first_event"] == "2024-01-03T10:00:00.000Z"
