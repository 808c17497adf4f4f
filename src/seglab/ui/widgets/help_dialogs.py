"""Help → User guide (the Markdown guide shipped in the package, rendered offline) and
Help → Keyboard shortcuts (read from the window's own actions, so it is never out of date)."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from seglab.core.resources import doc_path
from seglab.ui.models.table_model import RowsTableModel

# Shortcuts of widgets that are not window actions (they act where the focus is).
CONTEXT_SHORTCUTS = (
    ("Segments", "Save the segment being built", "Ctrl+S"),
    ("Segments", "Rename the selected segment", "F2"),
    ("Segments", "Delete the selected segment", "Del"),
    ("Find dialog", "Open the selected (or first) match", "Return"),
)


class UserGuideDialog(QDialog):
    """The user guide as a page with working links between its pages and its pictures."""

    def __init__(self, parent: QWidget | None = None, page: str = "user-guide.md"):
        super().__init__(parent)
        self.setWindowTitle("SegLab user guide")
        self.resize(960, 720)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(True)
        self.browser.setOpenExternalLinks(False)
        self.browser.anchorClicked.connect(self._on_link)
        self.browser.sourceChanged.connect(lambda _url: self.fit_images())
        self.back_button = QPushButton("◀ Back")
        self.home_button = QPushButton("Contents")
        self.back_button.clicked.connect(self.browser.backward)
        self.home_button.clicked.connect(self.home)
        self.browser.backwardAvailable.connect(self.back_button.setEnabled)
        self.back_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addWidget(self.home_button)
        bar.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self._home = page
        self.open_page(page)

    def open_page(self, name: str) -> None:
        path = doc_path(name)
        self.browser.setSearchPaths([str(path.parent)])
        self.browser.setSource(QUrl.fromLocalFile(str(path)), QTextDocument.ResourceType.MarkdownResource)

    def fit_images(self) -> int:
        """Scale the screenshots down to the page width (no sideways scrolling); how many were scaled."""
        doc = self.browser.document()
        width = max(200, self.browser.viewport().width() - 24)
        scaled = 0
        block = doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                it += 1
                if not fragment.charFormat().isImageFormat():
                    continue
                image = fragment.charFormat().toImageFormat()
                pixmap = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(image.name()))
                natural = pixmap.width() if pixmap is not None and hasattr(pixmap, "width") else 0
                if natural <= 0:
                    continue
                shown = min(natural, width)
                if abs(image.width() - shown) < 1:
                    continue
                image.setWidth(shown)
                image.setHeight(pixmap.height() * shown / natural)
                cursor = QTextCursor(doc)
                cursor.setPosition(fragment.position())
                cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                cursor.setCharFormat(image)
                scaled += 1
            block = block.next()
        return scaled

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_images()

    def home(self) -> None:
        self.open_page(self._home)

    def _on_link(self, url: QUrl) -> None:
        # Pages of the guide open here; anything on the web opens in the browser.
        if url.scheme() in ("http", "https", "mailto"):
            self.browser.setSource(self.browser.source())  # stay on this page
            QDesktopServices.openUrl(url)

    def text(self) -> str:
        return self.browser.toPlainText()


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """``(where, what, keys)`` for every action of ``window`` with a shortcut, then the context ones."""
    rows = []
    seen = set()
    for action in window.findChildren(QAction):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        text = action.text().replace("&", "").rstrip("…").strip()
        if not keys or not text or (text, keys) in seen:
            continue
        seen.add((text, keys))
        rows.append(("Window", text, keys))
    rows.sort(key=lambda r: r[1].lower())
    return rows + list(CONTEXT_SHORTCUTS)


class ShortcutsDialog(QDialog):
    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 520)
        self.model = RowsTableModel(["Where", "What", "Keys"], self)
        self.model.set_rows(shortcut_rows(window))
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.verticalHeader().setVisible(False)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
