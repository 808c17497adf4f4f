"""The Segments page: the segment library on the left, the builder on the right.

Wiring it into the main window (the lead's part)::

    page = SegmentsPageWidget(session, undo_stack, parent=window)
    window.add_page("Segments", page)                    # however pages are added
    edit_menu.addAction(page.save_action)                # "Save Segment", Ctrl+S (page shortcut)
    page.segments_changed.connect(charts_page.reload_segments)   # names / sizes changed
    page.dirty_changed.connect(lambda dirty: window.setWindowModified(dirty))
    # before closing the window or the project:
    if not page.maybe_close():   # asks about unsaved edits; False = the person cancelled
        event.ignore()
    page.shutdown()              # when the window closes: stops timers and workers

The main window (``MainWindow._wire_page``) wires exactly these duck-typed hooks when it builds
the page, and calls ``reload_segments()`` when another page changes the segments.

The page listens to ``session.project_opened`` / ``project_closed`` / ``data_changed``
itself and reloads the library and the builder's pickers.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLineEdit, QSplitter, QVBoxLayout, QWidget

from seglab.core.segments.idlist import list_definition
from seglab.ui import messages
from seglab.ui.widgets.segment_builder import SegmentBuilderWidget
from seglab.ui.widgets.segment_history import SegmentHistoryWidget
from seglab.ui.widgets.segment_library import SegmentLibraryWidget

TITLE_UNSAVED = "Unsaved segment"


class SegmentsPageWidget(QWidget):
    """Library + builder for the session's project.

    Signals
    -------
    segments_changed()
        A segment was saved, renamed, duplicated or deleted (charts refresh their lists).
    segment_saved(str)
        The builder saved this segment.
    dirty_changed(bool)
        The builder's draft has (or no longer has) unsaved edits.
    """

    segments_changed = Signal()
    segment_saved = Signal(str)
    dirty_changed = Signal(bool)

    def __init__(self, session, undo_stack, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.undo_stack = undo_stack
        self.library = SegmentLibraryWidget(session, undo_stack)
        self.builder = SegmentBuilderWidget(session, undo_stack)
        # Find a person from here too (the same search as Ctrl+K): Enter opens the matches.
        self.people_field = QLineEdit()
        self.people_field.setPlaceholderText("Find a user or account…  (Ctrl+K)")
        self.people_field.setClearButtonEnabled(True)
        self.people_field.returnPressed.connect(self.find_people)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.people_field)
        self.history = SegmentHistoryWidget(session, undo_stack)
        self.history.before_restore = self._before_restore
        self.history.restored.connect(self._on_restored)
        left_split = QSplitter(Qt.Orientation.Vertical)
        left_split.addWidget(self.library)
        left_split.addWidget(self.history)
        left_split.setStretchFactor(0, 3)
        left_split.setStretchFactor(1, 2)
        left_split.setChildrenCollapsible(False)
        left_layout.addWidget(left_split, 1)
        self._people_dialog = None
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.builder)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

        self.save_action = QAction("Save Segment", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save_action.triggered.connect(self.builder.save)
        self.addAction(self.save_action)

        self.library.open_requested.connect(self._open_requested)
        self.library.new_requested.connect(self.new_segment)
        self.library.segment_renamed.connect(self._on_renamed)
        self.library.segment_removed.connect(self._on_removed)
        self.library.entries_loaded.connect(self._on_library_loaded)
        self.builder.saved.connect(self._on_saved)
        self.builder.model.dirty_changed.connect(self.dirty_changed)
        session.project_opened.connect(self._on_project_opened)
        session.project_closed.connect(self._on_project_closed)
        session.data_changed.connect(self._on_data_changed)
        if session.is_open():
            self._on_project_opened(session.path)

    # -- project -------------------------------------------------------------------------------------
    def _on_project_opened(self, _path=None) -> None:
        # People search reads the project's own search index; a connected project has none.
        connected = self.session.is_connected()
        self.people_field.setEnabled(not connected)
        self.people_field.setToolTip(
            "Finding people is not available on a connected project (its users are in the source)"
            if connected
            else ""
        )
        self.history.show_segment(None)
        self.builder.open_segment(None, level="user")
        self.builder.reload_catalogue()
        self.library.reload(select="")

    def _on_project_closed(self) -> None:
        self.history.show_segment(None)
        self.builder.open_segment(None, level="user")
        self.builder.reload_catalogue()
        self.library.reload(select="")

    def _on_data_changed(self) -> None:
        self.builder.reload_catalogue()
        self.library.reload()

    def reload_segments(self) -> None:
        """Another page changed the saved segments: list them again."""
        self.library.reload()

    def is_loading(self) -> bool:
        return (
            self.library.is_loading()
            or self.history.is_loading()
            or self.builder.is_catalogue_loading()
            or self.builder.is_counting()
        )

    # -- documents -------------------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """Ask before unsaved edits are dropped; True when it is fine to go on."""
        model = self.builder.model
        if not model.is_dirty():
            return True
        name = model.name.strip() or "the new segment"
        return messages.ask(self, TITLE_UNSAVED, f"Discard the unsaved changes to {name}?")

    maybe_close = confirm_discard

    def open_segment(self, name: str) -> bool:
        """Open a saved segment in the builder (asks about unsaved edits first)."""
        if name == self.builder.model.saved_name:
            return True
        entry = self.library.model.entry(name)
        if entry is None or not self.confirm_discard():
            self.library.select(self.builder.model.saved_name, emit=False)
            return False
        if not entry.readable:
            # Its stored JSON cannot be read: say so; the builder starts it afresh under its
            # name, so saving replaces it (or the library deletes it).
            messages.show_warning(
                self,
                "Segment cannot be read",
                f"The saved segment {name!r} cannot be read: {entry.error}\n\nBuild it again here and "
                "save to replace it, or delete it from the library.",
            )
        self.builder.open_segment(name, entry.definition)
        self.library.select(name, emit=False)
        self.history.show_segment(name)
        return True

    def new_segment(self, level: str = "user") -> bool:
        """A new segment; ``"user:list"`` / ``"account:list"`` start one list of ids and open its box."""
        if not self.confirm_discard():
            return False
        level, _, kind = level.partition(":")
        if kind == "list":
            self.builder.open_segment(None, list_definition([], level))
        else:
            self.builder.open_segment(None, level=level)
        self.library.select(None, emit=False)
        self.history.show_segment(None)
        self.builder.name_edit.setFocus()
        if kind == "list":
            self.builder.row_at(("conditions", 0)).editor.open_editor()
        return True

    def _open_requested(self, name: str) -> None:
        self.open_segment(name)

    # -- library <-> builder -----------------------------------------------------------------------------
    def _on_saved(self, name: str) -> None:
        self.library.reload(select=name)
        self.history.show_segment(name)
        self.segment_saved.emit(name)
        self.segments_changed.emit()

    def _on_renamed(self, old: str, new: str) -> None:
        self.builder.model.note_renamed(old, new)
        if self.history.name == old:
            self.history.show_segment(new)
        self.segments_changed.emit()

    def _before_restore(self, name: str) -> bool:
        return self.builder.model.saved_name != name or self.confirm_discard()

    def _on_restored(self, name: str) -> None:
        """A version was restored (or the restore undone): show the segment as it now is."""
        from seglab.core import segments

        self.library.reload(select=name)
        if self.builder.model.saved_name == name and self.session.project is not None:
            saved = segments.get_saved(self.session.project.conn, name)
            self.builder.open_segment(name, segments.dump_definition(saved.definition))
        self.segments_changed.emit()

    def _on_removed(self, name: str) -> None:
        if self.history.name == name:
            self.history.show_segment(None)
        if self.builder.model.saved_name == name:
            self.builder.model.forget_saved()
        self.segments_changed.emit()

    def _on_library_loaded(self) -> None:
        self.builder.set_saved_segments([(e.name, e.level) for e in self.library.model.entries()])

    def find_people(self):
        """Search people for the field's text: the window's Ctrl+K search, or one of our own."""
        text = self.people_field.text()
        window = self.window()
        if window is not self and hasattr(window, "find_people"):
            return window.find_people(text, open_if_one=True)
        from seglab.ui.widgets.people_search import PeopleSearchDialog

        if self._people_dialog is None:
            self._people_dialog = PeopleSearchDialog(self.session, self)
        self._people_dialog.show()
        self._people_dialog.search(text, open_if_one=True)
        return self._people_dialog

    def shutdown(self) -> None:
        """Stop timers and workers (the window is closing)."""
        self.history.shutdown()
        if self._people_dialog is not None:
            self._people_dialog.close()
        self.builder.shutdown()
        self.library.shutdown()
