"""Pinning the project's as-of time in the app (undoable), and the dialog that picks it.

T is stored in the project (:mod:`seglab.core.asof`); after a change the session announces
``data_changed``, so the overview, every segment count and every chart is computed again at
the new T.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from seglab.core import asof
from seglab.core.timeutil import DAY_MS, date_to_ms, ms_to_datetime


def describe(state: asof.AsOfState) -> str:
    """What the window says: "As of 2024-06-30 23:59 UTC (pinned)" / "... (latest event)"."""
    if state.as_of is None:
        return "As of: no events yet"
    when = ms_to_datetime(state.as_of).strftime("%Y-%m-%d %H:%M UTC")
    return f"As of {when} ({'pinned' if state.pinned else 'latest event'})"


class SetAsOfCommand(QUndoCommand):
    """Pin T (``after`` epoch ms) or unpin it (``after`` None); undo restores the previous pin."""

    def __init__(self, session, before: int | None, after: int | None):
        label = "Unpin as-of time" if after is None else "Pin as-of time"
        super().__init__(label)
        self.session = session
        self.before = before
        self.after = after

    def _apply(self, pin: int | None) -> None:
        if self.session.project is None:
            self.setObsolete(True)
            return
        asof.set_pin(self.session.project.conn, pin)
        self.session.notify_data_changed()

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


def set_as_of(session, undo_stack, pin_ms: int | None) -> bool:
    """Pin (or with None unpin) T as one undoable step; False when nothing changes or no project."""
    if session.project is None or session.busy:
        return False
    before = asof.get_pin(session.project.conn)
    if before == pin_ms:
        return False
    undo_stack.push(SetAsOfCommand(session, before, pin_ms))
    return True


def _qdate(ms: int) -> QDate:
    d = ms_to_datetime(ms).date()
    return QDate(d.year, d.month, d.day)


class PinAsOfDialog(QDialog):
    """Pick the day to pin T to (the end of that day, UTC), within the data's time range."""

    def __init__(self, state: asof.AsOfState, first_event: int | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Pin the as-of time")
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        if state.latest_event is not None:
            self.date_edit.setDateRange(_qdate(first_event or state.latest_event), _qdate(state.latest_event))
        if state.as_of is not None:
            self.date_edit.setDate(_qdate(state.as_of))
        text = QLabel(
            "Every count and chart is measured at the end of this day (UTC), as if the data stopped "
            "there. Unpin to use the latest event again."
        )
        text.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Pin")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.date_edit, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(buttons)

    def pin_ms(self) -> int:
        """The end of the chosen day, UTC, in epoch ms."""
        d = self.date_edit.date()
        return date_to_ms(dt.date(d.year(), d.month(), d.day())) + DAY_MS - 1
