"""The app's persisted preferences (window geometry, recent projects, last folder).

A thin, versioned wrapper over :class:`QSettings`. Values that are not plain
strings are stored as JSON text so they read back the same on every platform and
settings backend. Tests point QSettings at a temporary folder (see
``tests/ui/conftest.py``); nothing here ever chooses a location itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_VERSION = 1
MAX_RECENT = 10


@dataclass(frozen=True)
class RecentProject:
    path: str
    opened: str  # ISO 8601 UTC, when it was last opened

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.path)

    @property
    def name(self) -> str:
        return Path(self.path).stem


class AppSettings:
    """Typed access to the app's QSettings. Cheap to create; create one where needed."""

    def __init__(self, qsettings: QSettings | None = None):
        self._s = qsettings if qsettings is not None else QSettings()
        if self._s.value("settings_version") is None:
            self._s.setValue("settings_version", SETTINGS_VERSION)

    @property
    def qsettings(self) -> QSettings:
        return self._s

    def sync(self) -> None:
        self._s.sync()

    # -- window -----------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def set_geometry(self, value: QByteArray) -> None:
        self._s.setValue("window/geometry", value)

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def set_window_state(self, value: QByteArray) -> None:
        self._s.setValue("window/state", value)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._s.value(key)
        if isinstance(value, QByteArray) and not value.isEmpty():
            return value
        if isinstance(value, (bytes, bytearray)) and value:
            return QByteArray(bytes(value))
        return None

    # -- folders ----------------------------------------------------------
    def last_folder(self) -> str:
        value = self._s.value("paths/last_folder")
        if isinstance(value, str) and value and os.path.isdir(value):
            return value
        return str(Path.home())

    def set_last_folder(self, folder: str | os.PathLike) -> None:
        self._s.setValue("paths/last_folder", str(folder))

    # -- recent projects --------------------------------------------------
    def recent_projects(self) -> list[RecentProject]:
        raw = self._s.value("recent/projects")
        if not isinstance(raw, str) or not raw:
            return []
        try:
            items = json.loads(raw)
        except ValueError:
            return []  # unreadable settings must never stop the app from starting
        out: list[RecentProject] = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                out.append(RecentProject(item["path"], str(item.get("opened", ""))))
        return out[:MAX_RECENT]

    def _store_recent(self, items: list[RecentProject]) -> None:
        data = [{"path": r.path, "opened": r.opened} for r in items[:MAX_RECENT]]
        self._s.setValue("recent/projects", json.dumps(data))

    def add_recent_project(self, path: str | os.PathLike, opened: str) -> None:
        key = _norm(path)
        items = [r for r in self.recent_projects() if _norm(r.path) != key]
        items.insert(0, RecentProject(str(Path(path).resolve()), opened))
        self._store_recent(items)

    def remove_recent_project(self, path: str | os.PathLike) -> None:
        key = _norm(path)
        self._store_recent([r for r in self.recent_projects() if _norm(r.path) != key])

    def clear_recent_projects(self) -> None:
        self._store_recent([])


def _norm(path: str | os.PathLike) -> str:
    return os.path.normcase(str(Path(path).resolve()))
