"""AppSettings (temporary QSettings) and the Worker helper."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QSettings

from seglab.core.errors import Cancelled
from seglab.core.progress import check_cancelled
from seglab.ui.settings import MAX_RECENT, AppSettings
from seglab.ui.workers import Worker

pytestmark = pytest.mark.gui


def test_settings_live_in_the_temporary_folder(_temporary_settings):
    AppSettings().set_last_folder(_temporary_settings)
    AppSettings().sync()
    assert str(QSettings().fileName()).startswith(str(_temporary_settings))


def test_recent_projects_are_deduplicated_capped_and_persisted(tmp_path):
    settings = AppSettings()
    for i in range(MAX_RECENT + 3):
        settings.add_recent_project(tmp_path / f"p{i}.seglab", f"2026-01-01T00:00:{i:02d}Z")
    settings.add_recent_project(tmp_path / "p5.seglab", "2026-02-01T00:00:00Z")
    settings.sync()
    recent = AppSettings().recent_projects()  # a new wrapper reads what the first one wrote
    assert len(recent) == MAX_RECENT
    assert recent[0].path == str((tmp_path / "p5.seglab").resolve())
    assert recent[0].opened == "2026-02-01T00:00:00Z"
    assert [r.name for r in recent].count("p5") == 1
    assert "p0" not in [r.name for r in recent]
    settings.remove_recent_project(tmp_path / "p5.seglab")
    assert "p5" not in [r.name for r in AppSettings().recent_projects()]


def test_unreadable_recent_list_is_ignored():
    QSettings().setValue("recent/projects", "{not json")
    assert AppSettings().recent_projects() == []


def test_last_folder_falls_back_when_missing(tmp_path):
    settings = AppSettings()
    settings.set_last_folder(tmp_path)
    assert settings.last_folder() == str(tmp_path)
    settings.set_last_folder(tmp_path / "gone")
    assert settings.last_folder() != str(tmp_path / "gone")


# -- Worker ---------------------------------------------------------------------------


def _square(path, request, progress):
    for i in range(3):
        progress.report(i + 1, 3, f"step {i + 1}")
    return (str(path), request * request)


def test_worker_delivers_result_on_the_main_thread(qtbot, tmp_path):
    worker = Worker(progress_interval_ms=0)
    main = threading.current_thread()
    seen = []
    worker.succeeded.connect(lambda r: seen.append((r, threading.current_thread() is main)))
    progress = []
    worker.progressed.connect(lambda d, t, s: progress.append((d, t, s)))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start(_square, tmp_path, 7)
    assert seen == [((str(tmp_path), 49), True)]
    assert progress[-1] == (3.0, 3, "step 3")
    assert not worker.is_busy()


def _slow(path, request, progress):
    request["started"].set()
    while True:
        check_cancelled(progress)
        time.sleep(0.005)


def test_worker_cancel_stops_the_task(qtbot, tmp_path):
    worker = Worker()
    started = threading.Event()
    outcomes = []
    worker.succeeded.connect(lambda r: outcomes.append("ok"))
    worker.cancelled.connect(lambda: outcomes.append("cancelled"))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start(_slow, tmp_path, {"started": started})
        assert started.wait(5)
        assert worker.is_running()
        worker.cancel()
    assert outcomes == ["cancelled"]
    assert not worker.is_running()


def test_worker_drops_stale_results(qtbot, tmp_path):
    worker = Worker()
    started = threading.Event()
    results = []
    worker.succeeded.connect(results.append)
    worker.cancelled.connect(lambda: results.append("cancelled"))
    worker.start(_slow, tmp_path, {"started": started})
    assert started.wait(5)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start(_square, tmp_path, 3)  # supersedes the slow one, which is cancelled
    assert worker.wait(5000)
    qtbot.wait(50)
    assert results == [(str(tmp_path), 9)]


def _boom(path, request, progress):
    raise ValueError("bad request")


def test_worker_reports_errors(qtbot, tmp_path):
    worker = Worker()
    errors = []
    worker.failed.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start(_boom, tmp_path)
    assert len(errors) == 1 and isinstance(errors[0], ValueError) and str(errors[0]) == "bad request"


def test_worker_shutdown_waits_for_cancelled_task(qtbot, tmp_path):
    worker = Worker()
    started = threading.Event()
    worker.start(_slow, tmp_path, {"started": started})
    assert started.wait(5)
    assert worker.shutdown(5000)
    assert not worker.is_running()
    assert not worker.is_busy()


def test_cancelled_is_not_an_error(qtbot, tmp_path):
    worker = Worker()
    errors = []
    worker.failed.connect(errors.append)

    def cancels(path, request, progress):
        raise Cancelled("cancelled")

    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.start(cancels, tmp_path)
    qtbot.wait(20)
    assert errors == []
