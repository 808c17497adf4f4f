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

``seglab.ui.pages`` already wires exactly these duck-typed hooks when the window builds
the page, and calls ``reload_segments()`` when another page changes the segments.

The page listens to ``session.project_opened`` / ``project_closed`` / ``data_changed``
itself and reloads the library and the builder's pickers.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from seglab.ui import messages
from seglab.ui.widgets.segment_builder import SegmentBuilderWidget
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
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.library)
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
        self.builder.open_segment(None, level="user")
        self.builder.reload_catalogue()
        self.library.reload(select="")

    def _on_project_closed(self) -> None:
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
        return self.library.is_loading() or self.builder.is_catalogue_loading() or self.builder.is_counting()

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
        return True

    def new_segment(self, level: str = "user") -> bool:
        if not self.confirm_discard():
            return False
        self.builder.open_segment(None, level=level)
        self.library.select(None, emit=False)
        self.builder.name_edit.setFocus()
        return True

    def _open_requested(self, name: str) -> None:
        self.open_segment(name)

    # -- library <-> builder -----------------------------------------------------------------------------
    def _on_saved(self, name: str) -> None:
        self.library.reload(select=name)
        self.segment_saved.emit(name)
        self.segments_changed.emit()

    def _on_renamed(self, old: str, new: str) -> None:
        self.builder.model.note_renamed(old, new)
        self.segments_changed.emit()

    def _on_removed(self, name: str) -> None:
        if self.builder.model.saved_name == name:
            self.builder.model.forget_saved()
        self.segments_changed.emit()

    def _on_library_loaded(self) -> None:
        self.builder.set_saved_segments([(e.name, e.level) for e in self.library.model.entries()])

    def shutdown(self) -> None:
        """Stop timers and workers (the window is closing)."""
        self.builder.shutdown()
        self.library.shutdown()
