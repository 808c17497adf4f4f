"""The desktop app and a connected project (docs/sources.md): refused with a sentence for now,
the file left as it was."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from builders import build_project
from chdb_support import connect_to
from seglab.core.project import Project
from seglab.ui import messages
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    yield win
    win.close()


def test_the_app_refuses_a_connected_project(window, tmp_path, message_log):
    local = build_project(
        tmp_path / "l.seglab",
        events=[{"user_id": "u1", "event": "login", "timestamp": "2024-03-01T10:00:00Z"}],
    )
    with Project.open(local, readonly=True) as project:
        connect_to(project.conn, tmp_path / "ch", tmp_path / "c.seglab")
    before = (tmp_path / "c.seglab").read_bytes()
    assert not window.open_project(tmp_path / "c.seglab")
    assert message_log == [
        messages.Message(
            "error",
            messages.TITLE_OPEN_FAILED,
            f"c.seglab reads its events from chdb://{tmp_path / 'ch'}; the desktop app does not open "
            "connected projects yet (use the seglab command: info, segment count/members/list, "
            "analyze trend)",
        )
    ]
    assert not window.session.is_open()
    assert (tmp_path / "c.seglab").read_bytes() == before
