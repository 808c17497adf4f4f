"""Pinning the as-of time in the app: undoable, said in the window, followed by every count."""

from __future__ import annotations

import pytest

from builders import build_project
from seglab.core import segments
from seglab.core.timeutil import parse_as_of
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings

pytestmark = pytest.mark.gui

RECENT = {"level": "user", "conditions": [{"type": "behavior", "event": "login", "window": {"last_days": 2}}]}


@pytest.fixture
def window(qtbot, tmp_path):
    path = build_project(
        tmp_path / "t.seglab",
        events=[
            {"user_id": "u1", "event": "login", "timestamp": "2024-03-01T10:00:00Z"},
            {"user_id": "u2", "event": "login", "timestamp": "2024-03-10T10:00:00Z"},
            {"user_id": "u3", "event": "login", "timestamp": "2024-03-10T11:00:00Z"},
        ],
    )
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    win.show()
    win.open_project(path)
    segments.save_segment(win.session.project.conn, "Recent", RECENT)
    win.show_page("segments")
    settle(qtbot, win)
    yield win
    win.close()


def settle(qtbot, win):
    page = win.page("segments")
    qtbot.waitUntil(
        lambda: (
            win.overview_model.snapshot is not None
            and not win.overview_model.is_loading()
            and not page.is_loading()
        ),
        timeout=10_000,
    )


def library_size(win, name):
    return win.page("segments").library.model.entry(name).size


def test_pin_and_unpin_are_undoable_and_every_count_follows(qtbot, window):
    assert window.as_of_label.text() == "As of 2024-03-10 11:00 UTC (latest event)"
    assert not window.unpin_action.isEnabled()
    assert not not window.overview_widget.unpin_button.isHidden()
    window.page("segments").library.reload()
    settle(qtbot, window)
    assert library_size(window, "Recent") == 2
    window.pin_as_of_dialog(parse_as_of("2024-03-02"))
    settle(qtbot, window)
    assert window.as_of_label.text() == "As of 2024-03-02 23:59 UTC (pinned)"
    assert window.overview_widget.cards["as_of"].caption_label.text() == "pinned"
    assert window.unpin_action.isEnabled() and not window.overview_widget.unpin_button.isHidden()
    assert library_size(window, "Recent") == 1  # only u1 logged in within 2 days of March 2
    assert window.undo_action.text() == "&Undo Pin as-of time"
    window.undo_stack.undo()
    settle(qtbot, window)
    assert window.as_of_label.text() == "As of 2024-03-10 11:00 UTC (latest event)"
    assert library_size(window, "Recent") == 2
    window.undo_stack.redo()
    settle(qtbot, window)
    assert window.as_of_label.text().endswith("(pinned)")
    assert window.unpin_as_of()
    settle(qtbot, window)
    assert window.as_of_label.text().endswith("(latest event)")
    assert not window.unpin_as_of()  # nothing to unpin: no undo step


def test_pin_dialog_offers_the_data_range_and_pins_the_end_of_the_day(qtbot, window):
    dialog = window.pin_as_of_dialog()
    qtbot.addWidget(dialog)
    assert dialog.date_edit.minimumDate().toString("yyyy-MM-dd") == "2024-03-01"
    assert dialog.date_edit.maximumDate().toString("yyyy-MM-dd") == "2024-03-10"
    assert dialog.date_edit.date().toString("yyyy-MM-dd") == "2024-03-10"
    dialog.date_edit.setDate(dialog.date_edit.minimumDate())
    dialog.accept()
    settle(qtbot, window)
    assert window.as_of_label.text() == "As of 2024-03-01 23:59 UTC (pinned)"


def test_charts_follow_the_pin(qtbot, window):
    window.show_page("charts")
    charts = window.page("charts")
    qtbot.waitUntil(
        lambda: not charts.catalog_worker.is_busy() and not charts.worker.is_busy(), timeout=10_000
    )
    pin = parse_as_of("2024-03-05")
    with qtbot.waitSignal(charts.result_shown, timeout=10_000) as shown:
        window.pin_as_of_dialog(pin)
    assert shown.args[0].attrs["as_of_ms"] == pin
    with qtbot.waitSignal(charts.result_shown, timeout=10_000) as shown:
        window.undo_stack.undo()
    assert shown.args[0].attrs["as_of_ms"] == parse_as_of("2024-03-10T11:00:00Z")
