"""People search in the app: Ctrl+K from anywhere, the Segments page field, the profile it opens."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from builders import build_project
from seglab.core import search
from seglab.ui.main_window import MainWindow
from seglab.ui.models.people_model import PeopleResultsModel
from seglab.ui.session import ProjectSession
from seglab.ui.settings import AppSettings
from seglab.ui.widgets.profile_dialogs import AccountProfileDialog, UserProfileDialog
from seglab.ui.widgets.segment_page import SegmentsPageWidget

pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path):
    return build_project(
        tmp_path / "people.seglab",
        accounts=[{"account_id": "A1", "name": "ACME GmbH"}, {"account_id": "A2", "name": "Globex"}],
        users=[
            {"user_id": "u1", "name": "Ann Lee", "email": "ann@acme.com", "account_id": "A1"},
            {"user_id": "u2", "name": "Bob", "email": "bob@globex.com", "account_id": "A2"},
        ],
        events=[{"user_id": "u1", "event": "login", "timestamp": "2024-03-30T10:00:00Z"}],
    )


@pytest.fixture
def window(qtbot, project):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    win.show()
    win.open_project(project)
    yield win
    win.close()


def test_results_model_passes_the_model_tester(qtmodeltester):
    model = PeopleResultsModel()
    model.set_matches(
        [search.Match("user", "u1", "Ann", "name", 1), search.Match("account", "A1", "A1", "id", 1)]
    )
    qtmodeltester.check(model)
    assert model.data(model.index(0, 0)) == "Ann"
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Matched"


def test_ctrl_k_from_any_page_finds_and_opens_the_profile(qtbot, window):
    window.show_page("charts")
    assert window.find_action.shortcut().toString() == "Ctrl+K"
    window.find_action.trigger()
    dialog = window._people_dialog
    assert dialog is not None and dialog.isVisible()
    with qtbot.waitSignal(dialog.searched, timeout=10_000) as found:
        qtbot.keyClicks(dialog.field, "ann")
    assert found.args == [1]
    assert dialog.model.data(dialog.model.index(0, 0)) == "Ann Lee"
    assert dialog.model.data(dialog.model.index(0, 3)) == "name"
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    profiles = [w for w in dialog._profiles if isinstance(w, UserProfileDialog)]
    assert profiles
    qtbot.waitUntil(lambda: profiles[0].profile is not None, timeout=10_000)
    # The profile names the person and their account.
    assert profiles[0].title_label.text() == "User u1 — Ann Lee"
    assert "A1 (ACME GmbH)" in [
        profiles[0].form.itemAt(i).widget().text()
        for i in range(profiles[0].form.count())
        if profiles[0].form.itemAt(i).widget() is not None
    ]
    profiles[0].close()
    # Nothing found says so.
    with qtbot.waitSignal(dialog.searched, timeout=10_000):
        dialog.search("zzz")
    assert dialog.status.text() == "No user or account matches “zzz”."
    assert dialog.open_selected() is None


def test_segments_page_field_opens_an_account(qtbot, tmp_path, project):
    session = ProjectSession()
    session.open(project)
    page = SegmentsPageWidget(session, QUndoStack())
    qtbot.addWidget(page)
    page.show()
    qtbot.keyClicks(page.people_field, "globex")
    qtbot.keyClick(page.people_field, Qt.Key.Key_Return)
    dialog = page._people_dialog
    qtbot.waitUntil(lambda: not dialog.is_searching(), timeout=10_000)
    assert [dialog.model.match_at(r).id for r in range(dialog.model.rowCount())] == ["A2", "u2"]
    profile = dialog.open_selected()
    assert isinstance(profile, AccountProfileDialog)
    qtbot.waitUntil(lambda: profile.profile is not None, timeout=10_000)
    assert profile.windowTitle() == "Account A2 — Globex"
    profile.close()
    page.shutdown()
    session.close()


def test_a_single_match_from_the_segments_field_opens_its_profile(qtbot, project):
    session = ProjectSession()
    session.open(project)
    page = SegmentsPageWidget(session, QUndoStack())
    qtbot.addWidget(page)
    page.show()
    qtbot.keyClicks(page.people_field, "ann lee")
    qtbot.keyClick(page.people_field, Qt.Key.Key_Return)
    dialog = page._people_dialog
    qtbot.waitUntil(lambda: not dialog.is_searching(), timeout=10_000)
    assert dialog.model.rowCount() == 1
    (profile,) = dialog._profiles
    assert isinstance(profile, UserProfileDialog)
    qtbot.waitUntil(lambda: profile.profile is not None, timeout=10_000)
    assert profile.title_label.text() == "User u1 — Ann Lee"
    profile.close()
    page.shutdown()
    session.close()
