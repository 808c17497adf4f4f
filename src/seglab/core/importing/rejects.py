"""Rejected rows: counted by reason during the import, written afterwards to ``FILE.rejects.csv``
(line, reason, the raw text) beside the project."""

from __future__ import annotations

import csv
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from seglab.core.importing.readers import RecordError
from seglab.core.importing.sniff import FIELD_LIMIT


def csv_reason(exc: csv.Error) -> str:
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


def category_of(reason: str) -> str:
    """What a reason counts under in the report: ``"bad timestamp 'x': ..."`` → ``bad timestamp 'x'``,
    ``"not valid UTF-8 at byte 930"`` → ``not valid UTF-8``."""
    return "not valid UTF-8" if reason.startswith("not valid UTF-8") else reason.split(":")[0]


class Rejects:
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
        self.reasons[category or category_of(reason)] += 1
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
