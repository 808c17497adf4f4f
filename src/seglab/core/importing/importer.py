"""The streaming, typed, atomic CSV importer.

One call imports one file in one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``):
an error, a cancel or a killed process leaves the project exactly as it was.
Rows stream through ``csv.reader`` in batches, so memory stays flat whatever the
file size. A row that cannot be read is rejected with its line numbers and a
reason (written to ``FILE.rejects.csv`` beside the project), never padded,
shifted or guessed.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import csv
import errno
import functools
import hashlib
import io
import itertools
import json
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seglab.core.errors import Cancelled, ImportFileError, UserError
from seglab.core.importing.mapping import ColumnMapping, normalise, property_names, resolve_mapping
from seglab.core.importing.readers import RecordError, RecordRows, shape_of, source_for, type_hints
from seglab.core.importing.shapes import shaped_mapping
from seglab.core.importing.sniff import (
    FIELD_LIMIT,
    FileSniff,
    check_columns,
    check_header,
    describe_binary,
    read_head,
    sniff_text,
)
from seglab.core.importing.timestamps import TimestampError, TimestampParser, looks_ambiguous, parse_column
from seglab.core.importing.types import CONVERTERS, convert_column, infer_type, unify, value_type, widen_sql
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.storage.schema import (
    SPARSE_SHARE,
    property_index_sql,
    refresh_people_text,
    refresh_statistics,
    sparse_property_index_sql,
    update_account_times,
)
from seglab.core.timeutil import DAY_MS, utc_now_iso

if TYPE_CHECKING:
    import numpy as np

csv.field_size_limit(FIELD_LIMIT)

BATCH_ROWS = 20_000
SCAN_SHARE = 0.1
READ_CHUNK = 2 * 1024 * 1024
TYPE_SAMPLE_ROWS = 1000
# SQLite allows 2,000 columns in a table; a few are SegLab's own (keys, times, flags).
MAX_PROPERTIES = 1_980
# Bytes a file that is not valid UTF-8 throughout became when decoded as UTF-8 regardless
# (surrogateescape): a row holding one is rejected, not stored with a replacement character.
_BAD_BYTE = re.compile("[\udc80-\udcff]")
ENTITY = {"events": "event", "users": "user", "accounts": "account"}
TABLE = {"events": "events", "users": "users", "accounts": "accounts"}


@dataclass(frozen=True)
class ImportReport:
    """What one import did. :meth:`to_json` is the contract's ``--json`` object."""

    file: str
    kind: str
    rows_read: int
    rows_imported: int
    rows_rejected: int
    rejects_file: str | None
    seconds: float
    committed: bool = True
    encoding: str = ""
    delimiter: str = ","
    mapping: Mapping[str, str] = field(default_factory=dict)
    properties: tuple[tuple[str, str], ...] = ()  # (name, type) of the file's property columns
    duplicates_skipped: int = 0
    new_users: int = 0
    new_accounts: int = 0
    account_conflicts: int = 0  # users of this file linked to more than one account
    account_conflicts_from_file: int = 0  # ... of whom the users file's account was kept
    reject_reasons: Mapping[str, int] = field(default_factory=dict)
    import_id: int | None = None
    format: str = "CSV"  # "CSV", "CSV (gzip)", "JSON lines", "Parquet"...
    shape: str | None = None  # "Mixpanel export", "Amplitude export"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "rows_rejected": self.rows_rejected,
            "rejects_file": self.rejects_file,
            "seconds": round(self.seconds, 3),
            "account_conflicts": self.account_conflicts,
        }

    def conflict_sentence(self) -> str:
        """What an import says about its account-link conflicts, naming the account kept."""
        n = self.account_conflicts
        kept_file, kept_event = self.account_conflicts_from_file, n - self.account_conflicts_from_file
        parts = []
        if kept_file:
            parts.append(f"the users file's account kept for {kept_file:,}")
        if kept_event:
            parts.append(f"the account on their latest event kept for {kept_event:,}")
        who = "user is" if n == 1 else "users are"
        return f"{n:,} {who} linked to more than one account ({'; '.join(parts)})"


@dataclass
class _Prop:
    index: int  # column index in the file
    name: str
    column: str  # p<N>
    type: str
    convert: Callable[[str], object]
    new: bool


# --------------------------------------------------------------------------- helpers


def _connection_and_dir(project_or_conn) -> tuple[sqlite3.Connection, Path]:
    conn = getattr(project_or_conn, "conn", project_or_conn)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError("import_file needs a Project or an sqlite3 connection")
    if getattr(project_or_conn, "readonly", False):
        raise UserError("the project is open read-only: cannot import into it")
    path = getattr(project_or_conn, "path", None)
    if path is None:
        row = next((r for r in conn.execute("PRAGMA database_list") if r[1] == "main"), None)
        path = row[2] if row and row[2] else os.getcwd() + "/project"
    return conn, Path(path).resolve().parent


def _utf8_damage(path: Path, give_up: int = 100) -> tuple[bool, list[tuple[int, int]]]:
    """Whether a file that is not valid UTF-8 throughout still is UTF-8 as a whole (it has at
    least as many valid multi-byte characters as invalid byte sequences), and the (line, byte
    offset from 1) of each invalid sequence. Stops counting once it is clearly another encoding."""
    bad: list[tuple[int, int]] = []
    multibyte = 0
    lines = 0  # line ends before the current piece
    base = 0  # file offset of the current piece
    tail = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(64 * 1024)
            piece = tail + chunk
            if not piece:
                break
            pos = 0
            while pos < len(piece):
                try:
                    text = piece[pos:].decode("utf-8")
                    end = len(piece)
                except UnicodeDecodeError as exc:
                    text = piece[pos : pos + exc.start].decode("utf-8")
                    end = pos + exc.start
                    if exc.end == len(piece) - pos and chunk and exc.reason == "unexpected end of data":
                        multibyte += len(text) - len(text.encode("ascii", "ignore"))
                        pos = end
                        break  # a character cut by the read: finish it with the next one
                    bad.append((lines + piece.count(b"\n", 0, end) + 1, base + end + 1))
                    end = pos + exc.end
                multibyte += len(text) - len(text.encode("ascii", "ignore"))
                pos = end
                if len(bad) > give_up and len(bad) > multibyte:
                    return False, bad
            lines += piece.count(b"\n", 0, pos)
            base += pos
            tail = piece[pos:]
            if not chunk:
                break
    return len(bad) <= multibyte, bad


class _HashingReader(io.RawIOBase):
    """The file as the import pass reads it, hashed on the way: what was imported is exactly what
    the duplicate check hashed, or the file changed meanwhile."""

    def __init__(self, fh):
        self.fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.fh.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
            self.size += n
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise io.UnsupportedOperation("the import pass only rewinds to the start")
        self.digest = hashlib.sha256()
        self.size = 0
        return self.fh.seek(0)

    def tell(self) -> int:
        return self.fh.tell()

    def finish(self) -> tuple[int, str]:
        """Read what the pass left (nothing, normally) and return (bytes read, sha256)."""
        while self.fh.read(1024 * 1024):
            pass
        return self.size, self.digest.hexdigest()


def _codec_name(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None  # said as "unknown text encoding" where the file is read


def _stat(path: Path) -> tuple:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _scan(path: Path, progress: Progress) -> tuple[str, bool, bool]:
    """sha256 of the content, whether it is all valid UTF-8, whether it holds NUL bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    has_nul = False
    size = path.stat().st_size
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
            if not has_nul and b"\x00" in chunk:
                has_nul = True
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            done += len(chunk)
            if progress.is_cancelled():
                raise Cancelled("cancelled")
            # The check is the first tenth of the bar; reading and writing rows the rest.
            progress.report(done * SCAN_SHARE, size, "checking the file")
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    return digest.hexdigest(), utf8_ok, has_nul


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"field longer than {FIELD_LIMIT // (1024 * 1024)} MiB (or a quote that is never closed)"
    if "unexpected end of data" in text:
        return "quote never closed before the end of the file"
    if "expected after" in text:
        return "stray quote: a quoted field must be followed by the delimiter"
    if "NUL" in text:
        return "NUL byte in the row"
    if isinstance(exc, RecordError):
        return text
    return f"unreadable row ({text})"


class _Rejects:
    """Rejected rows: kept as (first line, last line, reason) in a spool file, then
    written with their raw text once the import pass is over."""

    def __init__(self):
        self.count = 0
        self.reasons: Counter[str] = Counter()
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")
        self._writer = csv.writer(self._spool)
        self._pending: list[tuple[int, int, str]] = []

    def add(self, first: int, last: int, reason: str, category: str | None = None) -> None:
        self.count += 1
        self.reasons[category or reason.split(":")[0]] += 1
        self._pending.append((first, last, reason))

    def flush(self) -> None:
        """Spool the pending rejects in line order (a batch finds them out of order)."""
        if self._pending:
            self._pending.sort()
            self._writer.writerows(self._pending)
            self._pending.clear()

    def write(self, source: Path, encoding: str, target: Path, reader=None) -> None:
        """``reader``: the :class:`~seglab.core.importing.readers.Source` of a compressed, JSON lines
        or Parquet file (its text lines; Parquet rows as JSON objects)."""
        self.flush()
        self._spool.flush()
        self._spool.seek(0)
        spans: Iterator[list[str]] = csv.reader(self._spool)
        tmp = target.with_name(target.name + ".tmp")
        with (
            open(tmp, "w", encoding="utf-8", newline="") as out,
            (
                open(source, encoding=encoding, errors="replace", newline="")
                if reader is None
                else reader.open_text(encoding)
            ) as src,
        ):
            writer = csv.writer(out)
            writer.writerow(("line", "reason", "raw"))
            if reader is not None and reader.numbered_rows:
                for first_text, _last, reason in spans:
                    writer.writerow((first_text, reason, reader.raw_row(int(first_text))[:10_000]))
                spans = iter(())
            line_no = 0
            lines = iter(src)
            for first_text, last_text, reason in spans:
                first, last = int(first_text), int(last_text)
                raw_parts: list[str] = []
                while line_no < last:
                    line = next(lines, None)
                    if line is None:
                        break
                    line_no += 1
                    if line_no >= first:
                        if not raw_parts and not line.strip("\r\n"):
                            first = line_no + 1  # blank lines before the record are not part of it
                            continue
                        raw_parts.append(line)
                raw = "".join(raw_parts).rstrip("\r\n")
                if len(raw) > 10_000:
                    raw = raw[:10_000] + "…"
                writer.writerow((first, reason, raw.replace("\x00", "\\0")))
        os.replace(tmp, target)

    def close(self) -> None:
        self._spool.close()


# --------------------------------------------------------------------------- catalogue


def _next_column_number(conn: sqlite3.Connection, entity: str) -> int:
    numbers = [
        int(c[1:])
        for (c,) in conn.execute("SELECT column_name FROM properties WHERE entity = ?", (entity,))
        if c[1:].isdigit()
    ]
    return max(numbers, default=0) + 1


def _plan_properties(
    conn, entity: str, columns, used: set[int], sample: list[tuple[str, ...]], types: Mapping[str, str] | None
) -> list[_Prop]:
    existing = {
        name: (column, typ)
        for name, column, typ in conn.execute(
            "SELECT name, column_name, type FROM properties WHERE entity = ?", (entity,)
        )
    }
    next_n = _next_column_number(conn, entity)
    props = []
    for index, name in property_names(columns, used):
        values = [r[index] for r in sample if index < len(r)]
        inferred = infer_type(values)
        wanted = (types or {}).get(name)
        if wanted is not None and wanted not in CONVERTERS:
            raise ImportFileError(f"property {name!r}: unknown type {wanted!r} ({', '.join(CONVERTERS)})")
        if name in existing:
            column, stored = existing[name]
            typ = unify(stored, wanted or inferred or stored)
            props.append(_Prop(index, name, column, stored, CONVERTERS[stored], False))
            props[-1].type = typ  # widened (with stored values) when the transaction starts
        else:
            typ = wanted or inferred or "text"
            props.append(_Prop(index, name, f"p{next_n}", typ, CONVERTERS[typ], True))
            next_n += 1
    return props


def _apply_properties(conn, entity: str, props: list[_Prop]) -> None:
    table = {"event": "events", "user": "users", "account": "accounts"}[entity]
    position = conn.execute(
        "SELECT coalesce(max(position), 0) FROM properties WHERE entity = ?", (entity,)
    ).fetchone()[0]
    for prop in props:
        if prop.new:
            position += 1
            # The column name is our own p<N>; the header text only goes in as a bound value.
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {prop.column}")
            if entity != "event":
                conn.execute(property_index_sql(entity, prop.column))
            conn.execute(
                "INSERT INTO properties(entity, name, column_name, type, position) VALUES (?, ?, ?, ?, ?)",
                (entity, prop.name, prop.column, prop.type, position),
            )
            prop.convert = CONVERTERS[prop.type]
        else:
            stored = conn.execute(
                "SELECT type FROM properties WHERE entity = ? AND name = ?", (entity, prop.name)
            ).fetchone()[0]
            if stored != prop.type:
                _widen_column(conn, entity, prop, stored, prop.type)
            prop.convert = CONVERTERS[prop.type]


def _widen_column(conn, entity: str, prop: _Prop, old: str, new: str) -> None:
    table = {"event": "events", "user": "users", "account": "accounts"}[entity]
    expr = widen_sql(prop.column, old, new)
    if expr:
        conn.execute(f"UPDATE {table} SET {prop.column} = {expr} WHERE {prop.column} IS NOT NULL")
    conn.execute("UPDATE properties SET type = ? WHERE entity = ? AND name = ?", (new, entity, prop.name))
    prop.type = new
    prop.convert = CONVERTERS[new]


# --------------------------------------------------------------------------- the import


def import_file(project_or_conn, path, **options) -> ImportReport:
    """Import one CSV file into a project; return what happened (see :func:`_import_file`).

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
    """Import one CSV file into a project; return what happened.

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
    conn, project_dir = _connection_and_dir(project_or_conn)
    if conn.in_transaction:
        raise RuntimeError("import_file needs a connection without an open transaction")
    # A connected project reads its events from its source (docs/sources.md): the app's import
    # comes here too. (meta key 'source': seglab.core.engines.base.SOURCE_META_KEY)
    source = conn.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
    if source and source[0]:
        url = json.loads(source[0]).get("url", "its source")
        raise ImportFileError(
            f"this project reads its events from {url}; import does not apply to a connected project "
            "(nothing was changed)"
        )
    path = Path(path)
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
    before = _stat(path)
    if source is None:
        what = describe_binary(head)
        if what:
            raise ImportFileError(f"{name}: this looks like {what}")
        check_header(head, size, name)
        sha256, utf8_ok, has_nul = _scan(path, progress)
    else:
        sha256, utf8_ok, has_nul = source.scan(progress)
        head, complete = source.content_head()
    if not force:
        row = conn.execute(
            "SELECT file_name, imported_at FROM imports WHERE sha256 = ? ORDER BY import_id LIMIT 1",
            (sha256,),
        ).fetchone()
        if row:
            raise ImportFileError(
                f"{name}: the same content was already imported (as {row[0]} on {row[1]}); "
                "use --force to import it again"
            )
    bad_utf8: list[tuple[int, int]] = []
    utf8_asked = encoding is None or _codec_name(encoding) in ("utf-8", "utf-8-sig")
    if source is None and not utf8_ok and utf8_asked:
        # One bad byte does not make a UTF-8 file a legacy code page (every "é" would be
        # garbled): only its rows are rejected. A file that is not UTF-8 as a whole is decoded
        # with the encoding detected (or given).
        mostly_utf8, bad_utf8 = _utf8_damage(path)
        if encoding is None and head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif encoding is None:
            from seglab.core.importing.sniff import detect_encoding

            encoding = "utf-8" if mostly_utf8 else detect_encoding(head, full_scan_ok=False)
        if _codec_name(encoding) not in ("utf-8", "utf-8-sig"):
            bad_utf8 = []
    try:
        if source is None:
            sniff = sniff_text(
                path, head, size, encoding=encoding, delimiter=delimiter, sample_rows=TYPE_SAMPLE_ROWS
            )
        else:
            sniff = source.sniff(
                encoding=encoding,
                delimiter=delimiter,
                sample_rows=TYPE_SAMPLE_ROWS,
                head=head,
                complete=complete,
            )
    except LookupError:
        raise ImportFileError(f"{name}: unknown text encoding {encoding!r}") from None
    except UnicodeError as exc:  # e.g. utf-32 without a byte order mark
        raise ImportFileError(f"{name}: cannot be read as {encoding} ({exc}); nothing was imported") from None
    if sniff.encoding.startswith("utf-16"):
        has_nul = False  # NUL bytes are part of UTF-16 itself; the decoded text is checked per row below
    check_columns(sniff.columns, name)
    if not sniff.columns or not any(c.strip() for c in sniff.columns):
        raise ImportFileError(f"{name}: no column names on the first line (is the file blank?)")
    if not sniff.sample_rows and complete:
        raise ImportFileError(f"{name}: has column names but no data rows; nothing to import")
    # A Mixpanel or Amplitude export maps itself (core/importing/shapes.py); --map wins.
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
    tz = None
    if timezone:
        try:
            from zoneinfo import ZoneInfo

            tz = ZoneInfo(timezone)
        except Exception:
            raise ImportFileError(f"unknown time zone {timezone!r} (use a name like Europe/Berlin)") from None
    parse_ts = TimestampParser(date_format=date_format, tz=tz)
    if cmap.kind == "events" and date_format is None:
        ts_index = cmap.fields["timestamp"]
        filled = [r[ts_index] for r in sniff.sample_rows if ts_index < len(r) and r[ts_index].strip()]
        ambiguous = [v for v in filled if looks_ambiguous(v)]
        # Mostly day/month dates: the whole file needs a format. A stray few are just rejected.
        if ambiguous and len(ambiguous) * 2 >= len(filled):
            raise ImportFileError(
                f"{name}: column {cmap.columns[ts_index]!r} has dates like {ambiguous[0]!r} that could be "
                "day/month or month/day; give the format with --date-format (e.g. '%d/%m/%Y %H:%M')"
            )

    email_index = None
    if accounts_from_email and cmap.kind == "users" and "account_id" not in cmap.fields:
        email_index = next((i for i, c in enumerate(cmap.columns) if normalise(c) in EMAIL_COLUMNS), None)
        if email_index is None:
            raise ImportFileError(f"{name}: no email column to derive accounts from (looked for 'email')")
    entity = ENTITY[cmap.kind]
    used = set(cmap.fields.values())
    props = _plan_properties(conn, entity, cmap.columns, used, list(sniff.sample_rows), types)
    new = sum(p.new for p in props)
    have = conn.execute("SELECT count(*) FROM properties WHERE entity = ?", (entity,)).fetchone()[0]
    if new and have + new > MAX_PROPERTIES:
        raise ImportFileError(
            f"{name}: {new:,} new property columns would give the project {have + new:,} {entity} "
            f"properties, but it holds at most {MAX_PROPERTIES:,} (SQLite allows 2,000 columns in a "
            "table); import the file with fewer columns"
        )

    rejects = _Rejects()
    rejects_path = Path(rejects_dir).resolve() if rejects_dir else project_dir
    rejects_file = rejects_path / f"{name}.rejects.csv"
    state = _RunState()
    saved_pragmas = _import_pragmas(conn)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            rejects.close()
            raise _friendly_sqlite_error(exc) from None
        try:
            _apply_properties(conn, entity, props)
            with contextlib.ExitStack() as opened:
                hashing = None
                if source is None:
                    hashing = _HashingReader(opened.enter_context(open(path, "rb")))
                    raw = io.BufferedReader(hashing, READ_CHUNK)
                    errors = "surrogateescape" if bad_utf8 else "replace"
                    text = io.TextIOWrapper(raw, encoding=sniff.encoding, errors=errors, newline="")
                else:
                    raw, text = opened.enter_context(source.open_rows(sniff.encoding, BATCH_ROWS))
                runner = _KindRunner(
                    conn,
                    cmap,
                    props,
                    parse_ts,
                    rejects,
                    state,
                    progress,
                    raw,
                    size,
                    check_nul=has_nul or sniff.encoding.startswith("utf-16"),
                )
                runner.email_column = email_index
                runner.bad_utf8 = bad_utf8
                runner.encoding = sniff.encoding
                try:
                    runner.run(text, sniff.delimiter)
                except UnicodeError as exc:
                    raise ImportFileError(
                        f"{name}: cannot be read as {sniff.encoding} ({exc}); nothing was imported"
                    ) from None
                except csv.Error as exc:  # rows' errors are rejects; this is the header's
                    raise ImportFileError(
                        f"{name}: the first line (the column names) cannot be read: {_csv_reason(exc)}"
                    ) from None
                # A decompressing reader hashes the content in its scan, not here: for those
                # files the check is the file's identity, size and time.
                read = hashing.finish() if hashing is not None else (size, sha256)
            _unchanged(path, name, before, (size, sha256), read)
            if not state.rows_read:
                raise ImportFileError(f"{name}: has column names but no data rows; nothing to import")
            if progress.is_cancelled():
                raise Cancelled("cancelled")
            committed = not (strict and rejects.count)
            import_id = None
            if committed:
                progress.report(size, size, "updating the roll-ups")
                runner.finish()
                seconds = time.perf_counter() - started
                import_id = conn.execute(
                    "INSERT INTO imports(file_name, file_path, size, sha256, kind, mapping, rows_read, "
                    "rows_imported, rows_rejected, rejects_file, seconds, imported_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        str(path.resolve()),
                        size,
                        sha256,
                        cmap.kind,
                        json.dumps(
                            {
                                "fields": cmap.to_dict(),
                                "encoding": sniff.encoding,
                                "delimiter": sniff.delimiter,
                                "date_format": date_format,
                                "timezone": timezone,
                                "properties": {p.name: [p.column, p.type] for p in props},
                                "format": source.fmt.label if source else "CSV",
                                "shape": shape.name if shape else None,
                            },
                            ensure_ascii=False,
                        ),
                        state.rows_read,
                        state.rows_imported,
                        rejects.count,
                        str(rejects_file) if rejects.count else None,
                        seconds,
                        utc_now_iso(),
                    ),
                ).lastrowid
                conn.execute("COMMIT")
            else:
                conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            _rollback(conn)
            rejects.close()
            if "interrupted" in str(exc):
                raise Cancelled("cancelled") from None
            raise _friendly_sqlite_error(exc) from exc
        except BaseException:
            _rollback(conn)
            rejects.close()
            raise
    finally:
        for cleanup in state.after_transaction:
            cleanup()
        _restore_pragmas(conn, saved_pragmas)
    rejects_written: Path | None = None
    try:
        if rejects.count:
            try:
                rejects.write(path, sniff.encoding, rejects_file, source)
                rejects_written = rejects_file
            except OSError as exc:
                # The import itself is done; say where the rejects could not go.
                state.notes.append(f"could not write the rejects file ({exc.strerror or exc})")
    finally:
        rejects.close()
    return ImportReport(
        file=str(path),
        kind=cmap.kind,
        rows_read=state.rows_read,
        rows_imported=state.rows_imported if committed else 0,
        rows_rejected=rejects.count,
        rejects_file=str(rejects_written) if rejects_written else None,
        seconds=time.perf_counter() - started,
        committed=committed,
        encoding=sniff.encoding,
        delimiter=sniff.delimiter,
        mapping=cmap.to_dict(),
        properties=tuple((p.name, p.type) for p in props),
        format=source.fmt.label if source else "CSV",
        shape=shape.label if shape else None,
        duplicates_skipped=state.duplicates if committed else 0,
        new_users=state.new_users if committed else 0,
        new_accounts=state.new_accounts if committed else 0,
        account_conflicts=len(state.conflicts) if committed else 0,
        account_conflicts_from_file=state.conflicts_from_file if committed else 0,
        reject_reasons=dict(rejects.reasons),
        import_id=import_id,
    )


def _unchanged(path: Path, name: str, before: tuple, scanned: tuple[int, str], read: tuple[int, str]) -> None:
    """Refuse (the transaction is rolled back) when the file changed between the duplicate check
    and the end of the import pass: a file still being written would be stored half old, half new,
    under the size and hash of the old content."""
    try:
        now = _stat(path)
    except FileNotFoundError:
        raise ImportFileError(
            f"{name}: the file was deleted or moved during the import; nothing was imported"
        ) from None
    if now != before or read != scanned:
        raise ImportFileError(
            f"{name}: the file changed while it was being imported (is it still being written?); "
            "nothing was imported — import it again once it is complete"
        )


def _import_pragmas(conn: sqlite3.Connection) -> tuple[int, int]:
    """Memory-mapped reads would count the whole file in our memory use; a big import
    only needs a moderate page cache (appends in time order, sorted roll-up upserts)."""
    saved = (
        conn.execute("PRAGMA mmap_size").fetchone()[0],
        conn.execute("PRAGMA cache_size").fetchone()[0],
    )
    conn.execute("PRAGMA mmap_size = 0")
    conn.execute("PRAGMA cache_size = -32768")
    return saved


def _restore_pragmas(conn: sqlite3.Connection, saved: tuple[int, int]) -> None:
    try:
        conn.execute(f"PRAGMA mmap_size = {int(saved[0])}")
        conn.execute(f"PRAGMA cache_size = {int(saved[1])}")
    except sqlite3.Error:
        pass


def _friendly_sqlite_error(exc: sqlite3.OperationalError) -> Exception:
    """Say what a person can do about the common write failures; leave the rest as they are."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return UserError("the project is busy: another program is writing to it; nothing was imported")
    if "disk is full" in text or "disk full" in text:
        return UserError(
            "the disk is full (the project's disk, or the temporary folder TMPDIR); nothing was imported "
            "(free some space and import again)"
        )
    if "readonly" in text or "read-only" in text:
        return UserError("the project file cannot be written (read-only); nothing was imported")
    return exc


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


@dataclass
class _RunState:
    rows_read: int = 0
    rows_imported: int = 0
    duplicates: int = 0
    new_users: int = 0
    new_accounts: int = 0
    conflicts: set = field(default_factory=set)
    conflicts_from_file: int = 0  # of the conflicts, users whose users-file account was kept
    notes: list = field(default_factory=list)
    # Run once the transaction is over (committed or rolled back), e.g. detaching a staging file.
    after_transaction: list = field(default_factory=list)


def _no_flush() -> None:
    pass


class _KindRunner:
    """The row loop for one kind of file, and what has to follow it in the same transaction."""

    def __init__(
        self,
        conn,
        cmap: ColumnMapping,
        props: list[_Prop],
        parse_ts,
        rejects: _Rejects,
        state: _RunState,
        progress: Progress,
        raw,
        size: int,
        check_nul: bool,
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
        self.email_column: int | None = None
        # Flushes the pending rows before a column is widened; the users/accounts loop sets its own.
        self._flush: Callable[[], None] = _no_flush
        self.bad_utf8: list[tuple[int, int]] = []  # (line, byte offset) of invalid UTF-8, in order
        self.encoding = "utf-8"  # the file's text encoding (CSV)
        self.ncols = len(cmap.columns)
        self.started = time.perf_counter()
        # id -> key maps; file text that differs only by surrounding spaces maps to the same key.
        self.account_keys: dict[str, int] = dict(conn.execute("SELECT account_id, account_key FROM accounts"))
        self.next_account = conn.execute("SELECT coalesce(max(account_key), 0) + 1 FROM accounts").fetchone()[
            0
        ]
        self.new_accounts: list[tuple[int, str]] = []
        # Latest account seen on each user's events (index: user_key; -1 = none) and its time.
        import numpy as np

        self.link_ak = np.full(0, -1, dtype=np.int64)
        self.link_ts = np.zeros(0, dtype=np.int64)

    def utf8_reason(self, first: int, last: int) -> str:
        """The reject reason of the record on lines ``first..last`` holding invalid UTF-8."""
        i = bisect.bisect_left(self.bad_utf8, (first, 0))
        if i < len(self.bad_utf8) and self.bad_utf8[i][0] <= last:
            return f"not valid UTF-8 at byte {self.bad_utf8[i][1]:,}"
        return "not valid UTF-8"

    # -- ids
    def account_key(self, text: str) -> int | None:
        key = self.account_keys.get(text)
        if key is not None:
            return key
        clean = text.strip()
        if not clean:
            return None
        key = self.account_keys.get(clean)
        if key is None:
            key = self.next_account
            self.next_account += 1
            self.new_accounts.append((key, clean))
            self.state.new_accounts += 1
            self.account_keys[clean] = key
        self.account_keys[text] = key
        return key

    def flush_accounts(self) -> None:
        if self.new_accounts:
            self.conn.executemany(
                "INSERT INTO accounts(account_key, account_id) VALUES (?, ?)", self.new_accounts
            )
            self.new_accounts.clear()

    # -- the loop
    def run(self, text, delimiter: str) -> None:
        if self.cmap.kind == "events":
            # Events on Apache Arrow, written through a staging file (docs/performance.md, Import).
            from seglab.core.importing.arrowpath import run_events

            if run_events(self, text, delimiter):
                return
        if isinstance(text, RecordRows):
            self._records(text)
            return
        if self.cmap.kind == "events":
            self._events_fast(text, delimiter)
            return
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        for row in reader:  # the header (blank lines before it are skipped)
            if row:
                break
        self._entities(reader, reader.line_num)

    def _records(self, rows: RecordRows) -> None:
        """JSON lines and Parquet rows (core/importing/readers.py): events a batch of columns at a
        time, users and accounts through the same loop as CSV rows."""
        if self.cmap.kind != "events":
            self._entities(rows, 0)
            return
        events = _EventBatcher(self)
        try:
            for batch in rows.batches():
                for line, reason in batch.bad:
                    self.state.rows_read += 1
                    self.rejects.add(line, line, reason)
                if batch.ends:
                    events.batch(batch.cols, batch.ends, batch.start, [line for line, _ in batch.bad])
                self.rejects.flush()
                self._report()
            events.close()
        finally:
            events.discard()

    def _events_fast(self, text, delim: str) -> None:
        """Events, read a chunk of lines at a time.

        A chunk with no quotes, NUL bytes or lone CRs (most exports) is split with
        ``str.split``; if every line has the right number of delimiters the columns
        are plain slices of one list, with no per-row Python work. From the first
        chunk that needs real CSV parsing on, the rest of the file goes through
        ``csv.reader`` (quoted fields may span lines and chunks).
        """
        events = _EventBatcher(self)
        try:
            self._event_chunks(text, delim, events)
        finally:
            events.discard()  # the roll-up runs' file, if an error or a cancel came first

    def _event_chunks(self, text, delim: str, events: _EventBatcher) -> None:
        ncols = self.ncols
        first = text.read(READ_CHUNK)
        header = csv.reader(io.StringIO(first, newline=""), delimiter=delim, strict=True)
        try:
            for row in header:
                if row:
                    break
        except csv.Error:
            pass
        skipped = header.line_num
        pos = 0
        for _ in range(skipped):
            nl = first.find("\n", pos)
            pos = len(first) if nl < 0 else nl + 1
        if "\r" in first[:pos] and first[:pos].count("\r") != first[:pos].count("\r\n"):
            # Old Mac line ends: only csv.reader splits those right.
            text.seek(0)
            reader = csv.reader(text, delimiter=delim, strict=True)
            for row in reader:
                if row:
                    break
            self._events(reader, reader.line_num, events, 0)
            return
        rest = first[pos:]
        line_base = skipped
        want = ncols - 1
        while True:
            if self.progress.is_cancelled():
                raise Cancelled("cancelled")
            cut = rest.rfind("\n")
            if cut < 0 or len(rest) < READ_CHUNK // 2:
                more = text.read(READ_CHUNK)
                if more:
                    rest += more
                    continue
                if not rest:
                    break
                body, rest = rest + "\n", ""
            else:
                body, rest = rest[: cut + 1], rest[cut + 1 :]
            if "\r" in body:
                crlf = body.replace("\r\n", "\n")
                if "\r" not in crlf:
                    body = crlf
            if '"' in body or "\x00" in body or "\r" in body:
                stream = itertools.chain(io.StringIO(body + rest + text.readline(), newline=""), text)
                reader = csv.reader(stream, delimiter=delim, strict=True)
                self._events(reader, 0, events, line_base)
                return
            lines = body[:-1].split("\n")
            counts = list(map(str.count, lines, itertools.repeat(delim, len(lines))))
            if counts.count(want) == len(lines) and max(map(len, lines)) <= FIELD_LIMIT:
                fields = delim.join(lines).split(delim)
                cols = [fields[k::ncols] for k in range(ncols)]
                ends = list(range(line_base + 1, line_base + len(lines) + 1))
                early: list[int] = []
            else:
                good = []
                early = []
                for i, (line, count) in enumerate(zip(lines, counts)):
                    if count == want and len(line) <= FIELD_LIMIT:
                        good.append(i)
                    elif line:
                        self.state.rows_read += 1
                        reason = (
                            f"field longer than {FIELD_LIMIT // (1024 * 1024)} MiB"
                            if count == want
                            else f"wrong number of fields: {count + 1} instead of {ncols}"
                        )
                        self.rejects.add(line_base + i + 1, line_base + i + 1, reason, reason.split(":")[0])
                        early.append(line_base + i + 1)
                fields = delim.join([lines[i] for i in good]).split(delim) if good else []
                cols = [fields[k::ncols] for k in range(ncols)]
                ends = [line_base + i + 1 for i in good]
            if ends:
                events.batch(cols, ends, line_base, early)
            line_base += len(lines)
            self.rejects.flush()
            self._report()
        events.close()

    def _csv_error(self, reader, line: int, exc: csv.Error) -> int:
        self.state.rows_read += 1
        self.rejects.add(line + 1, max(line + 1, reader.line_num), _csv_reason(exc))
        return reader.line_num

    def _report(self) -> None:
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

    def _convert_slow(self, prop: _Prop, text: str, table: str):
        """A value the column's type does not hold: strip it, else widen the column."""
        stripped = text.strip()
        if not stripped:
            return None
        try:
            return prop.convert(stripped)
        except ValueError:
            pass
        new = unify(prop.type, value_type(stripped))
        if new == prop.type:
            new = "text"
        self._flush()
        _widen_column(self.conn, ENTITY[self.cmap.kind], prop, prop.type, new)
        return prop.convert(stripped)

    def _events(self, reader, prev_line: int, events: _EventBatcher, offset: int) -> None:
        """Events through ``csv.reader``: rows of the right width go into a batch; everything
        else happens per batch. ``offset`` is added to the reader's line numbers."""
        ncols = self.ncols
        rejects = self.rejects
        state = self.state
        rows: list[list[str]] = []
        ends: list[int] = []
        batch_start = prev_line + offset  # last line before the current batch
        last_end = prev_line + offset  # last line of the latest record (kept or rejected)
        early: list[int] = []  # ends of rejected records inside the current batch
        while True:
            try:
                for row in reader:
                    if len(row) == ncols:
                        rows.append(row)
                        ends.append(reader.line_num + offset)
                        if len(rows) >= BATCH_ROWS:
                            events.batch(list(zip(*rows)), ends, batch_start, early)
                            batch_start = last_end = ends[-1]
                            rows, ends, early = [], [], []
                            rejects.flush()
                            self._report()
                    elif row:
                        state.rows_read += 1
                        last_end = max(last_end, ends[-1] if ends else batch_start)
                        rejects.add(
                            last_end + 1,
                            (reader.line_num + offset),
                            f"wrong number of fields: {len(row)} instead of {ncols}",
                            "wrong number of fields",
                        )
                        last_end = reader.line_num + offset
                        early.append(last_end)
                break
            except csv.Error as exc:
                state.rows_read += 1
                last_end = max(last_end, ends[-1] if ends else batch_start)
                rejects.add(last_end + 1, max(last_end + 1, (reader.line_num + offset)), _csv_reason(exc))
                last_end = reader.line_num + offset
                early.append(last_end)
        if rows:
            events.batch(list(zip(*rows)), ends, batch_start, early)
        rejects.flush()
        events.close()

    def _entities(self, reader, prev_line: int) -> None:
        conn = self.conn
        kind = self.cmap.kind
        fields = self.cmap.fields
        ncols = self.ncols
        rejects = self.rejects
        state = self.state
        props = self.props
        check_nul = self.check_nul
        id_field = "user_id" if kind == "users" else "account_id"
        iid = fields[id_field]
        ia = fields.get("account_id") if kind == "users" else None
        iemail = self.email_column if kind == "users" and ia is None else None
        table = TABLE[kind]
        id_col = "user_id" if kind == "users" else "account_id"
        cols = [id_col, *(p.column for p in props)]
        updates = [f"{p.column} = coalesce(excluded.{p.column}, {p.column})" for p in props]
        if kind == "users":
            cols += ["account_key", "account_from_file"]
            # A derived (email-domain) link never replaces an account named in a users file.
            updates += [
                "account_key = CASE WHEN excluded.account_from_file = 1 OR account_from_file = 0 "
                "THEN coalesce(excluded.account_key, account_key) ELSE account_key END",
                "account_from_file = max(account_from_file, excluded.account_from_file)",
            ]
            existing_links = dict(
                conn.execute("SELECT user_id, account_key FROM users WHERE account_key IS NOT NULL")
            )
            known_users = set(existing_links) | {
                u for (u,) in conn.execute("SELECT user_id FROM users WHERE account_key IS NULL")
            }
        else:
            cols += ["from_file"]
            updates += ["from_file = 1"]
            known_users = set(self.account_keys)
            existing_links = {}
        sql = (
            f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT({id_col}) DO UPDATE SET {', '.join(updates)}"
        )
        batch: list[list] = []

        def flush() -> None:
            self.flush_accounts()
            if batch:
                conn.executemany(sql, batch)
                state.rows_imported += len(batch)
                batch.clear()

        self._flush = flush
        line = prev_line
        while True:
            try:
                for row in reader:
                    if len(row) != ncols:
                        if not row:
                            line = reader.line_num
                            continue
                        state.rows_read += 1
                        rejects.add(
                            line + 1,
                            reader.line_num,
                            f"wrong number of fields: {len(row)} instead of {ncols}",
                        )
                        line = reader.line_num
                        continue
                    state.rows_read += 1
                    if check_nul and "\x00" in "".join(row):
                        rejects.add(line + 1, reader.line_num, "NUL byte in the row")
                        line = reader.line_num
                        continue
                    if self.bad_utf8 and _BAD_BYTE.search("".join(row)):
                        why = self.utf8_reason(line + 1, reader.line_num)
                        rejects.add(line + 1, reader.line_num, why, "not valid UTF-8")
                        line = reader.line_num
                        continue
                    ident = row[iid].strip()
                    if not ident:
                        rejects.add(line + 1, reader.line_num, f"no {id_field.replace('_', ' ')}")
                        line = reader.line_num
                        continue
                    if kind == "accounts":
                        # Registers the id (from_file = 0 for now; the upsert sets it to 1).
                        if ident not in self.account_keys:
                            self.account_key(ident)
                            self.flush_accounts()
                    elif ident not in known_users:
                        known_users.add(ident)
                        state.new_users += 1
                    record: list = [ident]
                    for prop in props:
                        text = row[prop.index]
                        if text:
                            try:
                                record.append(prop.convert(text))
                            except ValueError:
                                record.append(self._convert_slow(prop, text, table))
                        else:
                            record.append(None)
                    if kind == "users":
                        ak = None
                        if ia is not None and row[ia].strip():
                            ak = self.account_key(row[ia])
                            old = existing_links.get(ident)
                            if old is not None and old != ak:
                                state.conflicts.add(ident)
                            existing_links[ident] = ak
                            record += [ak, 1]
                        elif iemail is not None:
                            domain = email_domain(row[iemail])
                            ak = self.account_key(domain) if domain else None
                            record += [ak, 0]
                        else:
                            record += [None, 0]
                    else:
                        record.append(1)
                    batch.append(record)
                    line = reader.line_num
                    if len(batch) >= BATCH_ROWS:
                        flush()
                        self._report()
                break
            except csv.Error as exc:
                line = self._csv_error(reader, line, exc)
        flush()

    # -- after the loop, same transaction
    def finish(self) -> None:
        conn = self.conn
        if self.cmap.kind == "events":
            self._finish_links()
        elif self.cmap.kind == "users" and self.state.conflicts:
            keys = [
                (k,)
                for (k,) in (
                    conn.execute("SELECT user_key FROM users WHERE user_id = ?", (uid,)).fetchone()
                    for uid in self.state.conflicts
                )
            ]
            conn.executemany("INSERT OR IGNORE INTO account_link_conflicts(user_key) VALUES (?)", keys)
            self.state.conflicts_from_file = len(self.state.conflicts)  # a users file's link always wins
        update_account_times(conn)
        # People search (seglab.core.search) sees the new ids and names.
        refresh_people_text(conn, new_ids_only=self.cmap.kind == "events")
        refresh_statistics(conn)

    def _finish_links(self) -> None:
        import numpy as np

        conn = self.conn
        linked = np.flatnonzero(self.link_ak >= 0)
        links = dict(zip(linked.tolist(), zip(self.link_ts[linked].tolist(), self.link_ak[linked].tolist())))
        if links:
            current = {
                k: a
                for k, a in conn.execute(
                    "SELECT user_key, account_key FROM users WHERE account_key IS NOT NULL"
                )
            }
            conflicts = self.state.conflicts
            for uk, (_ts, ak) in links.items():
                old = current.get(uk)
                if old is not None and old != ak:
                    conflicts.add(uk)
            conn.executemany(
                "UPDATE users SET account_key = ?, account_link_ts = ? WHERE user_key = ? "
                "AND account_from_file = 0 AND (account_link_ts IS NULL OR account_link_ts <= ?)",
                [(ak, ts, uk, ts) for uk, (ts, ak) in links.items()],
            )
        if self.state.conflicts:
            conn.executemany(
                "INSERT OR IGNORE INTO account_link_conflicts(user_key) VALUES (?)",
                [(k,) for k in self.state.conflicts],
            )
            self.state.conflicts_from_file = conn.execute(
                "SELECT count(*) FROM users WHERE account_from_file = 1 AND user_key IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps(sorted(self.state.conflicts)),),
            ).fetchone()[0]


def _write_rows(
    conn: sqlite3.Connection, head: str, tail: str, width: int, flat: list, max_params: int
) -> None:
    """Execute ``head VALUES (...), (...) tail`` over ``flat`` (``width`` values per row).

    Statements are as long as SQLite's parameter limit allows: at 1M events that is a
    few hundred statements instead of thousands (7 % less CPU than 500 rows each). What is
    left over goes in statements of a few fixed lengths, because the connection caches every
    statement it compiles and one of thousands of rows takes about a megabyte: one per
    leftover length added ~50 MB to the peak at 5M events.
    """
    per = max(1, max_params // width)
    step = per * width
    full = len(flat) // step * step
    if full:
        sql = _multirow_sql(head, width, per, tail)
        conn.executemany(sql, [flat[j : j + step] for j in range(0, full, step)])
    pos = full
    for rows in (1024, 128, 16, 1):
        size = rows * width
        if rows < per and len(flat) - pos >= size:
            end = pos + (len(flat) - pos) // size * size
            sql = _multirow_sql(head, width, rows, tail)
            conn.executemany(sql, [flat[j : j + size] for j in range(pos, end, size)])
            pos = end


def _max_params(conn: sqlite3.Connection) -> int:
    """Bound parameters per statement: SQLite's limit (32766 by default since 3.32, 999 before),
    at most 32766 so that a statement stays around a megabyte."""
    return max(1, min(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 32766))


@functools.lru_cache(maxsize=32)
def _multirow_sql(head: str, width: int, rows: int, tail: str = "") -> str:
    one = "(" + ", ".join("?" * width) + ")"
    return f"{head} VALUES {', '.join([one] * rows)}{tail}"


def _assign_new_keys(
    keys: list, raw_ids: list[str], known: dict[str, int], next_key: int
) -> tuple[list[tuple[int, str]], int]:
    """Fill the ``None`` entries of ``keys`` in place from ``raw_ids``.

    An id already known once stripped reuses its key; a new one gets ``next_key``, ``next_key + 1``...
    The raw spelling is remembered too, so the next batch finds it with one dict lookup.
    Returns the new ``(key, id)`` pairs to insert and the next free key.
    """
    new: list[tuple[int, str]] = []
    if None not in keys:
        return new, next_key
    for i, k in enumerate(keys):
        if k is None:
            raw = raw_ids[i]
            clean = raw.strip()
            k = known.get(clean)
            if k is None:
                k = next_key
                next_key += 1
                new.append((k, clean))
                known[clean] = k
            known[raw] = k
            keys[i] = k
    return new, next_key


class _EventBatcher:
    """Turns batches of raw event rows into typed, keyed rows, inserts them and keeps
    the per-day roll-up, users' first/last times and account links up to date.

    Columns are processed a batch at a time (ids through dict lookups, timestamps
    through numpy), which is what makes the import fast enough; a batch with
    unusual cells falls back to cell-by-cell parsing with the same results.
    """

    # Pending per-day rows aggregated into a run on disk when this many accumulate, and users
    # merged back from the runs about this many rows at a time (both bound the memory).
    DAYS_FLUSH_ROWS = 600_000
    MERGE_ROWS = 500_000

    def __init__(self, runner: _KindRunner):
        import numpy as np

        self.r = runner
        conn = self.conn = runner.conn
        self.sparse_pending = {p.column for p in runner.props}  # decided once values show up
        fields = runner.cmap.fields
        self.iu, self.ie, self.it = fields["user_id"], fields["event"], fields["timestamp"]
        self.ia, self.ii = fields.get("account_id"), fields.get("insert_id")
        self.user_keys: dict[str, int] = dict(conn.execute("SELECT user_id, user_key FROM users"))
        self.next_user = conn.execute("SELECT coalesce(max(user_key), 0) + 1 FROM users").fetchone()[0]
        self.event_keys: dict[str, int] = dict(conn.execute("SELECT name, event_key FROM event_names"))
        self.next_event = conn.execute("SELECT coalesce(max(event_key), 0) + 1 FROM event_names").fetchone()[
            0
        ]
        columns = ["ts", "user_key", "event_key"]
        if self.ia is not None:
            columns.append("account_key")
        if self.ii is not None:
            columns.append("insert_id")
        columns += [p.column for p in runner.props]
        self.width = len(columns)
        self.max_params = _max_params(conn)
        self.head = f"INSERT INTO events({', '.join(columns)})"
        self.days_parts: list[tuple] = []
        self.days_rows = 0
        self.runs: _Runs | None = None
        # Users' first and last event seen by this import (indexed by user key; -1: none yet),
        # written to users once at the end: one UPDATE per user instead of one per user and
        # flush, each also moving two index entries (users(first_ts), users(last_ts)).
        self.first_of = np.full(0, -1, dtype=np.int64)
        self.last_of = np.full(0, -1, dtype=np.int64)

    def batch(self, cols: list, ends: list[int], batch_start: int, early: list[int]) -> None:
        """Process one batch: ``cols`` are the file's columns (equal-length sequences of
        cells), ``ends`` the last line of each record, ``early`` the ends of records
        already rejected inside the batch (for exact line spans)."""
        import numpy as np

        r = self.r
        state = r.state
        n = len(ends)
        state.rows_read += n
        bad: dict[int, tuple[str, str | None]] = {}
        if r.check_nul:
            for col in cols:
                if "\x00" in "".join(col):
                    for i, v in enumerate(col):
                        if "\x00" in v:
                            bad[i] = ("NUL byte in the row", None)
        if r.bad_utf8:
            for col in cols:
                if _BAD_BYTE.search("".join(col)):
                    for i, v in enumerate(col):
                        if _BAD_BYTE.search(v):
                            bad.setdefault(i, ("", "not valid UTF-8"))  # the reason needs the lines
        user_keys, event_keys = self.user_keys, self.event_keys
        uid_col = cols[self.iu]
        uks = list(map(user_keys.get, uid_col))
        if None in uks:
            for i, k in enumerate(uks):
                if k is None and not uid_col[i].strip():
                    bad.setdefault(i, ("no user id", None))
        ts_col = cols[self.it]
        tss, reasons = parse_column(ts_col, r.parse_ts)
        for i, why in reasons.items():
            bad.setdefault(i, (f"bad timestamp {ts_col[i][:40]!r}: {why}", "bad timestamp"))
        name_col = cols[self.ie]
        eks = list(map(event_keys.get, name_col))
        if None in eks:
            for i, k in enumerate(eks):
                if k is None and not name_col[i].strip():
                    bad.setdefault(i, ("no event name", None))
        if bad:
            for i in sorted(bad):
                start = ends[i - 1] if i else batch_start
                j = bisect.bisect_left(early, ends[i])
                if j:
                    start = max(start, early[j - 1])
                reason, category = bad[i]
                r.rejects.add(start + 1, ends[i], reason or r.utf8_reason(start + 1, ends[i]), category)
            keep = [i for i in range(n) if i not in bad]
            cols = [[c[i] for i in keep] for c in cols]
            uks = [uks[i] for i in keep]
            eks = [eks[i] for i in keep]
            tss = [tss[i] for i in keep]
            n = len(keep)
            if not n:
                return
        new_users, self.next_user = _assign_new_keys(uks, cols[self.iu], user_keys, self.next_user)
        new_events, self.next_event = _assign_new_keys(eks, cols[self.ie], event_keys, self.next_event)
        out = [tss, uks, eks]
        aks = None
        if self.ia is not None:
            acc_col = cols[self.ia]
            aks = list(map(r.account_keys.get, acc_col))
            if None in aks:
                for i, k in enumerate(aks):
                    if k is None and acc_col[i]:
                        aks[i] = r.account_key(acc_col[i])
            out.append(aks)
        if self.ii is not None:
            ids = [v.strip() or None for v in cols[self.ii]]
            keep = self._new_insert_ids(ids)
            if len(keep) < n:
                state.duplicates += n - len(keep)
                out = [[c[i] for i in keep] for c in out]
                cols = [[c[i] for i in keep] for c in cols]
                tss, uks, eks = out[0], out[1], out[2]
                aks = None if aks is None else out[3]
                ids = [ids[i] for i in keep]
                n = len(keep)
                if not n:
                    return
            out.append(ids)
        for prop in r.props:
            out.append(self._convert(prop, cols[prop.index]))
        if self.sparse_pending:
            self._sparse_indexes(out[len(out) - len(r.props) :], n)

        conn = self.conn
        for head, pairs in (
            ("INSERT INTO users(user_key, user_id)", new_users),
            ("INSERT INTO event_names(event_key, name)", new_events),
        ):
            if pairs:
                _write_rows(conn, head, "", 2, list(itertools.chain.from_iterable(pairs)), self.max_params)
        state.new_users += len(new_users)
        r.flush_accounts()
        self._write_events(out)
        state.rows_imported += n

        ts_a = np.array(tss, dtype=np.int64)
        if aks is not None:
            self._links(uks, aks, ts_a, np)
        self._roll_up(np.array(uks, dtype=np.int64), np.array(eks, dtype=np.int64), ts_a, np)

    def _write_events(self, out: list) -> None:
        """Insert a batch of typed event columns (``out``: ts, keys, insert ids, properties)."""
        flat = list(itertools.chain.from_iterable(zip(*out)))
        _write_rows(self.conn, self.head, "", self.width, flat, self.max_params)

    def _sparse_indexes(self, values: list, n: int) -> None:
        """Give a numeric property its partial index (``storage.schema.sparse_property_index_sql``)
        when the first batch holding its values shows it sparse, before those rows go in: the
        index then grows with the import instead of being built over the table afterwards."""
        for prop, column in zip(self.r.props, values):
            if prop.column not in self.sparse_pending:
                continue
            present = n - column.count(None)
            if not present:
                continue
            self.sparse_pending.discard(prop.column)
            if prop.type in ("integer", "real") and present <= SPARSE_SHARE * n:
                self.conn.execute(sparse_property_index_sql(prop.column))

    def _new_insert_ids(self, ids: list) -> list[int]:
        """Indexes of the rows to keep: no id, or an id seen neither before nor earlier in the batch."""
        listed = sorted({i for i in ids if i is not None})
        known: set = set()
        for lo in range(0, len(listed), 500):
            part = listed[lo : lo + 500]
            known.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT insert_id FROM events WHERE insert_id IN ({', '.join('?' * len(part))})", part
                )
            )
        keep = []
        for i, value in enumerate(ids):
            if value is None:
                keep.append(i)
            elif value not in known:
                known.add(value)
                keep.append(i)
        return keep

    def _convert(self, prop: _Prop, values) -> list:
        for _ in range(len(CONVERTERS)):
            try:
                return convert_column(prop.type, values)
            except ValueError:
                pass
            result: list = []
            wider = prop.type
            for v in values:
                if not v:
                    result.append(None)
                    continue
                try:
                    result.append(prop.convert(v))
                    continue
                except ValueError:
                    pass
                stripped = v.strip()
                if not stripped:
                    result.append(None)
                    continue
                try:
                    result.append(prop.convert(stripped))
                except ValueError:
                    wider = unify(wider, value_type(stripped))
                    if wider == prop.type:
                        wider = "text"
                    result.append(None)
            if wider == prop.type:
                return result
            _widen_column(self.conn, "event", prop, prop.type, wider)
        raise AssertionError("widening did not settle")  # text takes everything

    def _links(self, uks, aks, ts_a, np) -> None:
        """Keep each user's latest account (and its time); note users seen with two accounts."""
        r = self.r
        ak_a = np.array([-1 if a is None else a for a in aks] if None in aks else aks, dtype=np.int64)
        uk_a = np.array(uks, dtype=np.int64)
        has = ak_a >= 0
        if not has.all():
            uk_a, ak_a, ts_a = uk_a[has], ak_a[has], ts_a[has]
        if not len(uk_a):
            return
        # Users with two accounts inside this batch.
        pairs = np.unique((uk_a << 32) | ak_a)
        pair_users = pairs >> 32
        dup = pair_users[1:] == pair_users[:-1]
        if dup.any():
            r.state.conflicts.update(pair_users[1:][dup].tolist())
        # The latest row per user (ties: the later row, as a file in time order would say).
        order = np.lexsort((np.arange(len(uk_a)), ts_a, uk_a))
        u, t, a = uk_a[order], ts_a[order], ak_a[order]
        last = np.flatnonzero(np.concatenate((u[1:] != u[:-1], [True])))
        u, t, a = u[last], t[last], a[last]
        size = int(u.max()) + 1
        r.link_ak = _grown(np, r.link_ak, size, -1)
        r.link_ts = _grown(np, r.link_ts, size, 0)
        cur_a, cur_t = r.link_ak[u], r.link_ts[u]
        clash = (cur_a >= 0) & (cur_a != a)
        if clash.any():
            r.state.conflicts.update(u[clash].tolist())
        take = (cur_a < 0) | (t >= cur_t)
        r.link_ak[u[take]] = a[take]
        r.link_ts[u[take]] = t[take]

    def _roll_up(self, uk, ek, ts, np) -> None:
        day = ts // DAY_MS
        parts = _aggregate(np, uk, ek, day, np.ones(len(ts), dtype=np.int64), ts, ts)
        # Compact types: a pending roll-up row costs 32 bytes instead of 48.
        self.days_parts.append(tuple(a.astype(np.int32) for a in parts[:4]) + parts[4:])
        self.days_rows += len(parts[0])
        if self.days_rows >= self.DAYS_FLUSH_ROWS:
            self.flush_days()

    def _take_pending(self) -> tuple | None:
        """The pending per-day rows as one aggregate sorted by (user, event, day); none pending: None."""
        import numpy as np

        if not self.days_parts:
            return None
        merged = [np.concatenate(c) for c in zip(*self.days_parts)]
        self.days_parts, self.days_rows = [], 0
        return _aggregate(np, *merged)

    def flush_days(self) -> None:
        """Aggregate the pending per-day rows into a sorted run on disk (see :class:`_Runs`)."""
        pending = self._take_pending()
        if pending is not None:
            if self.runs is None:
                self.runs = _Runs()
            self.runs.add(pending)

    def write_roll_ups(self) -> None:
        """Upsert everything this import rolled up, a range of users at a time (in key order)."""
        import numpy as np

        if self.runs is None:  # it all fits in one aggregate: no file
            pending = self._take_pending()
            if pending is not None:
                self._apply_days(*pending)
            return
        self.flush_days()
        self.r.progress.report(self.r.size, self.r.size, "updating the roll-ups")
        try:
            for columns in self.runs.ranges(self.MERGE_ROWS):
                if self.r.progress.is_cancelled():
                    raise Cancelled("cancelled")
                self._apply_days(*_aggregate(np, *columns))
        finally:
            self.discard()

    def discard(self) -> None:
        if self.runs is not None:
            self.runs.close()
            self.runs = None

    def _apply_days(self, uk, ek, day, cnt, first, last) -> None:
        """Upsert one aggregate (sorted by user, event, day) into the four roll-ups; note users' times."""
        import numpy as np

        self._upsert(
            "INSERT INTO user_days(user_key, event_key, day, n, first_ts, last_ts)",
            " ON CONFLICT(user_key, event_key, day) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            (uk, ek, day, cnt, first, last),
        )
        # The per-(event, user) totals from the same aggregate (it is sorted by user, event,
        # day), upserted in the table's (event, user) order.
        starts = np.flatnonzero(np.concatenate(([True], (uk[1:] != uk[:-1]) | (ek[1:] != ek[:-1]))))
        totals = (
            ek[starts],
            uk[starts],
            np.add.reduceat(cnt, starts),
            np.minimum.reduceat(first, starts),
            np.maximum.reduceat(last, starts),
        )
        order, _ = _grouped(np, (totals[0], totals[1]))
        self._upsert(
            "INSERT INTO user_events(event_key, user_key, n, first_ts, last_ts)",
            " ON CONFLICT(event_key, user_key) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            tuple(a[order] for a in totals),
        )
        del totals, order
        # Everyone's events per (event, day), from the same aggregate regrouped.
        order, starts = _grouped(np, (ek, day))
        e_s, d_s = ek[order], day[order]
        self._upsert(
            "INSERT INTO event_days(event_key, day, n, first_ts, last_ts)",
            " ON CONFLICT(event_key, day) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            (
                e_s[starts],
                d_s[starts],
                np.add.reduceat(cnt[order], starts),
                np.minimum.reduceat(first[order], starts),
                np.maximum.reduceat(last[order], starts),
            ),
        )
        del order, e_s, d_s, ek
        # The any-event roll-up (per user and day) from the same aggregate: its rows are
        # exactly this flush's new user_days rows summed over event names, so it touches only
        # the affected users and days and never reads raw events.
        uk, day, cnt, first, last = _aggregate_days(np, uk, day, cnt, first, last)
        self._upsert(
            "INSERT INTO user_active_days(user_key, day, n, first_ts, last_ts)",
            " ON CONFLICT(user_key, day) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            (uk, day, cnt, first, last),
        )
        # Users' first and last event, from the (smaller) per-day aggregate.
        starts = np.flatnonzero(np.concatenate(([True], uk[1:] != uk[:-1])))
        users = uk[starts].astype(np.int64)
        mins = np.minimum.reduceat(first, starts)
        maxs = np.maximum.reduceat(last, starts)
        if users.size:
            self.first_of = _grown(np, self.first_of, int(users.max()) + 1, -1)
            self.last_of = _grown(np, self.last_of, int(users.max()) + 1, -1)
        seen = self.first_of[users] >= 0
        self.first_of[users] = np.where(seen, np.minimum(self.first_of[users], mins), mins)
        self.last_of[users] = np.maximum(self.last_of[users], maxs)

    def write_first_last(self) -> None:
        import numpy as np

        users = np.flatnonzero(self.first_of >= 0)
        firsts, lasts = self.first_of[users].tolist(), self.last_of[users].tolist()
        self.conn.executemany(
            "UPDATE users SET first_ts = min(coalesce(first_ts, ?), ?), "
            "last_ts = max(coalesce(last_ts, ?), ?) WHERE user_key = ?",
            [(a, a, b, b, u) for u, a, b in zip(users.tolist(), firsts, lasts)],
        )

    def _upsert(self, head: str, tail: str, columns: tuple) -> None:
        """Multi-row upserts of parallel numpy columns."""
        import numpy as np

        # Python ints cost ~36 bytes each: convert a few statements' worth at a time.
        step = 4 * max(1, self.max_params // len(columns))
        for lo in range(0, len(columns[0]), step):
            flat = np.column_stack([a[lo : lo + step] for a in columns]).ravel().tolist()
            _write_rows(self.conn, head, tail, len(columns), flat, self.max_params)

    def close(self) -> None:
        self.write_roll_ups()
        self.write_first_last()


class _Runs:
    """Sorted runs of roll-up rows spilled to a temporary file, read back a range of users at a time.

    Upserting each flush straight into the roll-up tables (clustered by user) touched nearly every
    page of them per flush; once they outgrew the page cache (at 5M events ``user_days`` is
    ~110 MB) every flush re-read and re-wrote them, and the upserts took 17 s instead of ~7.
    Written once at the end, a range of users at a time, every page is visited once, in order
    (appends when the tables start empty).
    """

    DTYPES = ("int32", "int32", "int32", "int64", "int64", "int64")  # user, event, day, n, first, last

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="seglab-rollup-")
        self.runs: list[tuple[list[int], np.ndarray]] = []  # each run's column offsets and its user column

    def add(self, columns: tuple) -> None:
        """Append one aggregate (columns sorted by user, event, day)."""
        import numpy as np

        offsets = []
        for array, dtype in zip(columns, self.DTYPES):
            offsets.append(self.file.seek(0, os.SEEK_END))
            self.file.write(np.ascontiguousarray(array, dtype=dtype).tobytes())
        self.runs.append((offsets, np.asarray(columns[0], dtype=np.int32)))

    def ranges(self, rows: int):
        """The runs' rows of successive user-key ranges of about ``rows`` rows, as column tuples."""
        import numpy as np

        users = np.concatenate([user_col for _, user_col in self.runs])
        per_user = np.bincount(users).cumsum()
        del users
        # Last user key of each range: where the running row count passes a multiple of ``rows``.
        edges = np.unique(np.searchsorted(per_user, np.arange(rows, per_user[-1], rows)))
        bounds = [*(int(e) + 1 for e in edges), len(per_user)]
        lo = 0
        for hi in bounds:
            if hi <= lo:
                continue
            parts = []
            for offsets, user_col in self.runs:
                a, b = np.searchsorted(user_col, (lo, hi))
                if b > a:
                    parts.append([self._read(offsets[k], dtype, a, b) for k, dtype in enumerate(self.DTYPES)])
            if parts:
                yield tuple(np.concatenate(c) for c in zip(*parts))
            lo = hi

    def _read(self, offset: int, dtype: str, a: int, b: int):
        import numpy as np

        size = np.dtype(dtype).itemsize
        self.file.seek(offset + a * size)
        return np.frombuffer(self.file.read((b - a) * size), dtype=dtype)

    def close(self) -> None:
        self.file.close()


def _grown(np, arr, size: int, fill: int):
    """``arr`` (int64, indexed by key) long enough for ``size`` keys: doubled, new cells ``fill``."""
    if size <= len(arr):
        return arr
    extra = max(size, 2 * len(arr)) - len(arr)
    return np.concatenate((arr, np.full(extra, fill, dtype=np.int64)))


def _grouped(np, keys: tuple):
    """An order that sorts rows by ``keys`` (integer arrays, major first), and where each group
    of equal keys starts in that order.

    The keys are packed into one int64 and sorted once when they fit in 63 bits (always, for
    user, event and day keys): 7x faster than ``lexsort`` on three keys at a million rows.
    Rows inside a group come in no particular order."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    packed = np.zeros(n, dtype=np.int64)
    shift = 0
    for key in reversed(keys):
        lo = int(key.min())
        bits = (int(key.max()) - lo).bit_length()
        if shift + bits > 63:
            break
        packed |= (key.astype(np.int64) - lo) << shift
        shift += bits
    else:
        order = np.argsort(packed)
        packed = packed[order]
        return order, np.flatnonzero(np.concatenate(([True], packed[1:] != packed[:-1])))
    order = np.lexsort(tuple(reversed(keys)))
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        ordered = key[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    return order, np.flatnonzero(change)


def _aggregate(np, uk, ek, day, cnt, first, last):
    """Group rows by (user, event, day): summed counts, earliest first, latest last; sorted by key."""
    return _group_sums(np, (uk, ek, day), cnt, first, last)


def _aggregate_days(np, uk, day, cnt, first, last):
    """Group rows by (user, day) over all events: summed counts, earliest first, latest last."""
    return _group_sums(np, (uk, day), cnt, first, last)


def _group_sums(np, keys: tuple, cnt, first, last) -> tuple:
    """The distinct ``keys`` in order, each with its summed ``cnt``, least ``first`` and greatest ``last``."""
    order, starts = _grouped(np, keys)
    heads = order[starts]
    return (
        *(key[heads] for key in keys),
        np.add.reduceat(cnt[order], starts) if len(starts) else cnt[:0],
        np.minimum.reduceat(first[order], starts) if len(starts) else first[:0],
        np.maximum.reduceat(last[order], starts) if len(starts) else last[:0],
    )


EMAIL_COLUMNS = frozenset({"email", "emailaddress", "mail", "useremail", "workemail"})
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "seznam.cz",
        "wp.pl",
        "naver.com",
    }
)


def email_domain(text: str) -> str | None:
    """The company domain of an email address, or ``None`` (no address, or free mail)."""
    local, at, domain = text.strip().lower().rpartition("@")
    if not at or not local or "." not in domain or " " in domain or domain in FREE_MAIL_DOMAINS:
        return None
    return domain


def account_link_conflicts(conn: sqlite3.Connection) -> int:
    """How many users have been linked to more than one account (users file or events)."""
    return conn.execute("SELECT count(*) FROM account_link_conflicts").fetchone()[0]


def account_conflict_list(conn: sqlite3.Connection, limit: int = 1000) -> list[dict]:
    """The users whose account link is in conflict (by user id, at most ``limit``): the account
    kept, where it came from (``"users file"`` or ``"latest event"``) and every account seen for
    them (on their events and in the users file)."""
    rows = conn.execute(
        "SELECT u.user_key, u.user_id, a.account_id, u.account_from_file FROM account_link_conflicts c "
        "JOIN users u ON u.user_key = c.user_key LEFT JOIN accounts a ON a.account_key = u.account_key "
        "ORDER BY u.user_id LIMIT ?",
        (limit,),
    ).fetchall()
    seen: dict[int, set[str]] = {r[0]: ({r[2]} if r[2] is not None else set()) for r in rows}
    if seen:
        for uk, account in conn.execute(
            "SELECT DISTINCT e.user_key, a.account_id FROM events e "
            "JOIN accounts a ON a.account_key = e.account_key "
            "WHERE e.account_key IS NOT NULL AND e.user_key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(seen)),),
        ):
            seen[uk].add(account)
    return [
        {
            "user_id": user_id,
            "account": account,
            "kept_from": "users file" if from_file else "latest event",
            "accounts": sorted(seen[uk]),
        }
        for uk, user_id, account, from_file in rows
    ]


@dataclass(frozen=True)
class ImportPreview:
    """What the import wizard shows before importing one file (nothing is written).

    ``mapping`` is ``None`` when the kind or a needed column cannot be found;
    ``problem`` then says why, in one sentence. ``property_types`` are the inferred
    types (name → type) and ``warnings`` sentences about rows of the sample that
    would be rejected ("12 of 1,000 sampled rows have unreadable timestamps ...").
    """

    sniff: FileSniff
    mapping: ColumnMapping | None
    problem: str | None
    property_types: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def kind(self) -> str | None:
        return self.mapping.kind if self.mapping else None


def preview(
    path,
    *,
    kind: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
    sample_rows: int = TYPE_SAMPLE_ROWS,
) -> ImportPreview:
    """Sniff ``path`` and check a sample against the mapping, for the import wizard.

    Raises :class:`ImportFileError` only when the file cannot be read as text at all
    (missing, binary...); every other problem is reported in the result.
    """
    from seglab.core.importing.sniff import sniff_file

    path = Path(path)
    sniff = sniff_file(path, encoding=encoding, delimiter=delimiter, sample_rows=sample_rows)
    shape = shape_of(sniff) if kind in (None, "events") else None
    try:
        cmap = resolve_mapping(path.name, sniff.columns, kind=kind, mapping=shaped_mapping(shape, mapping))
    except ImportFileError as exc:
        return ImportPreview(sniff, None, str(exc))
    sample = list(sniff.sample_rows)
    used = set(cmap.fields.values())
    hints = type_hints(sniff)
    types = {
        name: hints.get(name) or infer_type([r[i] for r in sample if i < len(r)]) or "text"
        for i, name in property_names(cmap.columns, used)
    }
    ncols = len(cmap.columns)
    counts: Counter[str] = Counter()
    parse_ts = TimestampParser(date_format=date_format)
    id_field = {"events": "user_id", "users": "user_id", "accounts": "account_id"}[cmap.kind]
    for row in sample:
        if len(row) != ncols:
            counts["have the wrong number of fields"] += 1
            continue
        if not row[cmap.fields[id_field]].strip():
            counts[f"have no {id_field.replace('_', ' ')}"] += 1
        elif cmap.kind == "events":
            if not row[cmap.fields["event"]].strip():
                counts["have no event name"] += 1
            else:
                try:
                    parse_ts(row[cmap.fields["timestamp"]])
                except TimestampError:
                    counts["have unreadable timestamps"] += 1
    total = len(sample)
    warnings = tuple(
        f"{n:,} of {total:,} sampled rows {what}; they will be rejected" for what, n in counts.most_common()
    )
    problem = None
    if cmap.kind == "events" and date_format is None:
        ts_index = cmap.fields["timestamp"]
        filled = [r[ts_index] for r in sample if ts_index < len(r) and r[ts_index].strip()]
        if filled and sum(1 for v in filled if looks_ambiguous(v)) * 2 >= len(filled):
            problem = (
                f"column {cmap.columns[ts_index]!r} has dates like {filled[0]!r} that could be day/month "
                "or month/day; choose the date format"
            )
    return ImportPreview(sniff, cmap, problem, types, warnings)


__all__ = [
    "ImportPreview",
    "ImportReport",
    "account_conflict_list",
    "account_link_conflicts",
    "import_file",
    "preview",
]
