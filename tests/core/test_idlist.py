"""Lists of ids from pasted text and files (the `list` condition's input)."""

from __future__ import annotations

import pytest

from seglab.core.errors import SegLabError, SegmentError
from seglab.core.segments import load_definition
from seglab.core.segments.idlist import list_definition, parse_ids, read_ids_file


def test_parse_ids_lines_commas_tabs_quotes_header_and_repeats():
    assert parse_ids('user_id\n"u1"\r\nu2, u3\tu4;u1\n\n') == ["u1", "u2", "u3", "u4"]
    assert parse_ids("id") == []
    assert parse_ids("u9\nid") == ["u9", "id"]  # only a first cell is a header


def test_read_ids_file_picks_the_id_column(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text('\ufeffname,account_id\nAcme,A1\n"Globex, Inc",A2\n')
    assert read_ids_file(f) == ["A1", "A2"]
    plain = tmp_path / "ids.txt"
    plain.write_text("u1\nu2\n")
    assert read_ids_file(plain) == ["u1", "u2"]
    (tmp_path / "empty.txt").write_text("id\n")
    with pytest.raises(SegLabError, match="no ids in this file"):
        read_ids_file(tmp_path / "empty.txt")
    (tmp_path / "bin.dat").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(SegLabError, match="not a text file"):
        read_ids_file(tmp_path / "bin.dat")


def test_list_definition_loads_and_limits_are_checked():
    seg = load_definition(list_definition(["u1", "u2"], "account"))
    assert seg.level == "account" and seg.conditions[0].ids == ("u1", "u2")
    assert load_definition({"conditions": [{"type": "list", "ids": [17, "a"]}]}).conditions[0].ids == (
        "17",
        "a",
    )
    for bad, message in (
        ([], "non-empty list of ids"),
        ("u1", "non-empty list of ids"),
        ([None], r"conditions\[0\]\.ids\[0\]: expected an id"),
        ([""], "expected an id"),
        (["x"] * 1_000_001, "at most 1,000,000 ids"),
    ):
        with pytest.raises(SegmentError, match=message):
            load_definition({"conditions": [{"type": "list", "ids": bad}]})
