"""QUndoCommands for the segment library (orange-canvas-core style): each calls the core's API
and carries the label the Edit menu shows. The builder's own edit command,
:class:`~seglab.ui.models.segment_builder_model.EditDraftCommand`, lives with its model.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtGui import QUndoCommand

from seglab.core import segments
from seglab.core.errors import SegLabError


class _LibraryCommand(QUndoCommand):
    """A library change already made by the caller; the first redo (on push) is skipped."""

    def __init__(self, page, label: str):
        super().__init__(label)
        self.page = page
        self._done = True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._guarded(self._redo)

    def undo(self) -> None:
        self._guarded(self._undo)

    def _guarded(self, change) -> None:
        # A write that fails (a full disk, a locked file) is reported, never raised into Qt.
        try:
            change()
        except (SegLabError, sqlite3.Error, OSError) as exc:
            self.page.show_failure(exc)

    def _redo(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _undo(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _conn(self):
        return self.page.writable_conn()


class DeleteSegmentCommand(_LibraryCommand):
    """Undo re-saves the deleted segment (its definition; the history is not restored)."""

    def __init__(self, page, name: str, definition: dict):
        super().__init__(page, f"Delete segment {name!r}")
        self.name = name
        self.definition = definition

    def _undo(self) -> None:
        segments.save_segment(self._conn(), self.name, self.definition)
        self.page.library_changed_by_undo(self.name)

    def _redo(self) -> None:
        segments.delete_segment(self._conn(), self.name)
        self.page.library_changed_by_undo(None, removed=self.name)


class RenameSegmentCommand(_LibraryCommand):
    def __init__(self, page, old: str, new: str):
        super().__init__(page, f"Rename segment {old!r}")
        self.old = old
        self.new = new

    def _undo(self) -> None:
        segments.rename_segment(self._conn(), self.new, self.old)
        self.page.segment_renamed_by_undo(self.new, self.old)

    def _redo(self) -> None:
        segments.rename_segment(self._conn(), self.old, self.new)
        self.page.segment_renamed_by_undo(self.old, self.new)


class AddSegmentCommand(_LibraryCommand):
    """A segment added to the library (Duplicate): undo deletes it, redo saves it again."""

    def __init__(self, page, name: str, definition: dict, label: str = "Duplicate segment"):
        super().__init__(page, label)
        self.name = name
        self.definition = definition

    def _undo(self) -> None:
        segments.delete_segment(self._conn(), self.name)
        self.page.library_changed_by_undo(None, removed=self.name)

    def _redo(self) -> None:
        segments.save_segment(self._conn(), self.name, self.definition)
        self.page.library_changed_by_undo(self.name)
