"""The import wizard on Parquet, JSON lines and compressed files, and on a Mixpanel export."""

from __future__ import annotations

import gzip
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from seglab.core.project import Project
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings
from seglab.ui.widgets.import_dialog import ImportDialog

pytestmark = pytest.mark.gui

MIXPANEL = (
    '{"event":"Signed Up","properties":{"time":1602611311,"$insert_id":"a1","distinct_id":"user123",'
    '"plan":"trial"}}\n'
    '{"event":"Purchase","properties":{"time":1602787121,"$insert_id":"a2","distinct_id":"user123",'
    '"Amount":49.0}}\n'
    '{"event":"Purchase","properties":{"time":"soon","$insert_id":"a3","distinct_id":"user456"}}\n'
)


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


def _drop_on(widget, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, buttons, keys, QEvent.Type.Drop)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def _files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    mixpanel = folder / "mixpanel.json"
    mixpanel.write_text(MIXPANEL)
    accounts = folder / "accounts.parquet"
    pq.write_table(
        pa.table({"account_id": ["c1", "c2"], "seats": pa.array([10, None], pa.int32())}), accounts
    )
    users = folder / "users.csv.gz"
    users.write_bytes(gzip.compress(b"user_id,account_id,plan\nuser123,c1,pro\nuser456,c2,free\n"))
    return mixpanel, accounts, users


def test_every_format_is_dropped_previewed_and_imported(window, qtbot, tmp_path):
    mixpanel, accounts, users = _files(tmp_path)
    # Dropped on a child widget: the window's filter routes every format to the wizard.
    _drop_on(window.centralWidget(), [mixpanel, users, accounts])
    dialog = window.current_import_dialog
    assert isinstance(dialog, ImportDialog)
    plans = dialog.model.plans
    assert [(p.name, p.detected_kind, p.error) for p in plans] == [
        ("accounts.parquet", "accounts", None),
        ("users.csv.gz", "users", None),
        ("mixpanel.json", "events", None),
    ]
    assert "Parquet" in dialog.file_list.item(0).text()
    assert "CSV (gzip)" in dialog.file_list.item(1).text() and "comma" in dialog.file_list.item(1).text()
    assert "Mixpanel export" in dialog.file_list.item(2).text()
    assert dict(plans[0].properties) == {"seats": "integer"}

    dialog.file_list.setCurrentRow(0)
    assert not dialog.delimiter_combo.isEnabled() and not dialog.encoding_combo.isEnabled()
    assert dialog.format_label.text() == "Parquet"

    dialog.file_list.setCurrentRow(2)
    assert dialog.format_label.text().startswith("JSON lines — Mixpanel export recognised: user id = ")
    assert dialog.field_combo("user_id").currentText() == "properties.distinct_id"
    assert dialog.field_combo("timestamp").currentText() == "properties.time"
    assert dialog.field_combo("insert_id").currentText() == "properties.$insert_id"
    assert not dialog.delimiter_combo.isEnabled()
    # The parsed timestamp sits right after the raw one.
    model = dialog.preview_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    at = headers.index("properties.time\n[timestamp]")
    assert headers[at + 1] == "read as (UTC)"
    cells = [model.data(model.index(r, at + 1)) for r in range(model.rowCount())]
    assert cells[:2] == ["2020-10-13 17:48:31", "2020-10-15 18:38:41"]
    assert cells[2].startswith("✗ ")

    with qtbot.waitSignal(dialog.worker.finished, timeout=30_000):
        assert dialog.start_import()
    assert [o.error for o in dialog.outcomes] == [None, None, None]
    assert [o.report.rows_imported for o in dialog.outcomes] == [2, 2, 2]
    assert dialog.outcomes[2].report.rows_rejected == 1
    conn = sqlite3.connect(str(window.session.path))
    try:
        assert conn.execute(
            "SELECT u.user_id, a.account_id, u.first_ts FROM users u JOIN accounts a USING (account_key) "
            "ORDER BY 1"
        ).fetchall() == [("user123", "c1", 1602611311000), ("user456", "c2", None)]
    finally:
        conn.close()
    dialog.accept()


def test_the_file_picker_and_drop_filter_offer_every_format():
    from seglab.ui import main_window

    for suffix in (".parquet", ".jsonl", ".ndjson", ".json", ".gz", ".zst"):
        assert suffix in main_window.DROP_SUFFIXES
        assert f"*{suffix}" in main_window.CSV_FILTER
