"""The segment library (left of the Segments page): saved segments, filter, New / Duplicate / Rename / Delete.

Sizes and descriptions are computed in a worker. Duplicate, Rename and Delete write
the project at once (the live file is the document) and push an undoable command
(:mod:`seglab.ui.segment_commands`) on the window's QUndoStack; Delete asks first.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seglab.core import profiles, segments
from seglab.core.errors import SegLabError
from seglab.ui import messages
from seglab.ui.models.segment_library_model import NAME_ROLE, SegmentLibraryModel
from seglab.ui.segment_commands import AddSegmentCommand, DeleteSegmentCommand, RenameSegmentCommand
from seglab.ui.workers import Worker

TITLE_LIBRARY_FAILED = "Cannot change the segment library"
_Flag = QItemSelectionModel.SelectionFlag
EMPTY_HINT = "No saved segments yet. Click New to build one."


class SegmentLibraryWidget(QWidget):
    """Saved segments of the session's project.

    Signals
    -------
    open_requested(str)
        A segment was chosen (selected) to be edited.
    new_requested(str)
        New segment of a level ("user" / "account").
    segment_renamed(str, str)
        Old name, new name (by Rename, or its undo/redo).
    segment_removed(str)
        A segment was deleted (or a duplicate undone).
    entries_loaded()
        Sizes and descriptions were (re)loaded.
    """

    open_requested = Signal(str)
    new_requested = Signal(str)
    segment_renamed = Signal(str, str)
    segment_removed = Signal(str)
    entries_loaded = Signal()

    def __init__(self, session, undo_stack, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.undo_stack = undo_stack
        self.model = SegmentLibraryModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(0)
        self._select_after_load: str | None = None
        self._selecting = False

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter segments…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setShowGrid(False)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.empty_label = QLabel(EMPTY_HINT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: gray")
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)
        self.spinner.setMaximumHeight(8)
        self.spinner.setTextVisible(False)
        self.spinner.setVisible(False)

        self.new_button = QPushButton("New")
        new_menu = QMenu(self.new_button)
        new_menu.addAction("User segment", lambda: self.new_requested.emit("user"))
        new_menu.addAction("Account segment", lambda: self.new_requested.emit("account"))
        new_menu.addSeparator()
        # Paste or load ids: a segment of exactly those people (a 'list' condition).
        new_menu.addAction("Users from a list of ids…", lambda: self.new_requested.emit("user:list"))
        new_menu.addAction("Accounts from a list of ids…", lambda: self.new_requested.emit("account:list"))
        self.new_button.setMenu(new_menu)
        self.duplicate_button = QPushButton("Duplicate")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        for key, slot in (
            (QKeySequence.StandardKey.Delete, lambda: self.delete(self.current_name())),
            (QKeySequence(Qt.Key.Key_F2), self._ask_rename),
        ):
            action = QAction(self.view)
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            self.view.addAction(action)
        self.duplicate_button.clicked.connect(lambda: self.duplicate(self.current_name()))
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(lambda: self.delete(self.current_name()))

        # The selected segment's summary: a numeric property summed over its members ("MRR at risk").
        self.sum_combo = QComboBox()
        self.sum_combo.setToolTip("A numeric user or account property to total over the segment's members.")
        self.sum_label = QLabel("")
        self.sum_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary = QHBoxLayout()
        summary.addWidget(QLabel("Total of"))
        summary.addWidget(self.sum_combo, 1)
        summary.addWidget(self.sum_label)
        self.summary_row = QWidget()
        self.summary_row.setLayout(summary)
        summary.setContentsMargins(0, 0, 0, 0)
        self.sum_combo.currentIndexChanged.connect(lambda _i: self.update_summary())

        buttons = QHBoxLayout()
        for b in (self.new_button, self.duplicate_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Segments")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        layout.addWidget(title)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.spinner)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.summary_row)
        layout.addLayout(buttons)

        self._worker = Worker(self)
        self._worker.succeeded.connect(self._on_loaded)
        self._worker.failed.connect(lambda exc: self.empty_label.setText(f"Cannot list the segments: {exc}"))
        self._worker.finished.connect(lambda: self.spinner.setVisible(False))
        self._summary_worker = Worker(self)
        self._summary_worker.succeeded.connect(self._show_summary)
        self._summary_worker.failed.connect(lambda exc: self.sum_label.setText(""))
        self._update_buttons()

    # -- loading -----------------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Read the saved segments again (sizes in a worker); then select ``select`` if given."""
        self._select_after_load = select if select is not None else self.current_name()
        if self.session is None or self.session.path is None:
            self._worker.cancel()
            self.model.set_entries([])
            self._update_buttons()
            return
        self.spinner.setVisible(True)
        self._worker.start(profiles.load_library, self.session.path)

    def is_loading(self) -> bool:
        return self._worker.is_busy()

    def _fill_sum_properties(self) -> None:
        from seglab.core.project import load_properties

        current = self.sum_combo.currentData()
        names: list[str] = []
        if self.session is not None and self.session.project is not None:
            names = [
                f"{p.entity}.{p.name}"
                for p in load_properties(self.session.project.conn)
                if p.entity in ("user", "account") and p.type in ("integer", "real")
            ]
        self.sum_combo.blockSignals(True)
        self.sum_combo.clear()
        for name in names:
            self.sum_combo.addItem(name, name)
        i = self.sum_combo.findData(current)
        # "account.mrr"-like totals are the usual question: an account property first when none was chosen.
        if i < 0:
            i = next((k for k, n in enumerate(names) if n.startswith("account.")), 0 if names else -1)
        self.sum_combo.setCurrentIndex(i)
        self.sum_combo.blockSignals(False)
        self.summary_row.setVisible(bool(names))

    def update_summary(self) -> None:
        """Total the chosen property over the current segment's members (in a worker)."""
        name, prop = self.current_name(), self.sum_combo.currentData()
        if not name or not prop or self.session is None or self.session.path is None:
            self._summary_worker.cancel()
            self.sum_label.setText("")
            return
        from seglab.core.analyses.membership import segment_summary_file

        self.sum_label.setText("…")
        self._summary_worker.start(segment_summary_file, self.session.path, (name, (prop,)))

    def _show_summary(self, summary) -> None:
        from seglab.core import formatting

        total = next(iter(summary.sums.values()), 0.0)
        unit = ("user" if summary.level == "user" else "account") + ("" if summary.size == 1 else "s")
        self.sum_label.setText(
            f"= <b>{formatting.number(total)}</b> over {formatting.number(summary.size)} {unit}"
        )

    def _on_loaded(self, entries: list[profiles.LibraryEntry]) -> None:
        self._fill_sum_properties()
        self._selecting = True
        try:
            self.model.set_entries(entries)
            if self._select_after_load:
                self.select(self._select_after_load, emit=False)
        finally:
            self._selecting = False
        self.empty_label.setText(EMPTY_HINT)
        self._update_buttons()
        self.entries_loaded.emit()

    # -- selection -----------------------------------------------------------------------------------
    def current_name(self) -> str | None:
        index = self.view.currentIndex()
        return index.data(NAME_ROLE) if index.isValid() else None

    def select(self, name: str | None, *, emit: bool = True) -> None:
        """Make ``name`` the current row (None clears); ``open_requested`` only if ``emit``."""
        was = self._selecting
        self._selecting = not emit
        try:
            row = self.model.row_of(name) if name else -1
            if row < 0:
                self.view.selectionModel().clearSelection()
                self.view.selectionModel().setCurrentIndex(QModelIndex(), _Flag.Clear)
                return
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            self.view.selectionModel().setCurrentIndex(index, _Flag.ClearAndSelect | _Flag.Rows)
        finally:
            self._selecting = was
            self._update_buttons()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()
        self.update_summary()
        if not self._selecting and current.isValid():
            self.open_requested.emit(current.data(NAME_ROLE))

    def _update_buttons(self) -> None:
        has = self.current_name() is not None
        writable = self.session is not None and self.session.project is not None
        for b in (self.duplicate_button, self.rename_button, self.delete_button):
            b.setEnabled(has and writable)
        self.new_button.setEnabled(writable)
        self.empty_label.setVisible(self.model.rowCount() == 0)

    # -- changes (undoable) -----------------------------------------------------------------------------
    def writable_conn(self):
        return self.session.project.conn

    def show_failure(self, exc: BaseException) -> None:
        """A change that did not happen: say why, and show the library as it really is."""
        messages.show_error(self, TITLE_LIBRARY_FAILED, messages.failure_text(exc, self.session.path))
        self.reload(select=self.current_name() or "")

    def _refuse_busy(self) -> bool:
        if self.session.busy:
            messages.show_warning(self, TITLE_LIBRARY_FAILED, messages.BUSY_IMPORTING)
            return True
        return False

    def unique_name(self, base: str) -> str:
        names = set(self.model.names())
        if base not in names:
            return base
        n = 2
        while f"{base} ({n})" in names:
            n += 1
        return f"{base} ({n})"

    def duplicate(self, name: str | None) -> str | None:
        """Save a copy named "NAME copy" (undoable); return the new name."""
        entry = self.model.entry(name) if name else None
        if entry is None or self._refuse_busy():
            return None
        new = self.unique_name(f"{name} copy")
        try:
            segments.save_segment(self.writable_conn(), new, entry.definition)
        except (SegLabError, sqlite3.Error, OSError) as exc:
            self.show_failure(exc)
            return None
        self.undo_stack.push(AddSegmentCommand(self, new, entry.definition, f"Duplicate segment {name!r}"))
        self.reload(select=new)
        return new

    def _ask_rename(self) -> None:
        name = self.current_name()
        if name is None:
            return
        new, ok = QInputDialog.getText(self, "Rename segment", "New name:", QLineEdit.EchoMode.Normal, name)
        if ok:
            self.rename(name, new)

    def rename(self, old: str, new: str) -> bool:
        """Rename (undoable); segments that refer to it follow. The core's message on refusal."""
        new = new.strip()
        if not new or new == old or self._refuse_busy():
            return False
        try:
            segments.rename_segment(self.writable_conn(), old, new)
        except (SegLabError, sqlite3.Error, OSError) as exc:
            self.show_failure(exc)
            return False
        self.undo_stack.push(RenameSegmentCommand(self, old, new))
        self.segment_renamed.emit(old, new)
        self.reload(select=new)
        return True

    def delete(self, name: str | None) -> bool:
        """Delete after asking (undoable). The core refuses while other segments refer to it."""
        entry = self.model.entry(name) if name else None
        if entry is None or self._refuse_busy():
            return False
        # Checked before asking: a delete the core would refuse is not offered at all.
        users = segments.referrers(self.writable_conn(), name)
        if users:
            names = ", ".join(repr(u) for u in users)
            which = "segment" if len(users) == 1 else "segments"
            messages.show_error(
                self,
                TITLE_LIBRARY_FAILED,
                f"{name!r} cannot be deleted: the {which} {names} use{'s' if len(users) == 1 else ''} it. "
                "Remove it from them first.",
            )
            return False
        if not messages.ask(
            self, "Delete segment?", f"Delete the segment {name!r}? You can undo this with Edit ▸ Undo."
        ):
            return False
        try:
            segments.delete_segment(self.writable_conn(), name)
        except (SegLabError, sqlite3.Error, OSError) as exc:
            self.show_failure(exc)
            return False
        self.undo_stack.push(DeleteSegmentCommand(self, name, entry.definition))
        self.segment_removed.emit(name)
        self.reload(select="")
        return True

    # -- called by the library commands' undo / redo ----------------------------------------------------
    def library_changed_by_undo(self, select: str | None, removed: str | None = None) -> None:
        if removed is not None:
            self.segment_removed.emit(removed)
        self.reload(select=select or "")

    def segment_renamed_by_undo(self, old: str, new: str) -> None:
        self.segment_renamed.emit(old, new)
        self.reload(select=new)

    def shutdown(self) -> None:
        self._worker.shutdown()
        self._summary_worker.shutdown()
