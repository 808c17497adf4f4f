"""Retention: the cohort × period heat table and, beside it, the average retention curve per segment."""

from __future__ import annotations

import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableView, QWidget

from seglab.ui.charts.chart_base import BaseChart, brush, colors_for, make_plot_widget, pen, series_info
from seglab.ui.charts.retention_model import PERIOD_WORDS, RetentionHeatModel, average_curves


class RetentionChart(BaseChart):
    """``model`` is the heat table; ``curves[label]`` the average curve (x = period, y = rate in %)."""

    kind = "retention"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = RetentionHeatModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setMouseTracking(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(54)
        # Fit the heat table to the window: compact rows, period columns sharing the width.
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.clicked.connect(self._cell_clicked)
        self.note = QLabel(
            "Cells show the share of each cohort that came back in that period. "
            "<i>Hatched, italic cells marked *</i> are partial periods (not over at as-of); "
            "the averages leave them out. Click a cell to list the people.",
            self,
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        self.plot = make_plot_widget()
        self.item = self.plot.getPlotItem()
        self.item.setLabel("left", "Average retention (%)")
        # Bottom left: retention curves fall, so that corner is free.
        self.legend = self.item.addLegend(offset=(10, -10), labelTextColor="#333333")
        self.curves: dict[str, pg.PlotDataItem] = {}
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        top = QWidget(splitter)
        from PySide6.QtWidgets import QVBoxLayout

        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.note)
        splitter.addWidget(top)
        splitter.addWidget(self.plot)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 320])  # the table first: two thirds of the height
        self.splitter = splitter
        self._layout.addWidget(splitter, 1)

    def set_frame(self, frame: pd.DataFrame, *, interval: str = "week", **_options) -> None:
        self._frame = frame
        self._interval = interval
        colors = colors_for(frame)
        self.model.set_frame(frame, interval, colors)
        header = self.table.horizontalHeader()
        for col in range(self.model.columnCount()):
            mode = QHeaderView.ResizeMode.ResizeToContents if col < 3 else QHeaderView.ResizeMode.Stretch
            header.setSectionResizeMode(col, mode)
        labels = [s[0] for s in series_info(frame)]
        for gone in [lbl for lbl in self.curves if lbl not in labels]:
            self.item.removeItem(self.curves.pop(gone))
            self.legend.removeItem(gone)
        averages = average_curves(frame)
        for label in labels:
            x, y = averages.get(label, ([], []))
            curve = self.curves.get(label)
            if curve is None:
                curve = pg.PlotDataItem(name=label)
                self.item.addItem(curve)
                self.curves[label] = curve
            color = colors[label]
            curve.setData(
                x,
                [v * 100 for v in y],
                pen=pen(color, 2.4),
                symbol="o",
                symbolSize=6,
                symbolBrush=brush(color),
                symbolPen=pen(color, 1),
                connect="finite",
            )
        word = PERIOD_WORDS.get(interval, "Period")
        self.item.setLabel("bottom", f"{word} after the cohort's first {word.lower()}")
        periods = self.model.periods()
        self.item.getAxis("bottom").setTicks([[(p, str(p)) for p in periods]])
        self.item.setYRange(0, 105, padding=0)
        if periods:
            self.item.setXRange(min(periods) - 0.3, max(periods) + 0.3, padding=0)
        self.legend.setVisible(len(labels) > 1)
        self._show_empty("" if len(frame) else "No cohorts in this range.")

    def cell_index(self, segment: str, cohort_start: str, period: int | None) -> QModelIndex:
        """The table index of a cell (``period=None``: the cohort's size cell)."""
        for row in range(self.model.rowCount()):
            where = self.model.slice_for(row, 2)
            if where and where["segment"] == segment and where["cohort_start"] == cohort_start:
                col = 2 if period is None else 3 + self.model.periods().index(int(period))
                return self.model.index(row, col)
        return QModelIndex()

    def _cell_clicked(self, index: QModelIndex) -> None:
        where = self.model.slice_for(index.row(), index.column())
        if where is not None:
            self.slice_clicked.emit(where)
