"""One file into a project, in one transaction: the import as a pipeline.

:func:`_import_file` reads as the steps it takes: check the file (:mod:`.filecheck`), refuse a
duplicate, sniff it (:mod:`.sniff`, :mod:`.readers`), plan the columns (:mod:`.mapping`,
:mod:`.shapes`, :mod:`.catalogue`), then, inside ``BEGIN IMMEDIATE`` ... ``COMMIT``
(:mod:`.transaction`), pass over the rows (:class:`KindRunner`: :mod:`.csvrows` and
:mod:`.events` for events, :mod:`.entities` for users and accounts), finish the links and
roll-ups, record the import, and write the rejects file (:mod:`.rejects`).

An error, a cancel or a killed process leaves the project exactly as it was. Rows stream in
batches, so memory stays flat whatever the file size. A row that cannot be read is rejected with
its line numbers and a reason, never padded, shifted or guessed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seglab.core.errors import Cancelled, ImportFileError, UserError
from seglab.core.importing import catalogue
from seglab.core.importing.catalogue import Prop, apply_properties, check_room, plan_properties
from seglab.core.importing.csvrows import BATCH_ROWS, open_csv, read_events, rows_after_header
from seglab.core.importing.entities import (
    EMAIL_COLUMNS,
    EntityWriter,
    note_users_file_conflicts,
    refresh_after_import,
    write_event_links,
)
from seglab.core.importing.filecheck import (
    SCAN_SHARE,
    codec_name,
    file_stat,
    scan,
    unchanged,
    utf8_damage,
    utf8_reason,
)
from seglab.core.importing.keys import AccountKeys
from seglab.core.importing.mapping import ColumnMapping, normalise, resolve_mapping
from seglab.core.importing.readers import RecordRows, Source, shape_of, source_for, type_hints
from seglab.core.importing.rejects import Rejects, csv_reason
from seglab.core.importing.report import ImportReport, RunState
from seglab.core.importing.shapes import Shape, shaped_mapping
from seglab.core.importing.sniff import (
    FileSniff,
    check_columns,
    check_header,
    describe_binary,
    detect_encoding,
    read_head,
    sniff_text,
)
from seglab.core.importing.timestamps import TimestampParser, looks_ambiguous
from seglab.core.importing.transaction import connection_and_dir, import_transaction
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.timeutil import utc_now_iso

if TYPE_CHECKING:
    from seglab.core.importing.events import EventBatcher

ENTITY = {"events": "event", "users": "user", "accounts": "account"}


def import_file(project_or_conn, path, **options) -> ImportReport:
    """Import one file into a project; return what happened (see :func:`_import_file`).

    Raises :class:`ImportFileError` (a :class:`UserError`) when the file cannot be imported at
    all, :class:`Cancelled` when ``progress`` asks to stop; either way nothing was written.
    """
    try:
        return _import_file(project_or_conn, path, **options)
    except FileNotFoundError as exc:
        if exc.filename is None or Path(exc.filename) != Path(path):
            raise
        raise ImportFileError(
            f"{Path(path).name}: the file was deleted or moved during the import; nothing was imported"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise UserError(
            f"{Path(path).name}: no space left for the import's temporary files in "
            f"{tempfile.gettempdir()} (set TMPDIR to a folder with more room); nothing was imported"
        ) from None


def _import_file(
    project_or_conn,
    path,
    *,
    kind: str | None = None,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    force: bool = False,
    date_format: str | None = None,
    progress: Progress = NULL_PROGRESS,
    rejects_dir=None,
    encoding: str | None = None,
    delimiter: str | None = None,
    types: Mapping[str, str] | None = None,
    timezone: str | None = None,
    accounts_from_email: bool = False,
) -> ImportReport:
    """Import one file into a project; return what happened.

    ``project_or_conn``: a writable :class:`~seglab.core.project.Project` or an
    sqlite3 connection (autocommit mode, no transaction open). ``mapping``: field
    (``user_id``, ``timestamp``, ``event``, ``account_id``, ``insert_id``) →
    column name. ``types``: property name → type, overriding inference.
    ``encoding``/``delimiter`` override sniffing; ``timezone`` (IANA name) is the
    zone of timestamps written without one (default UTC). ``accounts_from_email``:
    in a users file without an account id column, link each user to an account
    named after their email's domain (free-mail domains are skipped).

    Raises :class:`ImportFileError` (a :class:`UserError`) when the file cannot be
    imported at all, :class:`Cancelled` when ``progress`` asks to stop; either
    way nothing was written.
    """
    started = time.perf_counter()
    conn, project_dir = connection_and_dir(project_or_conn)
    if conn.in_transaction:
        raise RuntimeError("import_file needs a connection without an open transaction")
    _refuse_connected_project(conn)
    file = _check_file(Path(path), progress)
    if not force:
        _refuse_duplicate(conn, file)
    sniff = _sniff(file, _encoding(file, encoding), delimiter)
    plan = _plan(conn, file, sniff, kind, mapping, types, date_format, timezone, accounts_from_email)

    rejects, state = Rejects(), RunState()
    rejects_file = (Path(rejects_dir).resolve() if rejects_dir else project_dir) / f"{file.name}.rejects.csv"
    import_id = None
    with import_transaction(conn, on_failure=rejects.close, after=state.after_transaction) as outcome:
        apply_properties(conn, plan.entity, plan.props)
        runner = _read_rows(conn, file, sniff, plan, rejects, state, progress)
        if progress.is_cancelled():
            raise Cancelled("cancelled")
        outcome.commit = not (strict and rejects.count)
        if outcome.commit:
            progress.report(file.size, file.size, "updating the roll-ups")
            runner.finish()
            settings = {"date_format": date_format, "timezone": timezone}
            import_id = _record_import(
                conn, file, sniff, plan, settings, state, rejects, rejects_file, started
            )
    written = _write_rejects(rejects, file, sniff, rejects_file, state)
    return _report(file, sniff, plan, state, rejects, written, outcome.commit, import_id, started)


# --------------------------------------------------------------------------- the steps


@dataclass
class _File:
    """The file being imported, as its checks found it."""

    path: Path
    size: int
    before: tuple  # file_stat() when the checks began: a change by the end refuses the import
    source: Source | None  # the reader of a compressed, JSON lines or Parquet file; None: plain CSV
    head: bytes  # its first bytes (decompressed)
    complete: bool  # the head is the whole content
    sha256: str
    utf8_ok: bool
    has_nul: bool
    bad_utf8: list[tuple[int, int]] = field(default_factory=list)  # (line, byte offset) of invalid UTF-8

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def format(self) -> str:
        return self.source.fmt.label if self.source else "CSV"


@dataclass
class _Plan:
    """What the file's columns become."""

    cmap: ColumnMapping
    props: list[Prop]
    shape: Shape | None
    parse_ts: TimestampParser
    email_index: int | None  # the users file's email column, when accounts come from its domains

    @property
    def entity(self) -> str:
        return ENTITY[self.cmap.kind]


def _refuse_connected_project(conn) -> None:
    # A connected project reads its events from its source (docs/sources.md): the app's import
    # comes here too. (meta key 'source': seglab.core.engines.base.SOURCE_META_KEY)
    source = conn.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
    if source and source[0]:
        url = json.loads(source[0]).get("url", "its source")
        raise ImportFileError(
            f"this project reads its events from {url}; import does not apply to a connected project "
            "(nothing was changed)"
        )


def _check_file(path: Path, progress: Progress) -> _File:
    """Refuse a folder, an empty or a binary file; hash the content (the bar's first tenth)."""
    head = read_head(path)
    name = path.name
    if path.is_dir():
        raise ImportFileError(f"{path}: is a folder, not a CSV file")
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(f"{name}: the file is empty")
    # gzip/zstd, JSON lines and Parquet are read by core/importing/readers.py.
    source = source_for(path, head)
    complete = len(head) >= size
    before = file_stat(path)
    if source is None:
        what = describe_binary(head)
        if what:
            raise ImportFileError(f"{name}: this looks like {what}")
        check_header(head, size, name)
        sha256, utf8_ok, has_nul = scan(path, progress)
    else:
        sha256, utf8_ok, has_nul = source.scan(progress)
        head, complete = source.content_head()
    return _File(path, size, before, source, head, complete, sha256, utf8_ok, has_nul)


def _refuse_duplicate(conn, file: _File) -> None:
    row = conn.execute(
        "SELECT file_name, imported_at FROM imports WHERE sha256 = ? ORDER BY import_id LIMIT 1",
        (file.sha256,),
    ).fetchone()
    if row:
        raise ImportFileError(
            f"{file.name}: the same content was already imported (as {row[0]} on {row[1]}); "
            "use --force to import it again"
        )


def _encoding(file: _File, encoding: str | None) -> str | None:
    """The encoding to read a file that is not valid UTF-8 throughout with (else ``encoding``).

    One bad byte does not make a UTF-8 file a legacy code page (every "é" would be garbled):
    only its rows are rejected (``file.bad_utf8`` says where they are), compressed or not. A CSV
    file that is not UTF-8 as a whole is decoded with the encoding detected (or given); JSON lines
    are UTF-8 by definition, and Parquet stores UTF-8."""
    utf8_asked = encoding is None or codec_name(encoding) in ("utf-8", "utf-8-sig")
    kind = file.source.fmt.kind if file.source is not None else "csv"
    if file.utf8_ok or not utf8_asked or kind == "parquet":
        return encoding
    if file.source is None:
        mostly_utf8, file.bad_utf8 = utf8_damage(file.path)
    else:
        with file.source.open_content() as content:
            mostly_utf8, file.bad_utf8 = utf8_damage(content)
    if kind == "jsonl":
        if not mostly_utf8:
            file.bad_utf8 = []  # read as before: undecodable bytes become replacement characters
        return encoding
    if encoding is None and file.head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif encoding is None:
        encoding = "utf-8" if mostly_utf8 else detect_encoding(file.head, full_scan_ok=False)
    if codec_name(encoding) not in ("utf-8", "utf-8-sig"):
        file.bad_utf8 = []
    return encoding


def _sniff(file: _File, encoding: str | None, delimiter: str | None) -> FileSniff:
    """Encoding, delimiter, columns and a sample of rows; refuses a file without columns or rows."""
    name = file.name
    try:
        if file.source is None:
            sniff = sniff_text(
                file.path,
                file.head,
                file.size,
                encoding=encoding,
                delimiter=delimiter,
                sample_rows=catalogue.TYPE_SAMPLE_ROWS,
            )
        else:
            sniff = file.source.sniff(
                encoding=encoding,
                delimiter=delimiter,
                sample_rows=catalogue.TYPE_SAMPLE_ROWS,
                head=file.head,
                complete=file.complete,
            )
    except LookupError:
        raise ImportFileError(f"{name}: unknown text encoding {encoding!r}") from None
    except UnicodeError as exc:  # e.g. utf-32 without a byte order mark
        raise ImportFileError(f"{name}: cannot be read as {encoding} ({exc}); nothing was imported") from None
    check_columns(sniff.columns, name)
    if not sniff.columns or not any(c.strip() for c in sniff.columns):
        raise ImportFileError(f"{name}: no column names on the first line (is the file blank?)")
    if not sniff.sample_rows and file.complete:
        raise ImportFileError(f"{name}: has column names but no data rows; nothing to import")
    return sniff


def _plan(
    conn, file: _File, sniff: FileSniff, kind, mapping, types, date_format, timezone, accounts_from_email
) -> _Plan:
    """The mapping (a Mixpanel or Amplitude export maps itself; ``mapping`` wins), the timestamp
    parser, and the property columns, each refused in a sentence when it cannot work."""
    name = file.name
    shape = shape_of(sniff) if kind in (None, "events") else None
    mapping = shaped_mapping(shape, mapping)
    types = {**type_hints(sniff), **(types or {})} or None
    try:
        cmap = resolve_mapping(name, sniff.columns, kind=kind, mapping=mapping)
    except ImportFileError as exc:
        if sniff.header_looks_like_data and kind is None and not mapping:
            raise ImportFileError(
                f"{name}: the first line looks like data, not column names; add a header row "
                "(e.g. user_id,event,timestamp)"
            ) from None
        raise exc from None
    parse_ts = TimestampParser(date_format=date_format, tz=_zone(timezone))
    if cmap.kind == "events" and date_format is None:
        _refuse_day_month_dates(name, cmap, sniff)
    email_index = None
    if accounts_from_email and cmap.kind == "users" and "account_id" not in cmap.fields:
        email_index = next((i for i, c in enumerate(cmap.columns) if normalise(c) in EMAIL_COLUMNS), None)
        if email_index is None:
            raise ImportFileError(f"{name}: no email column to derive accounts from (looked for 'email')")
    entity = ENTITY[cmap.kind]
    used = set(cmap.fields.values())
    props = plan_properties(conn, entity, cmap.columns, used, list(sniff.sample_rows), types)
    check_room(conn, entity, props, name)
    return _Plan(cmap, props, shape, parse_ts, email_index)


def _zone(timezone: str | None):
    if not timezone:
        return None
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(timezone)
    except Exception:
        raise ImportFileError(f"unknown time zone {timezone!r} (use a name like Europe/Berlin)") from None


def _refuse_day_month_dates(name: str, cmap: ColumnMapping, sniff: FileSniff) -> None:
    """Mostly day/month dates: the whole file needs a format. A stray few are just rejected."""
    ts_index = cmap.fields["timestamp"]
    filled = [r[ts_index] for r in sniff.sample_rows if ts_index < len(r) and r[ts_index].strip()]
    ambiguous = [v for v in filled if looks_ambiguous(v)]
    if ambiguous and len(ambiguous) * 2 >= len(filled):
        raise ImportFileError(
            f"{name}: column {cmap.columns[ts_index]!r} has dates like {ambiguous[0]!r} that could be "
            "day/month or month/day; give the format with --date-format (e.g. '%d/%m/%Y %H:%M')"
        )


def _read_rows(conn, file: _File, sniff: FileSniff, plan: _Plan, rejects, state, progress) -> KindRunner:
    """The pass over the rows; refuses a file that changed meanwhile or held no rows."""
    name = file.name
    with contextlib.ExitStack() as opened:
        hashing = None
        if file.source is None:
            hashing, raw, text = opened.enter_context(
                open_csv(file.path, sniff.encoding, bool(file.bad_utf8))
            )
        else:
            raw, text = opened.enter_context(
                file.source.open_rows(sniff.encoding, BATCH_ROWS, bad_utf8=file.bad_utf8)
            )
        runner = KindRunner(
            conn,
            plan.cmap,
            plan.props,
            plan.parse_ts,
            rejects,
            state,
            progress,
            raw,
            file.size,
            # NUL bytes are part of UTF-16 itself: the decoded text is checked per row.
            check_nul=file.has_nul or sniff.encoding.startswith("utf-16"),
            email_column=plan.email_index,
            bad_utf8=file.bad_utf8,
            encoding=sniff.encoding,
        )
        try:
            runner.run(text, sniff.delimiter)
        except UnicodeError as exc:
            raise ImportFileError(
                f"{name}: cannot be read as {sniff.encoding} ({exc}); nothing was imported"
            ) from None
        except csv.Error as exc:  # rows' errors are rejects; this is the header's
            raise ImportFileError(
                f"{name}: the first line (the column names) cannot be read: {csv_reason(exc)}"
            ) from None
        # A decompressing reader hashes the content in its scan, not here: for those
        # files the check is the file's identity, size and time.
        read = hashing.finish() if hashing is not None else (file.size, file.sha256)
    unchanged(file.path, name, file.before, (file.size, file.sha256), read)
    if not state.rows_read:
        raise ImportFileError(f"{name}: has column names but no data rows; nothing to import")
    return runner


def _record_import(
    conn, file: _File, sniff, plan: _Plan, settings: dict, state, rejects, rejects_file, started
):
    """The ``imports`` row (the history, and the duplicate check's memory); its id."""
    details = {
        "fields": plan.cmap.to_dict(),
        "encoding": sniff.encoding,
        "delimiter": sniff.delimiter,
        **settings,
        "properties": {p.name: [p.column, p.type] for p in plan.props},
        "format": file.format,
        "shape": plan.shape.name if plan.shape else None,
    }
    return conn.execute(
        "INSERT INTO imports(file_name, file_path, size, sha256, kind, mapping, rows_read, "
        "rows_imported, rows_rejected, rejects_file, seconds, imported_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            file.name,
            str(file.path.resolve()),
            file.size,
            file.sha256,
            plan.cmap.kind,
            json.dumps(details, ensure_ascii=False),
            state.rows_read,
            state.rows_imported,
            rejects.count,
            str(rejects_file) if rejects.count else None,
            time.perf_counter() - started,
            utc_now_iso(),
        ),
    ).lastrowid


def _write_rejects(rejects: Rejects, file: _File, sniff, target: Path, state) -> Path | None:
    """The rejects file, once the transaction is over; where it went (None: no rejects)."""
    try:
        if rejects.count:
            try:
                rejects.write(file.path, sniff.encoding, target, file.source)
                return target
            except OSError as exc:
                # The import itself is done; say where the rejects could not go.
                state.notes.append(f"could not write the rejects file ({exc.strerror or exc})")
        return None
    finally:
        rejects.close()


def _report(
    file: _File, sniff, plan: _Plan, state, rejects, written, committed, import_id, started
) -> ImportReport:
    # A rolled-back (--strict) import imported nothing and linked no one.
    return ImportReport(
        file=str(file.path),
        kind=plan.cmap.kind,
        rows_read=state.rows_read,
        rows_imported=state.rows_imported if committed else 0,
        rows_rejected=rejects.count,
        rejects_file=str(written) if written else None,
        seconds=time.perf_counter() - started,
        committed=committed,
        encoding=sniff.encoding,
        delimiter=sniff.delimiter,
        mapping=plan.cmap.to_dict(),
        properties=tuple((p.name, p.type) for p in plan.props),
        format=file.format,
        shape=plan.shape.label if plan.shape else None,
        duplicates_skipped=state.duplicates if committed else 0,
        new_users=state.new_users if committed else 0,
        new_accounts=state.new_accounts if committed else 0,
        account_conflicts=len(state.conflicts) if committed else 0,
        account_conflicts_from_file=state.conflicts_from_file if committed else 0,
        reject_reasons=dict(rejects.reasons),
        import_id=import_id,
    )


# --------------------------------------------------------------------------- the pass over the rows


class KindRunner:
    """The pass over the rows of one kind of file, and what has to follow it in the same
    transaction (:meth:`finish`)."""

    def __init__(
        self,
        conn,
        cmap: ColumnMapping,
        props: list[Prop],
        parse_ts,
        rejects: Rejects,
        state: RunState,
        progress: Progress,
        raw,
        size: int,
        check_nul: bool,
        *,
        email_column: int | None = None,
        bad_utf8: list[tuple[int, int]] | None = None,
        encoding: str = "utf-8",
    ):
        self.conn = conn
        self.cmap = cmap
        self.props = props
        self.parse_ts = parse_ts
        self.rejects = rejects
        self.state = state
        self.progress = progress
        self.raw = raw
        self.size = size
        self.check_nul = check_nul
        self.email_column = email_column
        self.bad_utf8 = bad_utf8 or []  # (line, byte offset) of invalid UTF-8, in order
        self.encoding = encoding  # the file's text encoding (CSV)
        self.ncols = len(cmap.columns)
        self.started = time.perf_counter()
        self.accounts = AccountKeys(conn, state)
        self.events: EventBatcher | None = None  # an events file's batcher, once it runs

    def utf8_reason(self, first: int, last: int) -> str:
        """The reject reason of the record on lines ``first..last`` holding invalid UTF-8."""
        return utf8_reason(self.bad_utf8, first, last)

    def run(self, text, delimiter: str) -> None:
        """Every row of ``text``: CSV text, or the rows of a JSON lines or Parquet file."""
        records = isinstance(text, RecordRows)
        if self.cmap.kind != "events":
            rows = text if records else rows_after_header(text, delimiter)
            EntityWriter(self).run(rows, 0 if records else rows.line_num)
            return
        # numpy and pyarrow load with the first events import, not with the package (the window
        # starts light).
        from seglab.core.importing.arrowpath import run_events
        from seglab.core.importing.events import EventBatcher

        # Events on Apache Arrow, written through a staging file (docs/performance.md, "Import");
        # False only with SEGLAB_IMPORT_EXACT=1: the exact path below alone.
        if run_events(self, text, delimiter):
            return
        self.events = events = EventBatcher(self)
        try:
            if records:
                self._record_batches(text, events)
            else:
                read_events(self, text, delimiter, events)
        finally:
            events.discard()  # the roll-up runs' file, if an error or a cancel came first

    def _record_batches(self, rows: RecordRows, events) -> None:
        """JSON lines and Parquet events (core/importing/readers.py), a batch of columns at a time."""
        for batch in rows.batches():
            for line, reason in batch.bad:
                self.state.rows_read += 1
                self.rejects.add(line, line, reason)
            if batch.ends:
                events.batch(batch.cols, batch.ends, batch.start, [line for line, _ in batch.bad])
            self.rejects.flush()
            self.report()
        events.close()

    def report(self) -> None:
        """Progress (and the chance to cancel) after each batch."""
        if self.progress.is_cancelled():
            raise Cancelled("cancelled")
        rows = self.state.rows_read
        elapsed = max(1e-6, time.perf_counter() - self.started)
        try:
            done = self.raw.tell()
        except (OSError, ValueError):
            done = 0
        done = self.size * SCAN_SHARE + min(done, self.size) * (1 - SCAN_SHARE)
        self.progress.report(done, self.size, f"{rows:,} rows, {rows / elapsed:,.0f} rows/s")

    def finish(self) -> None:
        """After the rows, in the same transaction: links, conflicts, times, search, statistics."""
        kind = self.cmap.kind
        if kind == "events":
            assert self.events is not None
            write_event_links(self.conn, self.state, self.events.links.latest())
        elif kind == "users":
            note_users_file_conflicts(self.conn, self.state)
        refresh_after_import(self.conn, kind)
