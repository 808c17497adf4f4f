"""Lists of ids typed, pasted or read from a file: what a ``list`` condition is made of.

One parser for the builder's paste box, "Import a list of ids as a segment" and the command
line, so a pasted column from a spreadsheet and a one-column CSV file give the same ids.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from seglab.core.errors import SegLabError
from seglab.core.segments.model import MAX_LIST_IDS

# Header cells a one-column export starts with; never taken as an id.
_HEADERS = {"id", "ids", "user_id", "account_id", "userid", "accountid", "distinct_id", "user", "account"}
_SPLIT = re.compile(r"[\n\r\t,;]+")


def parse_ids(text: str) -> list[str]:
    """Ids from free text: one a line, or separated by commas, semicolons or tabs.

    Surrounding quotes and spaces are dropped, repeats kept once (first place wins), and a
    first cell that is a column header (``id``, ``user_id``...) is skipped.
    """
    out: dict[str, None] = {}
    for i, cell in enumerate(_SPLIT.split(text)):
        cell = cell.strip().strip('"').strip("'").strip()
        if not cell or (i == 0 and cell.lower() in _HEADERS):
            continue
        out.setdefault(cell, None)
    return list(out)


def read_ids_file(path: str | Path) -> list[str]:
    """The ids in a text or CSV file: the column named like an id (``id``, ``user_id``...), else the first.

    Raises :class:`SegLabError` with a sentence for a missing or unreadable file, or one with no ids.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SegLabError(f"{path.name}: no such file") from None
    except UnicodeDecodeError:
        raise SegLabError(f"{path.name}: not a text file (expected UTF-8 text, one id a line)") from None
    except OSError as exc:
        raise SegLabError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    first = text.split("\n", 1)[0]
    if "," in first or "\t" in first or ";" in first:
        dialect = "excel-tab" if "\t" in first else "excel"
        rows = list(csv.reader(io.StringIO(text), dialect=dialect))
        if rows:
            header = [c.strip().lower() for c in rows[0]]
            col = next((header.index(h) for h in header if h in _HEADERS), None)
            body = rows[1:] if col is not None else rows
            col = col or 0
            text = "\n".join(r[col] for r in body if len(r) > col)
    ids = parse_ids(text)
    if not ids:
        raise SegLabError(f"{path.name}: no ids in this file (expected one id a line)")
    if len(ids) > MAX_LIST_IDS:
        raise SegLabError(f"{path.name}: {len(ids):,} ids; a list holds at most {MAX_LIST_IDS:,}")
    return ids


def list_definition(ids: list[str], level: str = "user") -> dict:
    """The definition of "exactly these users (accounts)": one ``list`` condition."""
    return {"version": 1, "level": level, "match": "all", "conditions": [{"type": "list", "ids": list(ids)}]}
