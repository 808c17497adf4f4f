"""The desktop app and connected projects (docs/sources.md): "Connect to ClickHouse…", and a
connected project opened in the app, on a real chdb data folder."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from segment_data import make_project

from chdb_support import to_chdb
from seglab.core.engines.base import source_of
from seglab.core.project import Project
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    yield win
    win.close()


@pytest.fixture
def chdb_folder(tmp_path):
    """The B2B data set of segment_data.py in a chdb folder, as a warehouse holds it."""
    local = make_project(tmp_path / "b2b.seglab")
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, tmp_path / "ch")
    return tmp_path / "ch"


@pytest.fixture
def connected_file(chdb_folder, tmp_path):
    with Project.open(tmp_path / "b2b.seglab", readonly=True) as project:
        return connect_to_existing(project.conn, chdb_folder, tmp_path / "c.seglab")


def connect_to_existing(conn, folder, path):
    from seglab.core.engines.connect import connect_project

    connect_project(path, f"chdb://{folder}", {"events": "events", "users": "users", "accounts": "accounts"})
    return path


def _tested(qtbot, dialog):
    assert dialog.test_connection()
    # The first test picks the tables the source has, then counts their rows.
    qtbot.waitUntil(lambda: not dialog.probe_worker.is_busy() and "rows" in dialog.status_label.text())


# -- "Connect to ClickHouse…" ------------------------------------------------------------------------


def test_the_start_screen_and_file_menu_offer_connect(window):
    assert window.start_widget.connect_button.text() == "Connect to ClickHouse…"
    assert window.connect_action.text().replace("&", "") == "Connect to ClickHouse…"
    assert window.connect_action.isEnabled()


def test_the_dialog_tests_the_connection_and_creates_a_project_that_opens(
    window, qtbot, chdb_folder, tmp_path
):
    dialog = window.connect_dialog()
    dialog.set_url(f"chdb://{chdb_folder}")
    assert not dialog.connect_button.isEnabled()  # test the connection first
    _tested(qtbot, dialog)
    assert dialog.status_label.text() == (
        "Connected: 3 tables in default · events 16 rows · users 8 rows · accounts 4 rows"
    )
    assert {k: b.table() for k, b in dialog.boxes.items()} == {
        "events": "events",
        "users": "users",
        "accounts": "accounts",
    }
    assert [dialog.boxes[k].rows_label.text() for k in ("events", "users", "accounts")] == ["16", "8", "4"]
    # The mapping is guessed from the column names, as the importer guesses it.
    assert dialog.boxes["events"].maps() == [
        "events.user_id=user_id",
        "events.timestamp=timestamp",
        "events.event=event",
        "events.account_id=account_id",
        "events.insert_id=",
    ]
    assert dialog.boxes["users"].properties_label.text() == "Properties: plan, country, age"
    assert dialog.password_label.text() == "A chdb folder needs no password"
    assert dialog.connect_button.isEnabled()

    target = tmp_path / "shop.seglab"
    assert dialog.connect_to(target)
    qtbot.waitUntil(lambda: window.session.is_open(), timeout=20_000)
    assert window.session.path == target
    assert window.session.is_connected()
    with Project.open(target, readonly=True) as project:
        source = source_of(project.conn)
    assert source["url"] == f"chdb://{chdb_folder}"
    assert source["events"]["timestamp"] == "timestamp"
    assert source["users"]["properties"] == ["plan", "country", "age"]


def test_errors_are_the_core_sentences_next_to_their_field(window, qtbot, chdb_folder, tmp_path):
    dialog = window.connect_dialog()
    dialog.set_url("chdb://relative/folder")
    assert not dialog.test_connection()
    assert dialog.url_error.text() == (
        "chdb://relative/folder: a chdb URL names a folder on this machine: "
        "chdb:///ABSOLUTE/PATH (three slashes)"
    )
    dialog.set_url("clickhouse://analyst:secret@ch.example.com/analytics")
    assert not dialog.test_connection()
    assert dialog.url_error.text().startswith(
        "ch.example.com/analytics: a password in the source URL is refused"
    )
    assert "secret" not in dialog.url_error.text()
    dialog.set_url(f"chdb://{tmp_path / 'nowhere'}")
    assert dialog.test_connection()
    qtbot.waitUntil(lambda: not dialog.probe_worker.is_busy())
    assert dialog.url_error.text() == f"chdb://{tmp_path / 'nowhere'}: no such chdb data folder"

    dialog.set_url(f"chdb://{chdb_folder}")
    _tested(qtbot, dialog)
    box = dialog.boxes["events"]
    combo = box.field_combos["timestamp"]
    combo.setCurrentIndex(combo.findData("user_id"))
    combo.activated.emit(combo.currentIndex())
    assert box.error_label.isVisibleTo(dialog)
    assert box.error_label.text() == (
        "events.user_id: column type String cannot hold the timestamp "
        "(expected DateTime, DateTime64 or Int64/UInt64 epoch milliseconds)"
    )
    assert not dialog.boxes["users"].error_label.text()
    dialog.boxes["users"].table_combo.setEditText("people")
    assert dialog.boxes["users"].error_label.text() == (
        "table 'people': no such table in database 'default' of the source"
    )
    dialog.connect_clicked()  # refused before any file is asked for or written
    assert not list(tmp_path.glob("*.seglab")) or all(
        p.name == "b2b.seglab" for p in tmp_path.glob("*.seglab")
    )


def test_a_password_is_never_written_in_the_project(window, qtbot, chdb_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGLAB_SOURCE_PASSWORD", "s3cret-pw")
    dialog = window.connect_dialog()
    dialog.set_url("clickhouse://analyst@ch.example.com:8443/analytics?secure=true")
    assert "SEGLAB_SOURCE_PASSWORD" in dialog.password_label.text()
    dialog.set_url(f"chdb://{chdb_folder}")
    _tested(qtbot, dialog)
    assert dialog.connect_to(tmp_path / "p.seglab")
    qtbot.waitUntil(lambda: window.session.is_open(), timeout=20_000)
    window.session.close()
    assert b"s3cret-pw" not in (tmp_path / "p.seglab").read_bytes()
