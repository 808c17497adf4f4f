"""The main window shell: start screen, opening projects, refusals, the Data overview."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from builders import build_project
from seglab.core.project import Project
from seglab.ui import messages
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings
from seglab.ui.widgets.placeholder_widget import PlaceholderWidget

pytestmark = pytest.mark.gui


def title(win) -> str:
    """The title as shown (``[*]`` is Qt's placeholder for the modified mark)."""
    return win.windowTitle().replace("[*]", "")


@pytest.fixture
def window(qtbot):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    yield win
    win.close()


def wait_overview(qtbot, win):
    qtbot.waitUntil(lambda: win.overview_model.snapshot is not None and not win.overview_model.is_loading())


@pytest.fixture
def small_project(tmp_path):
    return build_project(
        tmp_path / "shop.seglab",
        accounts=[{"account_id": "a1", "tier": "gold"}, {"account_id": "a2", "tier": "free"}],
        users=[
            {"user_id": "u1", "account_id": "a1", "plan": "pro"},
            {"user_id": "u2", "account_id": "a1", "plan": "free"},
            {"user_id": "u3", "account_id": "a2", "plan": "free"},
        ],
        events=[
            {"user_id": "u1", "event": "signup", "timestamp": "2024-03-01T10:00:00Z"},
            {"user_id": "u1", "event": "purchase", "timestamp": "2024-03-02T10:00:00Z"},
            {"user_id": "u2", "event": "signup", "timestamp": "2024-03-03T10:00:00Z"},
            {"user_id": "u3", "event": "signup", "timestamp": "2024-03-05T12:30:00Z"},
            {"user_id": "u3", "event": "signup", "timestamp": "2024-03-05T12:31:00Z"},
        ],
    )


def test_starts_on_the_start_screen(window):
    assert window.central.currentWidget() is window.start_widget
    assert title(window) == "SegLab"
    assert window.start_widget.recent_empty.isVisibleTo(window.start_widget)
    assert not window.import_action.isEnabled()
    assert not window.close_action.isEnabled()


def test_opening_a_project_shows_its_name_and_the_overview(window, qtbot, small_project):
    assert window.open_project(small_project)
    assert title(window) == "shop — SegLab"
    assert window.central.currentWidget() is window.workspace
    assert window.current_page_name() == "data"
    wait_overview(qtbot, window)
    cards = window.overview_widget.cards
    assert cards["events"].value() == "5"
    assert cards["users"].value() == "3"
    assert cards["accounts"].value() == "2"
    assert cards["range"].value() == "2024-03-01 → 2024-03-05"
    assert cards["as_of"].value() == "2024-03-05 12:31"
    assert window.overview_model.event_names.rows() == [("signup", 4), ("purchase", 1)]
    props = window.overview_model.properties.rows()
    assert ("account", "tier", "text") in props and ("user", "plan", "text") in props
    imports = window.overview_model.imports.rows()
    assert sorted(r[1] for r in imports) == ["accounts", "events", "users"]
    assert not window.overview_widget.is_empty_state()
    assert "5 events" in window.statusBar().currentMessage()
    assert window.import_action.isEnabled()


def test_empty_project_shows_the_empty_state(window, qtbot, tmp_path):
    Project.create(tmp_path / "empty.seglab").close()
    window.open_project(tmp_path / "empty.seglab")
    wait_overview(qtbot, window)
    assert window.overview_widget.is_empty_state()
    assert window.overview_widget.cards["events"].value() == "0"


def test_recent_projects_are_listed_persisted_and_open(qtbot, tmp_path, small_project):
    first = MainWindow(AppSettings())
    qtbot.addWidget(first)
    first.open_project(small_project)
    wait_overview(qtbot, first)
    first.close()  # releases the lock, saves settings
    assert AppSettings().recent_projects()[0].path == str(small_project.resolve())

    second = MainWindow(AppSettings())
    qtbot.addWidget(second)
    start = second.start_widget
    assert start.recent_paths() == [str(small_project.resolve())]
    item = start.recent_tree.topLevelItem(0)
    assert item.text(0) == "shop"
    start.recent_tree.setCurrentItem(item)
    assert start.open_recent_button.isEnabled()
    qtbot.mouseClick(start.open_recent_button, Qt.MouseButton.LeftButton)
    assert title(second) == "shop — SegLab"
    wait_overview(qtbot, second)
    second.close()


def test_missing_recent_project_is_greyed_and_removable(window, tmp_path):
    AppSettings().add_recent_project(tmp_path / "gone.seglab", "2026-01-01T00:00:00Z")
    window.start_widget.refresh()
    item = window.start_widget.recent_tree.topLevelItem(0)
    assert item.text(0) == "gone (missing)"
    window.start_widget.recent_tree.setCurrentItem(item)
    assert not window.start_widget.open_recent_button.isEnabled()
    assert window.start_widget.remove_button.isEnabled()
    window.start_widget.remove_button.click()
    assert window.start_widget.recent_paths() == []
    assert AppSettings().recent_projects() == []


def test_refuses_a_file_that_is_not_a_project(window, tmp_path, message_log):
    bogus = tmp_path / "notes.seglab"
    bogus.write_text("hello, this is not a database\n" * 10)
    before = bogus.read_bytes()
    assert not window.open_project(bogus)
    assert message_log == [
        messages.Message(
            "error",
            messages.TITLE_OPEN_FAILED,
            "notes.seglab: not a SegLab project (not an SQLite database file)",
        )
    ]
    assert bogus.read_bytes() == before
    assert title(window) == "SegLab"
    assert AppSettings().recent_projects() == []


def test_refusal_keeps_the_current_project_open(window, qtbot, small_project, tmp_path, message_log):
    window.open_project(small_project)
    wait_overview(qtbot, window)
    assert not window.open_project(tmp_path / "nope.seglab")
    assert message_log.texts("error") == [f"{tmp_path / 'nope.seglab'}: no such project file"]
    assert title(window) == "shop — SegLab"
    assert window.session.is_open()


def test_project_locked_by_another_holder_is_refused(window, small_project, message_log):
    holder = Project.open(small_project)  # the same lock another SegLab process would take
    try:
        assert not window.open_project(small_project)
    finally:
        holder.close()
    assert len(message_log) == 1
    assert "is open in another SegLab window (process " in message_log[0].text


def test_opening_another_project_closes_the_first(window, qtbot, small_project, tmp_path):
    other = tmp_path / "other.seglab"
    Project.create(other).close()
    window.open_project(small_project)
    wait_overview(qtbot, window)
    window.open_project(other)
    assert title(window) == "other — SegLab"
    # The first project's lock is released: another holder can open it now.
    Project.open(small_project).close()
    wait_overview(qtbot, window)


def test_close_project_returns_to_start(window, qtbot, small_project):
    window.open_project(small_project)
    wait_overview(qtbot, window)
    window.close_action.trigger()
    assert window.central.currentWidget() is window.start_widget
    assert title(window) == "SegLab"
    assert window.start_widget.recent_paths() == [str(small_project.resolve())]


def test_new_project_and_save_as(window, qtbot, tmp_path, small_project):
    assert window.create_project(tmp_path / "fresh.seglab")
    assert title(window) == "fresh — SegLab"
    wait_overview(qtbot, window)
    window.open_project(small_project)
    wait_overview(qtbot, window)
    assert window.save_as(tmp_path / "copy.seglab")  # written in a worker, then opened
    qtbot.waitUntil(lambda: title(window) == "copy — SegLab", timeout=10_000)
    wait_overview(qtbot, window)
    assert window.overview_widget.cards["events"].value() == "5"


def test_pages_build_and_can_be_replaced(window, qtbot, small_project):
    from PySide6.QtWidgets import QLabel

    from seglab.ui.charts.charts_page import ChartsPageWidget
    from seglab.ui.widgets.segment_page import SegmentsPageWidget

    window.open_project(small_project)
    wait_overview(qtbot, window)
    window.show_page("charts")
    assert isinstance(window.page("charts"), ChartsPageWidget)
    assert window.page_stack.currentWidget() is window.page("charts")
    assert isinstance(window.page("segments"), SegmentsPageWidget)
    replacement = QLabel("custom segments page")
    window.set_page("segments", replacement)
    window.show_page("segments")
    assert window.page_stack.currentWidget() is replacement
    assert window.current_page_name() == "segments"


def test_undo_stack_is_wired_to_edit_menu(window):
    from PySide6.QtGui import QUndoCommand

    box = []

    class Push(QUndoCommand):
        def redo(self):
            box.append(1)

        def undo(self):
            box.pop()

    window.undo_stack.push(Push("add one"))
    assert box == [1]
    assert window.undo_action.isEnabled() and window.undo_action.text() == "&Undo add one"
    window.undo_action.trigger()
    assert box == []
    assert window.redo_action.isEnabled()


def test_about_names_version_licence_and_data_location(window, message_log, _temporary_settings):
    window.about_action.trigger()
    (message,) = message_log
    assert message.level == "about"
    assert "Licence: MIT" in message.text
    assert str(_temporary_settings / "data") in message.text
    from seglab import __version__

    assert __version__ in message.text


def test_pages_get_the_session_and_the_undo_stack(window, monkeypatch):
    from PySide6.QtWidgets import QWidget

    import seglab.ui.main_window as mw

    class SessionPage(QWidget):
        def __init__(self, session, undo_stack=None):
            super().__init__()
            self.got = (session, undo_stack)

    monkeypatch.setattr(mw, "page_class", lambda name: SessionPage)
    assert window.page("segments").got == (window.session, window.undo_stack)
    assert window.page("charts").got == (window.session, None)


def test_a_broken_page_shows_a_message_instead_of_crashing(window, monkeypatch):
    import seglab.ui.main_window as mw

    class Broken:
        def __init__(self, session, undo_stack):
            raise RuntimeError("no data model")

    monkeypatch.setattr(mw, "page_class", lambda name: Broken)
    page = window.page("segments")
    assert isinstance(page, PlaceholderWidget)
    assert page.text == "The Segments page could not be opened (RuntimeError: no data model)."


def test_demo_unavailable_says_so(window, monkeypatch, message_log):
    import seglab.ui.main_window as mw

    monkeypatch.setattr(mw, "demo_available", lambda: False)
    window.demo_action.trigger()
    assert message_log == [messages.Message("error", messages.TITLE_DEMO_FAILED, messages.DEMO_UNAVAILABLE)]
    assert not window.session.is_open()


def test_demo_is_built_in_a_worker_then_opened(window, qtbot, monkeypatch, _temporary_settings):
    import seglab.ui.main_window as mw

    def fake_build(path, request=None, progress=None):
        progress.report(1, 2, "accounts")
        build_project(
            path,
            users=[{"user_id": "d1"}],
            events=[{"user_id": "d1", "event": "trial_started", "timestamp": "2024-01-02T00:00:00Z"}],
        )
        progress.report(2, 2, "done")
        return path

    monkeypatch.setattr(mw, "demo_available", lambda: True)
    monkeypatch.setattr(mw, "build_demo_task", fake_build)
    window.start_widget.demo_button.click()
    assert window._file_dialog is not None  # a progress dialog while the worker builds it
    qtbot.waitUntil(lambda: window.session.is_open(), timeout=10_000)
    path = window.session.path
    assert path.parent == _temporary_settings / "data"
    assert path.name.startswith("demo-") and path.suffix == ".seglab"
    assert title(window) == f"{path.stem} — SegLab"
    wait_overview(qtbot, window)
    assert window.overview_widget.cards["events"].value() == "1"
    assert window._file_dialog is None


def test_window_geometry_is_kept(qtbot):
    first = MainWindow(AppSettings())
    qtbot.addWidget(first)
    first.resize(980, 630)  # (the offscreen screen is narrower than the minimum width)
    first.close()
    second = MainWindow(AppSettings())
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (980, 630)
    second.close()


def test_open_recent_menu_lists_projects(window, small_project, tmp_path):
    AppSettings().add_recent_project(tmp_path / "gone.seglab", "2026-01-01T00:00:00Z")
    AppSettings().add_recent_project(small_project, "2026-01-02T00:00:00Z")
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if not a.isSeparator()]
    assert actions[0].text().startswith("shop") and actions[0].isEnabled()
    assert actions[1].text().startswith("gone") and not actions[1].isEnabled()
    assert actions[-1].text() == "Clear List"
    actions[0].trigger()
    assert title(window) == "shop — SegLab"
    window.recent_menu.aboutToShow.emit()
    next(a for a in window.recent_menu.actions() if a.text() == "Clear List").trigger()
    assert AppSettings().recent_projects() == []
    assert window.start_widget.recent_paths() == []


def test_real_message_boxes_show_the_sentence(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    messages.set_responder(None)  # the autouse fixture restores its own responder afterwards
    seen = []

    def answer():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append((box.windowTitle(), box.text()))
        box.button(
            QMessageBox.StandardButton.Yes
            if box.button(QMessageBox.StandardButton.Yes)
            else QMessageBox.StandardButton.Ok
        ).click()

    QTimer.singleShot(0, answer)
    messages.show_error(None, "Title A", "the core's sentence")
    QTimer.singleShot(0, answer)
    assert messages.ask(None, "Title B", "Really?") is True
    assert seen == [("Title A", "the core's sentence"), ("Title B", "Really?")]


def test_app_main_opens_the_project_given_on_the_command_line(qapp, monkeypatch, small_project):
    from PySide6.QtWidgets import QApplication

    from seglab.ui import app as app_module

    seen = []

    def fake_exec(self=None):
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen.extend(title(w) for w in windows)
        for w in windows:
            w.overview_model.shutdown()
            w.close()
            w.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert app_module.main(project=str(small_project)) == 0
    assert seen == ["shop — SegLab"]
    assert QApplication.organizationName() == "SegLab"
    assert "statCard" in qapp.styleSheet()
    qapp.setStyleSheet("")


def test_app_main_demo_without_builder_shows_the_start_screen(qapp, monkeypatch, message_log):
    from PySide6.QtWidgets import QApplication

    import seglab.ui.main_window as mw
    from seglab.ui import app as app_module

    monkeypatch.setattr(mw, "demo_available", lambda: False)
    seen = []

    def fake_exec(self=None):
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible():
                seen.append(w.central.currentWidget() is w.start_widget)
                w.close()
                w.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert app_module.main(demo=True) == 0
    assert seen == [True]
    assert message_log.texts("error") == [messages.DEMO_UNAVAILABLE]
    qapp.setStyleSheet("")


def test_page_hooks_are_wired(window, qtbot, monkeypatch, small_project, tmp_path, message_log):
    from PySide6.QtCore import Signal
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QWidget

    import seglab.ui.main_window as mw

    class FakeSegments(QWidget):
        dirty_changed = Signal(bool)
        segments_changed = Signal()

        def __init__(self, session, undo_stack):
            super().__init__()
            self.save_action = QAction("Save Segment", self)
            self.dirty = False

        def maybe_close(self):
            return not self.dirty or messages.ask(self, "Unsaved segment", "Discard?")

    class FakeCharts(QWidget):
        def __init__(self, session):
            super().__init__()
            self.refreshed = 0

        def refresh_catalog(self):
            self.refreshed += 1

    classes = {"segments": FakeSegments, "charts": FakeCharts}
    monkeypatch.setattr(mw, "page_class", lambda name: classes[name])
    window.open_project(small_project)
    wait_overview(qtbot, window)
    segments, charts = window.page("segments"), window.page("charts")
    assert segments.save_action in window.edit_menu.actions()
    segments.dirty_changed.emit(True)
    assert window.isWindowModified()
    segments.segments_changed.emit()
    assert charts.refreshed == 1
    # Unsaved work: the person is asked, and "No" keeps the project open.
    segments.dirty = True
    other = tmp_path / "other.seglab"
    Project.create(other).close()
    assert not window.open_project(other)
    window.close_action.trigger()
    assert [m.text for m in message_log] == ["Discard?", "Discard?"]
    assert title(window) == "shop — SegLab"
    message_log.answer = True
    assert window.open_project(other)
    assert title(window) == "other — SegLab" and not window.isWindowModified()
    wait_overview(qtbot, window)


def test_save_as_refusals(window, qtbot, small_project, tmp_path, message_log):
    window.open_project(small_project)
    wait_overview(qtbot, window)
    assert not window.save_as(small_project)
    assert message_log.texts("error") == ["Save As needs a different file name"]
    assert window.save_as(tmp_path / "no such folder" / "copy.seglab")
    qtbot.waitUntil(lambda: len(message_log) == 2, timeout=10_000)
    assert message_log[1].title == messages.TITLE_SAVE_AS_FAILED
    assert "read-only" in message_log[1].text or "no such" in message_log[1].text.lower()
    assert title(window) == "shop — SegLab"
    assert not (tmp_path / "no such folder").exists()


def test_start_up_path_stays_light(tmp_path):
    """pandas and pyqtgraph are not imported until a page needs them (the window is up in ~0.5 s)."""
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from seglab.ui.app import create_app\n"
        "from seglab.ui.main_window import MainWindow\n"
        "app = create_app(); w = MainWindow(); w.show(); app.processEvents()\n"
        "print(sorted(m for m in ('pandas', 'pyqtgraph', 'numpy') if m in sys.modules))\n"
        "w.close()\n"
    )
    import os

    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path))  # never the user's settings
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_charts_page_configures_pyqtgraph_first(window, qtbot, small_project):
    import seglab.ui.charts as charts

    window.open_project(small_project)
    wait_overview(qtbot, window)
    from seglab.ui.charts.charts_page import ChartsPageWidget

    assert isinstance(window.page("charts"), ChartsPageWidget)
    assert charts._configured


@pytest.mark.slow
def test_real_demo_project_opens(window, qtbot, monkeypatch, tmp_path, _temporary_settings):
    """`seglab --demo`: the bundled data set, built through the importer in a worker, then opened."""
    import seglab.ui.main_window as mw

    if not mw.demo_available():
        pytest.skip("seglab.core.demo is not in this build")
    from seglab.core import demo

    monkeypatch.setenv(demo.CACHE_ENV, str(tmp_path / "cache"))
    assert window.open_demo()
    qtbot.waitUntil(window.session.is_open, timeout=120_000)
    assert window.session.path.parent == _temporary_settings / "data"
    wait_overview(qtbot, window)
    info = window.overview_model.snapshot.info
    assert info["events"] > 100_000 and info["users"] > 1000 and info["accounts"] > 100


def test_worksheet_is_written_in_a_worker(window, qtbot, small_project, tmp_path, message_log):
    from seglab.core.segments import save_segment

    window.open_project(small_project)
    wait_overview(qtbot, window)
    save_segment(
        window.session.project.conn,
        "Gold <accounts>",
        {
            "version": 1,
            "level": "account",
            "match": "all",
            "conditions": [
                {"type": "property", "entity": "account", "property": "tier", "op": "eq", "value": "gold"}
            ],
        },
    )
    assert window.worksheet_action.isEnabled()
    out = tmp_path / "sheet.html"
    assert window.export_worksheet(out)
    assert not window.worksheet_action.isEnabled()  # one worksheet at a time
    assert window.wait_for_worksheet()
    qtbot.waitUntil(lambda: any(m.title == "Worksheet written" for m in message_log), timeout=30_000)
    html = out.read_text(encoding="utf-8")
    assert "Gold &lt;accounts&gt;" in html and "<accounts>" not in html
    assert window.worksheet_action.isEnabled()

    assert not window.export_worksheet(tmp_path / "missing-folder" / "sheet.html")  # refused up front
    assert message_log[-1].title == "Cannot write the worksheet"
    assert "no such folder" in message_log.texts("error")[-1]


def test_opening_a_csv_as_a_project_offers_a_new_project(window, qtbot, tmp_path, message_log, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    csv_file = tmp_path / "events.csv"
    csv_file.write_text("user_id,event,timestamp\nu1,login,2024-03-01T10:00:00Z\n")
    message_log.answer = False
    assert not window.open_project(csv_file)
    assert [m.level for m in message_log] == ["question"]
    assert (
        message_log[0].text
        == "events.csv is a data file, and no project is open. Import it into a new project?"
    )
    assert not window.session.is_open()
    message_log.answer = True
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "events"), ""))
    assert window.open_project(csv_file)
    assert window.session.path == tmp_path / "events.seglab"
    dialog = window._import_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.close()


def test_the_start_screen_does_not_speak_of_an_open_project(window):
    from PySide6.QtWidgets import QLabel

    texts = [label.text() for label in window.start_widget.findChildren(QLabel)]
    assert not any("open project" in t for t in texts)
    assert any("into a new project" in t for t in texts)


def test_the_import_picker_hides_rejects_files(qtbot, tmp_path):
    from seglab.ui.main_window import REJECTS_FILTER, import_file_dialog

    for name in ("events.csv", "events.rejects.csv", "users.csv"):
        (tmp_path / name).write_text("a\n1\n")
    dialog = import_file_dialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    proxy = dialog.proxyModel()
    source = proxy.sourceModel()

    def shown():
        root = proxy.mapFromSource(source.index(str(tmp_path)))
        return sorted(proxy.index(r, 0, root).data() for r in range(proxy.rowCount(root)))

    qtbot.waitUntil(lambda: len(shown()) >= 2, timeout=5_000)
    assert shown() == ["events.csv", "users.csv"]
    dialog.selectNameFilter(REJECTS_FILTER)
    dialog.filterSelected.emit(REJECTS_FILTER)
    qtbot.waitUntil(lambda: "events.rejects.csv" in shown(), timeout=5_000)


def test_only_the_three_newest_demo_copies_are_kept(tmp_path):
    import os

    from seglab.ui.main_window import prune_demo_copies

    copies = []
    for i in range(5):
        path = tmp_path / f"demo-2026010{i}-000000.seglab"
        Project.create(path).close()
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
        copies.append(path)
    (tmp_path / "mine.seglab").write_text("not a demo")
    held = Project.open(copies[0])  # the oldest is open in a window: never deleted
    try:
        removed = prune_demo_copies(tmp_path, keep=2)
    finally:
        held.close()
    assert sorted(removed) == [copies[1], copies[2]]
    left = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".seglab")
    assert left == sorted([copies[0].name, copies[3].name, copies[4].name, "mine.seglab"])


def test_a_minimum_size_keeps_buttons_whole(window, qtbot, small_project):
    window.show()
    window.resize(400, 300)
    assert (window.width(), window.height()) == (980, 600)
    assert window.open_project(small_project)
    window.show_page("segments")
    page = window.page("segments")
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    qtbot.wait(50)
    for button in (page.builder.members_button, page.builder.save_button, page.library.rename_button):
        assert button.width() >= button.sizeHint().width(), button.text()


def test_the_data_page_lists_account_link_conflicts(window, qtbot, tmp_path):
    path = build_project(
        tmp_path / "links.seglab",
        accounts=[{"account_id": "a1"}, {"account_id": "a2"}],
        users=[{"user_id": "u1", "account_id": "a1"}, {"user_id": "u2"}],
        events=[
            {"user_id": "u1", "event": "open", "timestamp": "2024-03-01T10:00:00Z", "account_id": "a2"},
            {"user_id": "u2", "event": "open", "timestamp": "2024-03-01T10:00:00Z", "account_id": "a1"},
            {"user_id": "u2", "event": "open", "timestamp": "2024-03-02T10:00:00Z", "account_id": "a3"},
            {"user_id": "u3", "event": "open", "timestamp": "2024-03-02T10:00:00Z", "account_id": "a3"},
        ],
    )
    assert window.open_project(path)
    wait_overview(qtbot, window)
    widget = window.overview_widget
    assert widget.conflict_section.isVisibleTo(widget)
    assert widget.conflict_section.title_label.text() == (
        "Account-link conflicts (2 users linked to more than one account)"
    )
    assert window.overview_model.conflicts.rows() == [
        ("u1", "a1", "users file", "a1, a2"),
        ("u2", "a3", "latest event", "a1, a3"),
    ]
    assert widget.cards["users"].caption_label.text() == "2 with account conflicts"
    window.resize(1200, 800)
    widget.grab().save("/tmp/inputs-data-page.png")


def test_no_conflict_section_without_conflicts(window, qtbot, small_project):
    assert window.open_project(small_project)
    wait_overview(qtbot, window)
    assert not window.overview_widget.conflict_section.isVisibleTo(window.overview_widget)
