"""Pieces every analysis shares: series, the reporting window, calendar buckets, SQL helpers.

The SQL written here runs unchanged on SQLite (the product) and DuckDB (the tests'
and benchmarks' cross-check), so it sticks to their common subset: ``?`` parameters,
no date functions (calendar arithmetic is done in Python and sent as numbers), and
integer division only where it is exact (``(x - x % 7) / 7``) because DuckDB's ``/``
returns a real.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from seglab.core.errors import AnalysisError, Cancelled
from seglab.core.progress import NULL_PROGRESS, Progress, check_cancelled, install_interrupt
from seglab.core.storage.arrays import int_columns
from seglab.core.timeutil import DAY_MS, add_months, month_start, week_start

if TYPE_CHECKING:
    from seglab.core.analyses.filters import EventSelector

Level = Literal["user", "account"]
Interval = Literal["day", "week", "month"]
INTERVALS = ("day", "week", "month")
EVERYONE = "everyone"
DEFAULT_RANGE_DAYS = 90


@dataclass(frozen=True)
class SeriesSpec:
    """One line on a chart: a set of users or accounts (``keys=None`` means everyone at ``level``)."""

    label: str
    level: Level = "user"
    keys: tuple[int, ...] | None = None


EVERYONE_SERIES = (SeriesSpec(EVERYONE, "user", None),)


@dataclass(frozen=True)
class Window:
    """The resolved reporting window: whole UTC days ``from_day..to_day``, cut at as-of."""

    as_of_ms: int
    from_day: int  # days since 1970-01-01
    to_day: int
    start_ms: int  # first ms counted
    end_ms: int  # last ms counted: min(end of to_day, as_of)

    @property
    def from_date(self) -> dt.date:
        return day_to_date(self.from_day)

    @property
    def to_date(self) -> dt.date:
        return day_to_date(self.to_day)

    @property
    def empty(self) -> bool:
        return self.end_ms < self.start_ms


def day_to_date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def date_to_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def resolve_window(
    as_of_ms: int | None, date_from: dt.date | None, date_to: dt.date | None, conn=None
) -> Window:
    """``--from``/``--to`` as whole UTC days, inclusive; default: the 90 days up to as-of.

    Without ``as_of_ms`` the project's as-of is used (its pin, else its latest event).
    """
    if as_of_ms is None and conn is not None:
        from seglab.core.project import resolve_as_of

        as_of_ms = resolve_as_of(conn)
    if as_of_ms is None:
        raise AnalysisError("the project has no events yet, so there is no as-of time; import events first")
    as_of_day = int(as_of_ms) // DAY_MS
    to_day = date_to_day(date_to) if date_to is not None else as_of_day
    if date_from is not None:
        from_day = date_to_day(date_from)
    else:
        from_day = to_day - (DEFAULT_RANGE_DAYS - 1)
    if from_day > to_day:
        end = (
            f"--to {day_to_date(to_day).isoformat()}"
            if date_to is not None
            else (f"the as-of day {day_to_date(to_day).isoformat()} (the default --to)")
        )
        raise AnalysisError(f"--from {day_to_date(from_day).isoformat()} is after {end}")
    start_ms = from_day * DAY_MS
    end_ms = min((to_day + 1) * DAY_MS - 1, int(as_of_ms))
    return Window(int(as_of_ms), from_day, to_day, start_ms, end_ms)


# -- calendar buckets ----------------------------------------------------------


def bucket_start(day: dt.date, interval: Interval) -> dt.date:
    if interval == "day":
        return day
    if interval == "week":
        return week_start(day)
    if interval == "month":
        return month_start(day)
    raise AnalysisError(f"interval {interval!r} is not one of day, week, month")


def next_bucket(day: dt.date, interval: Interval) -> dt.date:
    if interval == "day":
        return day + dt.timedelta(days=1)
    if interval == "week":
        return day + dt.timedelta(days=7)
    return add_months(day, 1)


def bucket_starts(first: dt.date, last: dt.date, interval: Interval) -> list[dt.date]:
    """Starts of every calendar interval that overlaps ``first..last`` (inclusive days)."""
    out = []
    cur = bucket_start(first, interval)
    while cur <= last:
        out.append(cur)
        cur = next_bucket(cur, interval)
    return out


class DayBuckets:
    """Maps day numbers to calendar-bucket indexes in SQL, with bucket 0 starting at ``starts[0]``.

    Day and week buckets are plain arithmetic; month buckets are a CASE over the
    bucket boundaries (bound parameters), there being few months in any range.
    """

    def __init__(self, starts: list[dt.date], interval: Interval):
        if not starts:
            raise ValueError("no buckets")
        self.starts = starts
        self.interval = interval
        self.base_day = date_to_day(starts[0])
        self.start_days = [date_to_day(s) for s in starts]
        self.end_day_exclusive = date_to_day(next_bucket(starts[-1], interval))

    def sql(self, day_expr: str, sqlite: bool = False) -> tuple[str, list]:
        """An expression giving the bucket index of ``day_expr`` (which must be >= base_day).

        ``sqlite=True`` gives SQLite's cheaper form (its ``/`` on integers truncates).
        """
        if self.interval == "day":
            return f"({day_expr} - ?)", [self.base_day]
        if self.interval == "week" and sqlite:
            return f"(({day_expr} - ?) / 7)", [self.base_day]
        if self.interval == "week":
            # Exact division (a multiple of 7), cast because DuckDB's "/" returns a real.
            return (
                f"CAST((({day_expr} - ?) - (({day_expr} - ?) % 7)) / 7 AS BIGINT)",
                [self.base_day, self.base_day],
            )
        parts = []
        params: list = []
        for i, start in enumerate(self.start_days[1:]):
            parts.append(f"WHEN {day_expr} < ? THEN {i}")
            params.append(start)
        if not parts:
            return "0", []
        return f"(CASE {' '.join(parts)} ELSE {len(self.start_days) - 1} END)", params

    def sql_ms(self, ts_expr: str) -> tuple[str, list]:
        """Like :meth:`sql` for an epoch-ms expression (which must be >= the first bucket's start)."""
        base = self.base_day * DAY_MS
        if self.interval in ("day", "week"):
            size = DAY_MS if self.interval == "day" else 7 * DAY_MS
            return (
                f"CAST((({ts_expr} - ?) - (({ts_expr} - ?) % {size})) / {size} AS BIGINT)",
                [base, base],
            )
        parts = []
        params: list = []
        for i, start in enumerate(self.start_days[1:]):
            parts.append(f"WHEN {ts_expr} < ? THEN {i}")
            params.append(start * DAY_MS)
        if not parts:
            return "0", []
        return f"(CASE {' '.join(parts)} ELSE {len(self.start_days) - 1} END)", params

    def index_of_day(self, day: int) -> int:
        import bisect

        return bisect.bisect_right(self.start_days, day) - 1

    def start_ms(self, i: int) -> int:
        return self.start_days[i] * DAY_MS

    def last_ms(self, i: int) -> int:
        """The last millisecond of bucket ``i``."""
        if i + 1 < len(self.start_days):
            return self.start_days[i + 1] * DAY_MS - 1
        return self.end_day_exclusive * DAY_MS - 1


def buckets_for(first_day: int, last_day: int, interval: Interval, extra: int = 0) -> DayBuckets:
    """Buckets covering ``first_day..last_day`` plus ``extra`` further intervals."""
    starts = bucket_starts(day_to_date(first_day), day_to_date(last_day), interval)
    for _ in range(extra):
        starts.append(next_bucket(starts[-1], interval))
    return DayBuckets(starts, interval)


def check_interval(interval: str) -> None:
    if interval not in INTERVALS:
        raise AnalysisError(f"interval {interval!r} is not one of day, week, month")


# -- the engine a query runs on -------------------------------------------------


class Engine:
    """A thin adapter over an SQLite (the product) or DuckDB (cross-checks) connection."""

    def __init__(self, conn, progress: Progress | None = None):
        self.conn = conn
        self.is_sqlite = isinstance(conn, sqlite3.Connection)
        self.progress = progress
        # A cancel from the UI stops a running statement, not just the next one; the handler is
        # only installed while our statements run so the caller's connection is left as it was.
        self._interruptible = self.is_sqlite and progress is not None and progress is not NULL_PROGRESS
        self._max_ts: int | None = None
        # The filtered event this engine's statements see (see for_event).
        self.selector: EventSelector | None = None
        self._ctes: list[tuple[str, str]] = []
        self._cte_params: list = []

    def for_event(self, event, as_of_ms: int | None = None) -> Engine:
        """This engine, or for an event with filters one whose statements read only the matching
        events: ``events`` and the roll-ups are shadowed by common table expressions of the
        same names (:func:`seglab.core.analyses.filters.shadow_ctes`)."""
        from seglab.core.analyses.filters import selector_of, shadow_ctes

        selector = selector_of(event)
        if not selector.where:
            return self
        other = Engine(self.conn, self.progress)
        other._max_ts = None
        other.selector = selector
        other._ctes, other._cte_params = shadow_ctes(self, selector, as_of_ms)
        return other

    def _with(self, sql: str, params) -> tuple[str, list]:
        if not self._ctes:
            return sql, list(params)
        used = {name for name, _ in self._ctes if re.search(rf"\b{name}\b", sql)}
        if not used:
            return sql, list(params)
        # Every roll-up reads the shadowed events, so that one always goes first.
        ctes = [(n, body) for n, body in self._ctes if n == "events" or n in used]
        prefix = "WITH " + ", ".join(f"{name} AS ({body})" for name, body in ctes) + " "
        return prefix + sql, [*self._cte_params, *params]

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        sql, params = self._with(sql, params)
        with self._guard():
            return self.conn.execute(sql, list(params)).fetchall()

    @contextlib.contextmanager
    def _guard(self):
        if self.progress is not None:
            check_cancelled(self.progress)
        if self._interruptible:
            install_interrupt(self.conn, self.progress)
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc).lower():
                raise Cancelled("cancelled") from None
            raise
        finally:
            if self._interruptible:
                self.conn.set_progress_handler(None, 0)

    def cursor(self, sql: str, params: list | tuple = ()):
        """Rows one at a time (for streaming into numpy); interruption surfaces as :class:`Cancelled`."""
        sql, params = self._with(sql, params)
        with self._guard():
            cur = self.conn.execute(sql, list(params))
            yield from (cur if self.is_sqlite else cur.fetchall())

    def column(self, sql: str, params: list | tuple = ()):
        """A one-column integer result as a numpy array, in the query's row order (SQLite:
        see :func:`seglab.core.storage.arrays.int_columns`)."""
        import numpy as np

        sql, params = self._with(sql, params)
        with self._guard():
            if self.is_sqlite:
                return int_columns(self.conn, sql, list(params), 1)[0]
            columns = self.conn.execute(sql, list(params)).fetchnumpy()
            return np.asarray(next(iter(columns.values())), dtype=np.int64)

    def one(self, sql: str, params: list | tuple = ()):
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def key_set(self, keys: tuple[int, ...]) -> tuple[str, list]:
        """A one-column relation ``(value)`` holding ``keys``, as SQL and its single bound parameter.

        SQLite gets a JSON array through ``json_each`` (no temporary table: CLI
        connections are read-only), DuckDB a list.
        """
        if self.is_sqlite:
            return "(SELECT value FROM json_each(?))", [json.dumps([int(k) for k in keys])]
        return "(SELECT unnest(?::BIGINT[]) AS value)", [[int(k) for k in keys]]

    def properties(self, entity: str):
        """The property catalogue of ``entity`` (works on either engine)."""
        from seglab.core.project import PropertyInfo

        rows = self.rows(
            "SELECT entity, name, column_name, type FROM properties WHERE entity = ? ORDER BY position",
            [entity],
        )
        return [PropertyInfo(*row) for row in rows]

    def as_of_filter(self, as_of_ms: int, col: str) -> tuple[str, list]:
        """``AND col <= as_of``, or nothing when no event is later than as-of (the usual case):
        the comparison is measurable on the hot scans and cannot exclude anything then."""
        if self._max_ts is None:
            self._max_ts = self.one("SELECT MAX(ts) FROM events")
        if self._max_ts is not None and as_of_ms >= self._max_ts:
            return "", []
        return f" AND {col} <= ?", [as_of_ms]

    def event_keys(self, names: list[str]) -> dict[str, int]:
        """Event name → key for the names that exist (unknown names are simply absent)."""
        out: dict[str, int] = {}
        for name in dict.fromkeys(names):
            key = self.one("SELECT event_key FROM event_names WHERE name = ?", [name])
            if key is not None:
                out[name] = int(key)
        return out


def unit_filter(engine: Engine, series: SeriesSpec, user_col: str, account_col: str) -> tuple[str, list]:
    """A WHERE fragment restricting rows to ``series`` ('' when it is everyone at user level)."""
    if series.keys is None:
        if series.level == "account":
            return f" AND {account_col} IS NOT NULL", []
        return "", []
    rel, params = engine.key_set(series.keys)
    col = user_col if series.level == "user" else account_col
    return f" AND {col} IN {rel}", params


def event_clause(engine: Engine, event, col: str) -> tuple[str, list, bool]:
    """(SQL fragment, params, known): ``*`` is any event; an unknown name matches nothing.

    ``event`` is a name, an event with filters (``purchase[amount>=100]``) or an
    :class:`~seglab.core.analyses.filters.EventSelector`. Filters are applied by reading
    through ``engine.for_event(event)``, which must be the engine given here; a filtered
    any-event (``*[platform=web]``) then reads the per-event roll-ups (a non-empty clause).
    """
    from seglab.core.analyses.filters import selector_of

    selector = selector_of(event)
    if selector.where and engine.selector != selector:
        raise AssertionError(f"event {selector.text!r} read without its filters (use engine.for_event)")
    if selector.any_event:
        return ("", [], True) if not selector.where else (" AND 1 = 1", [], True)
    name = selector.event
    keys = engine.event_keys([name])
    if name not in keys:
        return " AND 1 = 0", [], False
    return f" AND {col} = ?", [keys[name]], True


def rollup_table(event_sql: str) -> str:
    """The roll-up a query with ``event_sql`` (from :func:`event_clause`) reads, aliased ``d``.

    Any event (no clause) reads ``user_active_days``: one row per user and active day, the
    per-event ``user_days`` rows summed over names (same ``n``, ``first_ts``, ``last_ts``
    semantics), so the result is identical on fewer rows and a day's row is unique per user.
    """
    return "user_days" if event_sql else "user_active_days"


def check_series(series: tuple[SeriesSpec, ...]) -> None:
    if not series:
        raise AnalysisError("an analysis needs at least one series")
    labels = [s.label for s in series]
    if len(set(labels)) != len(labels):
        raise AnalysisError("two series have the same label; give each segment once")
    for s in series:
        if s.level not in ("user", "account"):
            raise AnalysisError(f"series {s.label!r}: level must be user or account, not {s.level!r}")


def safe_rate(num: float, den: float) -> float:
    """A rate whose denominator is zero is 0 (documented in docs/analyses.md)."""
    return float(num) / float(den) if den else 0.0
