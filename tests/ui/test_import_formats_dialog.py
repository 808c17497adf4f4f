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


AMPLITUDE = (
    '{"$insert_id":"x1","event_type":"open","event_time":"2024-03-01 10:00:00.250000","user_id":"b1",'
    '"event_properties":{"plan":"pro"},"user_properties":{},"groups":{"company":["acme"]}}\n'
    '{"$insert_id":"x2","event_type":"buy","event_time":"2024-03-02 11:30:00.000000","user_id":"b2",'
    '"event_properties":{"plan":"free"},"user_properties":{},"groups":{}}\n'
)


def test_dropped_gzip_csv_zstd_json_lines_and_parquet_events(window, qtbot, tmp_path):
    """The three kinds of file a person drags out of an export folder, each recognised on the real
    window; the wizard names the Amplitude shape and shows Parquet's parsed times beside the raw."""
    folder = tmp_path / "drop"
    folder.mkdir()
    gz = folder / "web.csv.gz"  # by hand
    gz.write_bytes(gzip.compress(b"user_id,event,timestamp\nw1,visit,2024-03-03T08:00:00Z\n"))
    zst = folder / "amplitude.jsonl.zst"  # compressed by pyarrow
    with pa.CompressedOutputStream(str(zst), "zstd") as out:
        out.write(AMPLITUDE.encode())
    parquet = folder / "app.parquet"  # written by pyarrow, a real timestamp column
    pq.write_table(
        pa.table(
            {
                "user_id": ["p1", "p2"],
                "event": ["launch", "launch"],
                "ts": pa.array([1709460000000, 1709550000500], pa.timestamp("ms", tz="UTC")),
                "device": pa.array([{"os": "ios"}, {"os": "android"}], pa.struct([("os", pa.string())])),
            }
        ),
        parquet,
    )
    _drop_on(window.centralWidget(), [gz, zst, parquet])
    dialog = window.current_import_dialog
    assert isinstance(dialog, ImportDialog)
    plans = {p.name: p for p in dialog.model.plans}
    assert {n: (p.detected_kind, p.error) for n, p in plans.items()} == {
        "web.csv.gz": ("events", None),
        "amplitude.jsonl.zst": ("events", None),
        "app.parquet": ("events", None),
    }
    rows = {dialog.file_list.item(i).text().split("\n")[0]: i for i in range(dialog.file_list.count())}
    texts = {name: dialog.file_list.item(i).text() for name, i in rows.items()}
    assert "CSV (gzip)" in texts["web.csv.gz"]
    assert (
        "JSON lines (zstd)" in texts["amplitude.jsonl.zst"]
        and "Amplitude export" in texts["amplitude.jsonl.zst"]
    )
    assert "Parquet" in texts["app.parquet"]

    dialog.file_list.setCurrentRow(rows["amplitude.jsonl.zst"])
    assert dialog.format_label.text().startswith(
        "JSON lines (zstd) — Amplitude export recognised: user id = "
    )
    assert dialog.field_combo("event").currentText() == "event_type"
    assert dialog.field_combo("timestamp").currentText() == "event_time"

    def parsed_beside(column: str) -> tuple[list, list]:
        model = dialog.preview_model
        headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
        at = headers.index(f"{column}\n[timestamp]")
        assert headers[at + 1] == "read as (UTC)"
        raw = [model.data(model.index(r, at)) for r in range(model.rowCount())]
        return raw, [model.data(model.index(r, at + 1)) for r in range(model.rowCount())]

    assert parsed_beside("event_time") == (
        ["2024-03-01 10:00:00.250000", "2024-03-02 11:30:00.000000"],
        ["2024-03-01 10:00:00.250", "2024-03-02 11:30:00"],
    )
    dialog.file_list.setCurrentRow(rows["app.parquet"])
    assert dialog.format_label.text() == "Parquet"
    assert parsed_beside("ts") == (
        ["2024-03-03T10:00:00.000Z", "2024-03-04T11:00:00.500Z"],
        ["2024-03-03 10:00:00", "2024-03-04 11:00:00.500"],
    )

    with qtbot.waitSignal(dialog.worker.finished, timeout=30_000):
        assert dialog.start_import()
    assert {o.path.name: (o.error, o.report.rows_imported) for o in dialog.outcomes} == {
        "web.csv.gz": (None, 1),
        "amplitude.jsonl.zst": (None, 2),
        "app.parquet": (None, 2),
    }
    conn = sqlite3.connect(str(window.session.path))
    try:
        assert conn.execute("SELECT name FROM properties WHERE entity = 'event' ORDER BY 1").fetchall() == [
            ("device.os",),
            ("event_properties.plan",),
        ]
    finally:
        conn.close()
    dialog.accept()


def test_a_2100_column_file_gets_its_sentence_in_the_wizard(window, qtbot, tmp_path):
    path = tmp_path / "wide.csv"
    names = ["user_id", "event", "timestamp", *(f"c{i}" for i in range(2100))]
    path.write_text(",".join(names) + "\n" + ",".join(["u1", "open", "2024-01-01", *["1"] * 2100]) + "\n")
    _drop_on(window.centralWidget(), [path])
    dialog = window.current_import_dialog
    dialog.file_list.setCurrentRow(0)
    (plan,) = dialog.model.plans
    assert plan.error == (
        "wide.csv: 2,100 property columns, but a project holds at most 1,980 event properties "
        "(SQLite allows 2,000 columns in a table); import the file with fewer columns"
    )
    assert dialog.error_label.isVisibleTo(dialog) and dialog.error_label.text() == plan.error
    assert not dialog.import_button.isEnabled()
    dialog.reject()
