"""Parsing timestamps from CSV cells into epoch milliseconds (UTC).

Accepted without options: ISO 8601 with ``T`` or a space, ``Z`` or ``±HH:MM``
offsets (converted to UTC), no zone (UTC, or the chosen source zone), date only,
``YYYY-MM-DD HH:MM:SS``, and epoch seconds / milliseconds / microseconds told
apart by magnitude. Day/month orders such as ``01/02/2024`` are ambiguous and
are never guessed: they need an explicit ``date_format`` (strptime syntax).
"""

from __future__ import annotations

import datetime as dt
import re
from math import floor

UTC = dt.UTC

# Plausible event times: 1971-01-01 .. 2199-12-31. Anything outside is almost
# certainly a unit mix-up (e.g. seconds read as milliseconds), so it is rejected.
MIN_MS = 31_536_000_000
MAX_MS = 7_258_118_400_000

_EPOCH_RE = re.compile(r"^-?\d+(\.\d+)?$")
_AMBIGUOUS_RE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}([ T].*)?$")
_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


class TimestampError(ValueError):
    """A cell that is not a timestamp in any accepted form (the message says why)."""


def looks_ambiguous(text: str) -> bool:
    """True for day/month/year shapes like ``01/02/2024`` that need a date format."""
    return bool(_AMBIGUOUS_RE.match(text.strip()))


def epoch_to_ms(value: float) -> int:
    """Epoch seconds, milliseconds or microseconds (by magnitude) to milliseconds."""
    magnitude = abs(value)
    if magnitude < 1e11:
        ms = value * 1000
    elif magnitude < 1e14:
        ms = value
    elif magnitude < 1e17:
        ms = value / 1000
    else:
        raise TimestampError("number too large to be an epoch timestamp")
    ms = floor(ms + 1e-6)
    if not MIN_MS <= ms < MAX_MS:
        raise TimestampError("number is not a plausible epoch time (seconds, ms or µs)")
    return ms


class TimestampParser:
    """Callable turning a cell into epoch ms; raises :class:`TimestampError`.

    ``tz`` is the zone of values written without one (default UTC).
    ``check_range`` rejects times outside 1971..2199 (event times); property
    date-times (birthdays...) skip it.
    """

    def __init__(self, date_format: str | None = None, tz: dt.tzinfo | None = None, check_range: bool = True):
        self.date_format = date_format
        self.tz = tz or UTC
        self.check_range = check_range

    def __call__(self, text: str) -> int:
        text = text.strip()
        if not text:
            raise TimestampError("empty timestamp")
        if self.date_format is not None:
            try:
                value = dt.datetime.strptime(text, self.date_format)
            except ValueError:
                raise TimestampError(f"does not match the date format {self.date_format}") from None
            return self._finish(value)
        first = text[0]
        if (first.isdigit() or first == "-") and _EPOCH_RE.match(text):
            if len(text) == 8 and text.isdigit():  # 20240301: a compact ISO date, not an epoch
                return self._iso(f"{text[:4]}-{text[4:6]}-{text[6:]}")
            return epoch_to_ms(float(text) if "." in text else int(text))
        return self._iso(text)

    def _iso(self, text: str) -> int:
        if text.endswith("z"):  # RFC 3339 allows a lower-case zone letter; the batch parser does too
            text = text[:-1] + "Z"
        value: dt.datetime | None
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            value = None
            if len(text) > 26 and "." in text:  # nanoseconds: keep microseconds, drop the rest
                try:
                    value = dt.datetime.fromisoformat(_FRACTION_RE.sub(r"\1", text, count=1))
                except ValueError:
                    value = None
        if value is None:
            if looks_ambiguous(text):
                raise TimestampError("ambiguous day/month date: give the date format (e.g. %d/%m/%Y)")
            raise TimestampError("not a recognised date or time")
        return self._finish(value)

    def _finish(self, value: dt.datetime) -> int:
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        # floor(seconds) * 1000 + ms keeps exact milliseconds without float rounding.
        ms = floor(value.timestamp()) * 1000 + value.microsecond // 1000
        if self.check_range and not MIN_MS <= ms < MAX_MS:
            raise TimestampError("date outside 1971..2199")
        return ms


def is_timestamp_like(text: str) -> bool:
    """A cheap test used by type inference: ISO date/date-time (not a bare number)."""
    text = text.strip()
    if len(text) < 8 or not text[:4].isdigit() or text[4] != "-":
        return False
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


_NUMPY_ISO_CELL = r"(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?|[^\x1f]{0,9})"
_NUMPY_ISO_COLUMN_RE = re.compile(f"{_NUMPY_ISO_CELL}(?:\x1f{_NUMPY_ISO_CELL})*")
_TRAILING_Z_RE = re.compile("(\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?)[Zz](?=\x1f|$)")


def parse_column(values: list[str], parser: TimestampParser) -> tuple[list, dict[int, str]]:
    """Parse a batch of cells at once: (epoch ms or ``None`` per cell, {index: reason}).

    The common shapes (ISO without offsets, epoch numbers) are parsed by numpy in
    C; whatever numpy cannot take, or takes but gives an implausible time, goes
    through ``parser`` one by one, so the result is the same as parsing each cell.
    """
    import numpy as np

    reasons: dict[int, str] = {}
    fast = None
    if parser.date_format is None and parser.tz is UTC and values:
        try:
            fast = _numpy_column(values, np)
        except (ValueError, TypeError, OverflowError):
            fast = None
    if fast is None:
        out: list = []
        for i, text in enumerate(values):
            try:
                out.append(parser(text))
            except TimestampError as exc:
                out.append(None)
                reasons[i] = str(exc)
        return out, reasons
    ms, suspect = fast
    out = ms.tolist()
    for i in np.flatnonzero(suspect).tolist():
        try:
            out[i] = parser(values[i])
        except TimestampError as exc:
            out[i] = None
            reasons[i] = str(exc)
    return out, reasons


def _numpy_column(values: list[str], np):
    arr = np.array(values)
    if arr.dtype.kind != "U":
        raise ValueError("not text")
    first = values[0].strip()
    if first and (first[0].isdigit() or first[0] == "-") and _EPOCH_RE.match(first) and len(first) != 8:
        # Only plain decimal numbers: numpy would also read "1e3" or " 12", the cell parser not.
        if re.search(r"[^0-9.\x1f-]", "\x1f".join(values)):
            raise ValueError("unusual numbers")
        num = arr.astype(np.float64)
        mag = np.abs(num)
        ms = np.where(mag < 1e11, num * 1000, np.where(mag < 1e14, num, num / 1000))
        ms = np.floor(ms + 1e-6)
        good = (ms >= MIN_MS) & (ms < MAX_MS) & (mag < 1e17)
        # Eight digits read as a compact date (YYYYMMDD) one by one: let that parser decide.
        good &= np.char.str_len(arr) != 8
        return np.where(good, ms, 0).astype(np.int64), ~good
    fixed = _fixed_width_iso(values, np)
    if fixed is not None:
        ms, suspect = fixed
        good = ~suspect & (ms >= MIN_MS) & (ms < MAX_MS)
        return np.where(good, ms, 0), ~good
    joined = "\x1f".join(values)
    if "Z" in joined or "z" in joined:
        # Only a zone letter right after a time: "00:00:00.Z00" and "2024-01-01Z" are not
        # timestamps (the cell parser refuses them).
        joined = _TRAILING_Z_RE.sub(r"\1", joined)
        arr = np.array(joined.split("\x1f"))
    # numpy only sees cells it parses silently (anything else would make it warn).
    if not _NUMPY_ISO_COLUMN_RE.fullmatch(joined):
        raise ValueError("unusual cells: parse one by one")
    short = None
    if min(map(len, values)) < 10:
        short = np.char.str_len(arr) < 10
        arr = np.where(short, "1970-01-01", arr)
    ms = arr.astype("datetime64[ms]").astype(np.int64)
    good = (ms >= MIN_MS) & (ms < MAX_MS)
    if short is not None:
        good &= ~short
    return np.where(good, ms, 0), ~good


_FIXED_WIDTHS = {19: False, 20: False, 23: True, 24: True}  # width -> has milliseconds


def _fixed_width_iso(values, np):
    """Vectorised parse of the commonest export shape, ``YYYY-MM-DD[T ]HH:MM:SS[.fff][Z]``,
    when every cell has the same width: digits are read straight from the bytes.

    Returns (ms, suspect) or ``None`` when the column is not of that shape; suspect
    cells (bad digits or separators, impossible dates or times) go to the full parser.
    """
    width = len(values[0])
    if width not in _FIXED_WIDTHS:
        return None
    joined = "".join(values)
    n = len(values)
    if len(joined) != width * n or not joined.isascii():
        return None
    return fixed_width_cells(np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(n, width), np)


def fixed_width_cells(a, np):
    """(ms, suspect) of the cells of ``a``, an ``n × width`` uint8 matrix of ASCII cells of one of
    the widths of :func:`_fixed_width_iso` (the Arrow import reads it straight off a column's buffer),
    or ``None`` when no cell has that shape."""
    width = a.shape[1]
    ok = (a[:, 4] == 45) & (a[:, 7] == 45) & ((a[:, 10] == 84) | (a[:, 10] == 32))
    ok &= (a[:, 13] == 58) & (a[:, 16] == 58)
    positions = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
    if _FIXED_WIDTHS[width]:
        ok &= a[:, 19] == 46
        positions += [20, 21, 22]
    if width in (20, 24):
        ok &= (a[:, -1] == 90) | (a[:, -1] == 122)
    d = a[:, positions].astype(np.int64) - 48
    ok &= ((d >= 0) & (d <= 9)).all(axis=1)
    if not ok.any():
        return None
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    hh = d[:, 8] * 10 + d[:, 9]
    mm = d[:, 10] * 10 + d[:, 11]
    ss = d[:, 12] * 10 + d[:, 13]
    frac = d[:, 14] * 100 + d[:, 15] * 10 + d[:, 16] if _FIXED_WIDTHS[width] else 0
    ok &= (hh < 24) & (mm < 60) & (ss < 60)
    # Few distinct dates per batch: check and convert those with the calendar, not per cell.
    code = np.where(ok, year * 10000 + month * 100 + day, 19700101)
    unique, inverse = np.unique(code, return_inverse=True)
    epoch = dt.date(1970, 1, 1)
    days = np.empty(len(unique), dtype=np.int64)
    valid = np.ones(len(unique), dtype=bool)
    for i, c in enumerate(unique.tolist()):
        try:
            days[i] = (dt.date(c // 10000, c // 100 % 100, c % 100) - epoch).days
        except ValueError:
            days[i], valid[i] = 0, False
    ok &= valid[inverse]
    ms = days[inverse] * 86_400_000 + hh * 3_600_000 + mm * 60_000 + ss * 1000 + frac
    return ms, ~ok
