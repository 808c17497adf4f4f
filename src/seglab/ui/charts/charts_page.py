"""The Charts page: saved charts, the chart editor, the chart, its data table, export and drill-down.

Build it with ``ChartsPageWidget(session)`` (a :class:`~seglab.ui.session.ProjectSession`)
or, as the main window's lazy page loader does, ``ChartsPageWidget(window)`` (a window
with a ``session`` attribute). Importing this module imports pyqtgraph, so the window
imports it only when the Charts page is first shown.

Every change in the editor re-runs the chart's analysis in a
:class:`~seglab.ui.workers.Worker` (debounced; a newer run supersedes an older one,
whose result is dropped; Cancel stops it; a busy bar shows while it runs). Clicking
a point, bar or cell computes that slice's members in a second worker and opens the
members list (``drill_requested`` is emitted too).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seglab.core import charts as core_charts
from seglab.core.charts import ChartError, ChartSpec, SliceMembers, make_slice
from seglab.core.errors import SegLabError, UserError
from seglab.core.output import write_bytes
from seglab.ui import messages
from seglab.ui.charts.bars_chart import DistributionChart, StickinessChart
from seglab.ui.charts.chart_base import PREVIOUS_SUFFIX, BaseChart, display_frame
from seglab.ui.charts.editor import ChartEditorWidget
from seglab.ui.charts.funnel_chart import FunnelChart
from seglab.ui.charts.lifecycle_chart import LifecycleChart
from seglab.ui.charts.models import ChartDataModel, ChartEditorModel
from seglab.ui.charts.overlap_chart import OverlapChart
from seglab.ui.charts.ranked_chart import DistinguishChart, TopEventsChart
from seglab.ui.charts.retention_chart import RetentionChart
from seglab.ui.charts.trend_chart import TrendChart
from seglab.ui.widgets.elided_label import ElidedLabel
from seglab.ui.workers import Worker

RUN_DELAY_MS = 200
TITLE_CHART_FAILED = "Cannot save the chart"
TITLE_EXPORT_FAILED = "Cannot export the chart"
# The widget of each registry record's ``draws`` (seglab.core.charts.registry).
CHART_CLASSES: dict[str, type[BaseChart]] = {
    "trend": TrendChart,
    "funnel": FunnelChart,
    "retention": RetentionChart,
    "distribution": DistributionChart,
    "top_events": TopEventsChart,
    "stickiness": StickinessChart,
    "lifecycle": LifecycleChart,
    "overlap": OverlapChart,
    "distinguishes": DistinguishChart,
}


def table_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The data table: the chart's frame, plus the change from the previous period when it has one."""
    if frame is None or "segment" not in frame.columns or "value" not in frame.columns:
        return frame
    previous = frame["segment"].astype(str).str.endswith(PREVIOUS_SUFFIX)
    if not previous.any():
        return frame
    keys = ["segment", "group", "period_start"] if "group" in frame.columns else ["segment", "period_start"]
    before = frame[previous].copy()
    before["segment"] = before["segment"].str[: -len(PREVIOUS_SUFFIX)]
    old = {tuple(r[:-1]): r[-1] for r in before[[*keys, "value"]].itertuples(index=False, name=None)}
    out = frame.copy()
    out["change"] = [
        None if prev else percent_change(old.get(tuple(row)), value)
        for prev, row, value in zip(previous, out[keys].itertuples(index=False, name=None), out["value"])
    ]
    out.attrs = dict(frame.attrs)
    return out


def percent_change(before, now):
    """The change from ``before`` to ``now`` as a fraction (None without a base to compare with)."""
    try:
        before, now = float(before), float(now)
    except (TypeError, ValueError):
        return None
    if before != before or now != now or before == 0:
        return None
    return (now - before) / before


def chart_options(spec: ChartSpec) -> dict[str, Any]:
    """What a chart widget needs besides the frame (how to label and smooth it): the kind's record says."""
    return {"interval": spec.interval, **core_charts.REGISTRY[spec.kind].draw_options(spec)}


class ChartsPageWidget(QWidget):
    drill_requested = Signal(str, object, str)  # level, keys (ints; a connected project: ids), title
    result_shown = Signal(object)  # the DataFrame now on screen
    run_failed = Signal(str)  # the message shown instead of a chart

    def __init__(self, session, parent: QWidget | None = None, *, open_members: bool = True):
        if hasattr(session, "session") and not hasattr(session, "project_opened"):
            if parent is None and isinstance(session, QWidget):
                parent = session
            session = session.session  # the main window: its ProjectSession
        super().__init__(parent)
        self.session = session
        self.open_members = open_members
        self.model = ChartEditorModel(parent=self)
        self.data_model = ChartDataModel(self)
        self._frame: pd.DataFrame | None = None
        self._shown_spec: ChartSpec | None = None
        self._running_spec: ChartSpec | None = None
        self._saved_spec: ChartSpec | None = None  # as last saved or opened, to show "edited"
        self.members_dialogs: list[QWidget] = []

        self.worker = Worker(self)
        self.catalog_worker = Worker(self)
        self.drill_worker = Worker(self)
        self.run_timer = QTimer(self)
        self.run_timer.setSingleShot(True)
        self.run_timer.setInterval(RUN_DELAY_MS)
        self.run_timer.timeout.connect(self.run_now)

        self._build()

        self.worker.started.connect(lambda: self._set_busy(True))
        self.worker.finished.connect(lambda: self._set_busy(False))
        self.worker.succeeded.connect(self._show_result)
        self.worker.failed.connect(self._show_failure)
        self.worker.cancelled.connect(
            lambda: self._show_message("Cancelled. Change an option to run it again.")
        )
        self.catalog_worker.succeeded.connect(self._catalog_loaded)
        self.catalog_worker.failed.connect(lambda exc: self._show_message(str(exc)))
        self.drill_worker.succeeded.connect(self._members_ready)
        self.drill_worker.failed.connect(lambda exc: self._show_message(str(exc)))
        self.model.spec_changed.connect(self._spec_changed)
        self.model.saved_name_changed.connect(self._update_title)
        self.model.saved_name_changed.connect(lambda _name: self._update_actions())
        session.project_opened.connect(self._project_opened)
        session.project_closed.connect(self._project_closed)
        session.data_changed.connect(self.refresh_catalog)
        if session.is_open():
            self.refresh_catalog()
        else:
            self._project_closed()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        outer.addWidget(splitter)

        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Saved charts</b>", left))
        self.saved_list = QListWidget(left)
        self.saved_list.setMaximumHeight(160)
        self.saved_list.itemActivated.connect(lambda item: self.open_saved(item.text()))
        self.saved_list.itemClicked.connect(lambda item: self.open_saved(item.text()))
        self.saved_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.saved_list.customContextMenuRequested.connect(self._saved_menu)
        left_layout.addWidget(self.saved_list)
        saved_buttons = QHBoxLayout()
        self.new_button = QPushButton("New", left)
        self.save_button = QPushButton("Save", left)
        self.save_as_button = QPushButton("Save as…", left)
        self.delete_button = QPushButton("Delete", left)
        for b in (self.new_button, self.save_button, self.save_as_button, self.delete_button):
            saved_buttons.addWidget(b)
        left_layout.addLayout(saved_buttons)
        self.editor = ChartEditorWidget(self.model, left)
        scroll = QScrollArea(left)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.editor)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        left_layout.addWidget(scroll, 1)
        self.new_button.clicked.connect(self.new_chart)
        self.save_button.clicked.connect(self._save_clicked)
        self.save_as_button.clicked.connect(self._save_as_clicked)
        self.delete_button.clicked.connect(self._delete_clicked)

        right = QWidget(splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.title_label = ElidedLabel("", right)  # elided with "…", whole title as tooltip
        self.title_label.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.busy_bar = QProgressBar(right)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.cancel_button = QPushButton("Cancel", right)
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.worker.cancel)
        self.table_button = QPushButton("Show data", right)
        self.table_button.setCheckable(True)
        self.table_button.toggled.connect(self.set_table_visible)
        self.png_button = QPushButton("Export PNG…", right)
        self.csv_button = QPushButton("Export CSV…", right)
        self.copy_button = QPushButton("Copy", right)
        self.copy_button.setToolTip("Copy the chart's picture and its data (tab-separated) to the clipboard")
        self.png_button.clicked.connect(self._png_clicked)
        self.csv_button.clicked.connect(self._csv_clicked)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title_label)
        # A long description must not widen the window: elided with "…", full text in the tooltip.
        self.subtitle_label = ElidedLabel("", right)
        self.subtitle_label.setStyleSheet("color: #555;")
        titles.addWidget(self.subtitle_label)
        bar.addLayout(titles, 1)
        for w in (self.busy_bar, self.cancel_button, self.table_button, self.png_button, self.csv_button,
                  self.copy_button):  # fmt: skip
            bar.addWidget(w)
        right_layout.addLayout(bar)
        self.message_label = QLabel("", right)
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(
            "background: #FFF4E5; border: 1px solid #F0C36D; padding: 6px; color: #5A3E00;"
        )
        self.message_label.hide()
        right_layout.addWidget(self.message_label)
        self.chart_stack = QStackedWidget(right)
        self.charts: dict[str, BaseChart] = {}
        self.placeholder = QLabel("", self.chart_stack)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #777;")
        self.chart_stack.addWidget(self.placeholder)
        self.data_table = QTableView(right)
        self.data_table.setModel(self.data_model)
        self.data_table.verticalHeader().hide()
        self.data_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.data_table.hide()
        content = QSplitter(Qt.Orientation.Vertical, right)
        self.content_splitter = content
        content.addWidget(self.chart_stack)
        content.addWidget(self.data_table)
        content.setStretchFactor(0, 3)
        content.setStretchFactor(1, 1)
        content.setChildrenCollapsible(False)
        self.chart_stack.setMinimumHeight(320)
        right_layout.addWidget(content, 1)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 900])
        self._update_title()
        self._update_actions()

    # -- project ------------------------------------------------------------------------------
    def _project_opened(self, _path=None) -> None:
        # Another project: its segments and events differ, so start from a fresh chart.
        self._saved_spec = None
        self.model.set_saved_name("")
        self.model.set_spec(ChartSpec())
        self.refresh_catalog()

    def _project_closed(self) -> None:
        self.worker.cancel()
        self._frame = None
        self.data_model.set_frame(None)
        self.saved_list.clear()
        self.chart_stack.setCurrentWidget(self.placeholder)
        self.placeholder.setText("Open a project to draw charts.")
        self._update_actions()

    def refresh_catalog(self) -> None:
        """Reload event names, saved segments and saved charts (after an import, a save ...)."""
        if self.session.is_open():
            self.catalog_worker.start(core_charts.chart_catalog_file, self.session.path, None)

    def _catalog_loaded(self, catalog) -> None:
        self.model.set_catalog(catalog)
        self._fill_saved(catalog.charts)
        self.schedule_run()

    def _fill_saved(self, saved) -> None:
        current = self.model.saved_name
        self.saved_list.clear()
        for chart in saved:
            item = QListWidgetItem(chart.name)
            item.setToolTip(f"{core_charts.KINDS[chart.kind][0]} · saved {chart.updated}")
            self.saved_list.addItem(item)
            if chart.name == current:
                item.setSelected(True)
        self._update_actions()

    # -- running ---------------------------------------------------------------------------------
    def _spec_changed(self, _spec) -> None:
        self._update_title()
        self.schedule_run()

    def schedule_run(self) -> None:
        if self.session.is_open():
            self.run_timer.start()

    def run_now(self) -> None:
        """Run the current spec now (the editor's changes arrive debounced through here)."""
        self.run_timer.stop()
        if not self.session.is_open():
            return
        spec = self.model.spec
        problem = self._problem(spec)
        if problem:
            self.worker.cancel()
            self._show_message(problem, keep_chart=False)
            return
        self._running_spec = spec
        self.worker.start(core_charts.run_chart_file, self.session.path, spec)

    def _problem(self, spec: ChartSpec) -> str:
        kind = core_charts.REGISTRY.get(spec.kind)
        if kind is None or kind.draws not in CHART_CLASSES:
            return f"{spec.title} charts are coming in a later version of SegLab."
        problem = kind.problem(spec)  # the rules the core checks too, written once in the registry
        if problem:
            return problem
        missing = [n for n in spec.segments if self.model.segment_level(n) is None]
        if missing and self.model.catalog.segments is not None and self.model.catalog.as_of_ms is not None:
            return str(core_charts.MissingSegmentError(missing))
        return ""

    def _set_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)

    def _show_result(self, frame: pd.DataFrame) -> None:
        spec = self._running_spec or self.model.spec
        self._frame = frame
        self._shown_spec = spec
        self.message_label.hide()
        chart = self.chart_for(spec.kind)
        self._display = display_frame(frame)
        chart.set_frame(self._display, **chart_options(spec))
        self.chart_stack.setCurrentWidget(chart)
        self.data_model.set_frame(table_frame(frame), spec.interval)
        self._update_actions()
        self.result_shown.emit(frame)

    def _show_failure(self, exc: object) -> None:
        if isinstance(exc, UserError):
            text = str(exc)
        else:
            text = messages.INTERNAL_ERROR.format(what=f"{type(exc).__name__}: {exc}")
        self._show_message(text, keep_chart=False)

    def _show_message(self, text: str, keep_chart: bool = True) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        if not keep_chart:
            self._frame = None
            self.data_model.set_frame(None)
            self.chart_stack.setCurrentWidget(self.placeholder)
            self.placeholder.setText("")
            self._update_actions()
        if text:
            self.run_failed.emit(text)

    def chart_for(self, kind: str) -> BaseChart:
        """The chart widget of ``kind``, of the class its registry record ``draws`` (created on first
        use, then reused and updated in place)."""
        chart = self.charts.get(kind)
        if chart is None:
            chart = CHART_CLASSES[core_charts.REGISTRY[kind].draws](self.chart_stack)
            chart.slice_clicked.connect(self.drill_down)
            self.chart_stack.addWidget(chart)
            self.charts[kind] = chart
        return chart

    def current_chart(self) -> BaseChart | None:
        widget = self.chart_stack.currentWidget()
        return widget if isinstance(widget, BaseChart) else None

    def current_frame(self) -> pd.DataFrame | None:
        return self._frame

    def set_table_visible(self, visible: bool) -> None:
        self.data_table.setVisible(visible)
        if visible:
            total = max(self.content_splitter.height(), 500)
            rows = self.data_model.rowCount() + 1
            table = min(int(total * 0.4), 12 + rows * self.data_table.verticalHeader().defaultSectionSize())
            self.content_splitter.setSizes([total - table, table])
        self.table_button.setText("Hide data" if visible else "Show data")
        if self.table_button.isChecked() != visible:
            self.table_button.setChecked(visible)

    # -- drill-down -------------------------------------------------------------------------------
    def drill_down(self, where: dict) -> None:
        if self._shown_spec is None or self._frame is None or not self.session.is_open():
            return
        where = dict(where)
        shown = getattr(self, "_display", None)
        display_of = (shown if shown is not None else self._frame).attrs.get("display_of") or {}
        if "segment" in where and where["segment"] in display_of:
            segment, group = display_of[where["segment"]]
            if str(segment).endswith(PREVIOUS_SUFFIX):
                return  # the previous period is context, not people of this range
            where["segment"] = segment
            if group is not None:
                where["group"] = group
        request = make_slice(self._shown_spec, self._frame.attrs.get("as_of_ms"), **where)
        self.drill_worker.start(core_charts.slice_members_file, self.session.path, request)

    def _members_ready(self, members: SliceMembers) -> None:
        # A connected project's people come as text ids (it has no local keys; docs/sources.md).
        listed = members.ids if members.ids is not None else tuple(members.keys)
        self.drill_requested.emit(members.level, listed, members.title)
        if self.open_members:
            from seglab.ui.widgets.members_widget import open_members_dialog

            dialog = open_members_dialog(
                self.session, members.level, members.keys, members.title, self, ids=members.ids
            )
            self.members_dialogs.append(dialog)
            dialog.finished.connect(lambda _r, d=dialog: self._forget_dialog(d))

    def _forget_dialog(self, dialog) -> None:
        if dialog in self.members_dialogs:
            self.members_dialogs.remove(dialog)

    # -- saved charts -------------------------------------------------------------------------------
    def new_chart(self) -> None:
        self.model.set_saved_name("")
        self.model.set_spec(ChartSpec())

    def open_saved(self, name: str) -> None:
        project = self.session.project
        if project is None:
            return
        try:
            spec = core_charts.load_chart(project.conn, name)
        except ChartError as exc:
            self._show_message(str(exc))
            return
        self._saved_spec = spec
        self.model.set_saved_name(name)
        if spec == self.model.spec:
            self.schedule_run()
        self.model.set_spec(spec)

    def save_current_as(self, name: str, *, overwrite: bool = False) -> bool:
        """Save the current chart under ``name``; False (with a message) if that is refused."""
        project = self.session.project
        if project is None:
            return False
        if self.session.busy:
            messages.show_warning(self, TITLE_CHART_FAILED, messages.BUSY_IMPORTING)
            return False
        try:
            core_charts.save_chart(project.conn, name, self.model.spec, overwrite=overwrite)
        except ChartError as exc:
            messages.show_error(self, TITLE_CHART_FAILED, str(exc))
            return False
        self._saved_spec = self.model.spec
        self.model.set_saved_name(name.strip())
        self._update_title()
        self._fill_saved(core_charts.list_charts(project.conn))
        return True

    def delete_saved(self, name: str) -> None:
        project = self.session.project
        if project is None or self.session.busy:
            return
        core_charts.delete_chart(project.conn, name)
        if self.model.saved_name == name:
            self.model.set_saved_name("")
        self._fill_saved(core_charts.list_charts(project.conn))

    def rename_saved(self, old: str, new: str) -> bool:
        project = self.session.project
        if project is None or self.session.busy:
            return False
        try:
            core_charts.rename_chart(project.conn, old, new)
        except ChartError as exc:
            messages.show_error(self, TITLE_CHART_FAILED, str(exc))
            return False
        if self.model.saved_name == old:
            self.model.set_saved_name(new.strip())
        self._fill_saved(core_charts.list_charts(project.conn))
        return True

    def _saved_menu(self, pos) -> None:
        from PySide6.QtWidgets import QMenu

        item = self.saved_list.itemAt(pos)
        if item is None:
            return
        name = item.text()
        menu = QMenu(self)
        rename = menu.addAction("Rename…")
        delete = menu.addAction("Delete")
        chosen = menu.exec(self.saved_list.viewport().mapToGlobal(pos))
        if chosen is rename:
            new, ok = QInputDialog.getText(self, "Rename chart", "Name:", text=name)
            if ok and new.strip() and new.strip() != name:
                self.rename_saved(name, new)
        elif chosen is delete and messages.ask(self, "Delete chart?", f"Delete the saved chart “{name}”?"):
            self.delete_saved(name)

    def _save_clicked(self) -> None:
        if self.model.saved_name:
            self.save_current_as(self.model.saved_name, overwrite=True)
        else:
            self._save_as_clicked()

    def _save_as_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Save chart", "Name:", text=self._suggested_name())
        if not ok or not name.strip():
            return
        exists = any(self.saved_list.item(i).text() == name.strip() for i in range(self.saved_list.count()))
        if exists and not messages.ask(self, "Replace chart?", f"A chart named “{name}” exists. Replace it?"):
            return
        self.save_current_as(name, overwrite=exists)

    def _delete_clicked(self) -> None:
        name = self.model.saved_name
        if name and messages.ask(self, "Delete chart?", f"Delete the saved chart “{name}”?"):
            self.delete_saved(name)

    def _suggested_name(self) -> str:
        spec = self.model.spec
        who = " vs ".join(spec.segments) if spec.segments else "Everyone"
        if spec.vs_rest and spec.segments:
            who = f"{spec.segments[0]} vs the rest"
        return f"{spec.title}: {who}"

    # -- export -------------------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike) -> bool:
        """Write the chart as PNG by the safe-output rules (raises SegLabError when refused)."""
        image = self.export_image()
        if image is None:
            return False
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            return False
        buffer.close()
        write_bytes(path, bytes(data.data()), protect=self._protected())
        return True

    def export_csv(self, path: str | os.PathLike) -> int:
        if self._frame is None:
            return 0
        return core_charts.write_chart_csv(self._frame, path, protect=self._protected())

    def _protected(self) -> list:
        return [self.session.path] if self.session.path is not None else []

    def copy_to_clipboard(self) -> None:
        chart = self.current_chart()
        if chart is None or self._frame is None:
            return
        mime = QMimeData()
        mime.setImageData(self.export_image())
        mime.setText(core_charts.chart_tsv(self._frame))
        QGuiApplication.clipboard().setMimeData(mime)

    def _png_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export chart as PNG", self._file_stem() + ".png",
                                              "PNG image (*.png)")  # fmt: skip
        if not path:
            return
        try:
            written = self.export_png(path)
        except (SegLabError, OSError) as exc:
            messages.show_error(self, TITLE_EXPORT_FAILED, str(exc))
            return
        if not written:
            messages.show_error(self, TITLE_EXPORT_FAILED, f"{path}: cannot write the picture there.")

    def _csv_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export chart data as CSV", self._file_stem() + ".csv",
                                              "CSV file (*.csv)")  # fmt: skip
        if not path:
            return
        try:
            self.export_csv(path)
        except (SegLabError, OSError) as exc:
            messages.show_error(self, TITLE_EXPORT_FAILED, str(exc))

    def _file_stem(self) -> str:
        name = self.model.saved_name or self._suggested_name()
        return "".join(c if c.isalnum() or c in " -_" else "_" for c in name).strip() or "chart"

    # -- bits -----------------------------------------------------------------------------------------
    def _update_title(self, *_args) -> None:
        name = self.model.saved_name
        edited = bool(name) and self._saved_spec is not None and self._saved_spec != self.model.spec
        title = f"{name} — edited (Save to keep the changes)" if edited else name
        self.title_label.setText(title or f"{self.model.spec.title} (unsaved)")
        self.subtitle_label.setText(core_charts.describe_spec(self.model.spec))

    def export_image(self):
        """The chart's picture with its title and what it shows above it (for PNG and Copy)."""
        from PySide6.QtGui import QColor, QFont, QImage, QPainter

        chart = self.current_chart()
        if chart is None:
            return None
        picture = chart.export_widget().grab()
        ratio = picture.devicePixelRatio()
        header = int(52 * ratio)
        image = QImage(picture.width(), picture.height() + header, QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(QColor("#FFFFFF"))
        painter = QPainter(image)
        try:
            title_font = QFont(self.font())
            title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
            title_font.setBold(True)
            painter.setFont(title_font)
            painter.setPen(QColor("#222222"))
            spec = self._shown_spec or self.model.spec
            painter.drawText(10, 22, self.model.saved_name or spec.title)
            painter.setFont(self.font())
            painter.setPen(QColor("#555555"))
            painter.drawText(10, 42, core_charts.describe_spec(spec))
            painter.drawPixmap(0, int(header / ratio), picture)
        finally:
            painter.end()
        return image

    def _update_actions(self) -> None:
        has_data = self._frame is not None
        for b in (self.png_button, self.csv_button, self.copy_button):
            b.setEnabled(has_data)
        is_open = self.session.is_open()
        for b in (self.new_button, self.save_button, self.save_as_button):
            b.setEnabled(is_open)
        self.delete_button.setEnabled(is_open and bool(self.model.saved_name))

    def shutdown(self) -> None:
        """Stop timers and workers (the window calls this when closing; tests too)."""
        self.run_timer.stop()
        for worker in (self.worker, self.catalog_worker, self.drill_worker):
            worker.shutdown()
        for dialog in list(self.members_dialogs):
            dialog.close()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
