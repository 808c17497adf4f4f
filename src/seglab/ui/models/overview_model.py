"""The Data overview's state: project counts, event names, properties, import history.

:func:`load_overview` is the slow part (counts over the events table); it is a
plain function run by a :class:`~seglab.ui.workers.Worker` with its own read-only
connection. :class:`DataOverviewModel` keeps the latest snapshot and refreshes it
when the session opens a project or its data changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from seglab.core.engines import tasks
from seglab.core.engines.tasks import SourceSummary, is_connected, task_engine
from seglab.core.importing import account_conflict_list, account_link_conflicts
from seglab.core.progress import NULL_PROGRESS
from seglab.core.project import event_name_counts, load_properties, project_info
from seglab.core.storage.connection import connect
from seglab.ui.models.table_model import RowsTableModel
from seglab.ui.session import ProjectSession
from seglab.ui.workers import Worker


@dataclass(frozen=True)
class OverviewSnapshot:
    info: dict
    event_names: list[tuple[str, int]] = field(default_factory=list)
    properties: list[tuple[str, str, str]] = field(default_factory=list)  # entity, name, type
    imports: list[tuple] = field(default_factory=list)
    conflicts: list[tuple[str, str, str, str]] = field(default_factory=list)  # user, kept, from, seen
    conflict_count: int = 0
    source: SourceSummary | None = None  # a connected project's source (docs/sources.md)


CONFLICT_COLUMNS = ("User", "Account kept", "Kept from", "Accounts seen")


IMPORT_COLUMNS = ("File", "Kind", "Imported", "Rejected", "Seconds", "When (UTC)", "Rejects file")
SOURCE_COLUMNS = ("Data", "Table", "Rows", "Mapping", "Properties")
FIELD_WORDS = {
    "user_id": "user id",
    "timestamp": "timestamp",
    "event": "event",
    "account_id": "account id",
    "insert_id": "event id",
}


def source_rows(summary: SourceSummary) -> list[tuple]:
    """One row per table of the source: what it is, its rows, the mapping, the properties."""
    rows = []
    for kind, mapping in summary.tables.items():
        if not mapping:
            rows.append((kind.capitalize(), "(none)", "", "", ""))
            continue
        fields = ", ".join(f"{FIELD_WORDS[f]} = {mapping[f]}" for f in FIELD_WORDS if mapping.get(f))
        props = list(mapping.get("properties") or [])
        if mapping.get("properties_column"):
            props.append(f"the keys of {mapping['properties_column']}")
        n = summary.rows.get(kind)
        rows.append(
            (kind.capitalize(), mapping["table"], "" if n is None else f"{n:,}", fields, ", ".join(props))
        )
    return rows


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def load_overview(path: Path, request=None, progress=None) -> OverviewSnapshot:
    """Read everything the overview shows, on a connection of its own (and, for a connected
    project, in its source: counts, event names, conflicts, the tables' rows)."""
    if is_connected(path):
        return _load_connected(path, progress or NULL_PROGRESS)
    conn = connect(path, readonly=True)
    try:
        info = project_info(conn)
        names = event_name_counts(conn)
        props = [(p.entity, p.name, p.type) for p in load_properties(conn)]
        imports = [
            (*row[:5], _when(row[5]), row[6])
            for row in conn.execute(
                "SELECT file_name, kind, rows_imported, rows_rejected, round(seconds, 2), "
                "imported_at, rejects_file FROM imports ORDER BY import_id DESC"
            )
        ]
        conflicts = [
            (c["user_id"], c["account"] or "", c["kept_from"], ", ".join(c["accounts"]))
            for c in account_conflict_list(conn)
        ]
        conflict_count = account_link_conflicts(conn)
    finally:
        conn.close()
    return OverviewSnapshot(
        info=info,
        event_names=names,
        properties=props,
        imports=imports,
        conflicts=conflicts,
        conflict_count=conflict_count,
    )


def _load_connected(path: Path, progress) -> OverviewSnapshot:
    with task_engine(path, progress) as (conn, engine):
        info = engine.info()
        names = tasks.event_name_counts(engine)  # type: ignore[arg-type]
        summary = tasks.source_summary(conn, engine.client)  # type: ignore[union-attr]
        props = [(p.entity, p.name, p.type) for p in load_properties(conn)]
    conflicts = [
        (c["user_id"], c["account"] or "", c["kept_from"], ", ".join(c["accounts"]))
        for c in info.pop("account_conflicts")
    ]
    return OverviewSnapshot(
        info=info,
        event_names=names,
        properties=props,
        conflicts=conflicts,
        conflict_count=len(conflicts),
        source=summary,
    )


class DataOverviewModel(QObject):
    snapshot_changed = Signal()
    loading_changed = Signal(bool)
    load_failed = Signal(str)
    load_cancelled = Signal()

    def __init__(self, session: ProjectSession, parent: QObject | None = None):
        super().__init__(parent)
        self._session = session
        self._snapshot: OverviewSnapshot | None = None
        self.event_names = RowsTableModel(("Event", "Events"), self)
        self.properties = RowsTableModel(("Entity", "Property", "Type"), self)
        self.imports = RowsTableModel(IMPORT_COLUMNS, self)
        self.conflicts = RowsTableModel(CONFLICT_COLUMNS, self)
        self.source = RowsTableModel(SOURCE_COLUMNS, self)
        self._worker = Worker(self)
        self._worker.succeeded.connect(self._apply)
        self._worker.failed.connect(lambda exc: self.load_failed.emit(str(exc)))
        self._worker.cancelled.connect(self.load_cancelled)
        self._worker.finished.connect(lambda: self.loading_changed.emit(False))
        session.project_opened.connect(self.refresh)
        session.data_changed.connect(self.refresh)
        session.project_closed.connect(self.clear)

    @property
    def snapshot(self) -> OverviewSnapshot | None:
        return self._snapshot

    @property
    def worker(self) -> Worker:
        return self._worker

    def is_loading(self) -> bool:
        return self._worker.is_busy()

    def refresh(self, *_args) -> None:
        path = self._session.path
        if path is None:
            return
        self._worker.start(load_overview, path)
        self.loading_changed.emit(True)

    def cancel(self) -> None:
        """Stop reading (a connected project's source kills the running query)."""
        self._worker.cancel()

    def clear(self) -> None:
        self._worker.cancel()
        self._snapshot = None
        for model in (self.event_names, self.properties, self.imports, self.conflicts, self.source):
            model.set_rows([])
        self.snapshot_changed.emit()

    def shutdown(self) -> None:
        self._worker.shutdown()

    def _apply(self, snapshot: OverviewSnapshot) -> None:
        self._snapshot = snapshot
        self.event_names.set_rows(snapshot.event_names)
        self.properties.set_rows(snapshot.properties)
        self.imports.set_rows(snapshot.imports)
        self.conflicts.set_rows(snapshot.conflicts)
        self.source.set_rows(source_rows(snapshot.source) if snapshot.source else [])
        self.snapshot_changed.emit()
