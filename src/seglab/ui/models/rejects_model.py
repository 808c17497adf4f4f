"""A rejects file (``FILE.rejects.csv``: ``line, reason, raw``) as a table: line, reason, then the
rejected record's fields under the source file's column names (when the source is at hand)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

_Index = QModelIndex | QPersistentModelIndex
MAX_ROWS = 5_000


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_rejects(path: str | Path, source: str | Path | None = None, limit: int = MAX_ROWS):
    """``(headers, rows, more)``: rows are ``[line, reason, field1, ...]``; ``more`` when cut at ``limit``."""
    fields: list[str] = []
    delimiter = ","
    if source is not None:
        try:
            with open(source, encoding="utf-8-sig", errors="replace", newline="") as fh:
                head = fh.readline()
            delimiter = _delimiter(head)
            fields = next(csv.reader([head], delimiter=delimiter), [])
        except OSError:
            fields = []
    rows: list[list[str]] = []
    more = False
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        raw_col = header.index("raw") if header and "raw" in header else 2
        for record in reader:
            if len(rows) >= limit:
                more = True
                break
            line = record[0] if record else ""
            reason = record[1] if len(record) > 1 else ""
            raw = record[raw_col] if len(record) > raw_col else ""
            if not fields and delimiter == ",":
                delimiter = _delimiter(raw) if raw else ","
            parsed = next(csv.reader(io.StringIO(raw), delimiter=delimiter), []) if raw else []
            rows.append([line, reason, *parsed])
    width = max([len(r) for r in rows] + [2 + len(fields)])
    names = [*fields, *(f"field {i + 1}" for i in range(len(fields), width - 2))]
    for r in rows:
        r.extend([""] * (width - len(r)))
    return ["Line", "Reason", *names[: width - 2]], rows, more


class RejectsTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._headers: list[str] = ["Line", "Reason"]
        self._rows: list[list[str]] = []
        self.more = False

    def load(self, path: str | Path, source: str | Path | None = None) -> None:
        self.beginResetModel()
        self._headers, self._rows, self.more = read_rejects(path, source)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self._rows[index.row()][index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None
