"""CSV text: opening the file (hashed as it is read) and cutting its rows into batches.

Events are read a chunk of lines at a time: a chunk with no quotes, NUL bytes or lone CRs (most
exports) is split with ``str.split``, and if every line has the right number of delimiters the
columns are plain slices of one list, with no per-row Python work. From the first chunk that
needs real CSV parsing on, the rest of the file goes through ``csv.reader`` (quoted fields may
span lines and chunks). Rows of the wrong width are rejected here with their exact lines."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from seglab.core.errors import Cancelled
from seglab.core.importing.filecheck import HashingReader
from seglab.core.importing.rejects import csv_reason
from seglab.core.importing.sniff import FIELD_LIMIT

if TYPE_CHECKING:
    from seglab.core.importing.events import EventBatcher
    from seglab.core.importing.pipeline import KindRunner

csv.field_size_limit(FIELD_LIMIT)

BATCH_ROWS = 20_000
READ_CHUNK = 2 * 1024 * 1024


@contextlib.contextmanager
def open_csv(
    path: Path, encoding: str, keep_bad_bytes: bool
) -> Iterator[tuple[HashingReader, io.BufferedIOBase, io.TextIOWrapper]]:
    """The file as (its hashing reader, the buffered bytes, the decoded text). ``keep_bad_bytes``:
    invalid bytes of a UTF-8 file stay visible (surrogate escapes) so that their rows are
    rejected; otherwise they read as replacement characters."""
    with open(path, "rb") as fh:
        hashing = HashingReader(fh)
        raw = io.BufferedReader(hashing, READ_CHUNK)
        errors = "surrogateescape" if keep_bad_bytes else "replace"
        yield hashing, raw, io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def rows_after_header(text, delimiter: str):
    """A ``csv.reader`` over ``text`` past its header (blank lines before it are skipped)."""
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    for row in reader:
        if row:
            break
    return reader


def header_span(text: str, first, delim: str) -> tuple[int, int]:
    """(lines, length) of the header at the start of ``first`` (the file's first chunk, as text
    or bytes; ``text``: it, or its whole lines, decoded): the blank lines before the header and
    the header record, as ``csv.reader`` reads them (a malformed header reads as far as it goes)."""
    header = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    try:
        for row in header:
            if row:
                break
    except csv.Error:
        pass
    newline = b"\n" if isinstance(first, bytes) else "\n"
    pos = 0
    for _ in range(header.line_num):
        nl = first.find(newline, pos)
        pos = len(first) if nl < 0 else nl + 1
    return header.line_num, pos


def read_events(runner: KindRunner, text, delim: str, events: EventBatcher) -> None:
    """Every event row of ``text`` into ``events`` (see the module's docstring), then closes it."""
    ncols = runner.ncols
    first = text.read(READ_CHUNK)
    skipped, pos = header_span(first, first, delim)
    if "\r" in first[:pos] and first[:pos].count("\r") != first[:pos].count("\r\n"):
        # Old Mac line ends: only csv.reader splits those right.
        text.seek(0)
        reader = rows_after_header(text, delim)
        _read_events_csv(runner, reader, reader.line_num, events, 0)
        return
    rest = first[pos:]
    line_base = skipped
    while True:
        if runner.progress.is_cancelled():
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
            _read_events_csv(runner, reader, 0, events, line_base)
            return
        lines = body[:-1].split("\n")
        cols, ends, early = plain_lines(runner, lines, ncols, delim, line_base)
        if ends:
            events.batch(cols, ends, line_base, early)
        line_base += len(lines)
        runner.rejects.flush()
        runner.report()
    events.close()


def plain_lines(runner: KindRunner, lines: list[str], ncols: int, delim: str, line_base: int):
    """Lines without quotes, NUL or CR as ``(columns, end lines, rejected lines)``: a line of the
    wrong width (or with a field over the limit) is rejected here, a blank one skipped."""
    want = ncols - 1
    counts = list(map(str.count, lines, itertools.repeat(delim, len(lines))))
    if counts.count(want) == len(lines) and max(map(len, lines)) <= FIELD_LIMIT:
        fields = delim.join(lines).split(delim)
        ends = list(range(line_base + 1, line_base + len(lines) + 1))
        return [fields[k::ncols] for k in range(ncols)], ends, []
    good, early = [], []
    for i, (line, count) in enumerate(zip(lines, counts)):
        if count == want and len(line) <= FIELD_LIMIT:
            good.append(i)
        elif line:
            runner.state.rows_read += 1
            reason = (
                f"field longer than {FIELD_LIMIT // (1024 * 1024)} MiB"
                if count == want
                else f"wrong number of fields: {count + 1} instead of {ncols}"
            )
            runner.rejects.add(line_base + i + 1, line_base + i + 1, reason, reason.split(":")[0])
            early.append(line_base + i + 1)
    fields = delim.join([lines[i] for i in good]).split(delim) if good else []
    return [fields[k::ncols] for k in range(ncols)], [line_base + i + 1 for i in good], early


def _read_events_csv(runner: KindRunner, reader, prev_line: int, events: EventBatcher, offset: int) -> None:
    """Events through ``csv.reader``: rows of the right width go into a batch; everything
    else happens per batch. ``offset`` is added to the reader's line numbers."""
    ncols = runner.ncols
    rejects = runner.rejects
    state = runner.state
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
                        runner.report()
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
            rejects.add(last_end + 1, max(last_end + 1, (reader.line_num + offset)), csv_reason(exc))
            last_end = reader.line_num + offset
            early.append(last_end)
    if rows:
        events.batch(list(zip(*rows)), ends, batch_start, early)
    rejects.flush()
    events.close()
