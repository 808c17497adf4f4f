"""The Data overview page: what is in the project, at a glance."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seglab.ui.icons import icon
from seglab.ui.models.overview_model import DataOverviewModel
from seglab.ui.models.table_model import RowsTableModel
from seglab.ui.widgets.elided_label import ElidedLabel

EMPTY_TEXT = (
    "This project has no data yet.\n\n"
    "Drop CSV exports (events, users, accounts) anywhere on this window, or use Import…"
)


def _day_time(iso: str | None) -> str:
    if not iso:
        return "—"
    return iso[:16].replace("T", " ")


class StatCardWidget(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("statCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.title_label = QLabel(title)
        self.title_label.setObjectName("statTitle")
        # Elided with the whole value as tooltip when the card is narrow ("2024-01-01 → 2024-06-…").
        self.value_label = ElidedLabel("—")
        self.value_label.setObjectName("statValue")
        self.caption_label = QLabel("")
        self.caption_label.setObjectName("statCaption")
        layout.addWidget(self.title_label)
        layout.addWidget(self.value_label)
        layout.addWidget(self.caption_label)

    def set_value(self, value: str, caption: str = "") -> None:
        self.value_label.setText(value)
        self.caption_label.setText(caption)

    def value(self) -> str:
        return self.value_label.text()


def _table(model: RowsTableModel, stretch_column: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.setShowGrid(False)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return view


def _section(title: str, body: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    label = QLabel(title)
    label.setObjectName("sectionTitle")
    layout.addWidget(label)
    layout.addWidget(body, 1)
    box.title_label = label  # type: ignore[attr-defined]
    return box


class DataOverviewWidget(QWidget):
    import_requested = Signal()
    pin_requested = Signal()  # "Pin…" on the As of card
    unpin_requested = Signal()  # "Unpin" on the As of card

    def __init__(self, model: DataOverviewModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(14)

        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = QLabel("Data")
        self.title_label.setObjectName("pageTitle")
        self.path_label = QLabel("")
        self.path_label.setObjectName("pathLabel")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        titles.addWidget(self.title_label)
        titles.addWidget(self.path_label)
        head.addLayout(titles, 1)
        self.status_label = QLabel("")
        self.status_label.setObjectName("hint")
        head.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignBottom)
        # A connected project's counts are read in its source, which can take a while: Cancel
        # stops the query there; Refresh reads the source again (it may have new events).
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop reading the source")
        self.cancel_button.clicked.connect(model.cancel)
        self.cancel_button.setVisible(False)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the counts in the source again")
        self.refresh_button.clicked.connect(model.refresh)
        self.refresh_button.setVisible(False)
        head.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignBottom)
        head.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignBottom)
        self._connected = False
        self._problem = ""
        self.import_button = QPushButton(icon("import"), "Import Files…")
        self.import_button.clicked.connect(self.import_requested)
        head.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(head)

        cards = QGridLayout()
        cards.setHorizontalSpacing(12)
        cards.setVerticalSpacing(12)
        self.cards = {
            "events": StatCardWidget("Events"),
            "users": StatCardWidget("Users"),
            "accounts": StatCardWidget("Accounts"),
            "range": StatCardWidget("Time range"),
            "as_of": StatCardWidget("As of"),
        }
        self.pin_button = QPushButton("Pin…")
        self.pin_button.setToolTip("Measure every count and chart at another day (undoable)")
        self.pin_button.clicked.connect(self.pin_requested)
        self.unpin_button = QPushButton("Unpin")
        self.unpin_button.setToolTip("Measure at the latest event again")
        self.unpin_button.clicked.connect(self.unpin_requested)
        pin_row = QHBoxLayout()
        pin_row.setContentsMargins(0, 2, 0, 0)
        pin_row.addWidget(self.pin_button)
        pin_row.addWidget(self.unpin_button)
        pin_row.addStretch(1)
        self.cards["as_of"].layout().addLayout(pin_row)
        for key in ("range", "as_of"):  # dates take more room than counts: a size smaller
            self.cards[key].value_label.setObjectName("statValueWide")
        for i, card in enumerate(self.cards.values()):
            cards.addWidget(card, 0, i)
            cards.setColumnStretch(
                i, 0
            )  # widths from each card's content; values elide only when short of room
        layout.addLayout(cards)

        # Tables, or an empty state when the project holds nothing yet.
        self.event_view = _table(model.event_names, 0)
        self.property_view = _table(model.properties, 1)
        self.import_view = _table(model.imports, 0)
        self.import_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.import_view.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.event_section = _section("Event names", self.event_view)
        self.property_section = _section("Properties", self.property_view)
        self.import_section = _section("Import history", self.import_view)
        # A connected project (docs/sources.md) shows its source where a local one shows imports.
        self.source_view = _table(model.source, 3)
        self.source_view.setWordWrap(True)
        self.source_section = _section("Source", self.source_view)
        self.source_section.setVisible(False)
        # Users whose events name more than one account (or another than the users file's):
        # counted and shown, not hidden; the section is there only when there are some.
        self.conflict_view = _table(model.conflicts, 3)
        self.conflict_section = _section("Account-link conflicts", self.conflict_view)
        self.conflict_section.setVisible(False)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.event_section)
        top.addWidget(self.property_section)
        top.setChildrenCollapsible(False)
        top.setSizes([1, 1])
        tables = QSplitter(Qt.Orientation.Vertical)
        tables.addWidget(top)
        tables.addWidget(self.import_section)
        tables.addWidget(self.source_section)
        tables.addWidget(self.conflict_section)
        tables.setChildrenCollapsible(False)
        tables.setStretchFactor(0, 3)
        tables.setStretchFactor(1, 1)
        tables.setStretchFactor(2, 1)
        tables.setStretchFactor(3, 1)

        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.body = QStackedWidget()
        self.body.addWidget(tables)
        self.body.addWidget(self.empty_label)
        layout.addWidget(self.body, 1)
        self._tables = tables

        model.snapshot_changed.connect(self._update)
        model.loading_changed.connect(self._loading)
        model.load_failed.connect(lambda text: self._show_problem(f"Could not read the project: {text}"))
        model.load_cancelled.connect(
            lambda: self._show_problem("Cancelled: the counts were not read (Refresh reads them)")
        )
        self._update()

    def set_project_label(self, name: str, path: str) -> None:
        self.title_label.setText(name or "Data")
        self.path_label.setText(path)

    def set_connected(self, url: str | None) -> None:
        """A connected project reads its events from ``url``: nothing to import (the contract
        refuses import on connected projects), and the Data page shows the source instead."""
        self.import_button.setVisible(True)
        if url:
            self.import_button.setEnabled(False)
            self.import_button.setToolTip(
                f"This project reads its events from {url}; import does not apply to a connected project"
            )
        else:
            self.import_button.setToolTip("")
        self.import_section.setVisible(not url)
        self.source_section.setVisible(bool(url))
        if self._connected != bool(url):
            self._connected = bool(url)
            self._loading(self.model.is_loading())

    def is_empty_state(self) -> bool:
        return self.body.currentWidget() is self.empty_label

    def _show_problem(self, text: str) -> None:
        self._problem = text
        self.status_label.setText(text)

    def _loading(self, loading: bool) -> None:
        if loading:
            self._problem = ""
        reading = "Reading the source…" if self._connected else "Reading the project…"
        self.status_label.setText(reading if loading else self._problem)
        self.cancel_button.setVisible(loading and self._connected)
        self.refresh_button.setVisible(not loading and self._connected)

    def _update(self) -> None:
        snap = self.model.snapshot
        if snap is None:
            for card in self.cards.values():
                card.set_value("—")
            self.pin_button.setEnabled(False)
            self.unpin_button.setVisible(False)
            self.body.setCurrentWidget(self._tables)
            return
        info = snap.info
        self.cards["events"].set_value(f"{info['events']:,}", f"{info['event_names']:,} names")
        self.cards["users"].set_value(f"{info['users']:,}")
        self.cards["accounts"].set_value(f"{info['accounts']:,}", f"{info['properties']:,} properties")
        if info["first_event"]:
            days = _days_between(info["first_event"], info["last_event"])
            self.cards["range"].set_value(
                f"{info['first_event'][:10]} → {info['last_event'][:10]}", f"{days:,} days, UTC"
            )
        else:
            self.cards["range"].set_value("—", "no events yet")
        pinned = "pinned" if info.get("as_of_pinned") else "the latest event"
        self.cards["as_of"].set_value(_day_time(info["as_of"]), pinned if info["as_of"] else "no events yet")
        self.pin_button.setEnabled(bool(info["as_of"]))
        self.unpin_button.setVisible(bool(info.get("as_of_pinned")))
        empty = not (info["events"] or info["users"] or info["accounts"] or snap.imports or snap.source)
        self.body.setCurrentWidget(self.empty_label if empty else self._tables)
        self.event_section.title_label.setText(f"Event names ({len(snap.event_names):,})")
        self.property_section.title_label.setText(f"Properties ({len(snap.properties):,})")
        self.import_section.title_label.setText(f"Import history ({len(snap.imports):,})")
        if snap.source is not None:
            self.source_section.title_label.setText(
                f"Source: {snap.source.url} — read each time SegLab counts; nothing is imported"
            )
        self.conflict_section.setVisible(bool(snap.conflict_count))
        shown = (
            "" if len(snap.conflicts) == snap.conflict_count else f", the first {len(snap.conflicts):,} shown"
        )
        self.conflict_section.title_label.setText(
            f"Account-link conflicts ({snap.conflict_count:,} users linked to more than one account{shown})"
        )
        if snap.conflict_count:
            self.cards["users"].set_value(
                f"{info['users']:,}", f"{snap.conflict_count:,} with account conflicts"
            )


def _days_between(first_iso: str, last_iso: str) -> int:
    import datetime as dt

    a = dt.date.fromisoformat(first_iso[:10])
    b = dt.date.fromisoformat(last_iso[:10])
    return (b - a).days + 1
