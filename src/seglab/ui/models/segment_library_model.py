"""The segment library's table: saved segments with level icon, size, last update and description."""

from __future__ import annotations

from functools import cache
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from seglab.core.profiles import LibraryEntry

_Index = QModelIndex | QPersistentModelIndex
NAME_ROLE = Qt.ItemDataRole.UserRole + 1


@cache
def level_icon(level: str) -> QIcon:
    """A round badge: U (users, blue) or A (accounts, orange)."""
    text, color = ("U", "#3f6fb5") if level == "user" else ("A", "#c0792b")
    pixmap = QPixmap(QSize(16, 16))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(0, 0, 16, 16)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setPixelSize(10)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pixmap)


class SegmentLibraryModel(QAbstractTableModel):
    """Rows are :class:`seglab.core.profiles.LibraryEntry` values, sorted by name."""

    HEADERS = ("Segment", "Size", "Updated")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._entries: list[LibraryEntry] = []

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        self.beginResetModel()
        self._entries = sorted(entries, key=lambda e: e.name.casefold())
        self.endResetModel()

    def entries(self) -> list[LibraryEntry]:
        return list(self._entries)

    def entry(self, name: str) -> LibraryEntry | None:
        for e in self._entries:
            if e.name == name:
                return e
        return None

    def row_of(self, name: str) -> int:
        for i, e in enumerate(self._entries):
            if e.name == name:
                return i
        return -1

    def names(self) -> list[str]:
        return [e.name for e in self._entries]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self._entries[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return e.name
            if col == 1:
                if e.size is None:
                    return "–" if e.error else "…"
                return f"{e.size:,}"
            return e.updated.replace("T", " ").rstrip("Z")[:16]
        if role == Qt.ItemDataRole.ForegroundRole and e.error:
            return QColor("#b3261e")  # a segment that cannot be evaluated stands out
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return level_icon(e.level)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{'User' if e.level == 'user' else 'Account'} segment: {e.description}"
            if e.error:
                tip += f"\n⚠ {e.error}"
            return tip
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == NAME_ROLE:
            return e.name
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None
