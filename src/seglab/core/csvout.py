"""The one CSV writer of SegLab: command line (members, analyses) and app (members list, chart data).

Every cell is text made by :func:`format_cell` (full-precision floats, ``true``/``false``,
empty for a missing value) and, unless ``raw``, made safe for spreadsheets by
:func:`safe_cell`: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'`` so Excel or LibreOffice never runs it as a formula (OWASP's
"CSV injection"), except a plain number such as ``-12.5`` or ``+3e5``, which stays a
number. Headers are cells too (a property may be called ``=HYPERLINK(...)``).

The import's rejects file is not written here: it keeps each rejected row's raw text, to
be fixed and imported again (docs/cli.md, "Safe output").
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")


def safe_cell(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def format_cell(value: Any) -> str:
    """CSV text for one value: full-precision floats, lowercase booleans, empty for missing."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if _is_bool(value):
        return "true" if value else "false"
    if isinstance(value, float) or _is_numpy_float(value):
        value = float(value)
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int) or _is_numpy_int(value):
        return str(int(value))
    if _is_missing(value):
        return ""
    return str(value)


def write_csv(
    out: TextIO,
    columns: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    raw: bool = False,
    dialect: str = "excel",
) -> int:
    """Write a header and rows to ``out``; return the number of rows. ``raw``: no formula guard;
    ``dialect="excel-tab"`` for tab-separated text (the clipboard)."""
    writer = csv.writer(out, dialect=dialect, lineterminator="\n")
    if raw:
        writer.writerow([format_cell(c) for c in columns])
    else:
        writer.writerow([safe_cell(format_cell(c)) for c in columns])
    n = 0
    for row in rows:
        if raw:
            writer.writerow([format_cell(v) for v in row])
        else:
            writer.writerow([safe_cell(format_cell(v)) for v in row])
        n += 1
    return n


def write_frame(
    out: TextIO, frame, columns: Sequence[str] | None = None, *, raw: bool = False, dialect: str = "excel"
) -> int:
    """Write a pandas DataFrame's ``columns`` (default: all) with :func:`write_csv`."""
    columns = list(frame.columns if columns is None else columns)
    rows = frame[columns].itertuples(index=False, name=None)
    return write_csv(out, columns, rows, raw=raw, dialect=dialect)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def _is_numpy_float(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__.startswith("float")


def _is_numpy_int(value: Any) -> bool:
    name = type(value).__name__
    return type(value).__module__ == "numpy" and (name.startswith("int") or name.startswith("uint"))


def _is_missing(value: Any) -> bool:
    # pandas' NaT / NA without importing pandas here
    return type(value).__name__ in ("NaTType", "NAType")
