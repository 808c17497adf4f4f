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


def test_ids_the_project_does_not_have_are_a_warning_not_an_error(tmp_path):
    from builders import build_project
    from seglab.core.project import Project
    from seglab.core.segments import problems

    path = build_project(tmp_path / "p.seglab", users=[{"user_id": "u1"}, {"user_id": "u2"}])
    with Project.open(path, readonly=True) as p:
        seg = load_definition(list_definition(["u1", "u2"]))
        assert problems(p.conn, seg) == []
        (one,) = problems(p.conn, load_definition(list_definition(["u1", "x9", "x8"])))
        assert one.severity == "warning" and one.path == "conditions[0].ids"
        assert (
            one.message
            == "2 of the 3 ids are not users in this project (they match nobody until an import adds them)"
        )
        (none,) = problems(p.conn, load_definition(list_definition(["A1"], "account")))
        assert none.message.startswith("none of the 1 ids is an account in this project")
