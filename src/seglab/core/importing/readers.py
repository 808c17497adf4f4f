"""Reading the formats beside plain CSV: gzip/zstd CSV, JSON lines (plain or compressed), Parquet.

Each format is turned into what the CSV path feeds the importer: column names and
rows of text cells, each row with its line number (JSON lines: the physical line;
Parquet: the row, from 1), so the mapping, type inference, widening, rejects and
the rest of the importer are the same code for every format.

* Compressed CSV is decompressed in a stream (gzip: the standard library; zstd: pyarrow) and
  read exactly like a CSV file.
* JSON lines: one object a line (stdlib ``json``, so a bad line is one reject with its
  line number and reason); nested objects become dotted names (``properties.plan``);
  arrays and other non-object values are kept as compact JSON text.
* Parquet is read a row group batch at a time (never whole); Arrow types are rendered
  as the text a CSV export would hold (integers, shortest round-trip reals,
  ``true``/``false``, ISO date-times with ``Z`` for zoned timestamps) and passed on as
  type hints, so a sparse numeric column is typed by its schema, not by a blank sample.

pyarrow is imported only when one of these files is read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from seglab.core.errors import Cancelled, ImportFileError
from seglab.core.importing.filecheck import BAD_BYTE, utf8_reason
from seglab.core.importing.shapes import Shape, detect_shape
from seglab.core.importing.sniff import SAMPLE_BYTES, FileSniff, describe_binary, sniff_text

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
COMPRESSED_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
# Every suffix SegLab reads, for file pickers and drag and drop.
SUFFIXES = (
    ".csv",
    ".tsv",
    ".txt",
    ".jsonl",
    ".ndjson",
    ".json",
    ".parquet",
    ".gz",
    ".zst",
    ".zstd",
)
SCAN_SHARE = 0.1  # the content check's share of the progress bar (as for CSV)
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv" | "jsonl" | "parquet"
    compression: str | None = None  # "gzip" | "zstd"

    @property
    def plain(self) -> bool:
        """A plain CSV file: the importer's own path, untouched."""
        return self.kind == "csv" and self.compression is None

    @property
    def label(self) -> str:
        base = {"csv": "CSV", "jsonl": "JSON lines", "parquet": "Parquet"}[self.kind]
        return f"{base} ({self.compression})" if self.compression else base


@dataclass(frozen=True)
class FormatSniff(FileSniff):
    """A :class:`FileSniff` that also says the format, the export shape and Arrow/JSON types."""

    format: str = "CSV"  # FileFormat.label
    shape: Shape | None = None
    type_hints: dict = field(default_factory=dict)  # property name -> type the file itself states
    parents: frozenset = frozenset()  # nested object names seen (JSON lines)

    @property
    def delimiter_name(self) -> str:
        return self.format if not self.delimiter else FileSniff.delimiter_name.fget(self)  # type: ignore[attr-defined]


def shape_of(sniff: FileSniff) -> Shape | None:
    """The export shape of a sniffed file (any format), or ``None``."""
    if isinstance(sniff, FormatSniff):
        return sniff.shape
    return detect_shape(sniff.columns)


def type_hints(sniff: FileSniff) -> dict:
    return dict(sniff.type_hints) if isinstance(sniff, FormatSniff) else {}


def format_label(sniff: FileSniff) -> str:
    return sniff.format if isinstance(sniff, FormatSniff) else "CSV"


def _strip_compression(name: str) -> tuple[str, str | None]:
    for suffix, compression in COMPRESSED_SUFFIXES.items():
        if name.endswith(suffix):
            return name[: -len(suffix)], compression
    return name, None


def detect_format(path: Path, head: bytes) -> FileFormat:
    """The format of a file from its first bytes (compression, Parquet) and its name."""
    name = path.name.lower()
    base, named = _strip_compression(name)
    compression = "gzip" if head.startswith(GZIP_MAGIC) else "zstd" if head.startswith(ZSTD_MAGIC) else None
    if compression is None and head.startswith(PARQUET_MAGIC):
        return FileFormat("parquet")
    if base.endswith(".parquet"):
        if compression:
            raise ImportFileError(f"{path.name}: a compressed Parquet file; decompress it first")
        return FileFormat("parquet")
    if base.endswith(JSON_SUFFIXES):
        return FileFormat("jsonl", compression)
    if compression is None and named is None and not base.endswith(TEXT_SUFFIXES):
        # An unnamed or .log export holding JSON objects.
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            return FileFormat("jsonl")
    if compression and not base.endswith(TEXT_SUFFIXES):
        return FileFormat("unknown-compressed", compression)
    return FileFormat("csv", compression)


def _io_error(path: Path, exc: BaseException) -> ImportFileError:
    text = _first_line(exc)
    if "runcated" in text or isinstance(exc, EOFError):
        return ImportFileError(
            f"{path.name}: the compressed file is cut short (truncated); nothing was imported"
        )
    return ImportFileError(f"{path.name}: the compressed file is damaged ({text}); nothing was imported")


class _Decompressed(io.RawIOBase):
    """A decompressing binary stream (gzip or zstd, through pyarrow) whose errors are sentences."""

    def __init__(self, path: Path, compression: str):
        self.path = path
        self.compression = compression
        self._open()

    def _open(self) -> None:
        if self.compression == "gzip":
            # The standard library's zlib: as fast, and no pyarrow (~45 MB) for a .csv.gz.
            import gzip

            self.file = open(self.path, "rb")
            self.stream = gzip.GzipFile(fileobj=self.file, mode="rb")
        else:
            import pyarrow as pa

            self.file = pa.OSFile(str(self.path))
            self.stream = pa.CompressedInputStream(self.file, self.compression)
        self.offset = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # back to the start only (old Mac line ends are re-read with csv.reader)

    def tell(self) -> int:
        return self.offset

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR and offset == 0:
            return self.offset
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("a compressed stream only goes back to its start")
        self.stream.close()
        self.file.close()
        self._open()
        return 0

    def readinto(self, buffer) -> int:
        try:
            data = self.stream.read(len(buffer))
        except (OSError, ValueError, EOFError, zlib.error) as exc:
            raise _io_error(self.path, exc) from None
        buffer[: len(data)] = data
        self.offset += len(data)
        return len(data)

    def position(self) -> int:
        """Compressed bytes read so far (for progress against the file's size)."""
        return self.file.tell()

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
            self.file.close()
        super().close()


class _Position:
    """What the importer's progress asks for: ``tell()`` in the file's own bytes."""

    def __init__(self, tell):
        self.tell = tell


def open_head(path: Path, fmt: FileFormat, size: int = SAMPLE_BYTES) -> tuple[bytes, bool]:
    """The first ``size`` bytes of the content (decompressed) and whether that is all of it."""
    if fmt.compression is None:
        with open(path, "rb") as fh:
            head = fh.read(size + 1)
        return head[:size], len(head) <= size
    with io.BufferedReader(_Decompressed(path, fmt.compression), 1 << 20) as stream:
        head = stream.read(size + 1)
    return head[:size], len(head) <= size


# --------------------------------------------------------------------------- JSON lines


def _flatten(obj: dict, prefix: str, out: dict, parents: set | None) -> None:
    for key, value in obj.items():
        if type(value) is dict:
            if parents is not None:
                parents.add(prefix + key)
            _flatten(value, f"{prefix}{key}.", out, parents)
        else:
            out[prefix + key] = value


_JSON_KIND = {str: 1, int: 2, float: 4, bool: 8, type(None): 0}  # anything else: 16


def _json_hint(bits: int) -> str | None:
    """The type a property's JSON values state: numbers and booleans; strings are inferred as text cells."""
    if bits == 2:
        return "integer"
    if bits in (4, 6):
        return "real"
    if bits == 8:
        return "boolean"
    return None


def _cell(value) -> str:
    """A JSON value as the text a CSV cell would hold."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return "" if value != value else repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _unwrapped(value):
    if type(value) is list and len(value) <= 1:
        return value[0] if value else None
    return value


def _unwrap_json(text: str) -> str:
    return _cell(_unwrapped(json.loads(text))) if text.startswith("[") else text


def _what(value) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


_decode = json.JSONDecoder().decode


def _parse_many(lines: list, open_, comma, close):
    """The JSON values of ``lines`` (each meant to be one value) parsed in one call: ~3x
    faster than a call per line. ``None`` when the lines are not all values on their own;
    the caller then parses them one by one, for exact rejects."""
    try:
        values = json.loads(open_ + comma.join(lines) + close)
    except ValueError:  # also bytes that are not UTF-8
        return None
    return values if type(values) is list and len(values) == len(lines) else None


def _parse_line(line: str):
    """(flat object, None) or (None, reason) for one non-blank line."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        col = getattr(exc, "colno", None)
        return None, f"not valid JSON: {msg}" + (f" (column {col})" if col else "")
    if type(obj) is not dict:
        return None, f"not a JSON object: {_what(obj)}"
    flat: dict = {}
    _flatten(obj, "", flat, None)
    return flat, None


@dataclass
class RecordBatch:
    """Rows of a record format, as the CSV path's columns of text cells."""

    cols: list  # one list of cells per column
    ends: list  # the line (row) number of each record
    bad: list  # (line, reason) of records that could not be read
    start: int  # the line before the batch


class RecordError(csv.Error):
    """A record the reader itself rejects; the message is the reason (as for csv errors)."""


class RecordRows:
    """The rows of a JSON lines or Parquet file, in batches (events) or one by one (users, accounts)."""

    def __init__(self, source: Source, batches: Iterator[RecordBatch]):
        self.source = source
        self._batches = batches
        self.line_num = 0
        self._pending: list = []

    def batches(self) -> Iterator[RecordBatch]:
        return self._batches

    # -- csv.reader-like iteration, for the users/accounts loop
    def __iter__(self):
        return self

    def __next__(self) -> list:
        while not self._pending:
            batch = next(self._batches)  # StopIteration ends the rows
            items: list[tuple[int, int | None, str | None]] = [
                (line, None, reason) for line, reason in batch.bad
            ]
            items += [(line, i, None) for i, line in enumerate(batch.ends)]
            items.sort(key=lambda item: item[0])
            rows = list(zip(*batch.cols)) if batch.cols else [()] * len(batch.ends)
            self._pending = [(line, None if i is None else list(rows[i]), why) for line, i, why in items]
            self._pending.reverse()
        line, row, reason = self._pending.pop()
        self.line_num = line
        if row is None:
            raise RecordError(reason)
        return row


class Source:
    """One file of a non-CSV (or compressed) format: its scan, sniff, rows and rejected rows' text."""

    def __init__(self, path: Path, fmt: FileFormat):
        self.path = path
        self.fmt = fmt
        self.size = path.stat().st_size
        self.columns: list[str] = []
        self.parents: set[str] = set()
        self.hints: dict[str, str] = {}
        self.shape: Shape | None = None
        self.encoding = "utf-8"
        self._tell = lambda: 0
        self._parquet = None
        self._row_group_cache: tuple[int, list] | None = None
        if fmt.kind == "unknown-compressed":
            raise ImportFileError(
                f"{path.name}: a {fmt.compression}-compressed file that is neither CSV nor JSON lines "
                "(name it .csv.gz, .jsonl.gz, ...)"
            )

    @property
    def records(self) -> bool:
        return self.fmt.kind in ("jsonl", "parquet")

    # -- opening
    def open_content(self):
        """The content as a binary stream (decompressed), from its start."""
        return self._open_binary()

    def _open_binary(self):
        if self.fmt.compression:
            stream = _Decompressed(self.path, self.fmt.compression)
            self._tell = stream.position
            return io.BufferedReader(stream, 1 << 20)
        fh = open(self.path, "rb")
        self._tell = fh.tell
        return fh

    def _parquet_file(self):
        if self._parquet is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:
                self._parquet = pq.ParquetFile(str(self.path))
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise ImportFileError(
                    f"{self.path.name}: not a readable Parquet file ({_first_line(exc)})"
                ) from None
        return self._parquet

    def content_head(self) -> tuple[bytes, bool]:
        """The first bytes of the content (decompressed) and whether that is all of it."""
        if self.fmt.kind == "parquet":
            return b"", True
        try:
            return open_head(self.path, self.fmt)
        except OSError as exc:
            raise _io_error(self.path, exc) from None

    # -- the content check
    def scan(self, progress) -> tuple[str, bool, bool]:
        """sha256, whether the content is valid UTF-8, whether it holds NUL bytes.

        The hash is over the content as SegLab reads it: decompressed for gzip/zstd files
        (so ``x.csv`` and ``x.csv.gz`` are the same content), the file's bytes for Parquet.
        A JSON lines file is also parsed here once for its column names and value types,
        since any line may add a property. A damaged or truncated file fails here,
        before the project is touched.
        """
        digest = hashlib.sha256()
        if self.fmt.kind == "parquet":
            self._parquet_file()
            self._parquet_schema()
            done = 0
            with open(self.path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    done += len(chunk)
                    _tick(progress, done, self.size)
            return digest.hexdigest(), True, False
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8_ok, has_nul = True, False
        keys: dict[str, int] = {}
        parents: set[str] = set()
        rest = b""
        with self._open_binary() as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                if not has_nul and b"\x00" in chunk:
                    has_nul = True
                if utf8_ok:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_ok = False
                if self.fmt.kind == "jsonl":
                    lines = (rest + chunk).split(b"\n")
                    rest = lines.pop()
                    _scan_json_lines(lines, keys, parents)
                _tick(progress, self._tell(), self.size)
            if rest:
                _scan_json_lines([rest], keys, parents)
        if utf8_ok:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
        if self.fmt.kind == "jsonl":
            self.columns = list(keys)
            self.parents = parents
            self.hints = {k.strip(): h for k, bits in keys.items() if (h := _json_hint(bits))}
        return digest.hexdigest(), utf8_ok, has_nul

    def _parquet_schema(self) -> None:
        import pyarrow as pa

        schema = self._parquet_file().schema_arrow
        names: list[str] = []
        hints: dict[str, str] = {}

        def walk(prefix: str, fields_) -> None:
            for f in fields_:
                name = prefix + f.name
                if pa.types.is_struct(f.type):
                    self.parents.add(name)
                    walk(name + ".", list(f.type))
                else:
                    names.append(name)
                    hint = _arrow_hint(f.type)
                    if hint:
                        hints[name.strip()] = hint

        walk("", list(schema))
        self.columns, self.hints = names, hints

    # -- the sniff (columns, sample rows, shape)
    def sniff(
        self,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        sample_rows: int = 50,
        head: bytes | None = None,
        complete: bool | None = None,
    ) -> FormatSniff:
        """Columns and the first rows. Without a :meth:`scan`, JSON lines columns come from the
        head of the file only (the wizard's preview); after it, from every line."""
        if self.fmt.kind == "parquet":
            return self._sniff_parquet(sample_rows)
        if head is None:
            head, complete = self.content_head()
        what = describe_binary(head)
        if what:
            raise ImportFileError(f"{self.path.name}: this looks like {what}")
        if self.fmt.kind == "csv":
            # sniff_text takes "the head is all of it" from the size: give it the content's.
            content_size = len(head) if complete else max(len(head) + 1, self.size * 4)
            base = sniff_text(
                self.path, head, content_size, encoding=encoding, delimiter=delimiter, sample_rows=sample_rows
            )
            self.encoding = base.encoding
            return FormatSniff(
                **{f.name: getattr(base, f.name) for f in fields(FileSniff)},
                format=self.fmt.label,
                shape=detect_shape(base.columns),
            )
        return self._sniff_jsonl(head, bool(complete), encoding, sample_rows)

    def _sniff_jsonl(
        self, head: bytes, complete: bool, encoding: str | None, sample_rows: int
    ) -> FormatSniff:
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
            raise ImportFileError(
                f"{self.path.name}: a JSON array, not JSON lines (one object a line); "
                "convert it first, e.g. with: jq -c '.[]' FILE > FILE.jsonl"
            )
        self.encoding = encoding or ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8")
        # Invalid bytes stay visible, so that their lines are left out of the columns as the scan
        # leaves them (the import rejects those lines).
        text = head.decode(self.encoding, errors="surrogateescape")
        lines = text.splitlines()
        if not complete and lines:
            lines.pop()  # probably cut
        scanned = bool(self.columns)
        keys: dict[str, int] = dict.fromkeys(self.columns, 0)
        parents = set(self.parents)
        flats: list[dict | None] = []  # None: a line that is not a JSON object
        for line in lines:
            if not line.strip():
                continue
            if BAD_BYTE.search(line):
                flats.append(None)
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                flats.append(None)
                continue
            if type(obj) is not dict:
                flats.append(None)
                continue
            flat: dict = {}
            _flatten(obj, "", flat, parents)
            for key, value in flat.items():
                keys[key] = keys.get(key, 0) | _JSON_KIND.get(type(value), 16)
            flats.append(flat)
            if len(flats) >= sample_rows:
                break
        columns = list(keys)
        if not columns:
            where = "in the file" if scanned or complete else "in the first lines of the file"
            raise ImportFileError(f"{self.path.name}: no line {where} is a JSON object; nothing to import")
        if not scanned:
            self.columns, self.parents = columns, parents
            self.hints = {k.strip(): h for k, bits in keys.items() if (h := _json_hint(bits))}
        shape = detect_shape(columns, parents)
        self.shape = shape
        unwrap = shape.unwrap if shape else frozenset()
        rows = tuple(
            tuple(_cell(_unwrapped(f.get(c)) if c in unwrap else f.get(c)) for c in columns)
            if f is not None
            else ("",)  # a line that is not an object: a one-field row, rejected like a ragged CSV row
            for f in flats
        )
        per_line = len(head) / max(1, len(lines))
        estimated = len(flats) if complete else int(self.size * (4 if self.fmt.compression else 1) / per_line)
        return FormatSniff(
            path=str(self.path),
            size=self.size,
            encoding=self.encoding,
            delimiter="",
            columns=tuple(columns),
            sample_rows=rows,
            estimated_rows=estimated,
            format=self.fmt.label,
            shape=shape,
            type_hints=dict(self.hints),
            parents=frozenset(parents),
        )

    def _sniff_parquet(self, sample_rows: int) -> FormatSniff:
        pf = self._parquet_file()
        if not self.columns:
            self._parquet_schema()
        rows: list[tuple] = []
        batches = self._parquet_batches(max(1, sample_rows))
        try:
            for batch in batches:
                rows.extend(zip(*batch.cols))
                break
        finally:
            batches.close()  # let go of the row group's buffers now
        shape = detect_shape(self.columns, self.parents)
        self.shape = shape
        return FormatSniff(
            path=str(self.path),
            size=self.size,
            encoding="utf-8",
            delimiter="",
            columns=tuple(self.columns),
            sample_rows=tuple(rows[:sample_rows]),
            estimated_rows=pf.metadata.num_rows,
            format=self.fmt.label,
            shape=shape,
            type_hints=dict(self.hints),
            parents=frozenset(self.parents),
        )

    # -- the rows
    @contextlib.contextmanager
    def open_rows(self, encoding: str, batch_rows: int, bad_utf8: list[tuple[int, int]] | None = None):
        """``(position, data)`` for the importer: ``position.tell()`` in the file's bytes (progress);
        ``data`` a text stream (compressed CSV) or :class:`RecordRows`. ``bad_utf8``: where
        a mostly UTF-8 content has invalid bytes (``filecheck.utf8_damage``): they stay visible
        (surrogate escapes), so that their rows are rejected instead of stored with a
        replacement character."""
        if self.fmt.kind == "parquet":
            yield _Position(lambda: self._parquet_done), RecordRows(self, self._parquet_batches(batch_rows))
            return
        errors = "surrogateescape" if bad_utf8 else "replace"
        with self._open_binary() as binary:
            text = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")
            position = _Position(self._tell)
            if self.fmt.kind == "csv":
                yield position, text
            else:
                yield position, RecordRows(self, self._json_batches(text, batch_rows, bad_utf8 or []))

    def _json_batches(self, text, batch_rows: int, bad_utf8: list[tuple[int, int]]) -> Iterator[RecordBatch]:
        """Batches of parsed lines. A line holding invalid UTF-8 is rejected whole (its keys may
        be what is broken), with the byte's offset."""
        columns = self.columns
        unwrap = [c for c in columns if self.shape and c in self.shape.unwrap]
        line_no = 0
        start = 0
        lines: list[str] = []
        numbers: list[int] = []
        broken: list[tuple[int, str]] = []
        for line in text:
            line_no += 1
            if not line.strip():
                continue
            if bad_utf8 and BAD_BYTE.search(line):
                broken.append((line_no, utf8_reason(bad_utf8, line_no, line_no)))
                continue
            lines.append(line)
            numbers.append(line_no)
            if len(lines) >= batch_rows:
                yield self._json_batch(lines, numbers, start, columns, unwrap, broken)
                start = line_no
                lines, numbers, broken = [], [], []
        if lines or broken:
            yield self._json_batch(lines, numbers, start, columns, unwrap, broken)

    @staticmethod
    def _json_batch(lines, numbers, start, columns, unwrap, broken) -> RecordBatch:
        flats: list[dict] = []
        ends: list[int] = []
        bad: list[tuple[int, str]] = list(broken)
        values = _parse_many(lines, "[", ",", "]")
        for i, line in enumerate(lines):
            if values is None:
                flat, reason = _parse_line(line)
            elif type(values[i]) is dict:
                flat, reason = {}, None
                _flatten(values[i], "", flat, None)
            else:
                flat, reason = None, f"not a JSON object: {_what(values[i])}"
            if flat is None:
                bad.append((numbers[i], reason))
            else:
                flats.append(flat)
                ends.append(numbers[i])
        cols = []
        for column in columns:
            values = [f.get(column) for f in flats]
            if column in unwrap:
                values = list(map(_unwrapped, values))
            cols.append([v if type(v) is str else _cell(v) for v in values])
        bad.sort()
        return RecordBatch(cols, ends, bad, start)

    _parquet_done = 0

    def _parquet_batches(self, batch_rows: int) -> Generator[RecordBatch, None, None]:
        import pyarrow as pa

        pf = self._parquet_file()
        total = max(1, pf.metadata.num_rows)
        row = 0
        self._parquet_done = 0
        try:
            # One thread: the import is one pipeline anyway, and per-thread heaps cost ~40 MB of RSS.
            for batch in pf.iter_batches(batch_size=batch_rows, use_threads=False):
                while any(pa.types.is_struct(t) for t in batch.schema.types):
                    batch = _flatten_batch(batch)
                by_name = dict(zip(batch.schema.names, batch.columns))
                n = batch.num_rows
                cols = [_arrow_cells(by_name[c]) if c in by_name else [""] * n for c in self.columns]
                if self.shape is not None:
                    for i, c in enumerate(self.columns):
                        if c in self.shape.unwrap:
                            cols[i] = [
                                _cell(_unwrapped(json.loads(v))) if v.startswith("[") else v for v in cols[i]
                            ]
                yield RecordBatch(cols, list(range(row + 1, row + n + 1)), [], row)
                row += n
                self._parquet_done = int(self.size * row / total)
        except (pa.ArrowException, OSError) as exc:
            raise ImportFileError(
                f"{self.path.name}: the Parquet file is damaged near row {row + 1:,} ({_first_line(exc)}); "
                "nothing was imported"
            ) from None

    # -- rejected rows' text
    @property
    def numbered_rows(self) -> bool:
        """Parquet: "lines" are row numbers, and a rejected row's text is :meth:`raw_row`."""
        return self.fmt.kind == "parquet"

    @contextlib.contextmanager
    def open_text(self, encoding: str):
        """The content as text lines, for the rejects file (none for Parquet)."""
        if self.numbered_rows:
            yield iter(())
            return
        with self._open_binary() as binary:
            yield io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")

    def raw_row(self, number: int) -> str:
        """Parquet row ``number`` (from 1) as one JSON object, for the rejects file."""
        pf = self._parquet_file()
        index = number - 1
        first = 0
        for group in range(pf.metadata.num_row_groups):
            rows = pf.metadata.row_group(group).num_rows
            if index < first + rows:
                if self._row_group_cache is None or self._row_group_cache[0] != group:
                    self._row_group_cache = (group, pf.read_row_group(group).to_pylist())
                record = self._row_group_cache[1][index - first]
                return json.dumps(record, ensure_ascii=False, default=str)
            first += rows
        return ""


def _tick(progress, done: int, size: int) -> None:
    if progress.is_cancelled():
        raise Cancelled("cancelled")
    progress.report(min(done, size) * SCAN_SHARE, size, "checking the file")


def _scan_json_lines(lines: list[bytes], keys: dict, parents: set) -> None:
    kinds = _JSON_KIND
    lines = [line for line in lines if not line.isspace() and line]
    values = _parse_many(lines, b"[", b",", b"]")
    for i, line in enumerate(lines):
        if values is not None:
            obj = values[i]
        else:
            try:
                obj = json.loads(line)
            except ValueError:  # (also bad UTF-8) rejected in the import pass, with its line number
                continue
        if type(obj) is not dict:
            continue
        flat: dict = {}
        _flatten(obj, "", flat, parents)
        for key, value in flat.items():
            bit = kinds.get(type(value), 16)
            old = keys.get(key)
            if old is None:
                keys[key] = bit
            elif not old & bit:
                keys[key] = old | bit


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- Arrow


def _arrow_hint(typ) -> str | None:
    import pyarrow as pa

    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_integer(typ):
        return "integer"
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "real"
    if pa.types.is_boolean(typ):
        return "boolean"
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return "datetime"
    return None


def _flatten_batch(batch):
    """Struct columns become dotted columns (``properties.plan``), one level at a time."""
    import pyarrow as pa

    names, arrays = [], []
    for name, array in zip(batch.schema.names, batch.columns):
        if pa.types.is_struct(array.type):
            # flatten(): a null struct makes every field null (field() alone would show hidden values).
            for child, values in zip(array.type, array.flatten()):
                names.append(f"{name}.{child.name}")
                arrays.append(values)
        else:
            names.append(name)
            arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=names)


# Rendering avoids pyarrow.compute: its kernels' first use costs ~40 MB of resident memory.


def _with_nulls(values: list, text) -> list[str]:
    """``text`` of each value; ``None`` (null) is ``""``."""
    if None in values:
        return ["" if v is None else text(v) for v in values]
    return list(map(text, values))


def _real_text(value: float) -> str:
    return "" if value != value else repr(value)  # NaN: no value


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _arrow_cells(array) -> list[str]:
    """An Arrow column as CSV-like text cells (null: ``""``)."""
    import numpy as np
    import pyarrow as pa

    typ = array.type
    if pa.types.is_dictionary(typ):
        words = _arrow_cells(array.dictionary)
        return ["" if i is None else words[i] for i in array.indices.to_pylist()]
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or _is_string_view(pa, typ):
        values = array.to_pylist()
        return ["" if v is None else v for v in values] if array.null_count else values
    if pa.types.is_timestamp(typ):
        raw, nat = _int64_values(np, pa, array)
        # To the millisecond, rounding down (datetime64 casts truncate towards zero).
        ms = raw * 1000 if typ.unit == "s" else np.floor_divide(raw, _PER_MS[typ.unit])
        text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms").tolist()
        zone = "Z" if typ.tz else ""
        if nat.any():
            return ["" if gone else t + zone for t, gone in zip(text, nat.tolist())]
        return [t + zone for t in text] if zone else text
    if pa.types.is_integer(typ):
        return _with_nulls(array.to_pylist(), str)
    if pa.types.is_floating(typ):
        return _with_nulls(array.to_pylist(), _real_text)
    if pa.types.is_boolean(typ):
        return _with_nulls(array.to_pylist(), lambda v: "true" if v else "false")
    if pa.types.is_date(typ):
        return _with_nulls(array.to_pylist(), lambda v: v.isoformat())
    if pa.types.is_decimal(typ) or pa.types.is_time(typ):
        return _with_nulls(array.to_pylist(), str)
    if pa.types.is_null(typ):
        return [""] * len(array)
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        return _with_nulls(array.to_pylist(), lambda b: b.decode("utf-8", errors="replace"))
    return _with_nulls(array.to_pylist(), _json_text)


_PER_MS = {"ms": 1, "us": 1000, "ns": 1_000_000}


def _int64_values(np, pa, array):
    """The 64-bit integers under ``array`` (a timestamp column) and its null mask, read from its
    buffers (to_numpy() of a zoned timestamp would load the compute kernels)."""
    n, offset = len(array), array.offset
    validity, data = array.buffers()[:2]
    values = np.frombuffer(data, dtype=np.int64, count=offset + n)[offset:]
    if validity is None or array.null_count == 0:
        return values, np.zeros(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")[offset : offset + n]
    nulls = bits == 0
    return np.where(nulls, 0, values), nulls


def _is_string_view(pa, typ) -> bool:
    check = getattr(pa.types, "is_string_view", None)
    return bool(check and check(typ))


# --------------------------------------------------------------------------- entry points


def source_for(path: Path, head: bytes) -> Source | None:
    """A :class:`Source` for a file the plain CSV path cannot read, else ``None``."""
    fmt = detect_format(path, head)
    return None if fmt.plain else Source(path, fmt)


def sniff_source(path: Path, head: bytes, **options) -> FormatSniff | None:
    """:func:`seglab.core.importing.sniff.sniff_file` for the formats here (``None``: plain CSV)."""
    source = source_for(path, head)
    return None if source is None else source.sniff(**options)
