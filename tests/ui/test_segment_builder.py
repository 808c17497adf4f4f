"""The segment builder driven as a person would; definitions and counts checked against the core."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt, QTimer

from seglab.core import profiles, segments
from seglab.core.errors import Cancelled, SegmentError
from seglab.core.storage.connection import connect
from seglab.ui.models.segment_builder_model import CONDITION_LABELS
from seglab.ui.widgets.segment_builder import SegmentBuilderWidget

pytestmark = pytest.mark.gui


@pytest.fixture
def builder(qtbot, session, stack):
    widget = SegmentBuilderWidget(session, stack)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.reload_catalogue()
    qtbot.waitUntil(lambda: not widget.is_catalogue_loading(), timeout=10_000)
    yield widget
    widget.shutdown()


def core_count(session, definition) -> int:
    conn = connect(session.path, readonly=True)
    try:
        return segments.count(conn, segments.load_definition(definition))
    finally:
        conn.close()


def core_problems(session, definition) -> list[str]:
    conn = connect(session.path, readonly=True)
    try:
        return [p.message for p in segments.problems(conn, segments.load_definition(definition))]
    finally:
        conn.close()


def add_condition(conditions_list, kind: str) -> None:
    """Open the "+ Add condition" menu and pick an entry, as a person would."""
    menu = conditions_list.add_menu
    menu.aboutToShow.emit()
    action = next(a for a in menu.actions() if a.text() == CONDITION_LABELS[kind])
    action.trigger()


def settle(qtbot, builder) -> None:
    qtbot.waitUntil(lambda: not builder.is_counting(), timeout=10_000)


def test_property_condition_pick_operator_type_value(qtbot, builder, session, stack):
    add_condition(builder.conditions, "property")
    row = builder.row_at(("conditions", 0))
    editor = row.editor.filter
    editor.picker.pick("user", "plan")
    # only the operators the operator table allows for a text property are offered
    assert editor.operator.ops() == [o.op for o in segments.operators_for_type("text")]
    editor.operator.pick("in")
    qtbot.keyClicks(editor.value_editor.line, "pro, free")
    assert builder.definition()["conditions"] == [
        {"type": "property", "entity": "user", "property": "plan", "op": "in", "value": ["pro", "free"]}
    ]
    settle(qtbot, builder)
    expected = core_count(session, builder.definition())
    assert expected == 8
    assert builder.preview.total == expected
    assert builder.total_label.text() == "8 users"
    assert builder.share_label.text() == "100.0% of 8"
    assert row.count_label.text() == "8"
    sentence = segments.describe(segments.load_definition(builder.definition()))
    assert builder.description_label.text() == sentence
    # typing merged into one undo step; the menu label says what it undoes
    assert stack.undoText() == "Change value"
    assert [stack.text(i) for i in range(stack.count())] == [
        "Add property condition",
        "Choose property",
        "Change operator",
        "Change value",
    ]


def test_numeric_property_uses_a_spin_box_and_between_two_values(qtbot, builder, session):
    add_condition(builder.conditions, "property")
    editor = builder.row_at(("conditions", 0)).editor.filter
    editor.picker.pick("user", "age")
    editor.operator.pick("between")
    low, high = editor.value_editor.low, editor.value_editor.high
    low.spin.setValue(25)
    high.spin.setValue(40)
    assert builder.definition()["conditions"][0]["value"] == [25, 40]
    settle(qtbot, builder)
    assert builder.preview.total == core_count(session, builder.definition()) == 4  # u1 u3 u4 u6


def test_group_negate_undo_redo(qtbot, builder, session, stack):
    add_condition(builder.conditions, "property")
    builder.row_at(("conditions", 0)).editor.filter.picker.pick("user", "country")
    qtbot.keyClicks(builder.row_at(("conditions", 0)).editor.filter.value_editor.line, "US")
    add_condition(builder.conditions, "group")
    group = builder.row_at(("conditions", 1)).editor.list
    add_condition(group, "behavior")
    inner = builder.row_at(("conditions", 1, "conditions", 0))
    inner.editor.event_picker.pick("login")
    qtbot.mouseClick(builder.row_at(("conditions", 1)).negate, Qt.MouseButton.LeftButton)
    expected = {
        "version": 1,
        "level": "user",
        "match": "all",
        "conditions": [
            {"type": "property", "entity": "user", "property": "country", "op": "eq", "value": "US"},
            {
                "type": "group",
                "match": "any",
                "negate": True,
                "conditions": [
                    {
                        "type": "behavior",
                        "event": "login",
                        "where": [],
                        "measure": {"fn": "count"},
                        "compare": {"op": "gte", "value": 1},
                        "window": {"last_days": 30},
                    },
                ],
            },
        ],
    }
    assert builder.definition() == expected
    settle(qtbot, builder)
    # US users: u2 u3 u7; who logged in during the last 30 days: u2 u3 u7 -> none left
    assert builder.preview.total == core_count(session, expected) == 0
    assert builder.row_at(("conditions", 1)).count_label.text() == f"{builder.preview.alone[1]:,}"
    # rows inside a group show their own count too
    login = {"version": 1, "level": "user", "conditions": [expected["conditions"][1]["conditions"][0]]}
    nested_row = builder.row_at(("conditions", 1, "conditions", 0))
    assert nested_row.count_label.text() == str(core_count(session, login)) == "5"

    assert stack.undoText() == "Negate condition"
    stack.undo()
    assert "negate" not in builder.definition()["conditions"][1]
    assert not builder.row_at(("conditions", 1)).negate.isChecked()
    stack.undo()  # event
    assert builder.definition()["conditions"][1]["conditions"][0]["event"] != "login"
    stack.redo()
    stack.redo()
    assert builder.definition() == expected
    assert builder.row_at(("conditions", 1)).negate.isChecked()
    settle(qtbot, builder)
    assert builder.preview.total == 0

    # move the group up, then remove it
    qtbot.mouseClick(builder.row_at(("conditions", 1)).up, Qt.MouseButton.LeftButton)
    assert builder.definition()["conditions"][0]["type"] == "group"
    assert stack.undoText() == "Move condition"
    qtbot.mouseClick(builder.row_at(("conditions", 0)).remove, Qt.MouseButton.LeftButton)
    assert [c["type"] for c in builder.definition()["conditions"]] == ["property"]
    stack.undo()
    assert [c["type"] for c in builder.definition()["conditions"]] == ["group", "property"]


def test_invalid_value_shows_the_core_message_and_blocks_save(qtbot, builder, session):
    builder.model.set_name("Broken")
    add_condition(builder.conditions, "property")
    editor = builder.row_at(("conditions", 0)).editor.filter
    editor.picker.pick("user", "age")
    editor.operator.pick("in")
    qtbot.keyClicks(editor.value_editor.line, "30, thirty")
    assert builder.definition()["conditions"][0]["value"] == [30, "thirty"]
    settle(qtbot, builder)
    messages_from_core = core_problems(session, builder.definition())
    assert messages_from_core
    row = builder.row_at(("conditions", 0))
    assert row.problem_text() == f"⚠ {messages_from_core[0]}"
    assert row.count_label.text() == "–"
    assert builder.preview.total is None
    assert not builder.save_button.isEnabled()
    assert builder.save_reason.text() == f"Fix 1 problem first: {messages_from_core[0]}"
    assert builder.save_button.toolTip() == builder.save_reason.text()


def test_unfinished_row_names_the_problem_and_others_still_count(qtbot, builder, session):
    add_condition(builder.conditions, "behavior")
    builder.row_at(("conditions", 0)).editor.event_picker.pick("create_report")
    add_condition(builder.conditions, "property")  # no property chosen yet
    settle(qtbot, builder)
    row = builder.row_at(("conditions", 1))
    # Not filled in yet: a grey hint, no red frame, left out of the count (not an error).
    assert row.problem_text() == "choose a property"
    assert "gray" in row.problem_label.styleSheet()
    assert "b00020" not in row.styleSheet()
    only_first = {**builder.definition(), "conditions": builder.definition()["conditions"][:1]}
    assert builder.preview.alone[0] == core_count(session, only_first)
    assert builder.row_at(("conditions", 0)).count_label.text() == str(core_count(session, only_first))
    assert builder.preview.total == core_count(session, only_first)
    assert not builder.save_button.isEnabled()
    builder.model.set_name("Half done")
    assert "unfinished" in builder.save_reason.text()


def test_list_condition_pasted_ids_count_and_undo(qtbot, builder, session, stack, tmp_path):
    add_condition(builder.conditions, "list")
    settle(qtbot, builder)
    row = builder.row_at(("conditions", 0))
    assert row.problem_text() == "paste or type the ids"
    dialog = row.editor.open_editor()
    qtbot.addWidget(dialog)
    dialog.text.setPlainText("user_id\nu1\nu3, u7\nnobody\nu1")
    assert dialog.count_label.text() == "4 ids"
    dialog.accept()
    assert builder.definition()["conditions"][0] == {"type": "list", "ids": ["u1", "u3", "u7", "nobody"]}
    settle(qtbot, builder)
    assert builder.preview.total == 3 == core_count(session, builder.definition())
    assert row.editor.summary.text().startswith("4 users: u1, u3, u7")
    assert "on a list of 4 users" in builder.description_label.text()
    qtbot.mouseClick(row.negate, Qt.MouseButton.LeftButton)
    settle(qtbot, builder)
    assert builder.preview.total == 5
    stack.undo()
    stack.undo()
    assert builder.definition()["conditions"][0]["ids"] == []
    # Load from a file: the id column of a CSV export.
    f = tmp_path / "ids.csv"
    f.write_text("name,user_id\nAnn,u2\nBo,u4\n")
    dialog = builder.row_at(("conditions", 0)).editor.open_editor()
    qtbot.addWidget(dialog)
    assert dialog.load_file(str(f))
    assert dialog.ids() == ["u2", "u4"]
    assert not dialog.load_file(str(tmp_path / "missing.txt"))
    assert dialog.error_label.text() == "missing.txt: no such file"


def test_target_scenario_enterprise_accounts_with_three_reporting_users(qtbot, builder, session, stack):
    """ "Accounts on the enterprise tier where at least 3 users created a report in the last 30 days"."""
    qtbot.mouseClick(builder.accounts_button, Qt.MouseButton.LeftButton)
    assert builder.definition()["level"] == "account"
    assert stack.undoText() == "Change level"
    add_condition(builder.conditions, "property")
    editor = builder.row_at(("conditions", 0)).editor.filter
    assert editor.picker.findText("plan") < 0  # account level: account properties only
    editor.picker.pick("account", "tier")
    qtbot.keyClicks(editor.value_editor.line, "enterprise")
    add_condition(builder.conditions, "behavior")
    behavior = builder.row_at(("conditions", 1)).editor
    behavior.event_picker.pick("create_report")
    behavior.unit.setCurrentIndex(behavior.unit.findText("different users"))
    behavior.unit.activated.emit(behavior.unit.currentIndex())
    behavior = builder.row_at(("conditions", 1)).editor
    behavior.compare.value1.spin.setValue(3)
    definition = builder.definition()
    assert definition["conditions"][1] == {
        "type": "behavior",
        "event": "create_report",
        "where": [],
        "measure": {"fn": "count"},
        "compare": {"op": "gte", "value": 3},
        "window": {"last_days": 30},
        "per": "users",
    }
    settle(qtbot, builder)
    assert builder.preview.total == core_count(session, definition) == 1
    assert builder.total_label.text() == "1 account"
    assert builder.share_label.text() == "25.0% of 4"
    assert builder.description_label.text() == segments.describe(segments.load_definition(definition))

    dialog = builder.show_members()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.members.row_count() == 1, timeout=10_000)
    assert dialog.members.model.row_values(0)[0] == "acme"
    dialog.close()


def test_users_condition_with_nested_user_builder_and_share(qtbot, builder, session):
    qtbot.mouseClick(builder.accounts_button, Qt.MouseButton.LeftButton)
    add_condition(builder.conditions, "users")
    users = builder.row_at(("conditions", 0)).editor
    add_condition(users.list, "property")
    inner = builder.row_at(("conditions", 0, "match", "conditions", 0)).editor.filter
    # inside a users condition the picker offers user properties again
    inner.picker.pick("user", "plan")
    qtbot.keyClicks(inner.value_editor.line, "pro")
    users.compare.value1.spin.setValue(2)
    settle(qtbot, builder)
    assert builder.preview.total == core_count(session, builder.definition()) == 1  # acme: u1 u2
    inner_row = builder.row_at(("conditions", 0, "match", "conditions", 0))
    assert inner_row.count_label.text() == "4"  # users on pro
    assert inner_row.count_label.toolTip() == "4 users match this condition alone"
    users.unit.setCurrentIndex(1)
    users.unit.activated.emit(1)
    users = builder.row_at(("conditions", 0)).editor
    assert builder.definition()["conditions"][0]["share"] is True
    users.compare.value1.spin.setValue(50)
    assert builder.definition()["conditions"][0]["compare"] == {"op": "gte", "value": 0.5}
    settle(qtbot, builder)
    # half or more of the users on pro: acme 2/3, globex 1/2, initech 1/2
    assert builder.preview.total == core_count(session, builder.definition()) == 3


def test_behavior_where_filter_and_sum_measure(qtbot, builder, session):
    add_condition(builder.conditions, "behavior")
    behavior = builder.row_at(("conditions", 0)).editor
    behavior.event_picker.pick("create_report")
    qtbot.mouseClick(behavior.where.add_button, Qt.MouseButton.LeftButton)
    behavior = builder.row_at(("conditions", 0)).editor
    where = behavior.where.rows[0]
    where.picker.pick("event", "amount")
    where.operator.pick("gt")
    where.value_editor.spin.setValue(50)
    behavior.window_editor.kind.setCurrentIndex(behavior.window_editor.kind.findData("ever"))
    behavior.window_editor.kind.activated.emit(behavior.window_editor.kind.currentIndex())
    cond = builder.definition()["conditions"][0]
    assert cond["where"] == [{"property": "amount", "op": "gt", "value": 50}]
    assert cond["window"] == "ever"
    settle(qtbot, builder)
    assert builder.preview.total == core_count(session, builder.definition()) == 3  # u1 u6 u7

    behavior.unit.setCurrentIndex(behavior.unit.findData("events:sum"))
    behavior.unit.activated.emit(behavior.unit.currentIndex())
    assert builder.definition()["conditions"][0]["measure"] == {"fn": "sum", "property": "amount"}
    settle(qtbot, builder)
    assert builder.preview.total == core_count(session, builder.definition())


def test_paste_json_valid_is_undoable_and_invalid_shows_the_core_message(qtbot, builder, stack, message_log):
    good = '{"level": "user", "conditions": [{"type": "first_seen", "window": {"last_days": 7}}]}'
    assert builder.paste_json(good)
    assert builder.definition()["conditions"][0]["type"] == "first_seen"
    assert stack.undoText() == "Paste definition"
    row = builder.row_at(("conditions", 0))
    assert row.editor.window_editor.days.value() == 7
    bad = '{"level": "user", "conditions": [{"type": "property", "property": "plan", "op": "nope"}]}'
    assert not builder.paste_json(bad)
    with pytest.raises(SegmentError) as exc:
        segments.load_definition(bad)
    assert message_log[-1].text == str(exc.value)
    stack.undo()
    assert builder.definition()["conditions"] == []


def test_copy_json_round_trips(qtbot, builder):
    add_condition(builder.conditions, "last_seen")
    builder.copy_json()
    text = builder.definition_text()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == text
    dialog = builder.view_json()
    qtbot.addWidget(dialog)
    dialog.close()


def _slow_preview(delay_s: float, started: threading.Event):
    def task(path, request, progress):
        started.set()
        end = time.monotonic() + delay_s
        while time.monotonic() < end:
            if progress.is_cancelled():
                raise Cancelled("cancelled")
            time.sleep(0.01)
        return profiles.load_preview(path, request, progress)

    return task


def test_event_loop_keeps_running_while_a_slow_count_is_in_flight(qtbot, builder, session):
    started = threading.Event()
    builder.preview_task = _slow_preview(1.0, started)
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        add_condition(builder.conditions, "property")
        editor = builder.row_at(("conditions", 0)).editor.filter
        editor.picker.pick("user", "plan")
        qtbot.keyClicks(editor.value_editor.line, "free")
        qtbot.waitUntil(started.is_set, timeout=5_000)
        in_flight = time.monotonic()
        assert builder.spinner.isVisible()
        assert builder.is_counting()
        # an edit while counting: the running count is superseded, its result dropped
        qtbot.keyClicks(editor.value_editor.line, "x")
        qtbot.waitUntil(lambda: len([t for t in ticks if t > in_flight]) >= 10, timeout=5_000)
        assert builder.is_counting()  # still counting, yet the loop ticked 10 times
        settle(qtbot, builder)
    finally:
        timer.stop()
    assert builder.definition()["conditions"][0]["value"] == "freex"
    assert builder.preview.total == core_count(session, builder.definition()) == 0
    assert not builder.spinner.isVisible()


def test_level_toggle_rebuilds_pickers_and_flags_user_properties(qtbot, builder, session, stack):
    add_condition(builder.conditions, "property")
    picker = builder.row_at(("conditions", 0)).editor.filter.picker
    assert picker.findText("plan") >= 0 and picker.findText("tier") >= 0
    picker.pick("user", "plan")
    qtbot.mouseClick(builder.accounts_button, Qt.MouseButton.LeftButton)
    picker = builder.row_at(("conditions", 0)).editor.filter.picker
    assert picker.findText("plan") < 0 and picker.findText("tier") >= 0
    settle(qtbot, builder)
    # the core refuses a user property at account level; the row says so
    assert "account segment" in builder.row_at(("conditions", 0)).problem_text()
    assert builder.conditions.empty_label.isHidden()
    stack.undo()
    assert builder.definition()["level"] == "user"
    settle(qtbot, builder)
    assert builder.row_at(("conditions", 0)).problem_text() == ""


def test_sequence_steps_with_filters_and_time_limit(qtbot, builder, session, stack):
    add_condition(builder.conditions, "sequence")
    seq = builder.row_at(("conditions", 0)).editor
    seq.steps[0].pick("login")
    seq.steps[1].pick("create_report")
    qtbot.mouseClick(seq.step_filters[1].add_button, Qt.MouseButton.LeftButton)
    where = seq.step_filters[1].rows[0]
    where.picker.pick("event", "amount")
    where.operator.pick("gte")
    where.value_editor.spin.setValue(10)
    seq.within.spin.setValue(2)
    assert builder.definition()["conditions"][0] == {
        "type": "sequence",
        "steps": [
            {"event": "login"},
            {"event": "create_report", "where": [{"property": "amount", "op": "gte", "value": 10}]},
        ],
        "within_days": 2,
        "window": {"last_days": 90},
    }
    settle(qtbot, builder)
    assert builder.preview.total == core_count(session, builder.definition()) == 3  # u1 u2 u3
    qtbot.mouseClick(seq.add_step, Qt.MouseButton.LeftButton)
    assert len(builder.row_at(("conditions", 0)).editor.steps) == 3
    assert stack.undoText() == "Add step"
    stack.undo()
    assert len(builder.row_at(("conditions", 0)).editor.steps) == 2


def test_list_values_complete_the_last_value(qtbot, builder):
    add_condition(builder.conditions, "property")
    editor = builder.row_at(("conditions", 0)).editor.filter
    editor.picker.pick("user", "country")
    editor.operator.pick("in")
    line = editor.value_editor.line
    qtbot.keyClicks(line, "DE, u")
    completer = line.completer()
    popup = completer.popup()
    assert popup.isVisible()
    assert [popup.model().index(i, 0).data() for i in range(popup.model().rowCount())] == ["US"]
    # what taking the completion does: the line gets pathFromIndex(), then activated(text)
    taken = completer.pathFromIndex(completer.completionModel().index(0, 0))
    assert taken == "DE, US"
    line.setText(taken)
    completer.activated.emit(taken)
    assert builder.definition()["conditions"][0]["value"] == ["DE", "US"]


def test_drag_and_drop_reorders_rows(qtbot, builder, stack):
    for kind in ("first_seen", "last_seen", "behavior"):
        add_condition(builder.conditions, kind)
    qtbot.waitUntil(lambda: builder.conditions.rows[-1].isVisible(), timeout=5_000)
    lst = builder.conditions
    # dropped below the last row's middle: to the end; above the first row's middle: to the start
    bottom = lst.rows[2].mapTo(lst, lst.rows[2].rect().bottomLeft()).y()
    assert lst.drop_index_at(bottom) == 3
    assert lst.drop_index_at(lst.rows[0].mapTo(lst, lst.rows[0].rect().topLeft()).y() + 1) == 0
    lst.drop_row(0, 3)
    assert [c["type"] for c in builder.definition()["conditions"]] == ["last_seen", "behavior", "first_seen"]
    assert stack.undoText() == "Move condition"
    lst.drop_row(2, 0)
    assert [c["type"] for c in builder.definition()["conditions"]] == ["first_seen", "last_seen", "behavior"]
    assert builder.conditions._dragged_index(_mime(("conditions", 1))) == 1
    assert builder.conditions._dragged_index(_mime(("conditions", 0, "conditions", 1))) is None


def _mime(path):
    import json

    from PySide6.QtCore import QMimeData

    from seglab.ui.widgets.segment_rows import ROW_MIME

    mime = QMimeData()
    mime.setData(ROW_MIME, json.dumps(list(path)).encode())
    return mime


def test_numbers_say_what_is_wrong_instead_of_changing_the_value(qtbot, builder):
    add_condition(builder.conditions, "behavior")
    behavior = builder.row_at(("conditions", 0)).editor
    days = behavior.window_editor.days
    before = builder.definition()["conditions"][0]["window"]
    days.spin.lineEdit().selectAll()
    qtbot.keyClicks(days.spin.lineEdit(), "abc")
    assert days.problem() == "not a number"
    assert days.spin.lineEdit().text().startswith("abc")  # kept as typed, not dropped
    days.spin.lineEdit().selectAll()
    qtbot.keyClicks(days.spin.lineEdit(), "99999999999999999999")
    assert days.problem() == "too large (at most 100,000)"
    assert builder.definition()["conditions"][0]["window"] == before  # nothing silently taken
    qtbot.keyClick(days.spin.lineEdit(), Qt.Key.Key_Return)
    assert builder.definition()["conditions"][0]["window"] == before
    days.spin.lineEdit().selectAll()
    qtbot.keyClicks(days.spin.lineEdit(), "14")
    assert days.problem() == ""
    qtbot.keyClick(days.spin.lineEdit(), Qt.Key.Key_Return)
    assert builder.definition()["conditions"][0]["window"] == {"last_days": 14}
    value = behavior.compare.value1
    value.spin.lineEdit().selectAll()
    qtbot.keyClicks(value.spin.lineEdit(), "1234567890123456789")
    assert value.problem() in (
        "too large (at most 1,000,000,000,000,000)",
        "more than 15 digits would be rounded",
    )


def test_dates_typed_whole_default_to_the_data_and_say_not_a_date(qtbot, builder, session):
    add_condition(builder.conditions, "behavior")
    window = builder.row_at(("conditions", 0)).editor.window_editor
    window.kind.setCurrentIndex(window.kind.findData("between"))
    window.kind.activated.emit(window.kind.currentIndex())
    first, last = builder.catalogue.date_range
    assert builder.definition()["conditions"][0]["window"] == {"between": [first, last]}
    assert first != "2000-01-01"
    window.start.line.selectAll()
    qtbot.keyClicks(window.start.line, "2024-13-45")
    assert window.start.problem() == "not a date"
    assert builder.definition()["conditions"][0]["window"] == {"between": [first, last]}
    window.start.line.selectAll()
    qtbot.keyClicks(window.start.line, "2025-03-15")
    assert window.start.problem() == ""
    assert builder.definition()["conditions"][0]["window"] == {"between": ["2025-03-15", last]}


def test_not_is_visible_and_rows_fit_1200_px_without_sideways_scrolling(qtbot, builder):
    for kind in ("behavior", "sequence", "first_seen", "property"):
        add_condition(builder.conditions, kind)
    builder.resize(900, 700)  # the builder's share of a 1200-px window beside the library
    settle(qtbot, builder)
    qtbot.wait(50)
    scroll = builder.conditions.parentWidget().parentWidget().parentWidget()
    assert scroll.horizontalScrollBar().maximum() == 0
    row = builder.row_at(("conditions", 0))
    right = row.remove.mapTo(builder, row.remove.rect().topRight()).x()
    assert right <= builder.width()
    qtbot.mouseClick(row.negate, Qt.MouseButton.LeftButton)
    assert row.negate.isChecked()
    assert "#b00020" in row.negate.styleSheet() and ":checked" in row.negate.styleSheet()


def test_the_sentence_keeps_its_height_so_controls_do_not_move(qtbot, builder):
    add_condition(builder.conditions, "behavior")
    settle(qtbot, builder)
    y = (
        builder.row_at(("conditions", 0))
        .mapTo(builder, builder.row_at(("conditions", 0)).rect().topLeft())
        .y()
    )
    builder.description_label.setText("Users who " + "did something very long " * 40)
    qtbot.wait(20)
    assert (
        builder.row_at(("conditions", 0))
        .mapTo(builder, builder.row_at(("conditions", 0)).rect().topLeft())
        .y()
        == y
    )
    assert builder.description_label.is_elided()
    assert builder.description_label.toolTip().startswith("Users who did something")
