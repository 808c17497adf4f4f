"""Qt test plumbing: offscreen platform, temporary settings, observed message boxes,
and a check that fails any test leaving a worker thread, QThread or QTimer running."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, QThread, QThreadPool, QTimer
from PySide6.QtGui import QUndoStack
from segment_data import make_project

from seglab.ui import messages
from seglab.ui.session import ProjectSession


@pytest.fixture(autouse=True)
def _app_names(qapp):
    QCoreApplication.setOrganizationName("SegLabTests")
    QCoreApplication.setApplicationName("SegLabTests")
    yield


@pytest.fixture(autouse=True)
def _temporary_settings(tmp_path_factory, monkeypatch, _app_names):
    """QSettings (and SegLab's data folder) live in a temporary folder, never the user's."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(folder / "data"))
    yield folder


@pytest.fixture
def project_file(tmp_path):
    """The project a test's ``session`` opens: the B2B data set of ``segment_data.py``. A test
    module that needs other data overrides this fixture."""
    return make_project(tmp_path / "b2b.seglab")


@pytest.fixture
def session(project_file, qapp):
    """A :class:`ProjectSession` open on ``project_file``, closed after the test."""
    s = ProjectSession()
    s.open(project_file)
    yield s
    s.close()


@pytest.fixture
def stack(qapp):
    """An undo stack, as the main window gives the Segments page."""
    return QUndoStack()


class MessageLog(list):
    """Every message box the code asked for, in order; ``answer`` is what questions get."""

    answer = False

    def __call__(self, message: messages.Message) -> bool:
        self.append(message)
        return self.answer

    def texts(self, level: str | None = None) -> list[str]:
        return [m.text for m in self if level is None or m.level == level]


@pytest.fixture(autouse=True)
def message_log():
    log = MessageLog()
    messages.set_responder(log)
    yield log
    messages.set_responder(None)


@pytest.fixture(autouse=True)
def _no_leaked_threads_or_timers(qapp, monkeypatch):
    """Fail a test that leaves a pool task, a QThread or a QTimer running (napari-style)."""
    threads: list[QThread] = []
    timers: list[QTimer] = []
    original_thread_start = QThread.start
    original_timer_start = QTimer.start

    def thread_start(self, *args):
        threads.append(self)
        return original_thread_start(self, *args)

    def timer_start(self, *args):
        timers.append(self)
        return original_timer_start(self, *args)

    monkeypatch.setattr(QThread, "start", thread_start)
    monkeypatch.setattr(QTimer, "start", timer_start)
    yield
    problems = []
    pool = QThreadPool.globalInstance()
    if not pool.waitForDone(1000):
        problems.append(f"{pool.activeThreadCount()} worker task(s) still running")
        pool.waitForDone(30_000)
    for thread in threads:
        try:
            running = thread.isRunning()
        except RuntimeError:  # already deleted
            continue
        if running:
            problems.append(f"QThread {thread!r} still running")
            thread.quit()
            thread.wait(5000)
    for timer in timers:
        try:
            active = timer.isActive()
        except RuntimeError:
            continue
        if active:
            problems.append(f"QTimer {timer!r} (interval {timer.interval()} ms) still active")
            timer.stop()
    QCoreApplication.processEvents()
    if problems:
        pytest.fail("test left work running: " + "; ".join(problems))


def pytest_collection_modifyitems(config, items):
    # The offscreen platform says "This plugin does not support propagateSizeHints / raise() /
    # grabbing the keyboard" when windows and completion popups are shown; not our warnings.
    marker = pytest.mark.qt_log_ignore("This plugin does not support")
    for item in items:
        if "tests/ui/" in str(item.path).replace("\\", "/"):
            item.add_marker(marker)
