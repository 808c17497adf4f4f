"""The open project of one window, and the signals pages listen to.

A window has one :class:`ProjectSession`. It holds the writable
:class:`seglab.core.project.Project` (and so the project lock) while the project is
open. Pages never keep their own reference to the Project: they read
``session.path`` and run their queries in a :class:`seglab.ui.workers.Worker`, each
with its own connection.

``data_changed`` is emitted after anything changed the project's data (an import,
for instance), so pages refresh. ``busy`` is True while a worker writes to the
file (an import): the main thread must not write meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from seglab.core.project import Project

_UNREAD = object()


class ProjectSession(QObject):
    project_opened = Signal(object)  # Path
    project_closed = Signal()
    data_changed = Signal()
    busy_changed = Signal(bool)
    segments_changed = Signal()  # a segment was saved outside the Segments page (e.g. "Save as segment")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._project: Project | None = None
        self._source: object = _UNREAD
        self._busy = False

    @property
    def project(self) -> Project | None:
        return self._project

    @property
    def path(self) -> Path | None:
        return self._project.path if self._project is not None else None

    @property
    def name(self) -> str:
        return self._project.name if self._project is not None else ""

    def is_open(self) -> bool:
        return self._project is not None

    @property
    def source(self) -> dict | None:
        """A connected project's source (docs/sources.md: URL without secrets, tables, mapping);
        None for a local project. Its events are read in the source by each worker task
        (seglab.core.engines.tasks), never imported."""
        if self._project is None:
            return None
        if self._source is _UNREAD:
            from seglab.core.engines.base import source_of

            self._source = source_of(self._project.conn)
        return self._source  # type: ignore[return-value]

    def is_connected(self) -> bool:
        return self.source is not None

    # -- lifecycle ------------------------------------------------------------
    def open(self, path: str | os.PathLike) -> Project:
        """Open ``path`` writable, closing the current project first only if that succeeds.

        Raises :class:`seglab.core.errors.ProjectError` (or ``ProjectLockedError``)
        with the core's sentence; the current project stays open then.
        """
        path = Path(path)
        if self._project is not None and _same(self._project.path, path):
            return self._project
        project = Project.open(path)  # raises before we touch the current project
        self._replace(project)
        return project

    def create(self, path: str | os.PathLike, *, overwrite: bool = False) -> Project:
        project = Project.create(path, overwrite=overwrite)
        self._replace(project)
        return project

    def close(self) -> None:
        if self._project is None:
            return
        project, self._project = self._project, None
        self._source = _UNREAD
        project.close()
        self.project_closed.emit()

    def _replace(self, project: Project) -> None:
        self.close()
        self._project = project
        self._source = _UNREAD
        self.project_opened.emit(project.path)

    # -- changes ----------------------------------------------------------------
    def notify_data_changed(self) -> None:
        self.data_changed.emit()

    def notify_segments_changed(self) -> None:
        self.segments_changed.emit()

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
