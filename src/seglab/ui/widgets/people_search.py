"""Find a user or an account (Ctrl+K from anywhere, the field on the Segments page).

``PeopleSearchDialog(session, parent, text="")``: a search field and the matches, best first
(:func:`seglab.core.search.find` in a worker, as you type); Enter or a double-click opens the
profile of the selected (else the first) match.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seglab.core import search
from seglab.ui.models.people_model import PeopleResultsModel
from seglab.ui.workers import Worker

SEARCH_DELAY_MS = 150
LIMIT = 50
HINT = "Type an id, an e-mail, a name or any text property."


class PeopleSearchDialog(QDialog):
    """See the module docstring.

    Signals
    -------
    searched(int)
        The matches for the current text are in (their number).
    """

    searched = Signal(int)

    def __init__(self, session, parent: QWidget | None = None, text: str = ""):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Find a user or account")
        self.resize(640, 420)
        self.field = QLineEdit(text)
        self.field.setPlaceholderText("Find a user or account…")
        self.field.setClearButtonEnabled(True)
        self.status = QLabel(HINT)
        self.status.setStyleSheet("color: gray;")
        self.model = PeopleResultsModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.addWidget(self.field)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        self._profiles: list[QDialog] = []
        self._open_if_one = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self._start)
        self._worker = Worker(self)
        self._worker.succeeded.connect(self._on_found)
        self._worker.failed.connect(lambda exc: self.status.setText(f"Cannot search: {exc}"))
        self.field.textChanged.connect(lambda _t: self._debounce.start())
        self.field.returnPressed.connect(self.open_selected)
        self.view.doubleClicked.connect(lambda index: self.open_profile(index.row()))
        self.view.activated.connect(lambda index: self.open_profile(index.row()))
        if text:
            self._start()

    def search(self, text: str, *, open_if_one: bool = False) -> None:
        """Search for ``text`` now (as if typed); ``open_if_one``: a single match opens its profile."""
        self._open_if_one = open_if_one
        self.field.setText(text)
        self._debounce.stop()
        self._start()

    def is_searching(self) -> bool:
        return self._debounce.isActive() or self._worker.is_busy()

    def _start(self) -> None:
        text = self.field.text()
        if self.session is None or self.session.path is None:
            self.status.setText("Open a project to find people in it.")
            return
        if search.fts_query(text) is None:
            self._worker.cancel()
            self.model.set_matches([])
            self.status.setText(HINT)
            return
        self._worker.start(search.find_task, self.session.path, (text, LIMIT))

    def _on_found(self, matches: list[search.Match]) -> None:
        self.model.set_matches(matches)
        n = len(matches)
        if n == 0:
            self.status.setText(f"No user or account matches “{self.field.text().strip()}”.")
        else:
            more = " (the best 50)" if n >= LIMIT else ""
            self.status.setText(f"{n} match{'es' if n != 1 else ''}{more}: Enter opens the profile.")
            self.view.selectRow(0)
        if n == 1 and self._open_if_one:
            self.open_profile(0)
        self._open_if_one = False
        self.searched.emit(n)

    def open_selected(self):
        rows = self.view.selectionModel().selectedRows()
        if rows:
            return self.open_profile(rows[0].row())
        if self.model.rowCount():
            return self.open_profile(0)
        return None

    def open_profile(self, row: int):
        """Open the profile of match ``row`` (non-modal) and return its dialog."""
        from seglab.ui.widgets.profile_dialogs import AccountProfileDialog, UserProfileDialog

        if not 0 <= row < self.model.rowCount(QModelIndex()):
            return None
        match = self.model.match_at(row)
        cls = UserProfileDialog if match.kind == "user" else AccountProfileDialog
        # A connected project's profiles are read in its source, by text id.
        key = match.id if self.session.is_connected() else match.key
        dialog = cls(self.session, key, self.parentWidget() or self)
        self._profiles = [d for d in self._profiles if d.isVisible()]
        self._profiles.append(dialog)
        dialog.show()
        return dialog

    def done(self, result: int) -> None:
        self._debounce.stop()
        self._worker.shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:
        self._debounce.stop()
        self._worker.shutdown()
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        # Arrow keys in the field move through the matches.
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.model.rowCount():
            rows = self.view.selectionModel().selectedRows()
            current = rows[0].row() if rows else -1
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            self.view.selectRow(max(0, min(self.model.rowCount() - 1, current + step)))
            return
        super().keyPressEvent(event)
