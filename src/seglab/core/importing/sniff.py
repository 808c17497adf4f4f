"""Looking at a file before importing it: binary or text, encoding, delimiter, header.

Everything here reads only the head of the file (plus, for the encoding, a scan
that the importer shares with hashing), so the import wizard can call it on
every dropped file at once.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from seglab.core.errors import ImportFileError
from seglab.core.importing.filecheck import utf8_damage

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
FIELD_LIMIT = 1024 * 1024  # a field over 1 MiB is a broken file, not data

# (magic bytes, what it looks like). Checked before anything is decoded.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first (e.g. with gunzip)"),
    (b"BZh", None),  # checked more strictly below
    (b"\xfd7zXZ\x00", "an xz-compressed file; decompress it first"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel/Office document (.xls); save it as CSV first"),
    (b"SQLite format 3\x00", "an SQLite database, not a CSV file"),
    (b"PAR1", "a Parquet file, not a CSV file"),
    (b"\x7fELF", "a program (ELF executable), not a CSV file"),
    (b"MZ", None),
)


@dataclass(frozen=True)
class FileSniff:
    """What :func:`sniff_file` found out about a file (all of it overridable)."""

    path: str
    size: int
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    sample_rows: tuple[tuple[str, ...], ...]
    estimated_rows: int
    header_looks_like_data: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def describe_binary(head: bytes) -> str | None:
    """A phrase saying what a non-text file looks like, or ``None`` for text."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            if magic == b"BZh":
                if len(head) > 4 and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
                    return "a bzip2-compressed file; decompress it first"
                continue
            if magic == b"MZ":
                if b"This program cannot be run" in head[:400]:
                    return "a Windows program, not a CSV file"
                continue
            return what
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if b"xl/" in head[:2000] or b"[Content_Types].xml" in head[:2000]:
            if b"xl/" in head[:4000]:
                return "an Excel workbook (.xlsx); save the sheet as CSV first"
            return "an Office document (zip); save it as CSV first"
        return "a zip archive; extract the CSV file first"
    if _utf16_guess(head):
        return None
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    sample = head[:8192]
    if not sample:
        return None
    if sample.count(b"\x00") > max(8, len(sample) // 100):
        return "binary data (many NUL bytes), not a text file"
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    if controls > max(2, len(sample) // 100):
        return "binary data (not text), not a CSV file"
    return None


def _utf16_guess(head: bytes) -> str | None:
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    if odd.count(0) > len(odd) * 0.6 and even.count(0) < len(even) * 0.1:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.6 and odd.count(0) < len(odd) * 0.1:
        return "utf-16-be"
    return None


def detect_encoding(head: bytes, full_scan_ok: bool | None = None) -> str:
    """Encoding from the BOM, a UTF-16 byte pattern, strict UTF-8, then charset-normalizer.

    ``full_scan_ok`` is whether the whole file decodes as UTF-8 (known to the
    importer after hashing); ``None`` trusts the sample.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    guess = _utf16_guess(head)
    if guess:
        return guess
    try:
        # The sample may end inside a multi-byte character: decode it incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        if full_scan_ok is not False:
            return "utf-8"
    except UnicodeDecodeError:
        # A stray invalid byte in UTF-8 text: still UTF-8 (the import rejects only its row), as
        # the importer decides from the whole file (filecheck.utf8_damage).
        if full_scan_ok is None and _mostly_utf8(head):
            return "utf-8"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
    except Exception:  # a detector failure must not stop an import: fall back below
        best = None
    guess = best.encoding.lower() if best is not None and best.encoding else ""
    # On a short sample the detector often picks an obscure code page; exports are
    # overwhelmingly Windows-1252 when not UTF-8, so that wins unless the detector
    # names a widespread encoding.
    if guess in _COMMON_ENCODINGS:
        return guess
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return guess or "latin-1"


def _mostly_utf8(head: bytes) -> bool:
    whole_lines = head[: head.rfind(b"\n") + 1] or head  # the sample's last line may be cut short
    return utf8_damage(io.BytesIO(whole_lines))[0]


_COMMON_ENCODINGS = frozenset(
    {
        "cp1252",
        "cp1250",
        "cp1251",
        "latin_1",
        "iso8859_15",
        "iso8859_2",
        "koi8_r",
        "shift_jis",
        "cp932",
        "euc_jp",
        "gb18030",
        "gb2312",
        "big5",
        "euc_kr",
        "cp949",
        "mac_roman",
        "cp1253",
        "cp1254",
        "cp1255",
        "cp1256",
        "iso8859_7",
        "iso8859_9",
    }
)


def read_head(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a folder, not a CSV file") from None
    except PermissionError:
        raise ImportFileError(f"{path}: permission denied: cannot read the file") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


MAX_NAME_CHARS = 1_000  # a longer "column name" is data or junk, not a header


def check_header(head: bytes, size: int, name: str) -> None:
    """Refuse a file whose first line does not end within the sample (a header of 300 KB, or
    200 MB without a line end, is no list of column names): nothing beyond the sample is read."""
    if len(head) < size and b"\n" not in head and b"\r" not in head:
        raise ImportFileError(
            f"{name}: the first line is longer than {len(head) // 1024:,} KB, far too long to be the "
            "column names (is this a CSV file with a header row?)"
        )


def check_columns(columns: tuple[str, ...], name: str) -> None:
    for i, column in enumerate(columns):
        if len(column) > MAX_NAME_CHARS:
            raise ImportFileError(
                f"{name}: column {i + 1}'s name is {len(column):,} characters long; names of more than "
                f"{MAX_NAME_CHARS:,} are refused (is the first line really the column names?)"
            )


def decode_head(head: bytes, encoding: str, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=complete)
    if not complete:
        # Drop the last, probably partial, line.
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[: cut + 1]
    return text


def detect_delimiter(text: str) -> str:
    """The candidate that splits the sample lines into the most consistent field counts."""
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
        except csv.Error:
            continue
        counts = [len(r) for r in rows if r][:200]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        consistency = counts.count(mode) / len(counts)
        score = (round(consistency, 2), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def sniff_text(
    path: Path,
    head: bytes,
    size: int,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sample_rows: int = 50,
) -> FileSniff:
    complete = len(head) >= size
    enc = encoding or detect_encoding(head)
    text = decode_head(head, enc, complete)
    if text.startswith("\ufeff"):
        text = text[1:]
    delim = delimiter or detect_delimiter(text)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
            if row:
                rows.append(row)
            if len(rows) > sample_rows:
                break
    except csv.Error:
        pass
    columns = tuple(rows[0]) if rows else ()
    data = tuple(tuple(r) for r in rows[1 : sample_rows + 1])
    if complete:
        estimated = max(0, _count_records(text, delim) - 1)
    else:
        per_row = len(text.encode(enc, errors="replace")) / max(1, text.count("\n"))
        estimated = int(size / max(1.0, per_row))
    return FileSniff(
        path=str(path),
        size=size,
        encoding=enc,
        delimiter=delim,
        columns=columns,
        sample_rows=data,
        estimated_rows=estimated,
        header_looks_like_data=_looks_like_data(columns),
    )


def _count_records(text: str, delim: str) -> int:
    try:
        return sum(1 for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if row)
    except csv.Error:
        return text.count("\n")


def _looks_like_data(columns: tuple[str, ...]) -> bool:
    from seglab.core.importing.types import value_type

    if not columns:
        return False
    typed = [value_type(c.strip()) for c in columns if c.strip()]
    dataish = sum(1 for t in typed if t in ("integer", "real", "datetime"))
    return dataish * 2 > len(columns)


def sniff_file(
    path, *, encoding: str | None = None, delimiter: str | None = None, sample_rows: int = 50
) -> FileSniff:
    """Encoding, delimiter, header and first rows of ``path``, for previews and the importer.

    Raises :class:`ImportFileError` for a file that cannot be read or is not text.
    """
    path = Path(path)
    head = read_head(path)
    size = path.stat().st_size
    from seglab.core.importing.readers import sniff_source  # gzip/zstd, JSON lines, Parquet

    other = sniff_source(path, head, encoding=encoding, delimiter=delimiter, sample_rows=sample_rows)
    if other is not None:
        return other
    what = describe_binary(head)
    if what:
        raise ImportFileError(f"{path.name}: this looks like {what}")
    check_header(head, size, path.name)
    try:
        sniff = sniff_text(path, head, size, encoding=encoding, delimiter=delimiter, sample_rows=sample_rows)
    except UnicodeError as exc:  # e.g. utf-32 without a byte order mark
        raise ImportFileError(f"{path.name}: cannot be read as {encoding} ({exc})") from None
    check_columns(sniff.columns, path.name)
    return sniff
