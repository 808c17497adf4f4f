"""The desktop app's entry point: ``seglab``, ``seglab PROJECT``, ``seglab --demo``.

Start-up is kept light: no pandas and no pyqtgraph here (charts import and
configure pyqtgraph the first time they are shown, see
:func:`seglab.ui.charts.configure_pyqtgraph`).
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from seglab import __version__
from seglab.ui import messages


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), with the names QSettings relies on."""
    QCoreApplication.setOrganizationName(messages.ORG_NAME)
    QCoreApplication.setOrganizationDomain(messages.ORG_DOMAIN)
    QCoreApplication.setApplicationName(messages.APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    apply_style(app)
    return app  # type: ignore[return-value]


def apply_style(app: QApplication) -> None:
    from seglab.core.resources import resource_path

    try:
        qss = resource_path("style.qss").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return
    app.setStyleSheet(qss)


def main(project: str | None = None, demo: bool = False) -> int:
    app = create_app()
    from seglab.ui.icons import icon
    from seglab.ui.main_window import MainWindow

    app.setWindowIcon(icon("seglab"))
    window = MainWindow()
    window.show()
    if project:
        window.open_project(project)
    elif demo:
        window.open_demo()
    # Smoke tests of the installed app or the PyInstaller bundle: quit on a timer.
    quit_after = os.environ.get("SEGLAB_QUIT_AFTER_MS")
    if quit_after and quit_after.isdigit():
        QTimer.singleShot(int(quit_after), window.close)
    return app.exec()
