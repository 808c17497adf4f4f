"""The visual segment builder: title, level, description, live counts, condition rows, Save, JSON.

``SegmentBuilderWidget(session, undo_stack, parent=None)`` edits one draft held by its
:class:`seglab.ui.models.segment_builder_model.SegmentBuilderModel` (``.model``). Every
edit is a labelled command on ``undo_stack``. Live counts (each top-level condition
alone, the running total, the share of the universe) and the core's validation
messages come from :func:`seglab.core.profiles.load_preview` in a worker, debounced by
:data:`PREVIEW_DELAY_MS`; stale results are dropped by the worker, and a spinner shows
while counting.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from seglab.core import profiles, segments
from seglab.core.errors import SegLabError, SegmentError
from seglab.ui import messages
from seglab.ui.models.segment_builder_model import (
    Path,
    SegmentBuilderModel,
    canonical,
    empty_definition,
    parse_path,
    path_text,
)
from seglab.ui.widgets.elided_label import ElidedLabel
from seglab.ui.widgets.segment_rows import ERROR_STYLE, ConditionListWidget, ConditionRowWidget

PREVIEW_DELAY_MS = 250

TITLE_SAVE_FAILED = "Cannot save the segment"
TITLE_PASTE_FAILED = "Cannot paste a segment definition"
NEED_NAME = "Give the segment a name to save it."
CHECKING = "Checking…"
NO_CHANGES = "No unsaved changes."
NO_PROJECT = "Open a project to build segments."
INCOMPLETE = "Finish the conditions marked in red to read this segment as a sentence."
UNFINISHED = "Finish or remove the unfinished condition first ({hint})."
PROJECT_BUSY = "An import is running; save when it has finished."


def _noun(level: str, n: int | None = None) -> str:
    word = "user" if level == "user" else "account"
    return word if n == 1 else word + "s"


class SegmentBuilderWidget(QWidget):
    """Builds one segment. See the module docstring.

    Signals
    -------
    saved(str)
        The draft was saved under this name.
    preview_updated(object)
        A :class:`seglab.core.profiles.PreviewResult` for the current draft arrived.
    """

    saved = Signal(str)
    preview_updated = Signal(object)

    def __init__(self, session, undo_stack, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.undo_stack = undo_stack
        self.model = SegmentBuilderModel(undo_stack, self)
        self.catalogue: profiles.BuilderCatalogue = profiles.EMPTY_CATALOGUE
        self.saved_segments: list[tuple[str, str]] = []  # (name, level), for "in segment" conditions
        self.preview: profiles.PreviewResult | None = None
        self._preview_for: str | None = None  # canonical text of the draft the preview is for
        self._pending_for: str | None = None
        self.preview_task = profiles.load_preview  # a slow stand-in can be set by tests
        self._row_paths: dict[Path, ConditionRowWidget] = {}

        # -- title, level, description ------------------------------------------------
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name this segment…")
        font = self.name_edit.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.name_edit.setFont(font)
        self.name_edit.setFrame(False)
        self.dirty_label = QLabel("")
        self.dirty_label.setToolTip("Unsaved changes")
        self.users_button = QPushButton("Users")
        self.accounts_button = QPushButton("Accounts")
        self.level_group = QButtonGroup(self)
        for i, b in enumerate((self.users_button, self.accounts_button)):
            b.setCheckable(True)
            self.level_group.addButton(b, i)
        self.level_group.setExclusive(True)
        # Always two lines high (elided, whole sentence as tooltip): a sentence growing from one
        # line to two never moves the controls below it.
        self.description_label = ElidedLabel("", max_lines=2)
        self.description_label.setStyleSheet("color: palette(mid); font-style: italic;")
        self.description_label.setObjectName("description")

        # -- counts -------------------------------------------------------------------
        self.total_label = QLabel("")
        total_font = self.total_label.font()
        total_font.setBold(True)
        self.total_label.setFont(total_font)
        self.share_label = QLabel("")
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)
        self.spinner.setTextVisible(False)
        self.spinner.setMaximumWidth(70)
        self.spinner.setMaximumHeight(10)
        self.spinner.setVisible(False)

        # -- actions ----------------------------------------------------------------------
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save (Ctrl+S)")
        self.save_reason = QLabel("")
        self.save_reason.setWordWrap(True)
        self.save_reason.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.members_button = QPushButton("Show members")
        self.json_button = QToolButton()
        self.json_button.setText("JSON")
        self.json_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        json_menu = QMenu(self.json_button)
        self.view_json_action = json_menu.addAction("View JSON…", self.view_json)
        self.copy_json_action = json_menu.addAction("Copy JSON", self.copy_json)
        self.paste_json_action = json_menu.addAction("Paste JSON", self.paste_json)
        self.json_button.setMenu(json_menu)
        self.top_problems = QLabel("")
        self.top_problems.setWordWrap(True)
        self.top_problems.setStyleSheet(ERROR_STYLE)
        self.top_problems.setVisible(False)

        # -- conditions --------------------------------------------------------------------
        self.conditions = ConditionListWidget(self, ())
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.addWidget(self.conditions)
        body_layout.addStretch(1)
        scroll.setWidget(body)

        title_row = QHBoxLayout()
        title_row.addWidget(self.name_edit, 1)
        title_row.addWidget(self.dirty_label)
        title_row.addWidget(self.users_button)
        title_row.addWidget(self.accounts_button)
        count_row = QHBoxLayout()
        count_row.addWidget(self.total_label)
        count_row.addWidget(self.share_label)
        count_row.addWidget(self.spinner)
        count_row.addStretch(1)
        count_row.addWidget(self.members_button)
        count_row.addWidget(self.json_button)
        count_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(title_row)
        layout.addWidget(self.description_label)
        layout.addLayout(count_row)
        layout.addWidget(self.save_reason)
        layout.addWidget(self.top_problems)
        layout.addWidget(scroll, 1)

        # -- wiring -------------------------------------------------------------------------
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(PREVIEW_DELAY_MS)
        self._debounce.timeout.connect(self._start_preview)
        from seglab.ui.workers import Worker

        self._preview_worker = Worker(self)
        self._preview_worker.succeeded.connect(self._on_preview)
        self._preview_worker.failed.connect(self._on_preview_failed)
        self._preview_worker.started.connect(lambda: self.spinner.setVisible(True))
        self._preview_worker.finished.connect(lambda: self.spinner.setVisible(False))
        self._catalogue_worker = Worker(self)
        self._catalogue_worker.succeeded.connect(self._on_catalogue)

        self.model.draft_changed.connect(self._on_draft_changed)
        self.model.dirty_changed.connect(self._on_dirty_changed)
        self.model.document_changed.connect(self._on_document_changed)
        self.name_edit.textEdited.connect(self.model.set_name)
        self.level_group.idClicked.connect(self._on_level_clicked)
        self.save_button.clicked.connect(self.save)
        self.members_button.clicked.connect(self.show_members)
        self._on_draft_changed(self.model.draft)
        self._on_dirty_changed(False)

    # -- project data ------------------------------------------------------------------------
    def reload_catalogue(self) -> None:
        """Read the property catalogue and event names again (project opened or data changed)."""
        if self.session is not None and self.session.path is not None:
            self._catalogue_worker.start(profiles.load_builder_catalogue, self.session.path)
        else:
            self._catalogue_worker.cancel()
            self.catalogue = profiles.EMPTY_CATALOGUE
            self.conditions.refresh_choices()

    def is_catalogue_loading(self) -> bool:
        return self._catalogue_worker.is_busy()

    def _on_catalogue(self, catalogue: profiles.BuilderCatalogue) -> None:
        self.catalogue = catalogue
        self.conditions.refresh_choices()
        self._sync_rows()
        self.schedule_preview()

    def set_saved_segments(self, saved: list[tuple[str, str]]) -> None:
        self.saved_segments = list(saved)
        self.conditions.refresh_choices()
        self._sync_rows()

    # -- documents -------------------------------------------------------------------------
    def open_segment(self, name: str | None, definition: dict | None = None, level: str = "user") -> None:
        """Edit ``definition`` saved as ``name``, or start a new segment (``name`` None)."""
        self.model.open_document(name, definition if definition is not None else empty_definition(level))

    def _on_document_changed(self) -> None:
        # A count of the previous document must not land on this one.
        self._debounce.stop()
        self._preview_worker.cancel()
        self.preview = None
        self._preview_for = None
        self.description_label.setText("")

    # -- model -> view -------------------------------------------------------------------------
    def _on_draft_changed(self, draft) -> None:
        if self.name_edit.text() != draft.name:
            self.name_edit.setText(draft.name)
        level = draft.definition.get("level", "user")
        button = self.users_button if level == "user" else self.accounts_button
        button.setChecked(True)
        self._sync_rows()
        self.schedule_preview()
        self._update_save_state()

    def _sync_rows(self) -> None:
        self.conditions.sync(self.model.definition)
        self._row_paths = {row.path: row for row in self.conditions.all_rows()}
        self._show_preview()

    def _on_dirty_changed(self, dirty: bool) -> None:
        self.dirty_label.setText("● unsaved" if dirty else "")
        self._update_save_state()

    def _on_level_clicked(self, button_id: int) -> None:
        level = "user" if button_id == 0 else "account"
        if level != self.model.level:
            self.model.update_at((), "Change level", level=level)

    # -- live preview ---------------------------------------------------------------------------
    def schedule_preview(self) -> None:
        """Count again ``PREVIEW_DELAY_MS`` after the last edit."""
        if self.session is None or self.session.path is None:
            return
        self.spinner.setVisible(True)
        self._debounce.start()

    def is_counting(self) -> bool:
        return self._debounce.isActive() or self._preview_worker.is_busy()

    def _start_preview(self) -> None:
        if self.session is None or self.session.path is None:
            return
        definition = self.model.definition
        self._pending_for = canonical(definition)
        name = self.model.saved_name or (self.model.name.strip() or None)
        self._preview_worker.start(self.preview_task, self.session.path, (definition, None, name))

    def _on_preview(self, result: profiles.PreviewResult) -> None:
        self.preview = result
        self._preview_for = self._pending_for
        self._show_preview()
        self._update_save_state()
        self.preview_updated.emit(result)

    def _on_preview_failed(self, exc: object) -> None:
        self.total_label.setText("Cannot count")
        self.share_label.setText(str(exc))

    def _show_preview(self) -> None:
        result = self.preview
        if result is None:
            self.total_label.setText("")
            self.share_label.setText("")
            for row in self._row_paths.values():
                row.set_count("")
            return
        level = result.level
        if result.total is None:
            self.total_label.setText(f"? {_noun(level)}")
            self.share_label.setText("(fix the problems below to count)")
        else:
            self.total_label.setText(f"{result.total:,} {_noun(level, result.total)}")
            share = result.total / result.universe if result.universe else 0.0
            self.share_label.setText(f"{share:.1%} of {result.universe:,}")
        self.description_label.setText(result.description or INCOMPLETE)
        # Problems go to the deepest row whose path starts the problem's path.
        assigned: dict[Path, list] = {path: [] for path in self._row_paths}
        top: list = []
        for problem in result.problems:
            ppath = parse_path(problem[0])
            owner = None
            for path in self._row_paths:
                if ppath[: len(path)] == path and (owner is None or len(path) > len(owner)):
                    owner = path
            (assigned[owner] if owner is not None else top).append(problem)
        for path, row in self._row_paths.items():
            row.set_problems(assigned[path])
            if len(path) == 2:
                i = path[1]
                if i in result.alone:
                    row.set_count(
                        f"{result.alone[i]:,}",
                        f"{result.alone[i]:,} {_noun(level, result.alone[i])} match this condition alone; "
                        f"{result.running[i]:,} match the conditions up to here",
                    )
                elif any(p[2] == "incomplete" for p in assigned[path]):
                    row.set_count("–", "Not counted until it is filled in")
                else:
                    row.set_count("–", "Not counted: this condition has a problem")
            elif path_text(path) in result.nested:
                nested_level, n = result.nested[path_text(path)]
                row.set_count(f"{n:,}", f"{n:,} {_noun(nested_level, n)} match this condition alone")
            else:
                row.set_count("")
        self.top_problems.setText("\n".join(f"⚠ {p[0]}: {p[1]}" for p in top))
        self.top_problems.setVisible(bool(top))

    def row_at(self, path: Path) -> ConditionRowWidget:
        return self._row_paths[tuple(path)]

    # -- saving ---------------------------------------------------------------------------------
    def save_blocker(self) -> str | None:
        """Why Save is disabled, or None when it is enabled."""
        if self.session is None or self.session.project is None:
            return NO_PROJECT
        if not self.model.name.strip():
            return NEED_NAME
        if not self.model.is_dirty():
            return NO_CHANGES
        if self._preview_for != canonical(self.model.definition) or self.preview is None:
            return CHECKING
        errors = [p for p in self.preview.problems if p[2] == "error"]
        if errors:
            n = len(errors)
            return f"Fix {n} problem{'s' if n > 1 else ''} first: {errors[0][1]}"
        unfinished = [p for p in self.preview.problems if p[2] == "incomplete"]
        if unfinished:
            return UNFINISHED.format(hint=unfinished[0][1])
        return None

    def _update_save_state(self) -> None:
        reason = self.save_blocker()
        self.save_button.setEnabled(reason is None)
        shown = "" if reason in (None, NO_CHANGES) else reason
        self.save_reason.setText(shown)
        self.save_reason.setStyleSheet(ERROR_STYLE if reason and reason.startswith("Fix") else "color: gray;")
        self.save_button.setToolTip(reason or "Save (Ctrl+S)")

    def save(self) -> bool:
        """Save the draft under its name (Ctrl+S); True when saved."""
        reason = self.save_blocker()
        if reason == CHECKING:
            reason = None  # the core validates on save anyway
        if reason is not None:
            if reason != NO_CHANGES:
                messages.show_warning(self, TITLE_SAVE_FAILED, reason)
            return reason == NO_CHANGES
        if self.session.busy:
            messages.show_warning(self, TITLE_SAVE_FAILED, PROJECT_BUSY)
            return False
        conn = self.session.project.conn
        name = self.model.name.strip()
        old = self.model.saved_name
        try:
            existing = {s.name for s in segments.list_saved(conn)}
            if name != old and name in existing:
                if not messages.ask(
                    self,
                    "Replace segment?",
                    f"A segment named {name!r} already exists. Replace it with this one?",
                ):
                    return False
            if old is not None and name != old and old in existing and name not in existing:
                segments.rename_segment(conn, old, name)
            segments.save_segment(conn, name, self.model.definition)
        except (SegLabError, sqlite3.Error, OSError) as exc:
            # Never silent: the draft stays unsaved (and marked so) and the library unchanged.
            messages.show_error(self, TITLE_SAVE_FAILED, messages.failure_text(exc, self.session.path))
            self._update_save_state()
            return False
        self.model.mark_saved(name)
        self._update_save_state()
        self.saved.emit(name)
        return True

    # -- JSON ----------------------------------------------------------------------------------
    def definition_text(self) -> str:
        return json.dumps(self.model.definition, indent=2, ensure_ascii=False)

    def view_json(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(f"JSON of {self.model.name or 'this segment'}")
        dialog.resize(560, 480)
        text = QPlainTextEdit(self.definition_text())
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(buttons)
        dialog.show()
        return dialog

    def copy_json(self) -> None:
        QGuiApplication.clipboard().setText(self.definition_text())

    def paste_json(self, text: str | None = None) -> bool:
        """Replace the conditions with a definition from the clipboard (or ``text``); undoable."""
        if text is None:
            text = QGuiApplication.clipboard().text()
        try:
            obj = json.loads(text)
        except ValueError as exc:
            messages.show_error(self, TITLE_PASTE_FAILED, f"The clipboard does not hold JSON ({exc}).")
            return False
        try:
            seg = segments.load_definition(obj)
        except SegmentError as exc:
            messages.show_error(self, TITLE_PASTE_FAILED, str(exc))
            return False
        self.model.edit(segments.dump_definition(seg), "Paste definition")
        return True

    # -- members -----------------------------------------------------------------------------------
    def show_members(self):
        from seglab.ui.widgets.members_widget import open_segment_members_dialog

        if self.session is None or self.session.path is None:
            return None
        title = self.model.name.strip() or "Unsaved segment"
        return open_segment_members_dialog(self.session, self.model.definition, title, self.window())

    # -- lifecycle ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop timers and workers (the page is closing)."""
        self._debounce.stop()
        self._preview_worker.shutdown()
        self._catalogue_worker.shutdown()

    # helpers for tests and scripting
    def definition(self) -> dict[str, Any]:
        return self.model.definition
