"""The import wizard's state: one :class:`FilePlan` per dropped file, and the worker function.

A plan holds the user's choices (kind, encoding, delimiter, field columns,
property types, date format) and what they lead to (the sniff, the resolved
mapping, warnings). Every change goes through :class:`ImportPlanModel`, which
re-reads the file's preview and emits ``plan_changed``; the dialog only shows it.

:func:`run_imports` is the worker function: it opens its **own** writable
connection to the project and imports the files in order (accounts, users,
events), each file one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from seglab.core.errors import Cancelled, ImportFileError, UserError
from seglab.core.importing import KINDS, ColumnMapping, FileSniff, ImportReport, resolve_mapping, sniff_file
from seglab.core.importing.catalogue import too_wide
from seglab.core.importing.mapping import property_names
from seglab.core.importing.readers import format_label, shape_of, type_hints
from seglab.core.importing.shapes import shaped_mapping
from seglab.core.importing.timestamps import TimestampError, TimestampParser, looks_ambiguous
from seglab.core.importing.types import infer_type
from seglab.core.storage.connection import connect

PREVIEW_ROWS = 200
PROPERTY_TYPES = ("integer", "real", "boolean", "datetime", "text")
FIELD_LABELS = {
    "user_id": "User id",
    "timestamp": "Timestamp",
    "event": "Event",
    "account_id": "Account id",
    "insert_id": "Event id (de-duplicates)",
}
KIND_FIELDS = {
    "events": ("user_id", "timestamp", "event", "account_id", "insert_id"),
    "users": ("user_id", "account_id"),
    "accounts": ("account_id",),
}
ORDER = {"accounts": 0, "users": 1, "events": 2}


@dataclass
class FilePlan:
    path: Path
    # choices (None / empty: let SegLab detect)
    kind: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # field -> column name, explicit
    types: dict[str, str] = field(default_factory=dict)  # property name -> type, explicit
    date_format: str | None = None
    timezone: str | None = None  # IANA zone of timestamps written without one (None: UTC)
    # what they lead to
    sniff: FileSniff | None = None
    mapping: ColumnMapping | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    properties: list[tuple[str, str]] = field(default_factory=list)  # (name, inferred type)
    needs_date_format: bool = False
    date_format_choices: list[str] = field(default_factory=list)
    format: str = "CSV"  # "CSV", "CSV (gzip)", "JSON lines", "Parquet"...
    shape: str | None = None  # the export shape recognised ("Mixpanel export"), if any

    @property
    def is_csv(self) -> bool:
        """A (maybe compressed) CSV file: encoding and delimiter apply."""
        return self.format.startswith("CSV")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def detected_kind(self) -> str | None:
        return self.mapping.kind if self.mapping is not None else self.kind

    @property
    def importable(self) -> bool:
        return self.mapping is not None and self.error is None and not self.needs_date_format

    def property_type(self, name: str) -> str:
        if name in self.types:
            return self.types[name]
        return dict(self.properties).get(name, "text")

    def import_options(self) -> dict:
        """Keyword arguments for :func:`seglab.core.importing.import_file`."""
        assert self.mapping is not None
        return {
            "kind": self.mapping.kind,
            # The explicit "no such field" choices too, or the importer would guess them again.
            "mapping": {**self.mapping.to_dict(), **{f: "" for f, c in self.fields.items() if c == ""}},
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "types": dict(self.types) or None,
            "date_format": self.date_format,
            "timezone": self.timezone if self.mapping.kind == "events" else None,
        }

    def summary(self) -> str:
        if self.sniff is None:
            return self.error or ""
        kind = self.detected_kind or "unknown kind"
        if self.shape:
            kind = f"{kind} · {self.shape}"
        if not self.is_csv:
            return f"{kind} · {self.format} · ~{self.sniff.estimated_rows:,} rows"
        shown = f"{self.format} · " if self.format != "CSV" else ""
        return (
            f"{kind} · {shown}{self.sniff.encoding} · {self.sniff.delimiter_name} · "
            f"~{self.sniff.estimated_rows:,} rows"
        )


def refresh_plan(plan: FilePlan) -> None:
    """Re-read the preview and recompute mapping, properties and warnings (fast: the file's head only)."""
    plan.error = None
    plan.warnings = []
    plan.mapping = None
    plan.properties = []
    plan.needs_date_format = False
    plan.date_format_choices = []
    plan.shape = None
    try:
        plan.sniff = sniff_file(
            plan.path, encoding=plan.encoding, delimiter=plan.delimiter, sample_rows=PREVIEW_ROWS
        )
    except (UserError, OSError, LookupError) as exc:
        plan.sniff = None
        plan.error = _sentence(exc, plan.name)
        return
    sniff = plan.sniff
    plan.format = format_label(sniff)
    if not sniff.columns or not any(c.strip() for c in sniff.columns):
        plan.error = f"{plan.name}: no column names on the first line (is the file blank?)"
        return
    if not sniff.sample_rows:
        plan.error = f"{plan.name}: has column names but no data rows; nothing to import"
        return
    if sniff.header_looks_like_data:
        plan.warnings.append("The first line looks like data, not column names: check the header row.")
    plan.warnings.extend(sniff.notes)
    # A field mapped explicitly to a column no longer present (after a delimiter change) is dropped.
    # Keep choices whose column still exists, and "" ("this file has no such field").
    plan.fields = {f: c for f, c in plan.fields.items() if c == "" or c in sniff.columns}
    # A Mixpanel or Amplitude export maps itself; the user's choices win (as --map does).
    shape = shape_of(sniff) if plan.kind in (None, "events") else None
    plan.shape = shape.label if shape else None
    try:
        plan.mapping = resolve_mapping(
            plan.name, sniff.columns, kind=plan.kind, mapping=shaped_mapping(shape, plan.fields)
        )
    except ImportFileError as exc:
        plan.error = str(exc).replace("--map ", "").replace("--kind", "the kind")
        return
    used = set(plan.mapping.fields.values())
    hints = type_hints(sniff)  # Parquet's schema, JSON numbers and booleans
    for index, name in property_names(sniff.columns, used):
        values = [r[index] for r in sniff.sample_rows if index < len(r)]
        plan.properties.append((name, hints.get(name) or infer_type(values) or "text"))
    plan.types = {n: t for n, t in plan.types.items() if n in dict(plan.properties)}
    entity = {"events": "event", "users": "user", "accounts": "account"}[plan.mapping.kind]
    plan.error = too_wide(plan.name, entity, len(plan.properties))
    if plan.error:
        return
    _row_warnings(plan)


def _row_warnings(plan: FilePlan) -> None:
    sniff, cmap = plan.sniff, plan.mapping
    assert sniff is not None and cmap is not None
    rows = sniff.sample_rows
    n = len(rows)
    scale = max(1.0, sniff.estimated_rows / max(1, n))

    def extrapolate(bad: int) -> str:
        if scale <= 1.0:
            return f"{bad:,} row{'s' if bad != 1 else ''}"
        return f"{bad:,} of the first {n:,} rows (about {int(bad * scale):,} in the file)"

    width = len(sniff.columns)
    ragged = sum(1 for r in rows if len(r) != width)
    if ragged:
        plan.warnings.append(
            f"{extrapolate(ragged)} have a different number of fields than the header"
            " — they will be rejected."
        )
    key = {"events": "user_id", "users": "user_id", "accounts": "account_id"}[cmap.kind]
    key_index = cmap.fields[key]
    missing = sum(1 for r in rows if len(r) == width and not r[key_index].strip())
    if missing:
        label = FIELD_LABELS[key].lower()
        plan.warnings.append(f"{extrapolate(missing)} have no {label} — they will be rejected.")
    if cmap.kind != "events":
        return
    ts_index = cmap.fields["timestamp"]
    values = [r[ts_index] for r in rows if len(r) == width and r[ts_index].strip()]
    ambiguous = [v for v in values if looks_ambiguous(v)]
    if ambiguous and len(ambiguous) * 2 >= len(values) and not plan.date_format:
        plan.needs_date_format = True
        plan.date_format_choices = date_format_choices(ambiguous[0])
        plan.warnings.append(
            f"Dates like {ambiguous[0]!r} could be day/month or month/day: choose the date format."
        )
        return
    parse = TimestampParser(date_format=plan.date_format)
    bad = []
    for value in values:
        try:
            parse(value)
        except TimestampError:
            bad.append(value)
    empty = sum(1 for r in rows if len(r) == width and not r[ts_index].strip())
    if bad or empty:
        example = f" (e.g. {bad[0]!r})" if bad else ""
        plan.warnings.append(
            f"{extrapolate(len(bad) + empty)} have unreadable timestamps{example} — they will be rejected."
        )


def date_format_choices(example: str) -> list[str]:
    """strptime formats that read ``example`` day-first and month-first."""
    text = example.strip()
    sep = next((c for c in text if c in "/.-"), "/")
    date_part, _, time_part = text.replace("T", " ").partition(" ")
    year = "%Y" if len(date_part.split(sep)[-1]) == 4 else "%y"
    time_fmt = ""
    if time_part:
        colons = time_part.count(":")
        time_fmt = " %H:%M:%S" if colons >= 2 else " %H:%M"
    day_first = f"%d{sep}%m{sep}{year}{time_fmt}"
    month_first = f"%m{sep}%d{sep}{year}{time_fmt}"
    return [day_first, month_first]


def describe_date_format(fmt: str) -> str:
    first = "day first" if fmt.startswith("%d") else "month first" if fmt.startswith("%m") else "custom"
    return f"{fmt}  ({first})"


def _sentence(exc: BaseException, name: str) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, LookupError):
        return f"{name}: unknown text encoding"
    return f"{name}: cannot read the file ({getattr(exc, 'strerror', None) or exc})"


# -- the model ----------------------------------------------------------------------------------


class ImportPlanModel(QObject):
    """The files of one import and the user's choices for each."""

    files_changed = Signal()  # files added, removed or re-ordered
    plan_changed = Signal(int)  # row

    def __init__(self, paths: Sequence[str | Path] = (), parent: QObject | None = None):
        super().__init__(parent)
        self._plans: list[FilePlan] = []
        self.force = False
        self.add_files(paths)

    @property
    def plans(self) -> list[FilePlan]:
        return list(self._plans)

    def plan(self, row: int) -> FilePlan:
        return self._plans[row]

    def __len__(self) -> int:
        return len(self._plans)

    def add_files(self, paths: Sequence[str | Path]) -> None:
        known = {p.path.resolve() for p in self._plans}
        for raw in paths:
            path = Path(raw)
            if path.resolve() in known:
                continue
            plan = FilePlan(path)
            refresh_plan(plan)
            self._plans.append(plan)
            known.add(path.resolve())
        self._sort()
        self.files_changed.emit()

    def remove_file(self, row: int) -> None:
        del self._plans[row]
        self.files_changed.emit()

    def _sort(self) -> None:
        # Stable: files of the same kind keep the order they were dropped in.
        self._plans.sort(key=lambda p: ORDER.get(p.detected_kind or "", 3))

    def _changed(self, plan: FilePlan) -> None:
        refresh_plan(plan)
        before = [id(p) for p in self._plans]
        self._sort()
        if before != [id(p) for p in self._plans]:
            self.files_changed.emit()
        else:
            self.plan_changed.emit(self._plans.index(plan))

    # -- edits ------------------------------------------------------------------------------
    def set_kind(self, row: int, kind: str | None) -> None:
        if kind is not None and kind not in KINDS:
            raise ValueError(kind)
        plan = self._plans[row]
        plan.kind = kind
        plan.fields = {}  # fields of another kind make no sense
        self._changed(plan)

    def set_field(self, row: int, field_name: str, column: str | None) -> None:
        plan = self._plans[row]
        if column:
            # A column can serve one field only.
            plan.fields = {f: c for f, c in plan.fields.items() if c != column}
            plan.fields[field_name] = column
        else:
            # "" tells the importer the file has no such field, so a guess does not come back.
            plan.fields[field_name] = ""
        if plan.mapping is not None and plan.kind is None:
            plan.kind = plan.mapping.kind  # keep the kind while columns move around
        self._changed(plan)

    def set_type(self, row: int, prop: str, typ: str) -> None:
        if typ not in PROPERTY_TYPES:
            raise ValueError(typ)
        plan = self._plans[row]
        inferred = dict(plan.properties).get(prop)
        if typ == inferred:
            plan.types.pop(prop, None)
        else:
            plan.types[prop] = typ
        self.plan_changed.emit(row)

    def set_encoding(self, row: int, encoding: str | None) -> None:
        plan = self._plans[row]
        plan.encoding = encoding or None
        self._changed(plan)

    def set_delimiter(self, row: int, delimiter: str | None) -> None:
        plan = self._plans[row]
        plan.delimiter = delimiter or None
        self._changed(plan)

    def set_timezone(self, row: int, zone: str | None) -> None:
        """The zone of timestamps written without one; refuses unknown names (ValueError)."""
        zone = (zone or "").strip() or None
        if zone in ("UTC", "Etc/UTC"):
            zone = None
        if zone is not None:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(zone)
            except Exception:
                raise ValueError(f"unknown time zone {zone!r} (use a name like Europe/Berlin)") from None
        plan = self._plans[row]
        plan.timezone = zone
        self.plan_changed.emit(row)

    def set_date_format(self, row: int, fmt: str | None) -> None:
        plan = self._plans[row]
        plan.date_format = fmt or None
        self._changed(plan)

    # -- the import ------------------------------------------------------------------------------
    def importable(self) -> list[FilePlan]:
        return [p for p in self._plans if p.importable]

    def request(self) -> ImportRequest:
        return ImportRequest(
            jobs=[ImportJob(p.path, p.import_options(), p.path.stat().st_size) for p in self.importable()],
            force=self.force,
        )


# -- the worker side (plain Python) -------------------------------------------------------------


@dataclass(frozen=True)
class ImportJob:
    path: Path
    options: dict
    size: int


@dataclass
class FileOutcome:
    path: Path
    report: ImportReport | None = None
    error: str | None = None
    cancelled: bool = False


@dataclass
class ImportRequest:
    jobs: list[ImportJob]
    force: bool = False
    # Filled by the worker thread as files finish; read on the main thread after ``finished``
    # (also after a cancel, so the summary can say which files went in before it).
    outcomes: list[FileOutcome] = field(default_factory=list)


class _FileProgress:
    """Turns one file's progress into the whole batch's (bytes; hashing counts for 10 %)."""

    def __init__(self, outer, done_before: int, size: int, total: int, index: int, count: int, name: str):
        self._outer = outer
        self._before = done_before
        self._size = max(1, size)
        self._total = max(1, total)
        self._label = f"{name} ({index} of {count})" if count > 1 else name
        self._started = time.perf_counter()

    def is_cancelled(self) -> bool:
        return self._outer.is_cancelled()

    def report(self, done: float, total: float | None = None, text: str = "") -> None:
        fraction = min(1.0, done / (total or self._size))
        within = 0.1 * fraction if text == "checking the file" else 0.1 + 0.9 * fraction
        overall = self._before + within * self._size
        shown = f"{self._label}: {text}" if text else self._label
        self._outer.report(overall, self._total, shown)


def run_imports(project_path: Path, request: ImportRequest, progress) -> list[FileOutcome]:
    """Worker function: import ``request.jobs`` in order into the project at ``project_path``."""
    total = sum(job.size for job in request.jobs)
    conn = connect(project_path)
    try:
        done = 0
        for index, job in enumerate(request.jobs, start=1):
            if progress.is_cancelled():
                raise Cancelled("cancelled")
            file_progress = _FileProgress(
                progress, done, job.size, total, index, len(request.jobs), job.path.name
            )
            try:
                report = _import_one(conn, job, request.force, file_progress)
            except Cancelled:
                request.outcomes.append(FileOutcome(job.path, cancelled=True))
                raise
            except UserError as exc:
                request.outcomes.append(FileOutcome(job.path, error=str(exc)))
            except Exception as exc:  # reported per file; the other files still go in
                request.outcomes.append(FileOutcome(job.path, error=f"{type(exc).__name__}: {exc}"))
            else:
                request.outcomes.append(FileOutcome(job.path, report=report))
            done += job.size
    finally:
        conn.close()
    return list(request.outcomes)


def _import_one(conn, job: ImportJob, force: bool, progress) -> ImportReport:
    from seglab.core.importing import import_file

    options = {k: v for k, v in job.options.items() if v is not None}
    return import_file(conn, job.path, force=force, progress=progress, **options)
