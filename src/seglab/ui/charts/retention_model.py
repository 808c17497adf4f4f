"""The retention heat table: one row per segment and cohort, one column per period.

Columns: Segment, Cohort, Size, then ``Week 0 .. Week N-1`` (or Day/Month). A cell
shows the retention rate as a percentage on a white→blue scale; a period that has not
ended at as-of (``complete`` false) is *partial*: hatched, in italics, marked with a
trailing "*" and explained in its tooltip. Averages (:func:`average_curves`) leave
partial periods out, as docs/analyses.md says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont

from seglab.core.charts import period_label
from seglab.ui.palette import heat_color, qcolor, text_color_on

_Index = QModelIndex | QPersistentModelIndex

PARTIAL_ROLE = Qt.ItemDataRole.UserRole + 1
SLICE_ROLE = Qt.ItemDataRole.UserRole + 2
FIXED_COLUMNS = 3  # segment, cohort, size
PERIOD_WORDS = {"day": "Day", "week": "Week", "month": "Month"}


def average_curves(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per segment: periods and the cohort-size-weighted mean rate over complete cells only.

    A period with no complete cohort yet has no average (NaN), so the curve stops there.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if frame is None or not len(frame):
        return out
    periods = np.sort(frame["period"].unique())
    for label in dict.fromkeys(frame["segment"]):
        rows = frame[(frame["segment"] == label) & frame["complete"]]
        grouped = rows.groupby("period").agg(retained=("retained", "sum"), size=("cohort_size", "sum"))
        values = np.array(
            [
                grouped.loc[p, "retained"] / grouped.loc[p, "size"]
                if p in grouped.index and grouped.loc[p, "size"]
                else np.nan
                for p in periods
            ],
            dtype=float,
        )
        out[label] = (periods.astype(float), values)
    return out


class RetentionHeatModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._periods: list[int] = []
        self._interval = "week"
        self._colors: dict[str, str] = {}

    def set_frame(
        self, frame: pd.DataFrame, interval: str = "week", colors: dict[str, str] | None = None
    ) -> None:
        self.beginResetModel()
        self._interval = interval
        self._colors = dict(colors or {})
        self._rows = []
        self._periods = sorted(int(p) for p in frame["period"].unique()) if len(frame) else []
        if len(frame):
            for (label, cohort), rows in frame.groupby(["segment", "cohort_start"], sort=False):
                cells = {
                    int(r.period): (int(r.retained), float(r.rate), bool(r.complete))
                    for r in rows.itertuples(index=False)
                }
                self._rows.append(
                    {
                        "segment": str(label),
                        "cohort_start": str(cohort),
                        "size": int(rows["cohort_size"].iloc[0]),
                        "cells": cells,
                    }
                )
        self.endResetModel()

    def periods(self) -> list[int]:
        return list(self._periods)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else FIXED_COLUMNS + len(self._periods)

    def cell(self, row: int, column: int) -> tuple[int, float, bool] | None:
        if column < FIXED_COLUMNS:
            return None
        return self._rows[row]["cells"].get(self._periods[column - FIXED_COLUMNS])

    def text(self, row: int, column: int) -> str:
        r = self._rows[row]
        if column == 0:
            return r["segment"]
        if column == 1:
            return period_label(r["cohort_start"], self._interval)
        if column == 2:
            return f"{r['size']:,}"
        cell = self.cell(row, column)
        if cell is None:
            return ""
        return f"{100 * cell[1]:.1f}%" + ("" if cell[2] else "*")

    def slice_for(self, row: int, column: int) -> dict | None:
        """The slice a click on (row, column) means: a cell, or the whole cohort (size column)."""
        if not 0 <= row < len(self._rows):
            return None
        r = self._rows[row]
        if column == 2 or column == 1:
            return {"segment": r["segment"], "cohort_start": r["cohort_start"], "period": None}
        if column >= FIXED_COLUMNS and self.cell(row, column) is not None:
            return {
                "segment": r["segment"],
                "cohort_start": r["cohort_start"],
                "period": self._periods[column - FIXED_COLUMNS],
            }
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        cell = self.cell(row, col)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == 0:
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and cell is not None:
            color = qcolor(heat_color(cell[1]))
            if not cell[2]:
                return QBrush(color, Qt.BrushStyle.BDiagPattern)
            return QBrush(color)
        if role == Qt.ItemDataRole.ForegroundRole:
            if cell is not None and cell[2]:
                return QBrush(qcolor(text_color_on(heat_color(cell[1]))))
            if col == 0:
                return QBrush(qcolor(self._colors.get(self._rows[row]["segment"], "#222222")))
            return None
        if role == Qt.ItemDataRole.FontRole:
            if cell is not None and not cell[2]:
                font = QFont()
                font.setItalic(True)
                return font
            if col == 0:
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            r = self._rows[row]
            if cell is not None:
                word = PERIOD_WORDS[self._interval].lower()
                tip = (
                    f"{r['segment']}, cohort {period_label(r['cohort_start'], self._interval)}: "
                    f"{cell[0]:,} of {r['size']:,} came back in {word} {self._periods[col - FIXED_COLUMNS]}"
                )
                if not cell[2]:
                    tip += " (partial: this period has not ended at as-of; left out of the averages)"
                return tip + ". Click to list them."
            if col in (1, 2):
                return "Click to list this cohort."
            return None
        if role == PARTIAL_ROLE:
            return None if cell is None else not cell[2]
        if role == SLICE_ROLE:
            return self.slice_for(row, col)
        if role == Qt.ItemDataRole.UserRole:
            return None if cell is None else cell[1]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section < FIXED_COLUMNS:
            return ("Segment", "Cohort", "Size")[section]
        return f"{PERIOD_WORDS[self._interval]} {self._periods[section - FIXED_COLUMNS]}"
