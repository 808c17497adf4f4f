"""Time helpers shared by importing, segments and analyses.

Timestamps are integer milliseconds since the Unix epoch, UTC, everywhere in the
core. Calendar arithmetic is done here in Python, never in SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import overload

from seglab.core.errors import UserError

UTC = dt.UTC
DAY_MS = 86_400_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def ms_to_datetime(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=int(ms))


def datetime_to_ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


@overload
def ms_to_iso(ms: int) -> str: ...


@overload
def ms_to_iso(ms: None) -> None: ...


def ms_to_iso(ms: int | None) -> str | None:
    """ISO 8601 in UTC with millisecond precision and a ``Z`` suffix."""
    if ms is None:
        return None
    return ms_to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def date_to_ms(day: dt.date) -> int:
    """Start of ``day`` (00:00:00.000 UTC) in epoch milliseconds."""
    return (day - dt.date(1970, 1, 1)).days * DAY_MS


def ms_to_date(ms: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(ms) // DAY_MS)


# The one rule for an as-of time and a reporting range (--as-of, --from, --to, a pinned as-of):
# wide around any event time SegLab imports (1971..2199), narrow enough that every analysis can
# step whole weeks, months and periods before and after it without leaving the calendar.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


def check_day_range(day: dt.date, what: str, text: str) -> dt.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        first, last = FIRST_DAY.isoformat(), LAST_DAY.isoformat()
        raise UserError(f"{what} {text!r} is out of range (use a date from {first} to {last})")
    return day


def parse_date(text: str, what: str = "date") -> dt.date:
    try:
        day = dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date (expected YYYY-MM-DD)") from None
    return check_day_range(day, what, text)


def parse_as_of(text: str) -> int:
    """Parse an ``--as-of`` value: ISO date or date-time, UTC.

    A bare date means the end of that day (23:59:59.999), as docs/cli.md says.
    """
    text = str(text).strip()
    if _DATE_RE.match(text):
        return date_to_ms(parse_date(text, "as-of")) + DAY_MS - 1
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UserError(
            f"as-of {text!r} is not an ISO date or date-time (e.g. 2024-03-31 or 2024-03-31T12:00:00Z)"
        ) from None
    try:
        utc = value.astimezone(UTC) if value.tzinfo else value
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        utc = dt.datetime.min if value.year < 2000 else dt.datetime.max
    check_day_range(utc.date(), "as-of", text)
    return datetime_to_ms(value if value.tzinfo else value.replace(tzinfo=UTC))


def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week containing ``day``."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.month - 1 + n, 12)
    return dt.date(day.year + y, m + 1, 1)


def utc_now_iso() -> str:
    return dt.datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
