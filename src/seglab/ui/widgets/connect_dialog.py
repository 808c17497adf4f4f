"""File → Connect to ClickHouse…: a connected project (docs/sources.md), made as ``seglab connect`` makes it.

The person gives the source URL (a chdb folder, picked with a folder dialog, or a ClickHouse
server), presses "Test connection" (a worker lists the database's tables and counts the rows
of the chosen ones), picks the events, users and accounts tables and checks the column
mapping (guessed from the column names, as the importer guesses them). "Connect…" asks
where to save the project and writes it with :func:`seglab.core.engines.connect.connect_project`
in a worker. Every error is the core's sentence, shown next to the field it concerns.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from seglab.core.engines.connect import FIELDS, KINDS, resolve_table, split_table
from seglab.core.engines.source import PASSWORD_ENV, SourceError, parse_url
from seglab.core.engines.tasks import SourceProbe, connect_task, probe_source
from seglab.core.errors import SegLabError
from seglab.core.importing.mapping import guess_fields
from seglab.ui import messages
from seglab.ui.models.import_model import FIELD_LABELS
from seglab.ui.workers import Worker

NONE = "(none)"
TABLE_HINTS = {"events": ("event",), "users": ("user", "person", "people"), "accounts": ("account", "compan")}
REQUIRED = {"events": ("user_id", "timestamp", "event"), "users": ("user_id",), "accounts": ("account_id",)}
ERROR_STYLE = "color: #b00020;"
PROJECT_FILTER = "SegLab projects (*.seglab);;All files (*)"


def _probe_task(_path, request, progress) -> SourceProbe:
    url, chosen = request
    return probe_source(url, chosen, progress)


def _error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("errorText")
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    return label


def _set_error(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


class TableBox(QGroupBox):
    """One table of the source (events, users or accounts): its name, rows and column mapping."""

    def __init__(self, kind: str, parent: QWidget | None = None):
        super().__init__(kind.capitalize(), parent)
        self.kind = kind
        self.columns: list[tuple[str, str]] | None = None  # None: not read yet
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.table_combo = QComboBox()
        self.table_combo.setEditable(True)
        self.table_combo.setMinimumContentsLength(14)
        self.table_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        line = self.table_combo.lineEdit()
        line.setPlaceholderText("required" if kind == "events" else "optional")
        form.addRow("Table", self.table_combo)
        self.rows_label = QLabel("—")
        self.rows_label.setObjectName("hint")
        form.addRow("Rows", self.rows_label)
        self.field_combos: dict[str, QComboBox] = {}
        for field in FIELDS[kind]:
            combo = QComboBox()
            combo.setMinimumContentsLength(12)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.field_combos[field] = combo
            required = field in REQUIRED[kind]
            form.addRow(FIELD_LABELS[field] + (" *" if required else ""), combo)
        self.properties_combo = QComboBox()
        self.properties_combo.setToolTip(
            "A JSON String or Map(String, String) column whose keys are properties (optional)"
        )
        form.addRow("Properties (JSON/Map)", self.properties_combo)
        self.properties_label = QLabel("")
        self.properties_label.setObjectName("hint")
        self.properties_label.setWordWrap(True)
        form.addRow(self.properties_label)
        self.error_label = _error_label()
        form.addRow(self.error_label)
        self.set_columns(None)
        for combo in (*self.field_combos.values(), self.properties_combo):
            combo.activated.connect(self._show_properties)

    def table(self) -> str:
        return self.table_combo.currentText().strip()

    def set_tables(self, names: list[str]) -> None:
        """The tables found in the source; keeps what was typed, else picks a likely one."""
        current = self.table()
        self.table_combo.blockSignals(True)
        self.table_combo.clear()
        if self.kind != "events":
            self.table_combo.addItem("")
        self.table_combo.addItems(names)
        if not current:
            current = self._likely(names)
        self.table_combo.setEditText(current)
        self.table_combo.blockSignals(False)

    def _likely(self, names: list[str]) -> str:
        lowered = [n.lower() for n in names]
        if self.kind in lowered:
            return names[lowered.index(self.kind)]
        for hint in TABLE_HINTS[self.kind]:
            for name, low in zip(names, lowered):
                if low.startswith(hint):
                    return name
        return ""

    def set_columns(self, columns: list[tuple[str, str]] | None) -> None:
        """The chosen table's columns: fill the mapping, guessed from the column names."""
        self.columns = columns
        names = [c for c, _t in columns or []]
        guessed = guess_fields(names)
        for field, combo in self.field_combos.items():
            combo.clear()
            combo.addItem(NONE, "")
            for name in names:
                combo.addItem(name, name)
            if field in guessed:
                combo.setCurrentIndex(guessed[field] + 1)
            combo.setEnabled(columns is not None)
        self.properties_combo.clear()
        self.properties_combo.addItem(NONE, "")
        for name, ch_type in columns or []:
            if "String" in ch_type and name not in [names[i] for i in guessed.values()]:
                self.properties_combo.addItem(f"{name}  ({ch_type})", name)
        self.properties_combo.setEnabled(columns is not None)
        self._show_properties()

    def _show_properties(self, *_args) -> None:
        """The columns that become properties (every column not mapped to a field)."""
        if self.columns is None:
            self.properties_label.setText("")
            return
        used = {c.currentData() for c in self.field_combos.values()} | {self.properties_combo.currentData()}
        rest = [name for name, _t in self.columns if name not in used]
        shown = ", ".join(rest[:12]) + (f" and {len(rest) - 12} more" if len(rest) > 12 else "")
        self.properties_label.setText(f"Properties: {shown}" if rest else "No other columns: no properties")

    def maps(self) -> list[str]:
        """``--map`` options of this table: every field as chosen (``F=`` for none)."""
        out = [f"{self.kind}.{f}={c.currentData() or ''}" for f, c in self.field_combos.items()]
        pc = self.properties_combo.currentData()
        if pc:
            out.append(f"{self.kind}.properties={pc}")
        return out

    def map_dict(self) -> dict[str, str]:
        out = {f: c.currentData() or "" for f, c in self.field_combos.items()}
        pc = self.properties_combo.currentData()
        if pc:
            out["properties"] = pc
        return out

    def check(self) -> str:
        """The core's sentence on this table's mapping, or ''."""
        table = self.table()
        if not table:
            return "choose the events table" if self.kind == "events" else ""
        if self.columns is None:
            return "test the connection to read this table's columns"
        try:
            resolve_table(self.kind, table, self.columns, self.map_dict())
        except SegLabError as exc:
            return str(exc)
        return ""


class ConnectDialog(QDialog):
    """Makes a connected project; ``project_path`` is set when it was written."""

    def __init__(self, folder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connect to ClickHouse")
        self.setMinimumWidth(900)
        self.project_path: Path | None = None
        self.probe: SourceProbe | None = None
        self._folder = folder
        self._asked: dict[str, str | None] = {}
        self.probe_worker = Worker(self)
        self.probe_worker.succeeded.connect(self._probed)
        self.probe_worker.failed.connect(self._probe_failed)
        self.probe_worker.finished.connect(self._update_buttons)
        self.connect_worker = Worker(self)
        self.connect_worker.succeeded.connect(self._connected)
        self.connect_worker.failed.connect(self._connect_failed)
        self.connect_worker.finished.connect(self._update_buttons)

        layout = QVBoxLayout(self)
        intro = QLabel(
            "A connected project reads its events from ClickHouse each time it counts or charts; "
            "only results come back. The project file keeps the connection, the tables and the "
            "mapping — never event rows, never a password."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("chdb:///absolute/folder  or  clickhouse://user@host:8123/database")
        self.url_edit.textEdited.connect(self._url_edited)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Choose an embedded ClickHouse (chdb) data folder")
        self.folder_button.clicked.connect(self._choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.url_edit, 1)
        row.addWidget(self.folder_button)
        form.addRow("Source", row)
        self.url_error = _error_label()
        form.addRow("", self.url_error)
        self.password_label = QLabel("")
        self.password_label.setObjectName("hint")
        self.password_label.setWordWrap(True)
        form.addRow("Password", self.password_label)
        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.status_label = QLabel("")
        self.status_label.setObjectName("connectStatus")
        self.status_label.setWordWrap(True)
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.status_label, 1)
        form.addRow("", test_row)
        layout.addLayout(form)

        boxes = QHBoxLayout()
        self.boxes = {kind: TableBox(kind) for kind in KINDS}
        for box in self.boxes.values():
            box.table_combo.currentTextChanged.connect(lambda _t, b=box: self._table_changed(b))
            for combo in (*box.field_combos.values(), box.properties_combo):
                combo.activated.connect(lambda _i, b=box: self._check_box(b))
            boxes.addWidget(box, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(boxes)
        layout.addStretch(1)

        self.error_label = _error_label()
        layout.addWidget(self.error_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.connect_button = QPushButton("Connect…")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.connect_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self._url_edited()

    # -- the source ---------------------------------------------------------------------------
    def url(self) -> str:
        return self.url_edit.text().strip()

    def set_url(self, url: str) -> None:
        self.url_edit.setText(url)
        self._url_edited()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "chdb data folder", self._folder)
        if folder:
            self.set_url(f"chdb://{Path(folder).resolve()}")

    def _url_edited(self, *_args) -> None:
        self.probe = None
        for box in self.boxes.values():
            box.set_columns(None)
            box.rows_label.setText("—")
            _set_error(box.error_label, "")
        _set_error(self.url_error, "")
        _set_error(self.error_label, "")
        self.status_label.setText("")
        url = self.url()
        if url.lower().startswith("chdb:"):
            note = "a chdb folder needs no password"
        else:
            note = (
                f"from {PASSWORD_ENV}, else the OS keyring (service 'seglab', user USER@HOST:PORT), "
                "else none; never written in the project file nor the URL"
            )
        self.password_label.setText(note)
        self._update_buttons()

    def _chosen(self) -> dict[str, str | None]:
        return {kind: box.table() or None for kind, box in self.boxes.items()}

    def test_connection(self) -> bool:
        """Read the source's tables and count the chosen ones' rows, in a worker. True when started."""
        _set_error(self.url_error, "")
        _set_error(self.error_label, "")
        try:
            parse_url(self.url())
        except SourceError as exc:
            _set_error(self.url_error, str(exc))
            return False
        self.status_label.setText("Connecting…")
        self._start_probe()
        return True

    def _start_probe(self) -> None:
        self._asked = self._chosen()
        self.probe_worker.start(_probe_task, ".", (self.url(), self._asked))
        self._update_buttons()

    def _probed(self, probe: SourceProbe) -> None:
        self.probe = probe
        names = sorted(probe.tables)
        for box in self.boxes.values():
            box.set_tables(names)
            self._table_changed(box)
        self.password_label.setText(probe.password[:1].upper() + probe.password[1:])
        counts = [
            f"{kind} {probe.rows[t]:,} rows"
            for kind, t in self._chosen().items()
            if t is not None and t in probe.rows
        ]
        found = f"{len(names)} table{'' if len(names) == 1 else 's'} in {probe.database}"
        self.status_label.setText(f"Connected: {found}" + (" · " + " · ".join(counts) if counts else ""))
        if self._chosen() != self._asked and self._chosen()["events"] and not probe.errors:
            # Tables were picked just now from what the source has: count their rows too.
            self._start_probe()

    def _probe_failed(self, exc: object) -> None:
        self.status_label.setText("")
        text = str(exc) if isinstance(exc, (SegLabError, OSError)) else f"{type(exc).__name__}: {exc}"
        _set_error(self.url_error, text)

    def _table_changed(self, box: TableBox) -> None:
        probe = self.probe
        table = box.table()
        columns = None
        if probe is not None and table:
            if table in probe.columns:
                columns = probe.columns[table]
            else:
                db, name = split_table(table, probe.database) if "." in table else (probe.database, table)
                if db == probe.database:
                    columns = probe.tables.get(name)
        box.set_columns(columns)
        rows = probe.rows.get(table) if probe is not None else None
        box.rows_label.setText(f"{rows:,}" if rows is not None else "—")
        error = probe.errors.get(box.kind, "") if probe is not None else ""
        if probe is not None and table and columns is None and not error:
            error = f"table {table!r}: no such table in database {probe.database!r} of the source"
        _set_error(box.error_label, error)
        if not error:
            self._check_box(box)
        self._update_buttons()

    def _check_box(self, box: TableBox) -> str:
        text = box.check() if self.probe is not None else ""
        _set_error(box.error_label, text)
        self._update_buttons()
        return text

    def _update_buttons(self, *_args) -> None:
        busy = self.probe_worker.is_busy() or self.connect_worker.is_busy()
        self.test_button.setEnabled(not busy and bool(self.url()))
        self.connect_button.setEnabled(not busy and self.probe is not None)
        self.connect_button.setToolTip("" if self.probe is not None else "Test the connection first")
        for widget in (self.url_edit, self.folder_button, *self.boxes.values()):
            widget.setEnabled(not busy)

    # -- connecting ------------------------------------------------------------------------------
    def connect_clicked(self) -> None:
        if self.probe is None:
            return
        if any(self._check_box(box) for box in self.boxes.values()):
            return
        suggestion = Path(self._folder or Path.home()) / f"{_stem(self.url())}.seglab"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the connected project", str(suggestion), PROJECT_FILTER
        )
        if not path:
            return
        if not Path(path).suffix:
            path += ".seglab"
        self.connect_to(path)

    def connect_to(self, path: str | Path) -> bool:
        """Write the connected project at ``path`` in a worker; True when started."""
        _set_error(self.error_label, "")
        if Path(path).exists():
            _set_error(self.error_label, f"{path}: already exists; choose another name")
            return False
        maps = [m for box in self.boxes.values() if box.table() for m in box.maps()]
        self.status_label.setText(f"Writing {Path(path).name}…")
        self.connect_worker.start(connect_task, path, (self.url(), self._chosen(), maps))
        self._update_buttons()
        return True

    def _connected(self, path: Path) -> None:
        self.project_path = Path(path)
        self.status_label.setText(f"{Path(path).name} written")
        self.accept()

    def _connect_failed(self, exc: object) -> None:
        self.status_label.setText("")
        if not isinstance(exc, (SegLabError, OSError)):
            _set_error(self.error_label, messages.INTERNAL_ERROR.format(what=f"{type(exc).__name__}: {exc}"))
            return
        text = str(exc)
        _set_error(self._label_for(text), text)

    def _label_for(self, text: str) -> QLabel:
        """The error label next to what a core sentence is about."""
        for kind, box in self.boxes.items():
            table = box.table()
            if text.startswith(f"--map {kind}.") or (
                table and (text.startswith(f"{table}.") or f"table {table!r}" in text)
            ):
                return box.error_label
        if text.startswith(self.url()) or "source" in text or "chdb" in text:
            return self.url_error
        return self.error_label

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.probe_worker.wait(timeout_ms) and self.connect_worker.wait(timeout_ms)

    def done(self, result: int) -> None:
        # A test of an unreachable server may wait for its time-out: closing does not wait for it
        # (the task holds no Qt object; its result is dropped). Writing the project is short.
        self.probe_worker.cancel()
        self.connect_worker.shutdown()
        super().done(result)


def _stem(url: str) -> str:
    try:
        src = parse_url(url)
    except SourceError:
        return "connected"
    name = Path(src.path).name if src.kind == "chdb" else src.database
    return name or "connected"


__all__ = ["ConnectDialog"]
