"""The app's save dialogs follow the safe-output rules (docs/cli.md, "Safe output"): the worksheet,
a members CSV and Save As never replace the project, a project open elsewhere, a device or a
FIFO, and a refused Save As never deletes the file that was there."""

from __future__ import annotations

import os
import stat

import pytest
from segment_data import make_project

from seglab.core import segments
from seglab.core.errors import OutputError
from seglab.core.project import Project
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings
from seglab.ui.widgets.members_widget import MembersListWidget

pytestmark = pytest.mark.gui

EVERYONE = {"version": 1, "level": "user", "match": "all", "conditions": []}


def make_window(qtbot) -> MainWindow:
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    return win


def fingerprint(path):
    st = os.stat(path)  # never a plain read: the project is open in this process
    return st.st_ino, st.st_size, st.st_mtime_ns


def test_worksheet_export_refuses_projects_devices_and_fifos(qtbot, tmp_path, message_log):
    window = make_window(qtbot)
    path = make_project(tmp_path / "b2b.seglab")
    other = make_project(tmp_path / "other.seglab")
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    try:
        assert window.open_project(path)
        segments.save_segment(window.session.project.conn, "everyone", EVERYONE)
        before = fingerprint(path), fingerprint(other)
        for target, sentence in (
            (path, "is the project being read"),
            (other, "is a SegLab project"),
            ("/dev/null", "is a device"),
            (fifo, "is a pipe (FIFO)"),
        ):
            message_log.clear()
            assert not window.export_worksheet(target)
            assert [m.title for m in message_log] == ["Cannot write the worksheet"]
            assert sentence in message_log[0].text
        assert (fingerprint(path), fingerprint(other)) == before
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        segments.save_segment(window.session.project.conn, "still saving", EVERYONE)
    finally:
        window.close()
    with Project.open(path, readonly=True) as project:
        assert [s.name for s in segments.list_saved(project.conn)] == ["everyone", "still saving"]


def test_members_export_refuses_the_project(qtbot, tmp_path):
    window = make_window(qtbot)
    path = make_project(tmp_path / "b2b.seglab")
    try:
        assert window.open_project(path)
        widget = MembersListWidget(window.session)
        qtbot.addWidget(widget)
        conn = window.session.project.conn
        keys = [k for (k,) in conn.execute("SELECT user_key FROM users ORDER BY user_key LIMIT 3")]
        with qtbot.waitSignal(widget.loaded, timeout=10_000):
            widget.set_members("user", keys, "Picked")
        before = fingerprint(path)
        with pytest.raises(OutputError, match="is the project being read"):
            widget.export_csv(path)
        assert fingerprint(path) == before
        assert widget.export_csv(tmp_path / "members.csv") == 3
    finally:
        window.close()


def test_save_as_never_replaces_a_project_open_in_another_window(qtbot, tmp_path, message_log):
    first, second = make_window(qtbot), make_window(qtbot)
    path = make_project(tmp_path / "b2b.seglab")
    other = make_project(tmp_path / "other.seglab")
    try:
        assert first.open_project(path) and second.open_project(other)
        segments.save_segment(second.session.project.conn, "in the other window", EVERYONE)
        before = fingerprint(other)
        assert first.save_as(other)
        assert first.wait_for_file_job()
        qtbot.waitUntil(lambda: bool(message_log.texts("error")), timeout=10_000)
        assert "is open in another SegLab window (process" in message_log.texts("error")[-1]
        assert fingerprint(other) == before and os.path.exists(
            str(other) + "-wal"
        )  # not deleted, not replaced
        assert first.session.path == path
        segments.save_segment(second.session.project.conn, "still saving", EVERYONE)
    finally:
        first.close()
        second.close()
    with Project.open(other, readonly=True) as project:
        assert [s.name for s in segments.list_saved(project.conn)] == ["in the other window", "still saving"]


def test_save_as_over_a_fifo_is_refused_and_the_fifo_kept(qtbot, tmp_path, message_log):
    window = make_window(qtbot)
    path = make_project(tmp_path / "b2b.seglab")
    fifo = tmp_path / "copy.seglab"
    os.mkfifo(fifo)
    try:
        assert window.open_project(path)
        assert window.save_as(fifo)
        assert window.wait_for_file_job()
        qtbot.waitUntil(lambda: bool(message_log.texts("error")), timeout=10_000)
        assert "is a pipe (FIFO)" in message_log.texts("error")[-1]
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    finally:
        window.close()


def test_a_project_dropped_as_data_is_not_read_by_the_import_wizard(qtbot, tmp_path, message_log):
    window = make_window(qtbot)
    path = make_project(tmp_path / "b2b.seglab")
    alias = tmp_path / "b2b-export.csv"
    os.link(path, alias)  # the open project under a data file's name
    try:
        assert window.open_project(path)
        segments.save_segment(window.session.project.conn, "in the wal", EVERYONE)
        wal_ino = os.stat(str(path) + "-wal").st_ino
        assert window.import_files([str(alias)]) is None
        assert window.current_import_dialog is None
        assert message_log.texts("error") == [
            "Not imported: b2b-export.csv: a SegLab project, not a data file (File ▸ Open opens it)."
        ]
        assert os.stat(str(path) + "-wal").st_ino == wal_ino
    finally:
        window.close()
