"""preview(): what the import wizard shows before importing (nothing is written)."""

from __future__ import annotations

import pytest

from seglab.core.errors import ImportFileError
from seglab.core.importing import import_order, preview, sniff_file


def test_preview_detects_kind_types_and_warnings(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text(
        "distinct_id;event_name;time;plan;n\n"
        "u1;a;2024-01-01;pro;1\n;a;2024-01-01;pro;2\nu2;a;garbage;free;3\nu3;a\n",
        encoding="utf-8",
    )
    result = preview(path)
    assert result.kind == "events"
    assert result.problem is None
    assert result.mapping.to_dict() == {"user_id": "distinct_id", "timestamp": "time", "event": "event_name"}
    assert result.property_types == {"plan": "text", "n": "integer"}
    assert result.sniff.delimiter_name == "semicolon"
    assert result.sniff.encoding == "utf-8"
    assert result.warnings == (
        "1 of 4 sampled rows have no user id; they will be rejected",
        "1 of 4 sampled rows have unreadable timestamps; they will be rejected",
        "1 of 4 sampled rows have the wrong number of fields; they will be rejected",
    )


def test_preview_reports_problems_instead_of_raising(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("colour,size\nred,1\n")
    result = preview(path)
    assert result.mapping is None and "cannot tell what kind" in result.problem
    amb = tmp_path / "amb.csv"
    amb.write_text("user_id,event,timestamp\nu1,a,01/02/2024\n")
    assert "day/month" in preview(amb).problem
    assert preview(amb, date_format="%d/%m/%Y").problem is None
    remapped = preview(path, kind="accounts", mapping={"account_id": "colour"})
    assert remapped.kind == "accounts" and remapped.property_types == {"size": "integer"}


def test_preview_refuses_binary(tmp_path):
    path = tmp_path / "img.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ImportFileError, match="PNG"):
        preview(path)


def test_sniff_estimates_rows_of_a_big_file(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("user_id,event,timestamp\n" + "u1,login,2024-01-01T00:00:00Z\n" * 50_000)
    estimate = sniff_file(path).estimated_rows
    assert 45_000 < estimate < 55_000


def test_import_order():
    assert import_order({"e.csv": "events", "a.csv": "accounts", "u.csv": "users"}) == [
        "a.csv",
        "u.csv",
        "e.csv",
    ]
