"""An empty column in a mapping means "this file has no such field" (issue: the wizard's "(none)")."""

from __future__ import annotations

import pytest

from seglab.core.errors import ImportFileError
from seglab.core.importing import import_file
from seglab.core.importing.mapping import resolve_mapping
from seglab.core.project import load_properties

COLUMNS = ("user_id", "event", "timestamp", "account_id", "plan")


@pytest.mark.parametrize("empty", ["", None])
def test_empty_column_unmaps_a_guessed_field(empty):
    guessed = resolve_mapping("e.csv", COLUMNS)
    assert guessed.fields["account_id"] == 3
    mapping = resolve_mapping("e.csv", COLUMNS, mapping={"account_id": empty})
    assert "account_id" not in mapping.fields
    assert mapping.fields["user_id"] == 0


def test_a_required_field_cannot_be_unmapped():
    with pytest.raises(ImportFileError, match="no user id column"):
        resolve_mapping("e.csv", COLUMNS, mapping={"user_id": ""})


def test_unmapped_account_column_is_imported_as_a_property(project, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user_id,event,timestamp,account_id\nu1,login,2024-01-01T00:00:00Z,a1\n")
    report = import_file(project, path, mapping={"account_id": ""})
    assert report.rows_imported == 1
    assert project.conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0
    assert project.conn.execute("SELECT account_key FROM users").fetchone()[0] is None
    assert [p.name for p in load_properties(project.conn, "event")] == ["account_id"]
