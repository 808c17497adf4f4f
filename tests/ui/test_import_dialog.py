"""The import wizard: drop files, check detection, change the mapping, import in a worker, cancel."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from seglab.core.project import Project
from seglab.ui import messages
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings
from seglab.ui.widgets.import_dialog import ImportDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path):
    path = tmp_path / "proj" / "acme.seglab"
    path.parent.mkdir()
    Project.create(path).close()
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    assert win.open_project(path)
    qtbot.waitUntil(lambda: win.overview_model.snapshot is not None)
    yield win
    dialog = win.current_import_dialog
    if dialog is not None and dialog.is_importing():
        dialog.cancel_and_wait()
        qtbot.waitUntil(lambda: not dialog.is_importing())
    win.close()


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding, newline="")
    return path


@pytest.fixture
def csvs(tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    accounts = write(folder / "companies.csv", "company_id,tier,seats\nc1,gold,10\nc2,free,1\n")
    users = write(
        folder / "people.csv",
        "user_id;company_id;plan;zip\r\nu1;c1;pro;01234\r\nu2;c1;free;99999\r\nu3;c2;free;12345\r\n",
    )
    events = write(
        folder / "events.csv",
        "user_id,event,timestamp\n"
        "u1,signup,2024-03-01T10:00:00Z\n"
        "u1,purchase,2024-03-02 10:00:00\n"
        "u2,signup,1709546400\n"
        "u3,signup,not a time\n",
    )
    return {"accounts": accounts, "users": users, "events": events}


def drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, event)
    assert event.isAccepted()
    dialog = window.current_import_dialog
    assert isinstance(dialog, ImportDialog)
    return dialog


def db_rows(window, sql):
    conn = sqlite3.connect(str(window.session.path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def big_events(folder, rows=300_000):
    big = folder / "big_events.csv"
    with open(big, "w", encoding="utf-8") as fh:
        fh.write("user_id,event,timestamp,plan\n")
        for i in range(rows):
            fh.write(f"u{i % 5000},view,{1_700_000_000 + i * 7},p{i % 3}\n")
    return big


def run_import(qtbot, dialog):
    with qtbot.waitSignal(dialog.worker.finished, timeout=30_000):
        assert dialog.start_import()
        assert dialog.is_importing()
    assert not dialog.is_importing()


def test_dropping_files_opens_the_wizard_with_detection(window, csvs):
    dialog = drop(window, [csvs["events"], csvs["users"], csvs["accounts"]])
    plans = dialog.model.plans
    # Shown (and imported) in the order accounts, users, events, whatever the drop order.
    assert [p.name for p in plans] == ["companies.csv", "people.csv", "events.csv"]
    assert [p.detected_kind for p in plans] == ["accounts", "users", "events"]
    assert plans[1].sniff.delimiter == ";"
    assert (
        plans[0].sniff.encoding.replace("_", "-").lower().startswith("utf-8")
        or plans[0].sniff.encoding == "ascii"
    )
    assert plans[1].mapping.to_dict() == {"user_id": "user_id", "account_id": "company_id"}
    assert dialog.file_list.count() == 3
    assert "users · " in dialog.file_list.item(1).text() and "semicolon" in dialog.file_list.item(1).text()
    # The events file warns about the unreadable timestamp before anything is imported.
    dialog.file_list.setCurrentRow(2)
    assert "unreadable timestamps" in dialog.warning_label.text()
    assert "'not a time'" in dialog.warning_label.text()
    assert dialog.field_combo("timestamp").currentText() == "timestamp"
    assert dialog.preview_model.rowCount() == 4
    assert dialog.import_button.isEnabled() and dialog.import_button.text() == "Import 3 files"


def test_drop_of_non_files_is_ignored(window):
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()
    assert window.current_import_dialog is None


def test_import_runs_and_the_overview_updates(window, qtbot, csvs):
    dialog = drop(window, [csvs["events"], csvs["users"], csvs["accounts"]])
    busy = []
    window.session.busy_changed.connect(busy.append)
    run_import(qtbot, dialog)
    assert busy == [True, False]
    assert [o.error for o in dialog.outcomes] == [None, None, None]
    assert [o.report.rows_imported for o in dialog.outcomes] == [2, 3, 3]
    assert [o.report.rows_rejected for o in dialog.outcomes] == [0, 0, 1]
    assert dialog.pages.currentIndex() == 1
    assert dialog.summary_title.text() == "Import finished"
    assert "8 rows imported, 1 rejected" in dialog.summary_label.text()
    rejects = dialog.outcomes[2].report.rejects_file
    assert rejects and rejects.endswith("events.csv.rejects.csv")
    assert str(window.session.path.parent) in dialog.summary_label.text()
    assert "rejected: 1 bad timestamp" in dialog.summary_table.item(2, 4).text()
    dialog.summary_table.selectRow(2)
    assert dialog.rejects_button.isEnabled()
    viewer = dialog.show_rejects()
    qtbot.addWidget(viewer)
    # A table: the line, the reason, then the record's fields under the file's column names.
    model = viewer.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[:5] == ["Line", "Reason", "user_id", "event", "timestamp"]
    assert model.rowCount() == 1
    assert model.data(model.index(0, 1)).startswith("bad timestamp")
    assert model.data(model.index(0, 4)) == "not a time"
    assert viewer.note.text() == "1 rejected row."
    viewer.close()
    qtbot.waitUntil(lambda: window.overview_widget.cards["events"].value() == "3")
    assert window.overview_widget.cards["users"].value() == "3"
    assert window.overview_widget.cards["accounts"].value() == "2"
    assert len(window.overview_model.imports.rows()) == 3
    dialog.accept()


def test_mapping_and_type_changes_take_effect(window, qtbot, tmp_path):
    members = write(tmp_path / "members.csv", "Member,Employer,zip,score\nm1,x1,01234,5\nm2,x2,02000,7\n")
    dialog = drop(window, [members])
    plan = dialog.model.plan(0)
    assert plan.mapping is None and "cannot tell what kind of file" in plan.error
    assert dialog.error_label.isVisibleTo(dialog)
    assert not dialog.import_button.isEnabled()
    # Say it is a users file whose user id is "Member".
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("users"))
    dialog.kind_combo.activated.emit(dialog.kind_combo.currentIndex())
    combo = dialog.field_combo("user_id")
    combo.setCurrentIndex(combo.findData("Member"))
    combo.activated.emit(combo.currentIndex())
    plan = dialog.model.plan(0)
    assert plan.error is None and plan.mapping.to_dict() == {"user_id": "Member"}
    assert dict(plan.properties) == {"Employer": "text", "zip": "text", "score": "integer"}
    # Import the score as text.
    score = dialog.property_type_combo("score")
    score.setCurrentIndex(score.findData("real"))
    score.activated.emit(score.currentIndex())
    assert plan.types == {"score": "real"}
    assert dialog.import_button.isEnabled()
    run_import(qtbot, dialog)
    assert db_rows(window, "SELECT user_id FROM users ORDER BY user_id") == [("m1",), ("m2",)]
    assert db_rows(window, "SELECT name, type FROM properties WHERE entity = 'user' ORDER BY position") == [
        ("Employer", "text"),
        ("zip", "text"),
        ("score", "real"),
    ]
    dialog.accept()


def test_ambiguous_dates_need_a_format(window, qtbot, tmp_path):
    events = write(
        tmp_path / "eu.csv",
        "user_id,event,timestamp\nu1,login,03/02/2024 10:00\nu2,login,13/02/2024 11:30\n",
    )
    dialog = drop(window, [events])
    plan = dialog.model.plan(0)
    assert plan.needs_date_format and not plan.importable
    assert "could be day/month or month/day" in dialog.warning_label.text()
    assert dialog.date_format_combo.isVisibleTo(dialog)
    assert [dialog.date_format_combo.itemData(i) for i in range(2)] == ["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"]
    assert not dialog.import_button.isEnabled()
    dialog.date_format_combo.setCurrentIndex(0)
    dialog.date_format_combo.activated.emit(0)
    assert dialog.model.plan(0).importable
    run_import(qtbot, dialog)
    assert db_rows(window, "SELECT ts FROM events ORDER BY ts") == [(1706954400000,), (1707823800000,)]
    dialog.accept()


def test_binary_file_is_refused_in_the_wizard(window, tmp_path, csvs):
    png = tmp_path / "picture.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    dialog = drop(window, [png, csvs["accounts"]])
    bad = next(p for p in dialog.model.plans if p.name == "picture.csv")
    assert "looks like" in bad.error and "PNG" in bad.error
    assert dialog.import_button.text() == "Import 1 file (skip 1)"


def test_reimport_is_refused_unless_forced(window, qtbot, csvs):
    dialog = drop(window, [csvs["accounts"]])
    run_import(qtbot, dialog)
    dialog.accept()
    qtbot.waitUntil(lambda: window.current_import_dialog is None)
    again = drop(window, [csvs["accounts"]])
    run_import(qtbot, again)
    assert "already imported" in again.outcomes[0].error
    assert again.summary_title.text() == "Import finished with problems"
    again.accept()
    qtbot.waitUntil(lambda: window.current_import_dialog is None)
    forced = drop(window, [csvs["accounts"]])
    forced.force_check.setChecked(True)
    run_import(qtbot, forced)
    assert forced.outcomes[0].report.rows_imported == 2
    forced.accept()


def test_import_can_be_cancelled_and_leaves_nothing(window, qtbot, tmp_path, message_log):
    dialog = drop(window, [big_events(tmp_path)])
    progress = []
    dialog.worker.progressed.connect(lambda done, total, text: progress.append((done, total, text)))
    with qtbot.waitSignal(dialog.worker.cancelled, timeout=60_000):
        assert dialog.start_import()
        qtbot.waitUntil(lambda: any("rows/s" in t for _, _, t in progress), timeout=30_000)
        assert dialog.progress_bar.isVisible() and "rows/s" in dialog.progress_label.text()
        # The window refuses to switch projects while the import writes.
        assert not window.open_project(window.session.path.with_name("other.seglab"))
        assert message_log.texts("warning") == [messages.BUSY_IMPORTING]
        dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.is_importing())
    assert dialog.was_cancelled
    assert dialog.summary_title.text() == "Import cancelled"
    assert dialog.outcomes[0].cancelled
    # A short summary: the table is as tall as its one row, not a big empty grid.
    assert dialog.summary_table.maximumHeight() < 120
    assert not window.session.busy
    assert db_rows(window, "SELECT count(*) FROM events") == [(0,)]
    assert db_rows(window, "SELECT count(*) FROM imports") == [(0,)]
    assert db_rows(window, "PRAGMA integrity_check") == [("ok",)]
    dialog.accept()


def test_time_zone_of_zone_less_timestamps(window, qtbot, tmp_path, message_log):
    events = write(tmp_path / "berlin.csv", "user_id,event,timestamp\nu1,login,2024-07-01 12:00:00\n")
    dialog = drop(window, [events])
    assert dialog.timezone_combo.isVisibleTo(dialog) and dialog.timezone_combo.currentText() == "UTC"
    dialog.timezone_combo.setEditText("Mars/Olympus")
    dialog.timezone_combo.lineEdit().editingFinished.emit()
    assert message_log.texts("warning") == [
        "unknown time zone 'Mars/Olympus' (use a name like Europe/Berlin)"
    ]
    assert dialog.timezone_combo.currentText() == "UTC"
    dialog.timezone_combo.setCurrentIndex(dialog.timezone_combo.findText("Europe/Berlin"))
    dialog.timezone_combo.activated.emit(dialog.timezone_combo.currentIndex())
    assert dialog.model.plan(0).timezone == "Europe/Berlin"
    run_import(qtbot, dialog)
    # 12:00 in Berlin (summer time, UTC+2) is 10:00 UTC.
    assert db_rows(window, "SELECT ts FROM events") == [(1719828000000,)]
    dialog.accept()


def test_dropping_a_project_file_opens_it_and_imports_csvs_into_it(window, qtbot, tmp_path, csvs):
    other = tmp_path / "other.seglab"
    Project.create(other).close()
    dialog = drop(window, [csvs["accounts"], other])
    assert window.session.path == other
    assert [p.name for p in dialog.model.plans] == ["companies.csv"]
    run_import(qtbot, dialog)
    assert db_rows(window, "SELECT count(*) FROM accounts") == [(2,)]
    dialog.accept()


def test_closing_the_window_during_an_import_asks_then_cancels(window, qtbot, tmp_path, message_log):
    dialog = drop(window, [big_events(tmp_path)])
    progress = []
    dialog.worker.progressed.connect(lambda done, total, text: progress.append(text))
    assert dialog.start_import()
    qtbot.waitUntil(lambda: any("rows/s" in t for t in progress), timeout=30_000)
    window.close()  # the person answers No
    assert message_log.texts("question") == ["An import is running. Cancel it and quit?"]
    assert window.session.is_open() and dialog.is_importing()
    message_log.answer = True
    path = window.session.path
    window.close()
    assert not window.session.is_open()
    assert not dialog.worker.is_running()
    conn = sqlite3.connect(str(path))
    try:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)
    finally:
        conn.close()


def test_files_dropped_on_a_text_field_still_open_the_wizard(window, csvs):
    from PySide6.QtWidgets import QLineEdit

    field = QLineEdit()
    window.set_page("segments", field)
    window.show_page("segments")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(csvs["users"]))])
    mime.setText(str(csvs["users"]))
    for event_type in (QDragEnterEvent, QDropEvent):
        point = QPoint(5, 5) if event_type is QDragEnterEvent else QPointF(5, 5)
        event = event_type(
            point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(field, event)
        assert event.isAccepted()
    assert field.text() == ""
    dialog = window.current_import_dialog
    assert dialog is not None and [p.name for p in dialog.model.plans] == ["people.csv"]


def test_encoding_and_delimiter_choices(window, qtbot, tmp_path):
    latin = write(
        tmp_path / "kunden.csv", "user_id;name;city\nu1;Müller;Köln\nu2;Ærø;Århus\n", encoding="cp1252"
    )
    dialog = drop(window, [latin])
    plan = dialog.model.plan(0)
    assert plan.sniff.delimiter == ";" and plan.detected_kind == "users"
    assert ("Müller" in plan.sniff.sample_rows[0]) and not plan.sniff.encoding.startswith("utf")
    # A wrong encoding is a clear error, and choosing a good one again recovers.
    dialog.encoding_combo.setEditText("no-such-encoding")
    dialog.encoding_combo.lineEdit().editingFinished.emit()
    assert "unknown text encoding" in dialog.model.plan(0).error
    assert not dialog.import_button.isEnabled()
    dialog.encoding_combo.setEditText("cp1252")
    dialog.encoding_combo.lineEdit().editingFinished.emit()
    assert dialog.model.plan(0).error is None
    # The comma delimiter makes one column: no user id any more.
    dialog.delimiter_combo.setCurrentIndex(dialog.delimiter_combo.findData(","))
    dialog.delimiter_combo.activated.emit(dialog.delimiter_combo.currentIndex())
    assert dialog.model.plan(0).error is not None
    dialog.delimiter_combo.setCurrentIndex(dialog.delimiter_combo.findData(";"))
    dialog.delimiter_combo.activated.emit(dialog.delimiter_combo.currentIndex())
    run_import(qtbot, dialog)
    cols = dict(db_rows(window, "SELECT name, column_name FROM properties WHERE entity = 'user'"))
    rows = db_rows(window, f"SELECT {cols['name']}, {cols['city']} FROM users ORDER BY user_id")
    assert rows == [("Müller", "Köln"), ("Ærø", "Århus")]
    dialog.accept()


def test_a_guessed_account_column_can_be_set_to_none(window, qtbot, tmp_path):
    events = write(
        tmp_path / "events.csv",
        "user_id,event,timestamp,account_id\nu1,login,2024-01-01T00:00:00Z,team-red\n",
    )
    dialog = drop(window, [events])
    combo = dialog.field_combo("account_id")
    assert combo.currentData() == "account_id"  # guessed from the header
    combo.setCurrentIndex(combo.findData(None))  # "(none)": this column is not an account id
    combo.activated.emit(combo.currentIndex())
    plan = dialog.model.plan(0)
    assert plan.error is None and "account_id" not in plan.mapping.to_dict()
    assert dialog.field_combo("account_id").currentData() is None  # the guess does not come back
    run_import(qtbot, dialog)
    assert db_rows(window, "SELECT count(*) FROM accounts") == [(0,)]
    assert db_rows(window, "SELECT name FROM properties WHERE entity = 'event'") == [("account_id",)]
    dialog.accept()
