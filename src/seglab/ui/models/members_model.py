"""Table model over a :class:`seglab.core.profiles.MemberTable` (the members list).

The rows are loaded off the UI thread (:func:`seglab.core.profiles.load_member_table`)
and held as plain tuples; the view only asks for the rows it paints, so 100k members
scroll smoothly. Sorting is done here in Python (stable, missing values last).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from seglab.core import formatting
from seglab.core.profiles import MemberTable
from seglab.core.timeutil import ms_to_datetime

_Index = QModelIndex | QPersistentModelIndex
KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's user_key / account_key


def format_value(value: Any, kind: str) -> str:
    """How a property value reads in a table cell."""
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, int | float):
        return ms_to_datetime(int(value)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool) or kind == "boolean":
        return "true" if value else "false"
    if isinstance(value, int | float):
        return formatting.exact(value)  # every digit, separators, never "9.98e+03"
    return str(value)


class MembersTableModel(QAbstractTableModel):
    """Read-only, sortable rows of a members list."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table: MemberTable | None = None
        self._order: list[int] = []  # view row -> index into table.rows

    # -- content ------------------------------------------------------------
    def set_table(self, table: MemberTable | None) -> None:
        self.beginResetModel()
        self._table = table
        self._order = list(range(len(table.rows))) if table is not None else []
        self.endResetModel()

    def table(self) -> MemberTable | None:
        return self._table

    @property
    def level(self) -> str | None:
        return self._table.level if self._table is not None else None

    def key_at(self, row: int) -> int:
        assert self._table is not None
        return self._table.keys[self._order[row]]

    def row_values(self, row: int) -> tuple:
        assert self._table is not None
        return self._table.rows[self._order[row]]

    def rows_in_view_order(self) -> list[tuple]:
        if self._table is None:
            return []
        return [self._table.rows[i] for i in self._order]

    # -- Qt model API ----------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._table is None:
            return 0
        return len(self._table.columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._table is None:
            return None
        row = self._table.rows[self._order[index.row()]]
        col = index.column()
        value = row[col]
        kind = self._table.types[col]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(value, kind)
        if role == Qt.ItemDataRole.TextAlignmentRole and kind in ("integer", "real"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == KEY_ROLE:
            return self._table.keys[self._order[index.row()]]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if self._table is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self._table.columns[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{self._table.columns[section]} ({self._table.types[section]})"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._table is None or not 0 <= column < len(self._table.columns):
            return
        rows = self._table.rows
        present = [i for i in self._order if rows[i][column] is not None]
        missing = [i for i in self._order if rows[i][column] is None]
        kind = self._table.types[column]
        if kind == "text":
            key = lambda i: str(rows[i][column]).casefold()
        else:
            key = lambda i: rows[i][column]
        try:
            present.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        except TypeError:  # mixed types in a column: compare as text
            present.sort(key=lambda i: str(rows[i][column]), reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        self._order = present + missing  # missing values last, whichever the direction
        self.layoutChanged.emit()


class TimelineTableModel(QAbstractTableModel):
    """Events newest first (a :class:`seglab.core.profiles.Timeline`): time, user, event, properties.

    Virtual like the members table: the view asks only for the rows it paints.
    """

    HEADERS = ("time (UTC)", "user", "event", "properties")

    def __init__(self, parent=None, *, show_user: bool = True):
        super().__init__(parent)
        self._rows: list[tuple] = []
        self._show_user = show_user

    def set_rows(self, rows: list[tuple]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def _columns(self) -> tuple[str, ...]:
        return self.HEADERS if self._show_user else (self.HEADERS[0], *self.HEADERS[2:])

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns())

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        ts, user, event, props = self._rows[index.row()]
        name = self._columns()[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if name == "time (UTC)":
                return ms_to_datetime(ts).strftime("%Y-%m-%d %H:%M:%S")
            if name == "user":
                return user
            if name == "event":
                return event
            return ", ".join(f"{k}={v}" for k, v in props.items())
        if role == Qt.ItemDataRole.UserRole:
            return self._rows[index.row()]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._columns()[section]
        return None
