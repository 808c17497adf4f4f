"""State of the Charts page: the chart being edited, and the tables shown beside the charts.

:class:`ChartEditorModel` owns the current :class:`~seglab.core.charts.ChartSpec`
(a frozen value) and what the editor can offer (the project's catalogue). Widgets
never hold the spec themselves: they read it from the model, write edits back with
:meth:`ChartEditorModel.set_spec` / :meth:`ChartEditorModel.update`, and redraw on
``spec_changed``.

:class:`ChartDataModel` shows a chart's DataFrame (the analysis's contract columns)
as a table, for people who would rather read than look.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from seglab.core import formatting
from seglab.core.charts import ChartCatalog, ChartSpec, period_label

_Index = QModelIndex | QPersistentModelIndex

RATE_COLUMNS = {"rate", "conversion_from_start", "conversion_from_previous", "share", "jaccard", "change"}
DURATION_COLUMNS = {"median_seconds_from_previous"}
HEADERS = {
    "segment": "Segment",
    "period_start": "Period",
    "value": "Value",
    "step": "Step",
    "event": "Event",
    "entered": "Entered",
    "conversion_from_start": "From start",
    "conversion_from_previous": "From previous",
    "median_seconds_from_previous": "Median time from previous",
    "cohort_start": "Cohort",
    "cohort_size": "Cohort size",
    "period": "Period",
    "retained": "Retained",
    "rate": "Rate",
    "complete": "Complete",
}


class ChartEditorModel(QObject):
    """The chart being edited. ``spec_changed(spec)`` fires on every change (not on a no-op)."""

    spec_changed = Signal(object)
    catalog_changed = Signal(object)
    saved_name_changed = Signal(str)

    def __init__(self, spec: ChartSpec | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._spec = spec or ChartSpec()
        self._catalog = ChartCatalog()
        self._saved_name = ""

    @property
    def spec(self) -> ChartSpec:
        return self._spec

    @property
    def catalog(self) -> ChartCatalog:
        return self._catalog

    @property
    def saved_name(self) -> str:
        """The saved chart this spec was opened from or saved as ('' for a new chart)."""
        return self._saved_name

    def set_saved_name(self, name: str) -> None:
        if name != self._saved_name:
            self._saved_name = name
            self.saved_name_changed.emit(name)

    def set_spec(self, spec: ChartSpec) -> None:
        if spec != self._spec:
            self._spec = spec
            self.spec_changed.emit(spec)

    def update(self, **changes: Any) -> None:
        """Change top-level fields of the spec (``kind`` resets the kind's options)."""
        spec = self._spec
        if "kind" in changes and changes["kind"] != spec.kind:
            spec = spec.with_kind(changes.pop("kind"))
            if spec.kind in ("retention",) and spec.interval == "day":
                spec = replace(spec, interval="week")
        else:
            changes.pop("kind", None)
        if changes:
            spec = replace(spec, **changes)
        self.set_spec(spec)

    def set_options(self, **options: Any) -> None:
        self.set_spec(self._spec.with_options(**options))

    def set_catalog(self, catalog: ChartCatalog) -> None:
        self._catalog = catalog
        self.catalog_changed.emit(catalog)

    def segment_level(self, name: str) -> str | None:
        for seg_name, level, _sid in self._catalog.segments:
            if seg_name == name:
                return level
        return None

    def segment_id(self, name: str) -> int | None:
        for seg_name, _level, sid in self._catalog.segments:
            if seg_name == name:
                return sid
        return None


def format_duration(seconds: float | None) -> str:
    """A median time as people say it: 42 s, 3.5 min, 2.1 h, 1.5 d (seglab.core.formatting)."""
    return (
        ""
        if seconds is None or (isinstance(seconds, float) and math.isnan(seconds))
        else formatting.duration(seconds)
    )


def format_rate(value: float) -> str:
    return f"{100 * float(value):.1f}%"


def format_number(value: Any) -> str:
    """A table cell: every digit with separators (two decimals at most), never an exponent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return formatting.exact(round(value, 2) if isinstance(value, float) else value)
    return str(value)


class ChartDataModel(QAbstractTableModel):
    """A read-only table of a chart's DataFrame: rates as percentages, medians as durations.

    ``Qt.ItemDataRole.UserRole`` gives the raw value of a cell (what the CSV holds).
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._frame = pd.DataFrame()
        self._columns: list[str] = []
        self._rows: list[tuple] = []
        self._interval = "day"

    def set_frame(self, frame: pd.DataFrame | None, interval: str = "day") -> None:
        self.beginResetModel()
        self._frame = frame if frame is not None else pd.DataFrame()
        self._columns = [str(c) for c in self._frame.columns]
        self._rows = [tuple(_py(v) for v in row) for row in self._frame.itertuples(index=False, name=None)]
        self._interval = interval
        self.endResetModel()

    def frame(self) -> pd.DataFrame:
        return self._frame

    def columns(self) -> list[str]:
        return list(self._columns)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def text(self, row: int, column: int) -> str:
        name = self._columns[column]
        value = self._rows[row][column]
        if value is None:
            return ""
        if name in RATE_COLUMNS:
            return format_rate(value)
        if name in DURATION_COLUMNS:
            return format_duration(value)
        if name in ("period_start", "cohort_start"):
            return period_label(value, self._interval)
        return format_number(value)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(index.row(), index.column())
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, (int, float)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and self._columns[index.column()] == "cohort_start":
            return str(value)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            name = self._columns[section]
            return HEADERS.get(name, name.replace("_", " ").capitalize())
        return None


def _py(value: Any) -> Any:
    """numpy scalars → Python values; NaN → None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
