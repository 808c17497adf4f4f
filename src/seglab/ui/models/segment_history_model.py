"""The saved versions of one segment as a table: version, saved, description (newest first)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from seglab.core.segments import SegmentVersion

_Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Version", "Saved", "Description")


class SegmentHistoryModel(QAbstractTableModel):
    """Rows are :class:`seglab.core.segments.SegmentVersion`; ``UserRole`` is the version itself."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[SegmentVersion] = []
        self._descriptions: list[str] = []

    def set_versions(self, versions: list[SegmentVersion]) -> None:
        self.beginResetModel()
        self._rows = list(versions)
        self._descriptions = [v.description() for v in self._rows]
        self.endResetModel()

    def version_at(self, row: int) -> SegmentVersion:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"{v.version} (current)" if v.current else str(v.version)
            if col == 1:
                return v.saved_at[:16].replace("T", " ")
            return self._descriptions[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._descriptions[index.row()] if col == 2 else f"saved {v.saved_at}"
        if role == Qt.ItemDataRole.UserRole:
            return v
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None
