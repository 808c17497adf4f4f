"""The members list: the users or accounts of a segment (or of any list of keys), with profiles.

Public API (also used by the charts for drill-down)::

    w = MembersListWidget(session)                 # session: seglab.ui.session.ProjectSession
    w.set_members("user", keys, "Power users")     # keys: internal user_key / account_key ints
    w.set_ids("user", ["u1", "u7"], "Week 12")      # by text id (a connected project's drill-down)
    w.set_definition(definition_dict, "Draft")     # the members of a segment definition (contract JSON)
    w.loaded.connect(lambda n: ...)                # emitted with the row count once the rows are in
    w.member_activated.connect(lambda level, key: ...)  # double-click (also opens the profile)
    w.save_as_segment("Churned in May")            # a segment of exactly these ids (a 'list' condition)

    open_members_dialog(session, "account", keys, "Accounts in week 12", parent=window)

Rows are loaded in a :class:`seglab.ui.workers.Worker` (the UI never waits on SQL);
the table is virtual, so 100k rows scroll smoothly. Export CSV escapes text cells
starting with ``= + - @``, tab or CR against formula injection; numbers stay numbers.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seglab.core import csvout, profiles, segments
from seglab.core.errors import SegLabError
from seglab.core.output import open_output
from seglab.core.segments.idlist import list_definition
from seglab.ui import messages
from seglab.ui.models.members_model import MembersTableModel
from seglab.ui.workers import Worker

TITLE_EXPORT_FAILED = "Cannot export the members"
TITLE_SAVE_FAILED = "Cannot save the segment"
SAVE_BUSY = "An import is running; save the segment when it has finished."
NO_PROJECT = "No project is open."


def _noun(level: str, n: int) -> str:
    word = "user" if level == "user" else "account"
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _members_task(path, request, progress):
    """Worker task: ``request`` = ("keys", level, keys), ("ids", level, ids) or ("definition",
    definition, as_of)."""
    if request[0] == "definition":
        return profiles.load_segment_member_table(path, request[1:], progress)
    if request[0] == "ids":
        return profiles.load_id_member_table(path, request[1:], progress)
    _, level, keys = request
    return profiles.load_member_table(path, (level, keys), progress)


class MembersListWidget(QWidget):
    """A sortable, exportable list of users or accounts with their properties.

    Signals
    -------
    loaded(int)
        The rows are in (the number of rows).
    load_failed(str)
        Loading failed; the message is shown in the header too.
    member_activated(str, int)
        A row was double-clicked: level (``"user"``/``"account"``) and key.
    """

    loaded = Signal(int)
    load_failed = Signal(str)
    member_activated = Signal(str, int)

    def __init__(self, session, parent: QWidget | None = None, *, open_profiles: bool = True):
        super().__init__(parent)
        self._session = session
        self._title = ""
        self._open_profiles = open_profiles
        self._profile_dialogs: list[QDialog] = []
        self.model = MembersTableModel(self)
        self._worker = Worker(self)
        self._worker.succeeded.connect(self._on_loaded)
        self._worker.failed.connect(self._on_failed)
        self._worker.finished.connect(lambda: self.spinner.setVisible(False))

        self.header_label = QLabel("")
        self.header_label.setObjectName("members_header")
        font = self.header_label.font()
        font.setBold(True)
        self.header_label.setFont(font)
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)
        self.spinner.setMaximumWidth(80)
        self.spinner.setMaximumHeight(12)
        self.spinner.setTextVisible(False)
        self.spinner.setVisible(False)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._ask_export)
        self.save_segment_button = QPushButton("Save as segment…")
        self.save_segment_button.setToolTip("Save exactly these people as a segment (a list of their ids)")
        self.save_segment_button.setEnabled(False)
        self.save_segment_button.clicked.connect(lambda: self.save_as_segment())

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        # Fixed row heights keep scrolling through 100k rows cheap (no per-row size hints).
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 8)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setDefaultSectionSize(130)
        self.view.doubleClicked.connect(self._on_double_clicked)

        top = QHBoxLayout()
        top.addWidget(self.header_label, 1)
        top.addWidget(self.spinner)
        top.addWidget(self.save_segment_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    # -- API ------------------------------------------------------------------
    def set_members(self, level: str, keys: Sequence[int], title: str = "") -> None:
        """Show these users (``level="user"``) or accounts (``"account"``) by internal key."""
        if level not in ("user", "account"):
            raise ValueError(f"level must be 'user' or 'account', not {level!r}")
        self._start(title, ("keys", level, list(keys)))

    def set_ids(self, level: str, ids: Sequence[str], title: str = "") -> None:
        """Show these users or accounts by text id (a connected project's people have no keys)."""
        if level not in ("user", "account"):
            raise ValueError(f"level must be 'user' or 'account', not {level!r}")
        self._start(title, ("ids", level, list(ids)))

    def set_definition(self, definition: dict, title: str = "", as_of_ms: int | None = None) -> None:
        """Show the members of a segment definition (contract JSON) at the as-of time."""
        self._start(title, ("definition", definition, as_of_ms))

    def title(self) -> str:
        return self._title

    def row_count(self) -> int:
        return self.model.rowCount()

    def is_loading(self) -> bool:
        return self._worker.is_busy()

    def export_csv(self, path: str | os.PathLike) -> int:
        """Write the rows (in the shown order) to ``path``; return the number of rows written."""
        table = self.model.table()
        if table is None:
            return 0
        order = self.model.rows_in_view_order()
        exported = profiles.MemberTable(table.level, table.columns, table.types, table.keys, order)
        protect = [self._session.path] if self._session is not None and self._session.path else []
        with open_output(path, protect=protect) as fh:
            return csvout.write_csv(fh, table.columns, exported.export_rows())

    def ids(self) -> list[str]:
        """The ids of the listed users or accounts (the first column), sorted as text."""
        table = self.model.table()
        return [] if table is None else sorted(str(row[0]) for row in table.rows)

    def save_as_segment(self, name: str | None = None) -> str | None:
        """Save the listed people as a segment of a fixed list of ids; the name it was saved under.

        Without ``name`` the person is asked for one (the list's title is offered)."""
        table = self.model.table()
        if table is None or not table.rows or self._session is None or self._session.project is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(
                self, "Save as segment", "Name of the new segment:", text=self._title.split(" — ")[0]
            )
            if not ok:
                return None
        name = name.strip()
        if self._session.busy:
            messages.show_warning(self, TITLE_SAVE_FAILED, SAVE_BUSY)
            return None
        conn = self._session.project.conn
        try:
            if name in {s.name for s in segments.list_saved(conn)} and not messages.ask(
                self,
                "Replace segment?",
                f"A segment named {name!r} already exists. Replace it with this list?",
            ):
                return None
            segments.save_segment(conn, name, list_definition(self.ids(), table.level))
        except (SegLabError, sqlite3.Error, OSError) as exc:  # a full disk or a lock: said, not raised
            messages.show_error(self, TITLE_SAVE_FAILED, str(exc))
            return None
        self._session.notify_segments_changed()
        return name

    def shutdown(self) -> None:
        """Stop loading (the owner is closing)."""
        self._worker.shutdown()
        for dialog in self._profile_dialogs:
            dialog.close()

    # -- internals -----------------------------------------------------------
    def _start(self, title: str, request: Any) -> None:
        self._title = title
        if self._session is None or self._session.path is None:
            self._show_header(NO_PROJECT)
            return
        self.model.set_table(None)
        self.export_button.setEnabled(False)
        self.save_segment_button.setEnabled(False)
        self._show_header(f"{title} — loading…" if title else "Loading…")
        self.spinner.setVisible(True)
        self._worker.start(_members_task, self._session.path, request)

    def _show_header(self, text: str) -> None:
        self.header_label.setText(text)

    def _on_loaded(self, table: profiles.MemberTable) -> None:
        self.model.set_table(table)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        count = _noun(table.level, len(table.rows))
        self._show_header(f"{self._title} — {count}" if self._title else count)
        self.export_button.setEnabled(True)
        self.save_segment_button.setEnabled(bool(table.rows))
        self.loaded.emit(len(table.rows))

    def _on_failed(self, exc: object) -> None:
        text = str(exc)
        self._show_header(f"Cannot list the members: {text}")
        self.load_failed.emit(text)

    def _ask_export(self) -> None:
        name = (self._title or "members").replace("/", "-")
        path, _ = QFileDialog.getSaveFileName(self, "Export members", f"{name}.csv", "CSV files (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except (SegLabError, OSError) as exc:
            messages.show_error(self, TITLE_EXPORT_FAILED, _export_error_text(path, exc))

    def _on_double_clicked(self, index: QModelIndex) -> None:
        level = self.model.level
        if level is None or not index.isValid():
            return
        table = self.model.table()
        if table is not None and not table.profiles:
            # A connected project's member has no local key (its keys are row numbers): the
            # profile is read in the source by id.
            if self._open_profiles:
                self.open_profile(level, self.model.row_values(index.row())[0])
            return
        key = self.model.key_at(index.row())
        self.member_activated.emit(level, key)
        if self._open_profiles:
            self.open_profile(level, key)

    def open_profile(self, level: str, key: int | str) -> QDialog:
        """Open the user or account profile (non-modal) and return the dialog (``key``: on a
        connected project, the user's text id)."""
        from seglab.ui.widgets.profile_dialogs import AccountProfileDialog, UserProfileDialog

        cls = UserProfileDialog if level == "user" else AccountProfileDialog
        dialog = cls(self._session, key, self)
        self._profile_dialogs = [d for d in self._profile_dialogs if d.isVisible()]
        self._profile_dialogs.append(dialog)
        dialog.show()
        return dialog


class MembersDialog(QDialog):
    """A window around a :class:`MembersListWidget` (non-modal)."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Members")
        self.resize(900, 560)
        self.members = MembersListWidget(session, self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.members)
        self.members.loaded.connect(self._retitle)

    def _retitle(self, n: int) -> None:
        title = self.members.title()
        level = self.members.model.level or "user"
        self.setWindowTitle(f"{title} — {_noun(level, n)}" if title else _noun(level, n))

    def done(self, result: int) -> None:
        self.members.shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:
        self.members.shutdown()
        super().closeEvent(event)


def open_members_dialog(
    session,
    level: str,
    keys: Sequence[int],
    title: str = "",
    parent: QWidget | None = None,
    ids: Sequence[str] | None = None,
) -> MembersDialog:
    """Show ``keys`` (users or accounts; or by text ``ids`` when given, as a connected project's
    drill-down lists them) in a new non-modal members window; return it."""
    dialog = MembersDialog(session, parent)
    dialog.setWindowTitle(title or "Members")
    if ids is not None:
        dialog.members.set_ids(level, ids, title)
    else:
        dialog.members.set_members(level, keys, title)
    dialog.show()
    return dialog


def open_segment_members_dialog(
    session, definition: dict, title: str = "", parent: QWidget | None = None, as_of_ms: int | None = None
) -> MembersDialog:
    """Show the members of a segment definition in a new non-modal window; return it."""
    dialog = MembersDialog(session, parent)
    dialog.setWindowTitle(title or "Members")
    dialog.members.set_definition(definition, title, as_of_ms)
    dialog.show()
    return dialog


def _export_error_text(path: str, exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{path}: {exc.strerror or exc}"
    return str(exc)
