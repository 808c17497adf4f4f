"""The import wizard: check what SegLab detected in each CSV file, adjust, import, see the summary.

The dialog shows an :class:`~seglab.ui.models.import_model.ImportPlanModel`; every
choice goes through the model. The import runs in a :class:`~seglab.ui.workers.Worker`
with its own writable connection; meanwhile the session is marked busy so the main
thread writes nothing. Cancel stops the file in progress (rolled back: one file is
one transaction); files finished before it stay imported, and the summary says so.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from seglab.core.importing import KINDS
from seglab.core.importing.timestamps import TimestampError, TimestampParser
from seglab.ui import messages
from seglab.ui.models.import_model import (
    FIELD_LABELS,
    KIND_FIELDS,
    PROPERTY_TYPES,
    FileOutcome,
    FilePlan,
    ImportPlanModel,
    ImportRequest,
    describe_date_format,
    run_imports,
)
from seglab.ui.models.rejects_model import RejectsTableModel
from seglab.ui.models.table_model import RowsTableModel
from seglab.ui.models.time_left import TimeLeft
from seglab.ui.session import ProjectSession
from seglab.ui.workers import Worker

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "shift_jis", "gb18030")
DELIMITERS = (("comma", ","), ("semicolon", ";"), ("tab", "\t"), ("pipe", "|"))
NONE_COLUMN = "(none)"
PREVIEW_SHOWN = 20
TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
)


def format_text(plan: FilePlan) -> str:
    """The file's format and, for a known export, which shape was recognised."""
    if not plan.shape:
        return plan.format
    mapped = plan.mapping.to_dict() if plan.mapping else {}
    fields = ", ".join(f"{FIELD_LABELS[f].lower()} = {c}" for f, c in mapped.items())
    return f"{plan.format} — {plan.shape} recognised: {fields}"


def parsed_timestamps(plan: FilePlan, values: list[str]) -> list[str]:
    """How the importer reads each timestamp cell, in UTC (or why it cannot)."""
    zone = None
    if plan.timezone:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(plan.timezone)
    parse = TimestampParser(date_format=plan.date_format, tz=zone)
    out = []
    for value in values:
        if not value.strip():
            out.append("")
            continue
        try:
            ms = parse(value)
        except TimestampError as exc:
            out.append(f"✗ {exc}")
            continue
        moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        out.append(text + (f".{ms % 1000:03d}" if ms % 1000 else ""))
    return out


def _format_seconds(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


class RejectsDialog(QDialog):
    """The rejected rows as a table (line, reason, the record's fields), and where the file is."""

    def __init__(self, path: str, parent: QWidget | None = None, source: str | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Rejected rows — {Path(path).name}")
        self.resize(900, 460)
        layout = QVBoxLayout(self)
        where = QLabel(f"Saved in <code>{path}</code>")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(where)
        self.model = RejectsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.note = QLabel("")
        self.note.setStyleSheet("color: gray;")
        try:
            self.model.load(path, source)
            n = self.model.rowCount()
            self.note.setText(
                f"The first {n:,} rejected rows (more in the file)."
                if self.model.more
                else f"{n:,} rejected row{'' if n == 1 else 's'}."
            )
        except OSError as exc:
            self.note.setText(f"Cannot read the rejects file: {exc.strerror or exc}")
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        if self.table.columnWidth(1) > 320:
            self.table.setColumnWidth(1, 320)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        row = QHBoxLayout()
        folder = QPushButton("Open Folder")
        folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent))))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addStretch(1)
        row.addWidget(folder)
        row.addWidget(close)
        layout.addLayout(row)


class ImportDialog(QDialog):
    def __init__(self, session: ProjectSession, paths: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.time_left = TimeLeft()  # smoothed: it counts down, it does not jump about
        self.model = ImportPlanModel(paths, self)
        self.worker = Worker(self, progress_interval_ms=100)
        self.outcomes: list[FileOutcome] = []
        self.was_cancelled = False
        self._request: ImportRequest | None = None
        self._started = 0.0
        self._field_combos: dict[str, QComboBox] = {}
        self.setWindowTitle(messages.TITLE_IMPORT)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(1080, 720)
        self.setAcceptDrops(True)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_setup_page())
        self.pages.addWidget(self._build_summary_page())
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 12)
        outer.addWidget(self.pages, 1)

        self.worker.progressed.connect(self._progress)
        self.worker.finished.connect(self._import_finished)
        self.model.files_changed.connect(self._files_changed)
        self.model.plan_changed.connect(self._plan_changed)
        self._files_changed()

    # -- building ----------------------------------------------------------------------------------
    def _build_setup_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel(
            "Check what SegLab found in each file. Files are imported in the order shown: "
            "accounts, then users, then events."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.file_list = QListWidget()
        self.file_list.setObjectName("importFiles")
        self.file_list.setIconSize(self.file_list.iconSize().expandedTo(self.file_list.iconSize()))
        self.file_list.currentRowChanged.connect(self._show_plan)
        left_layout.addWidget(self.file_list, 1)
        self.remove_button = QPushButton("Remove File")
        self.remove_button.clicked.connect(self._remove_current)
        left_layout.addWidget(self.remove_button)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind_combo = QComboBox()
        for kind in KINDS:
            self.kind_combo.addItem(kind.capitalize(), kind)
        self.kind_combo.activated.connect(self._kind_chosen)
        self.encoding_combo = QComboBox()
        self.encoding_combo.setEditable(True)
        self.encoding_combo.addItems(ENCODINGS)
        self.encoding_combo.lineEdit().editingFinished.connect(self._encoding_chosen)
        self.encoding_combo.activated.connect(self._encoding_chosen)
        self.delimiter_combo = QComboBox()
        for label, char in DELIMITERS:
            self.delimiter_combo.addItem(label, char)
        self.delimiter_combo.activated.connect(self._delimiter_chosen)
        self.format_label = QLabel("")
        self.format_label.setObjectName("importFormat")
        self.format_label.setWordWrap(True)
        form.addRow("Format", self.format_label)
        row = QHBoxLayout()
        row.addWidget(self.kind_combo, 1)
        row.addWidget(QLabel("Encoding"))
        row.addWidget(self.encoding_combo, 1)
        row.addWidget(QLabel("Delimiter"))
        row.addWidget(self.delimiter_combo, 1)
        form.addRow("Kind", row)
        for field in FIELD_LABELS:
            combo = QComboBox()
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
            combo.activated.connect(lambda _i, f=field: self._field_chosen(f))
            self._field_combos[field] = combo
            form.addRow(FIELD_LABELS[field], combo)
        self.date_format_combo = QComboBox()
        self.date_format_combo.setEditable(True)
        self.date_format_combo.activated.connect(self._date_format_chosen)
        self.date_format_combo.lineEdit().editingFinished.connect(self._date_format_chosen)
        self.date_format_label = QLabel("Date format")
        form.addRow(self.date_format_label, self.date_format_combo)
        self.timezone_combo = QComboBox()
        self.timezone_combo.setEditable(True)
        self.timezone_combo.addItems(TIMEZONES)
        self.timezone_combo.setToolTip("The zone of timestamps written without one (Z or +02:00 win).")
        self.timezone_combo.activated.connect(self._timezone_chosen)
        self.timezone_combo.lineEdit().editingFinished.connect(self._timezone_chosen)
        form.addRow("Time zone", self.timezone_combo)
        self._form = form
        right_layout.addLayout(form)

        self.error_label = QLabel("")
        self.error_label.setObjectName("errorText")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.warning_label = QLabel("")
        self.warning_label.setObjectName("warningText")
        self.warning_label.setWordWrap(True)
        right_layout.addWidget(self.error_label)
        right_layout.addWidget(self.warning_label)

        tables = QSplitter(Qt.Orientation.Vertical)
        preview_box = QWidget()
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        self.preview_title = QLabel("Preview")
        self.preview_title.setObjectName("sectionTitle")
        self.preview_model = RowsTableModel(())
        self.preview_view = QTableView()
        self.preview_view.setModel(self.preview_model)
        self.preview_view.setAlternatingRowColors(True)
        self.preview_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_view.verticalHeader().setDefaultSectionSize(22)
        self.preview_view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        preview_layout.addWidget(self.preview_title)
        preview_layout.addWidget(self.preview_view, 1)
        tables.addWidget(preview_box)
        props_box = QWidget()
        props_layout = QVBoxLayout(props_box)
        props_layout.setContentsMargins(0, 0, 0, 0)
        self.properties_title = QLabel("Properties")
        self.properties_title.setObjectName("sectionTitle")
        self.properties_table = QTableWidget(0, 3)
        self.properties_table.setHorizontalHeaderLabels(["Property", "Detected", "Import as"])
        self.properties_table.verticalHeader().setVisible(False)
        self.properties_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.properties_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        props_layout.addWidget(self.properties_title)
        props_layout.addWidget(self.properties_table, 1)
        tables.addWidget(props_box)
        tables.setStretchFactor(0, 3)
        tables.setStretchFactor(1, 2)
        right_layout.addWidget(tables, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([300, 760])
        layout.addWidget(splitter, 1)

        self.force_check = QCheckBox("Import files again even if the same content was imported before")
        self.force_check.toggled.connect(lambda on: setattr(self.model, "force", on))
        layout.addWidget(self.force_check)
        bottom = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setVisible(False)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("hint")
        bottom.addWidget(self.progress_bar, 2)
        bottom.addWidget(self.progress_label, 3)
        bottom.addStretch(0)
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.cancel_button)
        layout.addLayout(bottom)
        self._setup_page = page
        return page

    def _build_summary_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary_title = QLabel("Import finished")
        self.summary_title.setObjectName("pageTitle")
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_table = QTableWidget(0, 5)
        self.summary_table.setHorizontalHeaderLabels(["File", "Kind", "Imported", "Rejected", "Result"])
        self.summary_table.verticalHeader().setVisible(False)
        self.summary_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.summary_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.summary_table.setWordWrap(True)
        header = self.summary_table.horizontalHeader()
        for col in range(4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.summary_table.itemSelectionChanged.connect(self._summary_selection)
        layout.addWidget(self.summary_title)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.summary_table)
        layout.addStretch(1)
        row = QHBoxLayout()
        self.rejects_button = QPushButton("Show Rejected Rows…")
        self.rejects_button.setEnabled(False)
        self.rejects_button.clicked.connect(self.show_rejects)
        self.done_button = QPushButton("Close")
        self.done_button.setDefault(True)
        self.done_button.clicked.connect(self.accept)
        row.addWidget(self.rejects_button)
        row.addStretch(1)
        row.addWidget(self.done_button)
        layout.addLayout(row)
        return page

    # -- showing the model -------------------------------------------------------------------------
    def _files_changed(self) -> None:
        current = self.current_plan()
        self.file_list.blockSignals(True)
        self.file_list.clear()
        style = self.style()
        for plan in self.model.plans:
            item = QListWidgetItem(f"{plan.name}\n{plan.summary()}")
            item.setToolTip(str(plan.path))
            if plan.error or plan.needs_date_format:
                item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical))
            elif plan.warnings:
                item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            else:
                item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton))
            self.file_list.addItem(item)
        self.file_list.blockSignals(False)
        plans = self.model.plans
        row = plans.index(current) if current in plans else 0
        if plans:
            self.file_list.setCurrentRow(row)
        self._show_plan(row if plans else -1)

    def _plan_changed(self, row: int) -> None:
        item = self.file_list.item(row)
        plan = self.model.plan(row)
        if item is not None:
            item.setText(f"{plan.name}\n{plan.summary()}")
        if row == self.file_list.currentRow():
            self._show_plan(row)
        self._update_buttons()

    def current_plan(self) -> FilePlan | None:
        row = self.file_list.currentRow() if hasattr(self, "file_list") else -1
        plans = self.model.plans
        return plans[row] if 0 <= row < len(plans) else None

    def current_row(self) -> int:
        return self.file_list.currentRow()

    def _show_plan(self, row: int) -> None:
        plans = self.model.plans
        plan = plans[row] if 0 <= row < len(plans) else None
        blockers = [QSignalBlocker(w) for w in (self.kind_combo, self.encoding_combo, self.delimiter_combo)]
        blockers += [QSignalBlocker(c) for c in self._field_combos.values()]
        blockers.append(QSignalBlocker(self.date_format_combo))
        blockers.append(QSignalBlocker(self.timezone_combo))
        sniff = plan.sniff if plan else None
        cmap = plan.mapping if plan else None
        kind = plan.detected_kind if plan else None
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind) if kind else -1)
        self.encoding_combo.setEditText(sniff.encoding if sniff else (plan.encoding or "") if plan else "")
        self.delimiter_combo.setCurrentIndex(self.delimiter_combo.findData(sniff.delimiter) if sniff else -1)
        self.format_label.setText(format_text(plan) if plan and sniff else "")
        columns = list(sniff.columns) if sniff else []
        used_fields = KIND_FIELDS.get(kind or "", ())
        for field, combo in self._field_combos.items():
            combo.clear()
            visible = field in used_fields
            self._form.setRowVisible(combo, visible)
            current = cmap.column_name(field) if cmap else None
            combo.addItem(NONE_COLUMN, None)  # also for a guessed field: "this file has none"
            for column in columns:
                combo.addItem(column or "(blank header)", column)
            combo.setCurrentIndex(combo.findData(current) if current is not None else 0)
            combo.setEnabled(bool(columns))
        self._form.setRowVisible(self.timezone_combo, kind == "events")
        self.timezone_combo.setEditText(plan.timezone or "UTC" if plan else "UTC")
        needs_date = bool(plan and (plan.needs_date_format or plan.date_format))
        self._form.setRowVisible(self.date_format_combo, needs_date)
        self.date_format_combo.clear()
        if plan:
            for fmt in plan.date_format_choices or ([plan.date_format] if plan.date_format else []):
                self.date_format_combo.addItem(describe_date_format(fmt), fmt)
            if plan.date_format:
                idx = self.date_format_combo.findData(plan.date_format)
                self.date_format_combo.setCurrentIndex(idx)
            else:
                self.date_format_combo.setCurrentIndex(-1)
                self.date_format_combo.setEditText("")
        del blockers

        self.error_label.setText(plan.error or "" if plan else "")
        self.error_label.setVisible(bool(plan and plan.error))
        warnings = list(plan.warnings) if plan else []
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))

        # The preview: the first rows, with the fields named in the header, and the timestamps
        # as SegLab reads them right after the timestamp column.
        headers = []
        field_of = {i: f for f, i in (cmap.fields.items() if cmap else ())}
        for i, column in enumerate(columns):
            headers.append(f"{column}\n[{FIELD_LABELS[field_of[i]].lower()}]" if i in field_of else column)
        rows = [tuple(r) + ("",) * (len(columns) - len(r)) for r in (sniff.sample_rows if sniff else ())]
        rows = [r[: len(columns)] for r in rows[:PREVIEW_SHOWN]]
        ts_index = cmap.fields.get("timestamp") if cmap and cmap.kind == "events" else None
        if ts_index is not None and plan is not None:
            headers.insert(ts_index + 1, "read as (UTC)")
            parsed = parsed_timestamps(plan, [r[ts_index] for r in rows])
            rows = [(*r[: ts_index + 1], p, *r[ts_index + 1 :]) for r, p in zip(rows, parsed)]
        self.preview_model = RowsTableModel(headers, self.preview_view)
        self.preview_model.set_rows(rows)
        self.preview_view.setModel(self.preview_model)
        self.preview_view.resizeColumnsToContents()
        shown = min(PREVIEW_SHOWN, len(rows))
        self.preview_title.setText(
            f"Preview — first {shown} of ~{sniff.estimated_rows:,} rows" if sniff else "Preview"
        )

        props = plan.properties if plan else []
        for i in range(self.properties_table.rowCount()):
            old = self.properties_table.cellWidget(i, 2)
            if old is not None:
                old.hide()  # deleted later by the table; hidden now so it never lingers on screen
            self.properties_table.removeCellWidget(i, 2)
        self.properties_table.setRowCount(0)
        self.properties_table.setRowCount(len(props))
        for i, (name, inferred) in enumerate(props):
            self.properties_table.setItem(i, 0, QTableWidgetItem(name))
            self.properties_table.setItem(i, 1, QTableWidgetItem(inferred))
            combo = QComboBox()
            for typ in PROPERTY_TYPES:
                combo.addItem(typ, typ)
            combo.setCurrentIndex(combo.findData(plan.property_type(name)))
            combo.activated.connect(lambda _i, n=name, c=combo: self._type_chosen(n, c.currentData()))
            self.properties_table.setCellWidget(i, 2, combo)
        self.properties_title.setText(
            f"Properties ({len(props)}) — {'every other column' if props else 'none in this file'}"
        )
        self._update_buttons()

    def property_type_combo(self, name: str) -> QComboBox | None:
        for i in range(self.properties_table.rowCount()):
            if self.properties_table.item(i, 0).text() == name:
                return self.properties_table.cellWidget(i, 2)  # type: ignore[return-value]
        return None

    def field_combo(self, field: str) -> QComboBox:
        return self._field_combos[field]

    def _update_buttons(self) -> None:
        importing = self.is_importing()
        ready = self.model.importable()
        self.import_button.setEnabled(bool(ready) and not importing)
        skipped = len(self.model) - len(ready)
        text = f"Import {len(ready)} file{'s' if len(ready) != 1 else ''}"
        if skipped and ready:
            text += f" (skip {skipped})"
        self.import_button.setText(text if ready else "Import")
        self.remove_button.setEnabled(bool(len(self.model)) and not importing)
        plan = self.current_plan()
        csv_file = plan is None or plan.is_csv
        self.delimiter_combo.setEnabled(not importing and csv_file)
        # JSON lines have an encoding (UTF-8 unless told); Parquet strings are always UTF-8.
        self.encoding_combo.setEnabled(not importing and (plan is None or plan.format != "Parquet"))
        for widget in (
            self.file_list,
            self.kind_combo,
            self.date_format_combo,
            self.timezone_combo,
            self.properties_table,
            self.force_check,
        ):
            widget.setEnabled(not importing)
        for combo in self._field_combos.values():
            combo.setEnabled(not importing and combo.count() > 0)

    # -- edits -------------------------------------------------------------------------------------
    def _row(self) -> int:
        return self.file_list.currentRow()

    def _kind_chosen(self, _index: int = 0) -> None:
        if self._row() >= 0:
            self.model.set_kind(self._row(), self.kind_combo.currentData())

    def _encoding_chosen(self, *_args) -> None:
        plan = self.current_plan()
        text = self.encoding_combo.currentText().strip()
        current = plan.sniff.encoding if plan is not None and plan.sniff is not None else None
        if plan is not None and text and text != current and text != plan.encoding:
            self.model.set_encoding(self._row(), text)

    def _delimiter_chosen(self, _index: int = 0) -> None:
        if self._row() >= 0:
            self.model.set_delimiter(self._row(), self.delimiter_combo.currentData())

    def _field_chosen(self, field: str) -> None:
        if self._row() >= 0:
            self.model.set_field(self._row(), field, self._field_combos[field].currentData())

    def _type_chosen(self, name: str, typ: str) -> None:
        if self._row() >= 0:
            self.model.set_type(self._row(), name, typ)

    def _date_format_chosen(self, *_args) -> None:
        plan = self.current_plan()
        if plan is None:
            return
        data = self.date_format_combo.currentData()
        text = self.date_format_combo.currentText().strip()
        fmt = data if data and describe_date_format(data) == text else text
        if fmt and fmt != plan.date_format:
            self.model.set_date_format(self._row(), fmt)

    def _timezone_chosen(self, *_args) -> None:
        plan = self.current_plan()
        if plan is None:
            return
        text = self.timezone_combo.currentText().strip()
        if (text or None) == (plan.timezone or "UTC"):
            return
        try:
            self.model.set_timezone(self._row(), text)
        except ValueError as exc:
            messages.show_warning(self, messages.TITLE_IMPORT, str(exc))
            self.timezone_combo.setEditText(plan.timezone or "UTC")

    def _remove_current(self) -> None:
        if self._row() >= 0:
            self.model.remove_file(self._row())

    def add_files(self, paths: list[str]) -> None:
        if not self.is_importing() and self.pages.currentWidget() is self._setup_page:
            self.model.add_files(paths)

    # -- drops on the dialog add files -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()) and not self.is_importing():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_files(paths)

    # -- importing ---------------------------------------------------------------------------------
    def is_importing(self) -> bool:
        return self.worker.is_busy() or self.worker.is_running()

    def start_import(self) -> bool:
        if self.is_importing() or not self.model.importable():
            return False
        if self.session.path is None:
            messages.show_error(self, messages.TITLE_IMPORT_FAILED, messages.NO_PROJECT_FOR_IMPORT)
            return False
        try:
            request = self.model.request()
        except OSError as exc:
            messages.show_error(self, messages.TITLE_IMPORT_FAILED, f"{exc.filename}: {exc.strerror}")
            return False
        self._request = request
        self.outcomes = []
        self.was_cancelled = False
        self._started = time.perf_counter()
        self.time_left.reset()
        self.session.set_busy(True)
        self.progress_bar.setVisible(True)
        self.progress_bar.setValue(0)
        self.progress_label.setText("Starting…")
        self.cancel_button.setText("Cancel Import")
        self.worker.start(run_imports, self.session.path, request)
        self._update_buttons()
        return True

    def cancel_import(self) -> None:
        if self.is_importing():
            self.progress_label.setText("Cancelling… (the file in progress is rolled back)")
            self.cancel_button.setEnabled(False)
            self.worker.cancel()

    def cancel_and_wait(self, timeout_ms: int = 60_000) -> bool:
        """For a closing window: stop the import and wait until the worker has let go of the file."""
        self.worker.cancel()
        ok = self.worker.wait(timeout_ms)
        self.session.set_busy(False)
        return ok

    def _cancel_clicked(self) -> None:
        if self.is_importing():
            self.cancel_import()
        else:
            self.reject()

    def _progress(self, done: float, total: object, text: str) -> None:
        if not total:
            return
        fraction = min(1.0, done / float(total))  # type: ignore[arg-type]
        self.progress_bar.setValue(int(1000 * fraction))
        elapsed = time.perf_counter() - self._started
        seconds = self.time_left.update(fraction, elapsed)
        left = "" if seconds is None else f" · about {_format_seconds(seconds)} left"
        self.progress_label.setText(f"{text}{left}")

    def _import_finished(self) -> None:
        request = self._request
        self.outcomes = list(request.outcomes) if request is not None else []
        self.was_cancelled = any(o.cancelled for o in self.outcomes) or (
            request is not None and len(self.outcomes) < len(request.jobs)
        )
        self.session.set_busy(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.progress_bar.setVisible(False)
        self.progress_label.setText("")
        if any(o.report is not None and o.report.committed for o in self.outcomes):
            self.session.notify_data_changed()
        self._show_summary()
        self._update_buttons()

    def _show_summary(self) -> None:
        outcomes = self.outcomes
        imported = sum(o.report.rows_imported for o in outcomes if o.report)
        rejected = sum(o.report.rows_rejected for o in outcomes if o.report)
        failed = [o for o in outcomes if o.error]
        if self.was_cancelled:
            self.summary_title.setText("Import cancelled")
        elif failed:
            self.summary_title.setText("Import finished with problems")
        else:
            self.summary_title.setText("Import finished")
        lines = [f"{imported:,} rows imported, {rejected:,} rejected."]
        rejects = [o.report.rejects_file for o in outcomes if o.report and o.report.rejects_file]
        if rejects:
            folder = str(Path(rejects[0]).parent)
            lines.append(f"Rejected rows were written beside the project, in {folder}.")
        if self.was_cancelled:
            lines.append(
                "The file being imported when you cancelled was rolled back; files finished before it "
                "stay imported."
            )
        self.summary_label.setText(" ".join(lines))
        self.summary_table.setRowCount(len(outcomes))
        for i, outcome in enumerate(outcomes):
            report = outcome.report
            if report is not None:
                result = "imported" if report.committed else "nothing imported (strict)"
                if report.duplicates_skipped:
                    result += f"; {report.duplicates_skipped:,} duplicate events skipped"
                if report.account_conflicts:
                    result += f"; {report.conflict_sentence()} (listed on the Data page)"
                if report.rows_rejected and report.reject_reasons:
                    reasons = sorted(report.reject_reasons.items(), key=lambda kv: -kv[1])
                    result += "; rejected: " + ", ".join(f"{n:,} {reason}" for reason, n in reasons[:3])
                if report.rejects_file:
                    result += f"; rejects in {Path(report.rejects_file).name}"
                cells = [
                    outcome.path.name,
                    report.kind,
                    f"{report.rows_imported:,}",
                    f"{report.rows_rejected:,}",
                    result,
                ]
            elif outcome.cancelled:
                cells = [outcome.path.name, "", "0", "", "cancelled: rolled back, nothing imported"]
            else:
                cells = [outcome.path.name, "", "0", "", outcome.error or "failed"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(text)
                self.summary_table.setItem(i, col, item)
        self.summary_table.resizeRowsToContents()
        # As tall as its rows (a cancelled import of one file is one line, not a big empty grid).
        height = self.summary_table.horizontalHeader().height() + 4
        height += sum(self.summary_table.rowHeight(r) for r in range(self.summary_table.rowCount()))
        self.summary_table.setMaximumHeight(max(height, 60))
        self.pages.setCurrentIndex(1)
        if outcomes and any(o.report and o.report.rejects_file for o in outcomes):
            first = next(i for i, o in enumerate(outcomes) if o.report and o.report.rejects_file)
            self.summary_table.selectRow(first)

    def _summary_selection(self) -> None:
        self.rejects_button.setEnabled(self.selected_rejects_file() is not None)

    def selected_rejects_file(self) -> str | None:
        rows = self.summary_table.selectionModel().selectedRows()
        if not rows:
            return None
        outcome = self.outcomes[rows[0].row()]
        return outcome.report.rejects_file if outcome.report else None

    def show_rejects(self) -> RejectsDialog | None:
        path = self.selected_rejects_file()
        if path is None:
            return None
        rows = self.summary_table.selectionModel().selectedRows()
        source = str(self.outcomes[rows[0].row()].path) if rows else None
        dialog = RejectsDialog(path, self, source)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -- closing -----------------------------------------------------------------------------------
    def reject(self) -> None:
        if self.is_importing():
            self.cancel_import()  # Esc / close button during an import: cancel, stay open for the summary
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if self.is_importing():
            self.cancel_import()
            event.ignore()
            return
        super().closeEvent(event)
