"""Property types: inference from a sample, per-cell conversion, widening.

A column's type is the narrowest of integer, real, boolean, datetime, text that
fits every non-empty value seen. Later values that do not fit widen the type
(integer → real → text; boolean, datetime → text); they are never rejected.
Empty cells are NULL ("no value").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from seglab.core.importing.timestamps import TimestampParser, is_timestamp_like

# Leading zeros ("007", zip codes) and signs like "+1" stay text: an integer would lose them.
_INT_RE = re.compile(r"^-?(0|[1-9]\d{0,17})$")
_REAL_RE = re.compile(r"^-?(0|[1-9]\d*)?\.\d+([eE][-+]?\d{1,3})?$|^-?(0|[1-9]\d*)(\.\d*)?[eE][-+]?\d{1,3}$")
_TRUE = frozenset({"true", "yes", "t", "y"})
_FALSE = frozenset({"false", "no", "f", "n"})
_BOOL_WORDS = _TRUE | _FALSE

# Widening order: a type can become any type to its right in its row.
_WIDER = {
    "integer": ("real", "text"),
    "real": ("text",),
    "boolean": ("text",),
    "datetime": ("text",),
    "text": (),
}

_property_ts = TimestampParser(check_range=False)


def value_type(text: str) -> str:
    """The narrowest type of one non-empty cell."""
    if _INT_RE.match(text):
        return "integer"
    if _REAL_RE.match(text):
        return "real"
    if text.lower() in _BOOL_WORDS:
        return "boolean"
    if is_timestamp_like(text):
        return "datetime"
    return "text"


def unify(current: str | None, new: str) -> str:
    """The narrowest type holding both ``current`` and ``new``."""
    if current is None or current == new:
        return new
    if new in _WIDER[current]:
        return new
    if current in _WIDER[new]:
        return current
    return "text"


def infer_type(values: Iterable[str]) -> str | None:
    """Type of a sample of cells; ``None`` when every cell is empty."""
    result: str | None = None
    for value in values:
        if value == "" or value.isspace():
            continue
        result = unify(result, value_type(value.strip()))
        if result == "text":
            break
    return result


def _to_integer(text: str) -> int:
    if not _INT_RE.match(text):
        raise ValueError(text)
    return int(text)


def _to_real(text: str) -> float:
    if _INT_RE.match(text) or _REAL_RE.match(text):
        return float(text)
    raise ValueError(text)


def _to_boolean(text: str) -> int:
    low = text.lower()
    if low in _TRUE:
        return 1
    if low in _FALSE:
        return 0
    raise ValueError(text)


def _to_datetime(text: str) -> int:
    if not is_timestamp_like(text):
        raise ValueError(text)
    return _property_ts(text)


def _to_text(text: str) -> str:
    return text


CONVERTERS: dict[str, Callable[[str], object]] = {
    "integer": _to_integer,
    "real": _to_real,
    "boolean": _to_boolean,
    "datetime": _to_datetime,
    "text": _to_text,
}


def widen_sql(column: str, old: str, new: str) -> str | None:
    """SQL expression converting stored ``old``-typed values of ``column`` to ``new``.

    ``column`` is always an internal ``p<N>`` name, never text from a file.
    """
    if old == new:
        return None
    if new == "real":
        return f"CAST({column} AS REAL)"
    if new != "text":
        raise ValueError(f"cannot widen {old} to {new}")
    if old == "boolean":
        return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"
    if old == "datetime":
        return f"strftime('%Y-%m-%dT%H:%M:%fZ', {column} / 1000.0, 'unixepoch')"
    if old == "real":
        # SQLite prints 1.0 as "1.0" and keeps up to 15 significant digits.
        return f"CAST({column} AS TEXT)"
    return f"CAST({column} AS TEXT)"


_LEADING_ZERO = re.compile(r"(?:^|\x1f)-?0\d")
_BOOL_VALUES = {**{w: 1 for w in _TRUE}, **{w: 0 for w in _FALSE}}


def _plain_numbers(values, joined: str, extra: str) -> bool:
    """Cheap whole-column screen: only digits, '-' and ``extra`` characters, no leading
    zeros, no more than 18 characters. str methods run in C, a regex per cell would not."""
    digits = joined.replace("\x1f", "").replace("-", "")
    for ch in extra:
        digits = digits.replace(ch, "")
    if digits and not (digits.isascii() and digits.isdigit()):
        return False
    if ("\x1f0" in joined or joined.startswith(("0", "-0"))) and _LEADING_ZERO.search(joined):
        return False
    return max(map(len, values), default=0) <= 18


def convert_column(typ: str, values) -> list:
    """Convert a column of cells at once (``""`` → ``None``).

    Raises ``ValueError`` when any non-empty cell does not fit ``typ``; the caller
    then converts cell by cell (and widens the type).
    """
    if typ == "text":
        return [v or None for v in values]
    if typ == "integer":
        if not _plain_numbers(values, "\x1f".join(values), ""):
            raise ValueError("not all integers")
        return [int(v) if v else None for v in values]
    if typ == "real":
        if not _plain_numbers(values, "\x1f".join(values), ".eE"):
            raise ValueError("not all numbers")
        return [float(v) if v else None for v in values]
    if typ == "boolean":
        try:
            return [_BOOL_VALUES[v.lower()] if v else None for v in values]
        except KeyError:
            raise ValueError("not all booleans") from None
    convert = CONVERTERS[typ]
    return [convert(v) if v else None for v in values]
