"""Results of a people search (``seglab.core.search.find``) as a table: name, id, kind, matched."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from seglab.core.search import Match

_Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Name", "Id", "Kind", "Matched")


class PeopleResultsModel(QAbstractTableModel):
    """Read-only rows of :class:`Match`; ``UserRole`` on any cell is the match itself."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[Match] = []

    def set_matches(self, matches: list[Match]) -> None:
        self.beginResetModel()
        self._rows = list(matches)
        self.endResetModel()

    def match_at(self, row: int) -> Match:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (m.label, m.id, m.kind, m.matched)[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return m
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None
