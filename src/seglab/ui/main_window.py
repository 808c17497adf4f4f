"""The main window: start screen or workspace (navigation + pages), menus, status bar.

One project per window. The window owns the :class:`ProjectSession`, the undo stack
(later issues push commands on it), and the file-level actions. Every refusal from
the core is shown with the core's own sentence (see :mod:`seglab.ui.messages`).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import inspect
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QWidget,
)

from seglab import __version__
from seglab.core.errors import ProjectError, SegLabError
from seglab.core.importing.readers import SUFFIXES
from seglab.core.output import check_output
from seglab.core.timeutil import utc_now_iso
from seglab.ui import messages
from seglab.ui.icons import icon
from seglab.ui.models.overview_model import DataOverviewModel
from seglab.ui.session import ProjectSession
from seglab.ui.settings import AppSettings
from seglab.ui.widgets.overview_widget import DataOverviewWidget
from seglab.ui.widgets.placeholder_widget import PlaceholderWidget
from seglab.ui.widgets.progress_dialog import ProgressDialog
from seglab.ui.widgets.start_widget import StartWidget
from seglab.ui.workers import Worker

PROJECT_FILTER = "SegLab projects (*.seglab);;All files (*)"
CSV_FILTER = (
    "Data files (*.csv *.tsv *.txt *.jsonl *.ndjson *.json *.parquet *.gz *.zst *.zstd);;"
    "CSV files (*.csv *.tsv *.txt *.csv.gz *.csv.zst);;"
    "JSON lines (*.jsonl *.ndjson *.json *.jsonl.gz *.ndjson.gz *.json.gz *.jsonl.zst);;"
    "Parquet files (*.parquet);;All files (*)"
)
REJECTS_FILTER = "Rejected rows of earlier imports (*.rejects.csv)"
REJECTS_SUFFIX = ".rejects.csv"


class _HideRejects(QSortFilterProxyModel):
    """Hides the ``*.rejects.csv`` files imports leave beside the data (unless asked for)."""

    def __init__(self, dialog: QFileDialog):
        super().__init__(dialog)
        self._dialog = dialog

    def filterAcceptsRow(self, row: int, parent) -> bool:
        if self._dialog.selectedNameFilter() == REJECTS_FILTER:
            return True
        name = self.sourceModel().index(row, 0, parent).data()
        return not str(name or "").lower().endswith(REJECTS_SUFFIX)


def import_file_dialog(parent: QWidget | None, folder: str) -> QFileDialog:
    """The import file picker: data files, without the rejects files of earlier imports."""
    dialog = QFileDialog(parent, "Import files", str(folder), f"{CSV_FILTER};;{REJECTS_FILTER}")
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # a native dialog ignores the proxy
    proxy = _HideRejects(dialog)
    dialog.setProxyModel(proxy)
    dialog.filterSelected.connect(lambda _f: proxy.invalidate())
    return dialog


def data_location() -> Path:
    """Where SegLab keeps its own files (demo copies). ``SEGLAB_DATA_DIR`` overrides it."""
    override = os.environ.get("SEGLAB_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("SegLab", appauthor=False))


KEEP_DEMO_COPIES = 3


def prune_demo_copies(folder: Path, keep: int = KEEP_DEMO_COPIES) -> list[Path]:
    """Delete all but the ``keep`` newest ``demo-*.seglab`` copies in ``folder``; the deleted ones.

    A copy open in a SegLab window (its lock is held) is never deleted."""
    from seglab.core.errors import ProjectError
    from seglab.core.lock import ProjectLock

    copies = sorted(folder.glob("demo-*.seglab"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for path in copies[keep:]:
        lock = ProjectLock(path)
        try:
            lock.acquire("removing an old demo copy")
        except ProjectError:
            continue
        try:
            for extra in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            pass
        finally:
            lock.release()
    return removed


def demo_available() -> bool:
    return importlib.util.find_spec("seglab.core.demo") is not None


def save_copy_task(path: Path, source: Path, progress=None) -> Path:
    """Worker function: a consistent copy of ``source`` at ``path`` (SQLite backup, own connection)."""
    from seglab.core.project import Project

    with Project.open(source, readonly=True) as project:
        return project.save_as(path)


def write_worksheet_task(project_path: Path, out_path: Path, progress=None) -> Path:
    """Worker function: the segmentation worksheet of every saved segment, as one HTML file."""
    from seglab.core.engines.tasks import is_connected, source_turn
    from seglab.core.progress import NULL_PROGRESS
    from seglab.core.report import write_report

    progress = progress or NULL_PROGRESS
    if is_connected(project_path):  # its analyses run in the source: in turn with the other tasks
        with source_turn(progress):
            return write_report(out_path, project_path, progress=progress)
    return write_report(out_path, project_path, progress=progress)


def build_demo_task(path: Path, request=None, progress=None) -> Path:
    """Worker function: write the demo project to ``path`` (seglab.core.demo.build_demo)."""
    from seglab.core import demo

    build = demo.build_demo
    if progress is not None and "progress" in inspect.signature(build).parameters:
        build(path, progress=progress)
    else:
        build(path)
    return path


@dataclass(frozen=True)
class NavPage:
    """A page of the left navigation."""

    name: str
    title: str
    icon: str


PAGES: tuple[NavPage, ...] = (
    NavPage("data", "Data", "data"),
    NavPage("segments", "Segments", "segments"),
    NavPage("charts", "Charts", "charts"),
)


def page_class(name: str) -> type[QWidget]:
    """The widget class of a page other than Data, imported when the page is first shown (so
    pyqtgraph loads only when Charts is opened). Segments is built with the session and the
    window's undo stack, Charts with the session."""
    if name == "segments":
        from seglab.ui.widgets.segment_page import SegmentsPageWidget

        return SegmentsPageWidget
    if name == "charts":
        from seglab.ui.charts import configure_pyqtgraph
        from seglab.ui.charts.charts_page import ChartsPageWidget

        configure_pyqtgraph()  # pyqtgraph's global options, set once, when charts are first needed
        return ChartsPageWidget
    raise LookupError(f"no page named {name!r}")


class MainWindow(QMainWindow):
    page_changed = Signal(str)

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.session = ProjectSession(self)
        self.undo_stack = QUndoStack(self)
        self.overview_model = DataOverviewModel(self.session, self)
        self._pages: dict[str, QWidget] = {}
        self._nav_items: dict[str, QListWidgetItem] = {}
        self._import_dialog = None
        self._file_worker: Worker | None = None
        self._file_dialog: ProgressDialog | None = None
        self._worksheet_worker: Worker | None = None
        self._worksheet_dialog: ProgressDialog | None = None
        self._people_dialog = None

        self.setWindowIcon(icon("seglab"))
        self.setAcceptDrops(True)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(_FileDropFilter(self))
        self.resize(1200, 780)
        # Below this the Segments page (library + builder) cannot show its buttons whole.
        self.setMinimumSize(QSize(980, 600))

        self.start_widget = StartWidget(self.settings)
        self.start_widget.open_requested.connect(self.open_project)
        self.start_widget.open_dialog_requested.connect(self.open_project_dialog)
        self.start_widget.new_requested.connect(self.new_project_dialog)
        self.start_widget.demo_requested.connect(self.open_demo)
        self.start_widget.connect_requested.connect(self.connect_dialog)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setFixedWidth(168)
        self.nav.setSpacing(2)
        self.page_stack = QStackedWidget()
        for spec in PAGES:
            item = QListWidgetItem(icon(spec.icon), spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.name)
            item.setSizeHint(QSize(150, 36))
            self.nav.addItem(item)
            self._nav_items[spec.name] = item
        self.nav.currentItemChanged.connect(self._nav_changed)
        workspace = QWidget()
        row = QHBoxLayout(workspace)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.page_stack, 1)
        self.workspace = workspace

        self.overview_widget = DataOverviewWidget(self.overview_model)
        self.overview_widget.import_requested.connect(self.import_dialog)
        self.overview_widget.pin_requested.connect(lambda: self.pin_as_of_dialog())
        self.overview_widget.unpin_requested.connect(self.unpin_as_of)
        self.set_page("data", self.overview_widget)

        self.central = QStackedWidget()
        self.central.addWidget(self.start_widget)
        self.central.addWidget(self.workspace)
        self.setCentralWidget(self.central)

        self._build_menus()
        self.status_label = QLabel("")
        self.as_of_label = QLabel("")
        self.as_of_label.setObjectName("asOfStatus")
        self.as_of_label.setToolTip("Every count and chart is measured at this time (Edit → Pin As-of Time…)")
        self.statusBar().addPermanentWidget(self.as_of_label)
        self.statusBar().addPermanentWidget(self.status_label)
        self.session.project_opened.connect(self._project_opened)
        self.session.project_closed.connect(self._project_closed)
        self.session.busy_changed.connect(self._update_actions)
        self.session.segments_changed.connect(lambda: self._segments_changed(None))
        self.overview_model.snapshot_changed.connect(self._update_status)
        self._restore_geometry()
        self._project_closed()

    # -- menus -----------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, menu: QMenu | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        if menu is not None:
            menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(
            "&New Project…", self.new_project_dialog, QKeySequence.StandardKey.New, file_menu
        )
        self.open_action = self._action(
            "&Open Project…", self.open_project_dialog, QKeySequence.StandardKey.Open, file_menu
        )
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.demo_action = self._action("Open &Demo Project", self.open_demo, None, file_menu)
        file_menu.addSeparator()
        self.import_action = self._action("&Import Files…", self.import_dialog, "Ctrl+I", file_menu)
        self.import_action.setIcon(icon("import"))
        self.connect_action = self._action("&Connect to ClickHouse…", self.connect_dialog, None, file_menu)
        self.worksheet_action = self._action(
            "Export &Worksheet…", self.export_worksheet_dialog, "Ctrl+E", file_menu
        )
        file_menu.addSeparator()
        self.save_as_action = self._action(
            "Save &As…", self.save_as_dialog, QKeySequence.StandardKey.SaveAs, file_menu
        )
        self.close_action = self._action(
            "&Close Project", self.close_project, QKeySequence.StandardKey.Close, file_menu
        )
        file_menu.addSeparator()
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        edit_menu = self.edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        self.find_action = self._action(
            "&Find User or Account…", lambda: self.find_people(), "Ctrl+K", edit_menu
        )
        self.find_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        edit_menu.addSeparator()
        self.pin_action = self._action("&Pin As-of Time…", lambda: self.pin_as_of_dialog(), None, edit_menu)
        self.unpin_action = self._action("Use the &Latest Event as As-of", self.unpin_as_of, None, edit_menu)

        view_menu = bar.addMenu("&View")
        self.page_actions: dict[str, QAction] = {}
        for i, spec in enumerate(PAGES, start=1):
            action = self._action(
                spec.title, lambda _=False, n=spec.name: self.show_page(n), f"Ctrl+{i}", view_menu
            )
            self.page_actions[spec.name] = action
        view_menu.addSeparator()
        self.nav_action = QAction("Show &Navigation", self, checkable=True, checked=True)
        self.nav_action.toggled.connect(self.nav.setVisible)
        view_menu.addAction(self.nav_action)

        help_menu = bar.addMenu("&Help")
        self.guide_action = self._action(
            "&User Guide", self.show_user_guide, QKeySequence.StandardKey.HelpContents, help_menu
        )
        self.shortcuts_action = self._action("&Keyboard Shortcuts", self.show_shortcuts, None, help_menu)
        help_menu.addSeparator()
        self.about_action = self._action("&About SegLab", self.show_about, None, help_menu)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_projects()
        for entry in recent:
            action = self.recent_menu.addAction(f"{entry.name}  —  {Path(entry.path).parent}")
            action.setEnabled(entry.exists and not self.session.busy)
            action.triggered.connect(lambda _=False, p=entry.path: self.open_project(p))
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.clear_recent_projects()
        self.start_widget.refresh()

    def _update_actions(self, *_args) -> None:
        is_open = self.session.is_open()
        busy = self.session.busy or self._file_job_running()
        for action in (self.new_action, self.open_action, self.demo_action, self.connect_action):
            action.setEnabled(not busy)
        connected = self.session.is_connected()
        self.import_action.setEnabled(is_open and not busy and not connected)
        self.import_action.setStatusTip(
            f"This project reads its events from {self.session.source['url']}; import does not apply "
            "to a connected project"
            if connected
            else ""
        )
        self.worksheet_action.setEnabled(is_open and not busy and not self._worksheet_running())
        self.save_as_action.setEnabled(is_open and not busy)
        self.close_action.setEnabled(is_open and not busy)
        self.find_action.setEnabled(is_open)
        self.pin_action.setEnabled(is_open and not busy)
        snap = self.overview_model.snapshot
        pinned = bool(snap and snap.info.get("as_of_pinned"))
        self.unpin_action.setEnabled(is_open and not busy and pinned)
        for action in self.page_actions.values():
            action.setEnabled(is_open)
        self.overview_widget.set_connected(self.session.source["url"] if connected else None)
        self.overview_widget.import_button.setEnabled(is_open and not busy and not connected)

    def show_user_guide(self):
        """Help → User guide: the guide shipped with this SegLab, rendered here (no network)."""
        from seglab.ui.widgets.help_dialogs import UserGuideDialog

        try:
            dialog = UserGuideDialog(self)
        except FileNotFoundError as exc:
            messages.show_error(self, "Cannot show the user guide", str(exc))
            return None
        dialog.show()
        return dialog

    def show_shortcuts(self):
        from seglab.ui.widgets.help_dialogs import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    def find_people(self, text: str = "", *, open_if_one: bool = False):
        """Ctrl+K: the people search (one window, raised again), ``text`` searched at once
        (``open_if_one``: a single match goes straight to its profile)."""
        from seglab.ui.widgets.people_search import PeopleSearchDialog

        if not self.session.is_open():
            return None
        dialog = self._people_dialog
        if dialog is None or dialog.session is not self.session:
            dialog = self._people_dialog = PeopleSearchDialog(self.session, self)
            self.session.project_closed.connect(dialog.close)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.field.setFocus()
        if text:
            dialog.search(text, open_if_one=open_if_one)
        else:
            dialog.field.selectAll()
        return dialog

    # -- pages -----------------------------------------------------------------------
    def set_page(self, name: str, widget: QWidget) -> None:
        """Install (or replace) the widget of navigation page ``name``."""
        old = self._pages.get(name)
        if old is widget:
            return
        self.page_stack.addWidget(widget)
        self._pages[name] = widget
        if old is not None:
            if self.page_stack.currentWidget() is old:
                self.page_stack.setCurrentWidget(widget)
            self.page_stack.removeWidget(old)
            old.deleteLater()

    def page(self, name: str) -> QWidget:
        """The widget of page ``name``, built on first use."""
        if name not in self._pages:
            spec = next(s for s in PAGES if s.name == name)
            self.set_page(name, self._build_page(spec))
        return self._pages[name]

    def _build_page(self, spec: NavPage) -> QWidget:
        try:
            cls = page_class(spec.name)
            page = cls(self.session, self.undo_stack) if spec.name == "segments" else cls(self.session)
        except Exception as exc:  # a broken page must not take the window down
            return PlaceholderWidget(
                spec.title, messages.PAGE_FAILED.format(title=spec.title, what=f"{type(exc).__name__}: {exc}")
            )
        self._wire_page(page)
        return page

    def _wire_page(self, page: QWidget) -> None:
        """Connect a page's optional hooks: ``save_action`` (a QAction, added to the Edit menu),
        ``dirty_changed(bool)`` (marks the title modified), ``segments_changed()`` (the other
        pages' ``reload_segments()`` or ``refresh_catalog()`` run); ``maybe_close() -> bool`` is
        asked before the project is closed and ``shutdown()`` when the window closes."""
        save_action = getattr(page, "save_action", None)
        if isinstance(save_action, QAction):
            self.edit_menu.addSeparator()
            self.edit_menu.addAction(save_action)
        dirty = getattr(page, "dirty_changed", None)
        if dirty is not None and hasattr(dirty, "connect"):
            dirty.connect(self.setWindowModified)
        changed = getattr(page, "segments_changed", None)
        if changed is not None and hasattr(changed, "connect"):
            changed.connect(lambda src=page: self._segments_changed(src))

    def _segments_changed(self, source: QWidget | None) -> None:
        for page in self._pages.values():
            if page is source:
                continue
            for hook in ("reload_segments", "refresh_catalog"):
                method = getattr(page, hook, None)
                if callable(method):
                    method()
                    break

    def pages_allow_leaving(self) -> bool:
        """Ask each page with unsaved work (``maybe_close``); False when the person said no."""
        for page in list(self._pages.values()):
            maybe_close = getattr(page, "maybe_close", None)
            if callable(maybe_close) and not maybe_close():
                return False
        return True

    def show_page(self, name: str) -> None:
        item = self._nav_items[name]
        if self.nav.currentItem() is not item:
            self.nav.setCurrentItem(item)  # -> _nav_changed
        else:
            self._nav_changed(item)

    def current_page_name(self) -> str | None:
        item = self.nav.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _nav_changed(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        self.page_stack.setCurrentWidget(self.page(name))
        self.page_changed.emit(name)

    # -- project lifecycle ----------------------------------------------------------------
    def open_project(self, path: str | os.PathLike, *, confirmed: bool = False) -> bool:
        """Open ``path`` in this window (closing the current project). False when refused.

        ``confirmed``: the pages were already asked about unsaved work.
        """
        if self._refuse_when_busy():
            return False
        if _is_data_file(path):
            # A CSV (or other export) is not a project: offer to import it (into a new project
            # when none is open) instead of "not a SegLab project".
            return self.import_files([str(path)]) is not None
        current = self.session.path
        same = current is not None and Path(path).resolve() == current.resolve()
        if current is not None and not same and not confirmed and not self.pages_allow_leaving():
            return False
        # Opening checks the file (PRAGMA quick_check) on this thread: about 0.5 s per 100 MB.
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.session.open(path)
        except Exception as exc:
            text = str(exc) if isinstance(exc, ProjectError) else f"{Path(path).name}: {exc}"
            error = text
        else:
            error = None
        finally:
            QApplication.restoreOverrideCursor()
        if error is not None:
            self.statusBar().clearMessage()
            messages.show_error(self, messages.TITLE_OPEN_FAILED, error)
            return False
        return True

    def create_project(self, path: str | os.PathLike) -> bool:
        if self._refuse_when_busy() or (self.session.is_open() and not self.pages_allow_leaving()):
            return False
        path = Path(path)
        if self.session.path is not None and self.session.path.resolve() == path.resolve():
            self.session.close()  # the user chose to replace the open project's file
        try:
            self.session.create(path, overwrite=path.exists())
        except ProjectError as exc:
            messages.show_error(self, messages.TITLE_CREATE_FAILED, str(exc))
            return False
        return True

    def close_project(self) -> None:
        if self._refuse_when_busy() or not self.pages_allow_leaving():
            return
        self.undo_stack.clear()
        self.session.close()

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project", self.settings.last_folder(), PROJECT_FILTER
        )
        if path:
            self.open_project(path)

    def new_project_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "New project", str(Path(self.settings.last_folder()) / "untitled.seglab"), PROJECT_FILTER
        )
        if path:
            if not Path(path).suffix:
                path += ".seglab"
            self.create_project(path)

    def save_as_dialog(self) -> None:
        project = self.session.project
        if project is None or self._refuse_when_busy():
            return
        suggestion = str(project.path.with_name(f"{project.name} copy.seglab"))
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", suggestion, PROJECT_FILTER)
        if path:
            self.save_as(path)

    def _refuse_when_busy(self) -> bool:
        if self.session.busy:
            messages.show_warning(self, messages.TITLE_BUSY, messages.BUSY_IMPORTING)
            return True
        return False

    def _project_opened(self, path: Path) -> None:
        self.undo_stack.clear()
        self.settings.add_recent_project(path, utc_now_iso())
        self.settings.set_last_folder(Path(path).parent)
        self.start_widget.refresh()
        self.setWindowTitle(f"{self.session.name}[*] — SegLab")
        self.setWindowModified(False)
        self.setWindowFilePath(str(path))
        self.overview_widget.set_project_label(self.session.name, str(path))
        self.central.setCurrentWidget(self.workspace)
        self.show_page("data")
        self.status_label.setText(str(path))
        self._update_actions()

    def _project_closed(self) -> None:
        self.setWindowTitle("SegLab")
        self.setWindowModified(False)
        self.setWindowFilePath("")
        self.start_widget.refresh()
        self.central.setCurrentWidget(self.start_widget)
        self.status_label.setText("")
        self.as_of_label.setText("")
        self.statusBar().showMessage("Open a project to begin", 0)
        self._update_actions()

    def _update_status(self) -> None:
        snap = self.overview_model.snapshot
        if snap is None or not self.session.is_open():
            self.as_of_label.setText("")
            return
        info = snap.info
        self.statusBar().showMessage(
            f"{info['events']:,} events · {info['users']:,} users · {info['accounts']:,} accounts", 0
        )
        self.as_of_label.setText(self.as_of_text())
        self._update_actions()

    def as_of_text(self) -> str:
        """The window's word on T: "As of 2024-06-30 23:59 UTC (pinned)" or "... (latest event)"."""
        from seglab.core.asof import AsOfState
        from seglab.core.timeutil import parse_as_of
        from seglab.ui.as_of import describe

        snap = self.overview_model.snapshot
        if snap is None:
            return ""
        info = snap.info
        t = parse_as_of(info["as_of"]) if info.get("as_of") else None
        return describe(AsOfState(t, bool(info.get("as_of_pinned")), None))

    # -- as-of time --------------------------------------------------------------------------
    def pin_as_of_dialog(self, pin_ms: int | None = None):
        """Ask for the day to pin T to (or pin ``pin_ms`` at once); undoable. The dialog, if shown."""
        from seglab.core import asof
        from seglab.ui.as_of import PinAsOfDialog, set_as_of

        if not self.session.is_open() or self._refuse_when_busy():
            return None
        if pin_ms is not None:
            set_as_of(self.session, self.undo_stack, pin_ms)
            return None
        conn = self.session.project.conn
        if self.session.is_connected():
            # The events are in the source: the range is the Data page's (read there in a worker).
            from seglab.core.timeutil import parse_as_of

            snap = self.overview_model.snapshot
            info = snap.info if snap is not None else {}
            first = parse_as_of(info["first_event"]) if info.get("first_event") else None
            latest = parse_as_of(info["last_event"]) if info.get("last_event") else None
            pin = asof.get_pin(conn)
            state = asof.AsOfState(pin if pin is not None else latest, pin is not None, latest)
        else:
            first = conn.execute("SELECT min(ts) FROM events").fetchone()[0]
            state = asof.as_of_state(conn)
        dialog = PinAsOfDialog(state, first, self)
        dialog.accepted.connect(lambda: set_as_of(self.session, self.undo_stack, dialog.pin_ms()))
        dialog.open()
        return dialog

    def unpin_as_of(self) -> bool:
        from seglab.ui.as_of import set_as_of

        if not self.session.is_open() or self._refuse_when_busy():
            return False
        return set_as_of(self.session, self.undo_stack, None)

    # -- demo and save as: a new project file written in a worker, then opened ------------------
    def demo_path(self) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return data_location() / f"demo-{stamp}.seglab"

    def open_demo(self) -> bool:
        """Build a fresh copy of the demo project in a worker, then open it. True when started."""
        if self._refuse_when_busy() or self._file_job_running():
            return False
        if self.session.is_open() and not self.pages_allow_leaving():
            return False
        if not demo_available():
            messages.show_error(self, messages.TITLE_DEMO_FAILED, messages.DEMO_UNAVAILABLE)
            return False
        path = self.demo_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            messages.show_error(self, messages.TITLE_DEMO_FAILED, f"{path.parent}: {exc.strerror}")
            return False
        # Each --demo makes a fresh copy; the oldest go (this new one will be the third newest).
        prune_demo_copies(path.parent, KEEP_DEMO_COPIES - 1)
        self._start_file_job(
            build_demo_task,
            path,
            None,
            "Demo project",
            "Building the demo project…",
            messages.TITLE_DEMO_FAILED,
            remove_on_failure=True,
        )
        return True

    def save_as(self, path: str | os.PathLike) -> bool:
        """Write a copy of the project to ``path`` in a worker, then continue in the copy.

        True when the copy was started (the window switches to it when it is written).
        """
        project = self.session.project
        if project is None or self._refuse_when_busy() or self._file_job_running():
            return False
        path = Path(path)
        if path.resolve() == project.path.resolve():
            messages.show_error(self, messages.TITLE_SAVE_AS_FAILED, "Save As needs a different file name")
            return False
        if not self.pages_allow_leaving():
            return False
        self._start_file_job(
            save_copy_task,
            path,
            project.path,
            "Save As",
            f"Writing a copy of the project to {path.name}…",
            messages.TITLE_SAVE_AS_FAILED,
        )
        return True

    # -- the segmentation worksheet (seglab.core.report), written in a worker ------------------
    def export_worksheet_dialog(self) -> None:
        project = self.session.project
        if project is None or self._refuse_when_busy():
            return
        suggestion = str(project.path.with_name(f"{project.name} worksheet.html"))
        path, _ = QFileDialog.getSaveFileName(
            self, "Export segmentation worksheet", suggestion, "HTML files (*.html)"
        )
        if path:
            self.export_worksheet(path)

    def export_worksheet(self, path: str | os.PathLike) -> bool:
        """Write the worksheet of every saved segment to ``path`` in a worker. True when started."""
        project = self.session.project
        if project is None or self._refuse_when_busy() or self._worksheet_running():
            return False
        path = Path(path)
        if not path.suffix and not os.path.lexists(path):  # an existing name is what was chosen
            path = path.with_suffix(".html")
        try:
            check_output(path, protect=[project.path])  # again in the worker, when written
        except SegLabError as exc:
            messages.show_error(self, "Cannot write the worksheet", str(exc))
            return False
        worker = self._worksheet_worker
        if worker is None:
            worker = self._worksheet_worker = Worker(self)
            worker.succeeded.connect(self._worksheet_done)
            worker.failed.connect(self._worksheet_failed)
            worker.finished.connect(self._worksheet_finished)
        dialog = ProgressDialog("Segmentation worksheet", f"Writing {path.name}…", self)
        dialog.cancel_requested.connect(worker.cancel)
        worker.progressed.connect(dialog.set_progress)
        self._worksheet_dialog = dialog
        worker.start(write_worksheet_task, project.path, path)
        self._update_actions()
        dialog.open()
        return True

    def _worksheet_running(self) -> bool:
        return self._worksheet_worker is not None and self._worksheet_worker.is_busy()

    def _worksheet_done(self, path: Path) -> None:
        self._worksheet_finished()
        self.statusBar().showMessage(f"Worksheet written to {path}", 10_000)
        if messages.ask(self, "Worksheet written", f"{path}\n\nOpen it in your web browser?"):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _worksheet_failed(self, exc: BaseException) -> None:
        self._worksheet_finished()
        if isinstance(exc, (SegLabError, OSError)):
            text = str(exc)
        else:
            text = messages.INTERNAL_ERROR.format(what=f"{type(exc).__name__}: {exc}")
        messages.show_error(self, "Cannot write the worksheet", text)

    def _worksheet_finished(self) -> None:
        dialog, self._worksheet_dialog = self._worksheet_dialog, None
        if dialog is not None:
            if self._worksheet_worker is not None:
                self._worksheet_worker.progressed.disconnect(dialog.set_progress)
            dialog.done(0)
            dialog.deleteLater()
        self._update_actions()

    def wait_for_worksheet(self, timeout_ms: int = 120_000) -> bool:
        return self._worksheet_worker is None or self._worksheet_worker.wait(timeout_ms)

    def _file_job_running(self) -> bool:
        return self._file_worker is not None and self._file_worker.is_busy()

    def _start_file_job(
        self, fn, path: Path, request, title: str, text: str, failure_title: str, *, remove_on_failure=False
    ) -> None:
        """``remove_on_failure``: the job writes a fresh file of its own (the demo). Save As never
        leaves a partial file, and its target may be a file the person chose to keep."""
        worker = self._file_worker or Worker(self)
        if self._file_worker is None:
            self._file_worker = worker
        else:
            for signal in (
                worker.progressed,
                worker.succeeded,
                worker.failed,
                worker.cancelled,
                worker.finished,
            ):
                signal.disconnect()
        dialog = ProgressDialog(title, text, self)
        dialog.cancel_requested.connect(worker.cancel)
        worker.progressed.connect(dialog.set_progress)
        worker.succeeded.connect(self._file_job_done)
        worker.failed.connect(lambda exc: self._file_job_failed(path, exc, failure_title, remove_on_failure))
        if remove_on_failure:
            worker.cancelled.connect(lambda: _remove_project_files(path))
        worker.finished.connect(self._file_job_finished)
        self._file_dialog = dialog
        worker.start(fn, path, request)
        self._update_actions()
        dialog.open()

    def _file_job_done(self, path: Path) -> None:
        self._close_file_dialog()
        self.open_project(path, confirmed=True)

    def _file_job_failed(self, path: Path, exc: BaseException, title: str, remove: bool = False) -> None:
        self._close_file_dialog()
        if remove:
            _remove_project_files(path)
        if isinstance(exc, (SegLabError, OSError)):
            text = str(exc)
        else:
            text = messages.INTERNAL_ERROR.format(what=f"{type(exc).__name__}: {exc}")
        messages.show_error(self, title, text)

    def _file_job_finished(self) -> None:
        self._close_file_dialog()
        self._update_actions()

    def _close_file_dialog(self) -> None:
        if self._file_dialog is not None:
            self._file_dialog.done(0)
            self._file_dialog.deleteLater()
            self._file_dialog = None

    def wait_for_file_job(self, timeout_ms: int = 60_000) -> bool:
        """Wait for Save a copy / the worksheet export to finish (tests and scripted use)."""
        return self._file_worker is None or self._file_worker.wait(timeout_ms)

    # -- connected projects (docs/sources.md) ---------------------------------------------------
    def connect_dialog(self, *, show: bool = True):
        """File → Connect to ClickHouse…: the dialog (the new project opens when it is written)."""
        from seglab.ui.widgets.connect_dialog import ConnectDialog

        if self._refuse_when_busy() or (self.session.is_open() and not self.pages_allow_leaving()):
            return None
        dialog = ConnectDialog(self.settings.last_folder(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._connected(dialog.project_path))
        if show:
            dialog.open()
        return dialog

    def _connected(self, path: Path | None) -> None:
        if path is not None:
            self.open_project(path, confirmed=True)

    # -- import -------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        """File → Import…: choose CSV files, then the import wizard."""
        if not self.session.is_open():
            messages.show_info(self, messages.TITLE_IMPORT, messages.NO_PROJECT_FOR_IMPORT)
            return
        if self._refuse_when_busy() or self._refuse_import_connected():
            return
        dialog = import_file_dialog(self, self.settings.last_folder())
        if dialog.exec() and dialog.selectedFiles():
            self.import_files(dialog.selectedFiles())

    def import_files(self, paths: list[str], *, new_project: str | os.PathLike | None = None):
        """Open the import wizard on ``paths`` (dropped or chosen). Returns the dialog, or None.

        Without an open project, offers to import them into a new one (``new_project``: its
        path, instead of asking where to save it)."""
        if self._refuse_import_connected():
            return None
        paths = self._importable(paths)
        if not paths:
            return None
        if not self.session.is_open() and not self.import_into_new_project(paths, new_project):
            return None
        if self._import_dialog is not None and self._import_dialog.isVisible():
            if self._import_dialog.is_importing():
                messages.show_warning(self, messages.TITLE_BUSY, messages.BUSY_IMPORTING)
                return self._import_dialog
            self._import_dialog.add_files(paths)
            self._import_dialog.raise_()
            return self._import_dialog
        from seglab.ui.widgets.import_dialog import ImportDialog

        dialog = ImportDialog(self.session, paths, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._import_dialog_gone)
        self._import_dialog = dialog
        self.settings.set_last_folder(Path(paths[0]).parent)
        dialog.open()
        return dialog

    def _refuse_import_connected(self) -> bool:
        """The contract refuses import on a connected project (docs/sources.md): say why."""
        source = self.session.source
        if source is None:
            return False
        messages.show_error(
            self,
            messages.TITLE_IMPORT,
            f"{self.session.path.name} reads its events from {source['url']}; import does not apply "
            "to a connected project (nothing was changed)",
        )
        return True

    def _importable(self, paths: list[str]) -> list[str]:
        """Leave out what must never be read as data: a SegLab project (the open one above all:
        the wizard's plain reads would drop this window's SQLite locks) and non-regular files
        (a FIFO would block the wizard forever). Each is named in one message."""
        from seglab.core.project import is_seglab_project

        keep, refused = [], []
        for p in paths:
            if not os.path.isfile(p):
                refused.append(f"{Path(p).name}: not a regular file")
            elif is_seglab_project(Path(p)):
                refused.append(f"{Path(p).name}: a SegLab project, not a data file (File ▸ Open opens it)")
            else:
                keep.append(p)
        if refused:
            messages.show_error(self, messages.TITLE_IMPORT, "Not imported: " + "; ".join(refused) + ".")
        return keep

    def import_into_new_project(self, paths: list[str], project: str | os.PathLike | None = None) -> bool:
        """ "Import it into a new project?": ask, pick the new project's file, create it. True when open."""
        names = ", ".join(Path(p).name for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        what = "it" if len(paths) == 1 else "them"
        if not messages.ask(
            self,
            messages.TITLE_IMPORT,
            f"{names} {'is a data file' if len(paths) == 1 else 'are data files'}, and no project is open. "
            f"Import {what} into a new project?",
        ):
            return False
        if project is None:
            first = Path(paths[0])
            stem = first.name.split(".")[0] or "untitled"
            project, _ = QFileDialog.getSaveFileName(
                self, "New project for the import", str(first.with_name(f"{stem}.seglab")), PROJECT_FILTER
            )
            if not project:
                return False
            if not Path(project).suffix:
                project += ".seglab"
        return self.create_project(project)

    def _import_dialog_gone(self, *_args) -> None:
        self._import_dialog = None

    @property
    def current_import_dialog(self):
        return self._import_dialog

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if _local_files(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_files(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.files_dropped(paths)

    def files_dropped(self, paths: list[str]) -> None:
        """A dropped ``.seglab`` file is opened; CSV files are imported (into it, if both came)."""
        projects = [p for p in paths if p.lower().endswith(".seglab")]
        data = [p for p in paths if not p.lower().endswith(".seglab")]
        if projects and not self.open_project(projects[0]):
            return
        if data:
            self.import_files(data)

    # -- help ---------------------------------------------------------------------------------
    def show_about(self) -> None:
        messages.show_about(self, messages.about_text(__version__, str(data_location())))

    # -- geometry and closing ------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.pages_allow_leaving():
            event.ignore()
            return
        dialog = self._import_dialog
        if dialog is not None and dialog.is_importing():
            if not messages.ask(self, messages.TITLE_BUSY, "An import is running. Cancel it and quit?"):
                event.ignore()
                return
            dialog.cancel_and_wait()
        if dialog is not None:
            dialog.close()
        if self._file_worker is not None:
            self._file_worker.shutdown()
        if self._worksheet_worker is not None:
            self._worksheet_worker.shutdown()
        if self._people_dialog is not None:
            self._people_dialog.close()
        self.overview_model.shutdown()
        for page in self._pages.values():
            shutdown = getattr(page, "shutdown", None)
            if callable(shutdown):
                shutdown()
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState())
        self.settings.sync()
        self.session.close()
        event.accept()


# Every format the importer reads (core/importing/readers.py), and projects.
DROP_SUFFIXES = (*SUFFIXES, ".seglab")
DATA_SUFFIXES = SUFFIXES


def _is_data_file(path: str | os.PathLike) -> bool:
    name = Path(path).name.lower()
    return name.endswith(DATA_SUFFIXES) and not name.endswith(".seglab")


class _FileDropFilter(QObject):
    """Routes data files dropped on any widget of the window (even a text field) to the window."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        if not isinstance(obj, QWidget) or obj is self._window or obj.window() is not self._window:
            return False
        paths = _local_files(event.mimeData().urls())  # type: ignore[attr-defined]
        if not any(p.lower().endswith(DROP_SUFFIXES) for p in paths):
            return False
        event.acceptProposedAction()  # type: ignore[attr-defined]
        if kind == QEvent.Type.Drop:
            self._window.files_dropped(paths)
        return True


def _local_files(urls: list[QUrl]) -> list[str]:
    return [url.toLocalFile() for url in urls if url.isLocalFile() and os.path.isfile(url.toLocalFile())]


def _remove_project_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        try:
            Path(str(path) + suffix).unlink(missing_ok=True)
        except OSError:
            pass
