"""Help → User guide (shipped in the package, rendered offline) and Help → Keyboard shortcuts."""

from __future__ import annotations

import pytest

from seglab.core.resources import doc_path
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    yield win
    win.close()


def test_the_user_guide_ships_in_the_package_and_renders_offline(window, qtbot):
    assert doc_path("user-guide.md").is_file() and doc_path("screenshots/data-overview.png").is_file()
    assert window.guide_action.shortcut().toString() == "F1"
    dialog = window.show_user_guide()
    qtbot.addWidget(dialog)
    assert dialog.text().startswith("SegLab user guide")
    assert "![" not in dialog.text()  # Markdown rendered, not shown as source
    # Pictures are scaled to the page: no sideways scrolling.
    dialog.resize(900, 700)
    qtbot.wait(20)
    assert dialog.browser.horizontalScrollBar().maximum() == 0
    # A link to another page of the guide opens it here; Back returns.
    from PySide6.QtCore import QUrl

    dialog.browser.setSource(QUrl("user-guide-segments.md"))
    assert dialog.text().startswith("Segments: building, saving and looking inside")
    assert dialog.back_button.isEnabled()
    dialog.browser.backward()
    assert dialog.text().startswith("SegLab user guide")


def test_keyboard_shortcuts_come_from_the_actions_and_match_the_guide(window, qtbot, qtmodeltester):
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    qtmodeltester.check(dialog.model)
    rows = dialog.model.rows()
    keys = {r[2] for r in rows}
    assert {"Ctrl+K", "Ctrl+I", "Ctrl+Z", "F1", "Ctrl+S"} <= keys
    assert ("Window", "Find User or Account", "Ctrl+K") in rows
    guide = doc_path("user-guide.md").read_text(encoding="utf-8")
    for key in keys - {"Return"}:
        assert key in guide, f"{key} is missing from the guide's shortcut table"
