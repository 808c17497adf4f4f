"""The members list: loading by keys and by definition, sorting, CSV export, profiles."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from seglab.core import profiles
from seglab.core.storage.connection import connect
from seglab.ui.widgets.members_widget import MembersListWidget, open_members_dialog
from seglab.ui.widgets.profile_dialogs import AccountProfileDialog, UserProfileDialog

pytestmark = pytest.mark.gui


def _keys(session, level, ids):
    conn = connect(session.path, readonly=True)
    try:
        return profiles.keys_for_ids(conn, level, ids)
    finally:
        conn.close()


def test_safe_cell_escapes_formulas_but_keeps_numbers():
    from seglab.core.csvout import format_cell, safe_cell

    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+49 30") == "'+49 30"
    assert safe_cell("-GB") == "'-GB"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("\rx") == "'\rx"
    assert safe_cell(format_cell(-5)) == "-5"
    assert safe_cell(format_cell(-2.5)) == "-2.5"
    assert safe_cell("-12.5") == "-12.5"  # a plain number written as text stays a number
    assert safe_cell("plain") == "plain"
    assert format_cell(None) == ""


def test_set_members_loads_sorts_and_exports(qtbot, session, tmp_path):
    widget = MembersListWidget(session)
    qtbot.addWidget(widget)
    keys = _keys(session, "user", ["u5", "u1", "u8"])
    with qtbot.waitSignal(widget.loaded, timeout=10_000) as blocker:
        widget.set_members("user", keys, "Picked")
    assert blocker.args == [3]
    assert widget.header_label.text() == "Picked — 3 users"
    model = widget.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[:4] == ["user_id", "account", "first seen", "last seen"]
    assert {"plan", "country", "age"} <= set(headers)
    age = headers.index("age")
    widget.view.sortByColumn(age, Qt.SortOrder.DescendingOrder)
    assert [model.row_values(r)[0] for r in range(3)] == ["u5", "u1", "u8"]
    widget.view.sortByColumn(age, Qt.SortOrder.AscendingOrder)
    assert [model.row_values(r)[0] for r in range(3)] == ["u8", "u1", "u5"]

    out = tmp_path / "members.csv"
    assert widget.export_csv(out) == 3
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["user_id", "account"]
    country = rows[0].index("country")
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["u5"][country] == "'=cmd|' /C calc'!A0"
    assert by_id["u8"][country] == "'-GB"
    assert by_id["u1"][rows[0].index("age")] == "31"
    assert by_id["u1"][rows[0].index("first seen")].startswith("2024-03-20T09:00:00")


def test_accounts_and_dialog(qtbot, session):
    keys = _keys(session, "account", ["acme", "umbrella"])
    dialog = open_members_dialog(session, "account", keys, "Two accounts")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.members.loaded, timeout=10_000):
        pass
    assert dialog.windowTitle() == "Two accounts — 2 accounts"
    model = dialog.members.model
    row = {model.row_values(r)[0]: model.row_values(r) for r in range(model.rowCount())}
    assert row["acme"][1] == 3  # users
    dialog.close()


def test_double_click_opens_profiles(qtbot, session):
    widget = MembersListWidget(session)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.set_members("user", _keys(session, "user", ["u1"]), "One")
    dialog = widget.open_profile("user", widget.model.key_at(0))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.profile is not None, timeout=10_000)
    assert dialog.profile.user_id == "u1"
    assert dialog.profile.account_id == "acme"
    assert dict(dialog.profile.event_counts) == {"create_report": 3, "login": 1}
    assert dialog.timeline_model.rowCount() == 4
    first = dialog.timeline_model.data(dialog.timeline_model.index(0, 0))
    assert first == "2024-03-26 10:00:00"  # newest first
    dialog.close()

    account_key = _keys(session, "account", ["acme"])[0]
    acc = AccountProfileDialog(session, account_key)
    qtbot.addWidget(acc)
    qtbot.waitUntil(lambda: acc.profile is not None, timeout=10_000)
    h = acc.profile.health
    assert h.active_users_7d == 1  # u1 on 2024-03-25/26; as-of 2024-03-31T12:00
    assert h.active_users_30d == 3
    assert h.events_30d == 8
    assert h.events_per_active_user_30d == pytest.approx(8 / 3)
    assert acc.users_model.rowCount() == 3
    assert acc.timeline_model.rowCount() == 8
    acc.close()


def test_user_profile_dialog_unknown_key_shows_message(qtbot, session):
    dialog = UserProfileDialog(session, 999_999)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.load_failed, timeout=10_000):
        pass
    assert "no user with key 999999" in dialog.title_label.text()
    dialog.close()


def test_hundred_thousand_rows_are_virtual_and_sort(qtbot):
    # Speed is measured by benchmarks, not asserted here (CI machines are noisy).
    from seglab.ui.models.members_model import MembersTableModel

    n = 100_000
    rows = [(f"u{i:06d}", "acme", i * 1000, None, n - i) for i in range(n)]
    table = profiles.MemberTable(
        "user",
        ("user_id", "account", "first seen", "last seen", "score"),
        ("text", "text", "datetime", "datetime", "integer"),
        tuple(range(n)),
        rows,
    )
    model = MembersTableModel()
    model.set_table(table)
    model.sort(4, Qt.SortOrder.AscendingOrder)
    assert model.rowCount() == n
    assert model.data(model.index(0, 0)) == f"u{n - 1:06d}"
    assert model.key_at(0) == n - 1
    assert model.data(model.index(n - 1, 4)) == f"{n:,}"


def test_save_as_segment_from_a_drill_down_list(qtbot, session, message_log):
    from seglab.core import segments

    widget = MembersListWidget(session)
    qtbot.addWidget(widget)
    assert not widget.save_segment_button.isEnabled()
    keys = _keys(session, "user", ["u5", "u1", "u8"])
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.set_members("user", keys, "Dropped at step 2")
    assert widget.save_segment_button.isEnabled()
    with qtbot.waitSignal(session.segments_changed, timeout=1_000):
        assert widget.save_as_segment("Dropped") == "Dropped"
    conn = session.project.conn
    saved = segments.get_saved(conn, "Dropped")
    assert segments.dump_definition(saved.definition)["conditions"] == [
        {"type": "list", "ids": sorted(["u1", "u5", "u8"])}
    ]
    assert segments.member_ids(conn, saved.definition) == ["u1", "u5", "u8"]
    # An existing name is only replaced after a Yes.
    message_log.answer = False
    assert widget.save_as_segment("Dropped") is None
    assert message_log[-1].title == "Replace segment?"
    # Accounts too, with their account ids.
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.set_members("account", _keys(session, "account", ["globex"]), "Accounts")
    widget.save_as_segment("Globex only")
    assert segments.member_ids(conn, segments.get_saved(conn, "Globex only").definition) == ["globex"]
