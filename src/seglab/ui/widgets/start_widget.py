"""The start screen: recent projects, and the ways to get a project open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from seglab.ui import messages
from seglab.ui.icons import icon
from seglab.ui.settings import AppSettings, RecentProject

PATH_ROLE = Qt.ItemDataRole.UserRole


def _when(opened: str) -> str:
    try:
        value = dt.datetime.fromisoformat(opened.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


class StartWidget(QWidget):
    """Emits what the user asked for; the main window does it."""

    open_requested = Signal(str)  # a recent project's path
    open_dialog_requested = Signal()
    new_requested = Signal()
    demo_requested = Signal()
    connect_requested = Signal()  # "Connect to ClickHouse…"

    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self._settings = settings
        outer = QHBoxLayout(self)
        outer.setContentsMargins(56, 48, 56, 48)
        outer.setSpacing(48)

        # Left column: what SegLab is, and the three ways in.
        left = QVBoxLayout()
        left.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(icon("seglab").pixmap(56, 56))
        title = QLabel(messages.START_TITLE)
        title.setObjectName("startTitle")
        title.setWordWrap(True)
        subtitle = QLabel(messages.START_SUBTITLE)
        subtitle.setObjectName("startSubtitle")
        subtitle.setWordWrap(True)
        self.demo_button = QPushButton("Open demo project")
        self.demo_button.setDefault(True)
        self.new_button = QPushButton("New project…")
        self.open_button = QPushButton("Open project…")
        self.connect_button = QPushButton("Connect to ClickHouse…")
        self.connect_button.setToolTip(
            "A project that reads its events from a ClickHouse server or chdb folder (nothing imported)"
        )
        for button in (self.demo_button, self.new_button, self.open_button, self.connect_button):
            button.setMinimumHeight(32)
            button.setMinimumWidth(220)
        self.demo_button.clicked.connect(self.demo_requested)
        self.new_button.clicked.connect(self.new_requested)
        self.open_button.clicked.connect(self.open_dialog_requested)
        self.connect_button.clicked.connect(self.connect_requested)
        left.addWidget(logo)
        left.addSpacing(6)
        left.addWidget(title)
        left.addWidget(subtitle)
        left.addSpacing(18)
        left.addWidget(self.demo_button)
        left.addWidget(self.new_button)
        left.addWidget(self.open_button)
        left.addWidget(self.connect_button)
        left.addStretch(1)
        hint = QLabel("Tip: drop CSV files on this window to import them into a new project.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        left.addWidget(hint)
        left_box = QWidget()
        left_box.setLayout(left)
        left_box.setMaximumWidth(360)
        outer.addWidget(left_box, 0)

        # Right column: recent projects.
        right = QVBoxLayout()
        right.setSpacing(8)
        heading = QLabel("Recent projects")
        heading.setObjectName("sectionTitle")
        right.addWidget(heading)
        self.recent_tree = QTreeWidget()
        self.recent_tree.setObjectName("recentProjects")
        self.recent_tree.setColumnCount(3)
        self.recent_tree.setHeaderLabels(["Project", "Folder", "Last opened"])
        self.recent_tree.setRootIsDecorated(False)
        self.recent_tree.setUniformRowHeights(True)
        self.recent_tree.setAlternatingRowColors(True)
        self.recent_tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.recent_tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.recent_tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.recent_tree.itemActivated.connect(self._activated)
        self.recent_tree.customContextMenuRequested.connect(self._context_menu)
        self.recent_tree.itemSelectionChanged.connect(self._selection_changed)
        self.recent_empty = QLabel(messages.RECENT_EMPTY)
        self.recent_empty.setObjectName("emptyState")
        self.recent_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent_empty.setFrameShape(QFrame.Shape.StyledPanel)
        self._recent_stack = QStackedWidget()
        self._recent_stack.addWidget(self.recent_tree)
        self._recent_stack.addWidget(self.recent_empty)
        right.addWidget(self._recent_stack, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.remove_button = QPushButton("Remove from list")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_selected)
        self.open_recent_button = QPushButton("Open")
        self.open_recent_button.setEnabled(False)
        self.open_recent_button.clicked.connect(self._open_selected)
        row.addWidget(self.remove_button)
        row.addWidget(self.open_recent_button)
        right.addLayout(row)
        outer.addLayout(right, 1)
        self.refresh()

    # -- recent list ---------------------------------------------------------------
    def refresh(self) -> None:
        self.recent_tree.clear()
        recent = self._settings.recent_projects()
        disabled = self.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for entry in recent:
            self.recent_tree.addTopLevelItem(self._item(entry, QBrush(disabled)))
        self._recent_stack.setCurrentWidget(self.recent_tree if recent else self.recent_empty)
        self._selection_changed()

    def _item(self, entry: RecentProject, disabled: QBrush) -> QTreeWidgetItem:
        path = Path(entry.path)
        exists = entry.exists
        name = entry.name if exists else f"{entry.name} (missing)"
        item = QTreeWidgetItem([name, str(path.parent), _when(entry.opened)])
        item.setData(0, PATH_ROLE, entry.path)
        item.setToolTip(0, entry.path if exists else messages.RECENT_MISSING.format(path=entry.path))
        item.setToolTip(1, str(path.parent))
        item.setIcon(0, icon("seglab"))
        if not exists:
            for column in range(3):
                item.setForeground(column, disabled)
        return item

    def recent_paths(self) -> list[str]:
        return [
            self.recent_tree.topLevelItem(i).data(0, PATH_ROLE)
            for i in range(self.recent_tree.topLevelItemCount())
        ]

    def _selected_path(self) -> str | None:
        items = self.recent_tree.selectedItems()
        return items[0].data(0, PATH_ROLE) if items else None

    def _selection_changed(self) -> None:
        path = self._selected_path()
        self.remove_button.setEnabled(path is not None)
        self.open_recent_button.setEnabled(path is not None and Path(path).is_file())

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.open_requested.emit(item.data(0, PATH_ROLE))

    def _open_selected(self) -> None:
        path = self._selected_path()
        if path:
            self.open_requested.emit(path)

    def remove_path(self, path: str) -> None:
        self._settings.remove_recent_project(path)
        self.refresh()

    def _remove_selected(self) -> None:
        path = self._selected_path()
        if path:
            self.remove_path(path)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.recent_tree.itemAt(pos)
        if item is None:
            return
        path = item.data(0, PATH_ROLE)
        menu = QMenu(self)
        open_action = menu.addAction("Open")
        open_action.setEnabled(Path(path).is_file())
        open_action.triggered.connect(lambda: self.open_requested.emit(path))
        menu.addAction("Remove from list").triggered.connect(lambda: self.remove_path(path))
        menu.exec(self.recent_tree.viewport().mapToGlobal(pos))
