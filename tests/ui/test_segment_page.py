"""The Segments page: library (filter, duplicate, rename, delete with undo), save, Ctrl+S, unsaved edits."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from segment_data import make_project

from seglab.core import segments
from seglab.core.project import Project
from seglab.ui.widgets.segment_page import SegmentsPageWidget

pytestmark = pytest.mark.gui

ENTERPRISE = {
    "version": 1,
    "level": "account",
    "match": "all",
    "conditions": [
        {"type": "property", "entity": "account", "property": "tier", "op": "eq", "value": "enterprise"}
    ],
}
PRO = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}


@pytest.fixture
def project_file(tmp_path):
    path = make_project(tmp_path / "b2b.seglab")
    with Project.open(path) as project:
        segments.save_segment(project.conn, "Enterprise accounts", ENTERPRISE)
        segments.save_segment(project.conn, "Pro users", PRO)
    return path


@pytest.fixture
def page(qtbot, session, stack):
    widget = SegmentsPageWidget(session, stack)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    settle(qtbot, widget)
    yield widget
    widget.shutdown()


def settle(qtbot, page) -> None:
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)


def names(page) -> list[str]:
    return page.library.model.names()


def test_library_lists_saved_segments_with_level_size_and_description(qtbot, page):
    model = page.library.model
    assert names(page) == ["Enterprise accounts", "Pro users"]
    ent = model.index(model.row_of("Enterprise accounts"), 1)
    assert ent.data() == "2"
    pro = model.index(model.row_of("Pro users"), 0)
    assert pro.data(Qt.ItemDataRole.ToolTipRole) == "User segment: Users whose plan is pro"
    assert model.index(model.row_of("Pro users"), 1).data() == "4"
    assert pro.data(Qt.ItemDataRole.DecorationRole) is not None
    qtbot.keyClicks(page.library.filter_edit, "pro")
    assert page.library.proxy.rowCount() == 1
    page.library.filter_edit.clear()
    assert page.library.proxy.rowCount() == 2


def test_selecting_opens_in_builder_and_save_with_ctrl_s(qtbot, page, session, stack):
    page.library.select("Pro users")
    builder = page.builder
    assert builder.model.saved_name == "Pro users"
    assert builder.name_edit.text() == "Pro users"
    assert not builder.model.is_dirty()
    row = builder.row_at(("conditions", 0))
    row.editor.filter.operator.pick("neq")
    assert builder.model.is_dirty()
    assert builder.dirty_label.text() == "● unsaved"
    qtbot.waitUntil(lambda: builder.save_button.isEnabled(), timeout=10_000)
    builder.name_edit.setFocus()
    qtbot.keyClick(builder.name_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not builder.model.is_dirty()
    assert segments.get_saved(session.project.conn, "Pro users").definition.conditions[0].filter.op == "neq"
    settle(qtbot, page)
    model = page.library.model
    assert model.index(model.row_of("Pro users"), 1).data() == "4"  # u3 u5 u6 u8
    assert page.library.current_name() == "Pro users"


def test_switching_with_unsaved_edits_asks(qtbot, page, message_log):
    page.library.select("Pro users")
    page.builder.row_at(("conditions", 0)).editor.filter.operator.pick("neq")
    message_log.answer = False
    page.library.select("Enterprise accounts")
    assert message_log[-1].text == "Discard the unsaved changes to Pro users?"
    assert page.builder.model.saved_name == "Pro users"
    assert page.library.current_name() == "Pro users"
    assert not page.maybe_close()
    message_log.answer = True
    page.library.select("Enterprise accounts")
    assert page.builder.model.saved_name == "Enterprise accounts"
    assert page.maybe_close()


def test_new_segment_save_blocked_without_name(qtbot, page, session):
    page.new_segment("user")
    builder = page.builder
    builder.conditions.add_condition("first_seen")
    qtbot.waitUntil(lambda: not builder.is_counting(), timeout=10_000)
    assert not builder.save_button.isEnabled()
    assert builder.save_reason.text() == "Give the segment a name to save it."
    qtbot.keyClicks(builder.name_edit, "New this month")
    qtbot.waitUntil(lambda: builder.save_button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(builder.save_button, Qt.MouseButton.LeftButton)
    assert "New this month" in [s.name for s in segments.list_saved(session.project.conn)]
    settle(qtbot, page)
    assert page.library.current_name() == "New this month"


def test_duplicate_rename_delete_with_undo(qtbot, page, session, stack, message_log):
    conn = session.project.conn
    page.library.select("Pro users")
    qtbot.mouseClick(page.library.duplicate_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro users", "Pro users copy"]
    assert stack.undoText() == "Duplicate segment 'Pro users'"

    assert page.library.rename("Pro users copy", "Pro again")
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro again", "Pro users"]
    stack.undo()
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro users", "Pro users copy"]
    stack.redo()
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro again", "Pro users"]

    message_log.answer = False
    assert not page.library.delete("Pro again")
    assert message_log[-1].level == "question"
    message_log.answer = True
    assert page.library.delete("Pro again")
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro users"]
    assert stack.undoText() == "Delete segment 'Pro again'"
    stack.undo()
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro again", "Pro users"]
    assert segments.get_saved(conn, "Pro again").level == "user"


def test_rename_refused_shows_the_core_message(qtbot, page, message_log):
    assert not page.library.rename("Pro users", "Enterprise accounts")
    assert message_log[-1].level == "error"
    assert "already exists" in message_log[-1].text


def test_renaming_the_open_segment_updates_the_builder_title(qtbot, page):
    page.library.select("Pro users")
    assert page.library.rename("Pro users", "Pro plan users")
    assert page.builder.model.saved_name == "Pro plan users"
    assert page.builder.name_edit.text() == "Pro plan users"
    assert not page.builder.model.is_dirty()


def test_builder_undo_after_opening_another_segment_does_not_leak(qtbot, page, stack, message_log):
    page.library.select("Pro users")
    page.builder.row_at(("conditions", 0)).editor.filter.operator.pick("neq")
    message_log.answer = True
    page.library.select("Enterprise accounts")
    before = page.builder.definition()
    stack.undo()  # the "Change operator" of the other segment: dropped, nothing changes
    assert page.builder.definition() == before


def test_delete_key_in_the_library_asks_and_deletes(qtbot, page, message_log):
    page.library.select("Pro users")
    message_log.answer = True
    page.library.view.setFocus()
    qtbot.keyClick(page.library.view, Qt.Key.Key_Delete)
    assert message_log[-1].title == "Delete segment?"
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts"]
    assert page.builder.model.saved_name is None  # the open segment is now an unsaved draft


def test_closing_and_reopening_the_project_resets_the_page(qtbot, page, session):
    page.library.select("Pro users")
    path = session.path
    session.close()
    settle(qtbot, page)
    assert names(page) == []
    assert page.builder.definition()["conditions"] == []
    assert not page.library.new_button.isEnabled()
    assert page.builder.save_blocker() == "Open a project to build segments."
    session.open(path)
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Pro users"]
    assert page.library.new_button.isEnabled()


def test_in_saved_segment_condition_offers_segments_of_the_same_level(qtbot, page, session):
    page.new_segment("user")
    builder = page.builder
    builder.conditions.add_condition("segment")
    editor = builder.row_at(("conditions", 0)).editor
    assert [editor.combo.itemText(i) for i in range(editor.combo.count())] == ["Pro users"]
    assert builder.definition()["conditions"][0] == {"type": "segment", "segment": "Pro users"}
    qtbot.mouseClick(builder.row_at(("conditions", 0)).negate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not builder.is_counting(), timeout=10_000)
    seg = segments.load_definition(builder.definition())
    assert builder.preview.total == segments.count(session.project.conn, seg) == 4
    assert builder.description_label.text() == segments.describe(seg)


def test_library_totals_a_numeric_property_over_the_selected_segment(qtbot, page):
    library = page.library
    choices = [library.sum_combo.itemText(i) for i in range(library.sum_combo.count())]
    assert choices == ["account.seats", "user.age"] and library.sum_combo.currentData() == "account.seats"
    with qtbot.waitSignal(library._summary_worker.succeeded, timeout=10_000):
        library.select("Pro users")
    # Pro users u1, u2 (acme), u4 (globex), u7 (initech): each account's seats once.
    qtbot.waitUntil(lambda: "80" in library.sum_label.text(), timeout=10_000)
    assert library.sum_label.text() == "= <b>80</b> over 4 users"
    with qtbot.waitSignal(library._summary_worker.succeeded, timeout=10_000):
        library.sum_combo.setCurrentIndex(library.sum_combo.findData("user.age"))
    library.select("Enterprise accounts")
    qtbot.waitUntil(lambda: "190" in library.sum_label.text(), timeout=10_000)  # the accounts' users' ages
    assert library.sum_label.text() == "= <b>190</b> over 2 accounts"


def test_new_segment_from_a_pasted_list_of_ids(qtbot, page, session):
    menu = page.library.new_button.menu()
    action = next(a for a in menu.actions() if a.text() == "Accounts from a list of ids…")
    action.trigger()
    builder = page.builder
    dialog = builder.row_at(("conditions", 0)).editor.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.text.setPlainText("acme\tinitech\n")
    dialog.accept()
    qtbot.keyClicks(builder.name_edit, "Two accounts")
    qtbot.waitUntil(lambda: builder.save_button.isEnabled(), timeout=10_000)
    assert builder.preview.total == 2
    qtbot.mouseClick(builder.save_button, Qt.MouseButton.LeftButton)
    saved = segments.get_saved(session.project.conn, "Two accounts")
    assert saved.level == "account"
    assert segments.member_ids(session.project.conn, saved.definition) == ["acme", "initech"]


def test_deleting_a_segment_others_use_is_refused_before_asking(qtbot, page, session, message_log):
    uses = {"level": "user", "conditions": [{"type": "segment", "segment": "Pro users"}]}
    segments.save_segment(session.project.conn, "Pro and more", uses)
    segments.save_segment(session.project.conn, "Also pro", uses)
    message_log.answer = True
    assert not page.library.delete("Pro users")
    assert [m.level for m in message_log] == ["error"]  # no "Delete? You can undo" first
    assert message_log[-1].text == (
        "'Pro users' cannot be deleted: the segments 'Also pro', 'Pro and more' use it. "
        "Remove it from them first."
    )
    assert "Pro users" in [s.name for s in segments.list_saved(session.project.conn)]


def test_history_panel_lists_diffs_and_restores_undoably(qtbot, page, session, stack, qtmodeltester):
    conn = session.project.conn
    free = {**PRO, "conditions": [{**PRO["conditions"][0], "value": "free"}]}
    segments.save_segment(conn, "Pro users", free)
    page.library.reload()
    settle(qtbot, page)
    page.library.select("Pro users")
    history = page.history
    qtbot.waitUntil(lambda: history.model.rowCount() == 2 and not history.is_loading(), timeout=10_000)
    qtmodeltester.check(history.model)
    assert history.title.text() == "History of Pro users (2 versions)"
    assert history.model.data(history.model.index(0, 0)) == "2 (current)"
    assert history.model.data(history.model.index(1, 2)) == "Users whose plan is pro"
    history.select(1)
    text = history.diff.toPlainText()
    assert "Version 1 → version 2" in text
    assert "− whose plan is pro" in text and "+ whose plan is free" in text
    assert history.restore_button.isEnabled()
    qtbot.mouseClick(history.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: history.model.rowCount() == 3 and not history.is_loading(), timeout=10_000)
    assert segments.get_saved(conn, "Pro users").definition == segments.load_definition(PRO)
    assert page.builder.definition()["conditions"][0]["value"] == "pro"  # the builder shows it
    assert stack.undoText() == "Restore version 1 of 'Pro users'"
    stack.undo()
    qtbot.waitUntil(lambda: history.model.rowCount() == 2 and not history.is_loading(), timeout=10_000)
    assert segments.get_saved(conn, "Pro users").definition == segments.load_definition(free)
    assert page.builder.definition()["conditions"][0]["value"] == "free"
    stack.redo()
    qtbot.waitUntil(lambda: history.model.rowCount() == 3 and not history.is_loading(), timeout=10_000)
    # Two versions selected: compared with each other.
    history.select(1, 2)
    assert "Version 1 → version 2" in history.diff.toPlainText()
    assert not history.restore_button.isEnabled()


def test_segments_that_cannot_be_evaluated_are_listed_with_their_problem(qtbot, page, session, message_log):
    conn = session.project.conn
    deep = '{"conditions":[' + '{"type":"group","conditions":[' * 40 + "]}" * 40 + "]}"
    orphan = '{"level":"user","conditions":[{"type":"segment","segment":"Deleted meanwhile"}]}'
    with conn:
        conn.executemany(
            "INSERT INTO segments(name, level, definition, created, updated) VALUES (?, 'user', ?, '', '')",
            [("Deep", deep), ("Orphan", orphan)],
        )
    page.library.reload()
    settle(qtbot, page)
    model = page.library.model
    assert names(page) == ["Deep", "Enterprise accounts", "Orphan", "Pro users"]
    assert model.index(model.row_of("Pro users"), 1).data() == "4"
    for name, problem in (
        ("Deep", "nest too deeply"),
        ("Orphan", "no saved segment named 'Deleted meanwhile'"),
    ):
        index = model.index(model.row_of(name), 1)
        assert index.data() == "–"
        assert problem in index.data(Qt.ItemDataRole.ToolTipRole)
        assert index.data(Qt.ItemDataRole.ForegroundRole) is not None
    page.library.grab().save("/tmp/inputs-library.png")
    assert page.open_segment("Orphan")  # it reads: the builder shows it with its problem
    assert page.builder.model.saved_name == "Orphan"
    assert page.builder.definition()["conditions"][0]["segment"] == "Deleted meanwhile"
    assert page.open_segment("Deep")  # unreadable: said, and opened afresh under its name
    assert message_log[-1].title == "Segment cannot be read"
    assert "nest too deeply" in message_log[-1].text
    assert page.builder.model.saved_name == "Deep" and page.builder.definition()["conditions"] == []
    message_log.answer = True
    assert page.library.delete("Deep")
    settle(qtbot, page)
    assert names(page) == ["Enterprise accounts", "Orphan", "Pro users"]
