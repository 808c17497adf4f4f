"""User-visible strings and message boxes, in one place.

Every message box the app shows goes through :func:`show_error`, :func:`show_info`,
:func:`show_warning` or :func:`ask`. Tests install a responder with
:func:`set_responder`: it receives each :class:`Message` (so a test can assert the
exact sentence) and returns the answer, and no modal box is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

APP_NAME = "SegLab"
ORG_NAME = "SegLab"
ORG_DOMAIN = "seglab.org"
LICENCE = "MIT"

# -- titles and sentences -------------------------------------------------
TITLE_OPEN_FAILED = "Cannot open the project"
TITLE_CREATE_FAILED = "Cannot create the project"
TITLE_SAVE_AS_FAILED = "Cannot save a copy"
TITLE_DEMO_FAILED = "Cannot build the demo project"
TITLE_IMPORT_FAILED = "Import failed"
TITLE_IMPORT = "Import data"
NO_PROJECT_FOR_IMPORT = "Open or create a project first, then import files into it."
TITLE_ABOUT = "About SegLab"
TITLE_BUSY = "SegLab is busy"

DEMO_UNAVAILABLE = (
    "The demo project is not available in this build of SegLab yet "
    "(the demo builder seglab.core.demo is missing)."
)
BUSY_IMPORTING = "An import is running. Cancel it or wait for it to finish first."
RECENT_MISSING = "{path}: this project file no longer exists (moved or deleted)."
PAGE_FAILED = "The {title} page could not be opened ({what})."
INTERNAL_ERROR = "Something went wrong inside SegLab: {what}. Nothing was changed."

START_TITLE = "Segment your users and accounts"
START_SUBTITLE = (
    "Open a project, or start from the demo: a B2B SaaS data set with accounts, users and events."
)
RECENT_EMPTY = "No recent projects yet. Projects you open appear here."


def failure_text(exc: BaseException, project_path=None) -> str:
    """One sentence for a change that failed: the core's own, or SQLite's translated (a full
    disk, a locked or read-only file), never a bare "disk I/O error"."""
    import sqlite3
    from pathlib import Path

    if isinstance(exc, sqlite3.DatabaseError) and project_path is not None:
        from seglab.core.project import describe_database_error

        return str(describe_database_error(Path(project_path), exc))
    if isinstance(exc, sqlite3.Error):
        return f"The project could not be changed ({exc}); nothing was saved."
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return str(exc)


def about_text(version: str, data_location: str) -> str:
    return (
        f"<h3>SegLab {version}</h3>"
        "<p>A desktop workbench for segmenting a product's users and accounts "
        "from CSV exports and charting how each segment behaves.</p>"
        f"<p>Licence: {LICENCE}</p>"
        f"<p>Data location: <code>{data_location}</code></p>"
        "<p>A project is a single <code>.seglab</code> file; every change is saved as it is made.</p>"
    )


# -- message boxes ----------------------------------------------------------
@dataclass(frozen=True)
class Message:
    level: str  # "error" | "warning" | "info" | "question" | "about"
    title: str
    text: str


Responder = Callable[[Message], bool]
_responder: Responder | None = None


def set_responder(responder: Responder | None) -> None:
    """Route message boxes to ``responder`` (tests) instead of showing them; None restores boxes."""
    global _responder
    _responder = responder


def _show(parent: QWidget | None, message: Message) -> bool:
    if _responder is not None:
        return bool(_responder(message))
    icon = {
        "error": QMessageBox.Icon.Critical,
        "warning": QMessageBox.Icon.Warning,
        "info": QMessageBox.Icon.Information,
        "question": QMessageBox.Icon.Question,
        "about": QMessageBox.Icon.NoIcon,
    }[message.level]
    box = QMessageBox(icon, message.title, message.text, QMessageBox.StandardButton.NoButton, parent)
    if message.level == "question":
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
    else:
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
    if message.level == "about":
        from seglab.ui.icons import icon

        box.setTextFormat(Qt.TextFormat.RichText)
        box.setIconPixmap(icon("seglab").pixmap(64, 64))
    return box.exec() == QMessageBox.StandardButton.Yes


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    _show(parent, Message("error", title, text))


def show_warning(parent: QWidget | None, title: str, text: str) -> None:
    _show(parent, Message("warning", title, text))


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    _show(parent, Message("info", title, text))


def show_about(parent: QWidget | None, text: str) -> None:
    _show(parent, Message("about", TITLE_ABOUT, text))


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """A Yes/No question; True for Yes."""
    return _show(parent, Message("question", title, text))
