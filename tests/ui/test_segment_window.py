"""The Segments page inside the real main window: built by the window, hooks wired, Ctrl+S, close asks."""

from __future__ import annotations

import pytest
from segment_data import make_project

from seglab.core import segments
from seglab.ui.main_window import MainWindow
from seglab.ui.widgets.segment_page import SegmentsPageWidget

pytestmark = pytest.mark.gui


def test_window_builds_the_page_and_wires_its_hooks(qtbot, tmp_path, message_log):
    path = make_project(tmp_path / "b2b.seglab")
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.open_project(path)
    window.show_page("segments")
    page = window.page("segments")
    assert isinstance(page, SegmentsPageWidget)
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    assert page.save_action in window.edit_menu.actions()

    builder = page.builder
    page.new_segment("user")
    qtbot.keyClicks(builder.name_edit, "Pro")
    builder.conditions.add_condition("property")
    editor = builder.row_at(("conditions", 0)).editor.filter
    editor.picker.pick("user", "plan")
    qtbot.keyClicks(editor.value_editor.line, "pro")
    assert window.isWindowModified()
    assert window.undo_stack.undoText() == "Change value"
    qtbot.waitUntil(lambda: builder.save_button.isEnabled(), timeout=10_000)
    page.save_action.trigger()
    assert not window.isWindowModified()
    assert segments.get_saved(window.session.project.conn, "Pro").level == "user"

    # unsaved edits: closing asks, "No" keeps the window open
    editor = builder.row_at(("conditions", 0)).editor.filter
    editor.operator.pick("neq")
    message_log.answer = False
    assert not window.close()
    assert message_log[-1].text == "Discard the unsaved changes to Pro?"
    message_log.answer = True
    assert window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert window.session.project is None
    assert not page.builder.is_counting()  # the window's shutdown stopped the page's work
