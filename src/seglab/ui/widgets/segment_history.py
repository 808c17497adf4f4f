"""The History panel of the Segments page: every saved version of the selected segment.

Select one version to compare it with the current one, or two to compare them: the panel shows
which conditions were removed (−) and added (+), as sentences. **Restore** saves the selected
version again as the newest (one undo step; Undo takes the restore back without a trace).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from seglab.core import segments
from seglab.core.errors import SegLabError
from seglab.core.segments.model import definition_json
from seglab.ui import messages
from seglab.ui.models.segment_history_model import SegmentHistoryModel
from seglab.ui.widgets.elided_label import ElidedLabel
from seglab.ui.workers import Worker

TITLE_RESTORE_FAILED = "Cannot restore the version"


def _versions_task(path, name, progress=None) -> list[segments.SegmentVersion]:
    from seglab.core.storage.connection import connect

    conn = connect(path, readonly=True)
    try:
        return segments.segment_versions(conn, name)
    finally:
        conn.close()


class RestoreVersionCommand(QUndoCommand):
    """Restore a version (done by the caller before the push); undo takes the save back."""

    def __init__(self, panel: SegmentHistoryWidget, name: str, version: int, restored_text: str):
        super().__init__(f"Restore version {version} of {name!r}")
        self.panel = panel
        self.name = name
        self.version = version
        self.restored_text = restored_text
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        conn = self.panel.session.project.conn
        self.restored_text = definition_json(
            segments.restore_version(conn, self.name, self.version).definition
        )
        self.panel.changed_by_undo(self.name)

    def undo(self) -> None:
        if not segments.undo_last_save(self.panel.session.project.conn, self.name, self.restored_text):
            self.setObsolete(True)
        self.panel.changed_by_undo(self.name)


class SegmentHistoryWidget(QWidget):
    """See the module docstring.

    Signals
    -------
    restored(str)
        A version of this segment was restored (or the restore undone): the library and the
        builder show the segment again.
    loaded()
        The versions of the current segment are listed.
    """

    restored = Signal(str)
    loaded = Signal()

    def __init__(self, session, undo_stack, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.undo_stack = undo_stack
        self.name: str | None = None
        # Asked before a restore replaces the segment (the page checks for unsaved edits).
        self.before_restore = lambda name: True
        # A long segment name must not widen the library pane: elided, with the full title as tooltip.
        self.title = ElidedLabel("History")
        self.title.setObjectName("sectionTitle")
        self.model = SegmentHistoryModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.view.setMinimumWidth(120)
        self.view.setWordWrap(False)
        self.diff = QTextBrowser()
        self.diff.setPlaceholderText("Select a version, or two to compare.")
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Save the selected version again as the newest (undoable)")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(lambda: self.restore_selected())
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.restore_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 2)
        layout.addWidget(self.diff, 1)
        self._worker = Worker(self)
        self._worker.succeeded.connect(self._on_loaded)
        self._worker.failed.connect(lambda exc: self.title.setText(f"History: {exc}"))
        self.view.selectionModel().selectionChanged.connect(self._on_selection)

    def show_segment(self, name: str | None) -> None:
        """List the versions of ``name`` (None: nothing selected)."""
        self.name = name
        self.model.set_versions([])
        self.diff.clear()
        self.restore_button.setEnabled(False)
        if not name or self.session is None or self.session.path is None:
            self._worker.cancel()
            self.title.setText("History")
            return
        self.title.setText(f"History of {name}")
        self._worker.start(_versions_task, self.session.path, name)

    def is_loading(self) -> bool:
        return self._worker.is_busy()

    def _on_loaded(self, versions) -> None:
        self.model.set_versions(versions)
        n = len(versions)
        self.title.setText(f"History of {self.name} ({n} version{'s' if n != 1 else ''})")
        self.loaded.emit()

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.view.selectionModel().selectedRows())

    def select(self, *rows: int) -> None:
        from PySide6.QtCore import QItemSelectionModel

        sel = self.view.selectionModel()
        sel.clearSelection()
        for r in rows:
            sel.select(
                self.model.index(r, 0),
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _on_selection(self, *_args) -> None:
        rows = self.selected_rows()
        self.restore_button.setEnabled(len(rows) == 1 and not self.model.version_at(rows[0]).current)
        if not rows or len(rows) > 2:
            self.diff.setHtml("" if not rows else "<i>Select one or two versions to compare.</i>")
            return
        # Older first: "−" is what the older version had, "+" what the newer one has.
        newer = self.model.version_at(rows[0]) if len(rows) == 2 else self.model.version_at(0)
        older = self.model.version_at(rows[-1])
        self.diff.setHtml(self.diff_html(older, newer))

    @staticmethod
    def diff_html(older: segments.SegmentVersion, newer: segments.SegmentVersion) -> str:
        head = f"<b>Version {older.version} → version {newer.version}</b>"
        if older.version == newer.version:
            return f"{head}<br>{html.escape(newer.description())}"
        try:
            lines = segments.diff_phrases(older.definition, newer.definition)
        except SegLabError as exc:
            return f"{head}<br>{html.escape(str(exc))}"
        style = {" ": "color: gray;", "-": "color: #b00020;", "+": "color: #1a7f37;"}
        mark = {" ": "&nbsp;&nbsp;", "-": "− ", "+": "+ "}
        body = "".join(f'<div style="{style[m]}">{mark[m]}{html.escape(text)}</div>' for m, text in lines)
        if all(m == " " for m, _ in lines):
            body += "<div><i>The same sentence (only the JSON differs).</i></div>"
        return head + body

    def restore_selected(self) -> bool:
        rows = self.selected_rows()
        if len(rows) != 1 or self.name is None or self.session.project is None:
            return False
        if self.session.busy:
            messages.show_warning(
                self, TITLE_RESTORE_FAILED, "An import is running; restore when it has finished."
            )
            return False
        version = self.model.version_at(rows[0])
        name = self.name
        if not self.before_restore(name):
            return False
        try:
            saved = segments.restore_version(self.session.project.conn, name, version.version)
        except SegLabError as exc:
            messages.show_error(self, TITLE_RESTORE_FAILED, str(exc))
            return False
        self.undo_stack.push(
            RestoreVersionCommand(self, name, version.version, definition_json(saved.definition))
        )
        self.changed_by_undo(name)
        return True

    def changed_by_undo(self, name: str) -> None:
        self.restored.emit(name)
        if name == self.name:
            self.show_segment(name)

    def shutdown(self) -> None:
        self._worker.shutdown()
