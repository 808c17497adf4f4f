"""Issue #14 §1: a save that fails is never silent (real SQLite failures, no mocks).

The failure is made for real: another process holds the project's write lock (SQLite's own,
``BEGIN IMMEDIATE``), or the project lives on a small tmpfs that is filled up (root only).
The app shows the sentence, keeps the unsaved marker, and the library lists only what is
really saved; Duplicate says it failed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from segment_data import make_project

from seglab.core import segments
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings

pytestmark = pytest.mark.gui

PRO = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}

HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


class LockHolder:
    """A real second process in the middle of a write transaction on the project."""

    def __init__(self, path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture
def window(qtbot):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    yield win
    win.close()


def open_segments(qtbot, window, path):
    window.show()
    qtbot.waitExposed(window)
    assert window.open_project(path)
    segments.save_segment(window.session.project.conn, "Pro users", PRO)
    window.show_page("segments")
    page = window.page("segments")
    page.reload_segments()
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    return page


def edit_pro_users(qtbot, window, page):
    page.library.select("Pro users")
    builder = page.builder
    builder.row_at(("conditions", 0)).editor.filter.operator.pick("neq")
    qtbot.keyClicks(builder.name_edit, " (edited)")
    qtbot.waitUntil(lambda: builder.save_button.isEnabled(), timeout=10_000)
    assert window.isWindowModified()
    return builder


def ctrl_s(qtbot, builder) -> None:
    builder.window().activateWindow()
    builder.name_edit.setFocus()
    qtbot.waitUntil(builder.name_edit.hasFocus, timeout=5_000)
    qtbot.keyClick(builder.name_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def assert_failed_save(qtbot, window, page, builder, message_log, expected):
    message_log.clear()
    ctrl_s(qtbot, builder)
    assert [m.level for m in message_log] == ["error"]
    assert message_log[0].title == "Cannot save the segment"
    assert expected in message_log[0].text
    assert builder.model.is_dirty() and builder.dirty_label.text() == "● unsaved"
    assert window.isWindowModified()  # the unsaved marker stays
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    assert page.library.model.names() == ["Pro users"]  # the library does not pretend

    message_log.clear()
    assert page.library.duplicate("Pro users") is None
    assert [m.title for m in message_log] == ["Cannot change the segment library"]
    assert expected in message_log[0].text
    qtbot.waitUntil(lambda: not page.library.is_loading(), timeout=10_000)
    assert page.library.model.names() == ["Pro users"]


def test_a_save_blocked_by_another_process_is_reported_and_kept_unsaved(qtbot, window, tmp_path, message_log):
    path = make_project(tmp_path / "b2b.seglab")
    page = open_segments(qtbot, window, path)
    builder = edit_pro_users(qtbot, window, page)
    window.session.project.conn.execute("PRAGMA busy_timeout = 200")  # fail fast instead of after 5 s
    holder = LockHolder(path)
    try:
        assert_failed_save(
            qtbot, window, page, builder, message_log, "another process is writing to the project"
        )
    finally:
        holder.release()
    message_log.clear()
    ctrl_s(qtbot, builder)  # now it works
    assert message_log == []
    assert not builder.model.is_dirty() and not window.isWindowModified()
    assert [s.name for s in segments.list_saved(window.session.project.conn)] == ["Pro users (edited)"]


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", "-l", str(where)])


def fill(folder):
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return folder / "filler"


def test_a_save_on_a_full_disk_is_reported_and_kept_unsaved(qtbot, window, small_disk, message_log):
    path = make_project(small_disk / "b2b.seglab")
    for csv_file in small_disk.glob("*.csv"):
        csv_file.unlink()
    page = open_segments(qtbot, window, path)
    builder = edit_pro_users(qtbot, window, page)
    filler = fill(small_disk)
    try:
        # A few saves may still fit in the WAL's free pages: fill those too.
        conn = window.session.project.conn
        try:
            for i in range(500):
                segments.save_segment(conn, f"filler {i}", PRO)
        except Exception:
            pass
        saved_before = {s.name for s in segments.list_saved(conn)}
        page.reload_segments()
        qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
        message_log.clear()
        ctrl_s(qtbot, builder)
        assert [m.level for m in message_log] == ["error"]
        assert "the disk is full; nothing was changed" in message_log[0].text
        assert builder.model.is_dirty() and window.isWindowModified()
        assert "Pro users (edited)" not in {s.name for s in segments.list_saved(conn)}
        qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
        assert set(page.library.model.names()) == saved_before
        message_log.clear()
        assert page.library.duplicate("Pro users") is None
        assert "the disk is full" in message_log[0].text
    finally:
        filler.unlink()
    message_log.clear()
    ctrl_s(qtbot, builder)
    assert message_log == [] and not window.isWindowModified()
