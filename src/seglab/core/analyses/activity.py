"""Who was active when: units × calendar buckets (or days) boolean matrices from the roll-ups
(``user_days``; ``user_active_days`` for any event).

Why: SQLite's ``COUNT(DISTINCT ...)`` per interval costs a b-tree insert per roll-up row
and dominated the unique-users queries. Instead one streaming pass over the roll-up in
its primary-key order (user first) computes ``SUM(DISTINCT 1 << bucket)`` per user: a
small per-user set, and an exact bitmask because each bucket's bit is summed once.
Words of 62 buckets keep every sum inside a signed 64-bit integer. numpy then picks the
series' units, ORs an account's users together and counts, so all the series of a
request share one query. (A per-(user, event) sum of ``1 << day`` needs no DISTINCT but
returns ~5× more rows to Python; it measured slower.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seglab.core.analyses.common import Engine, SeriesSpec
from seglab.core.timeutil import DAY_MS

WORD_DAYS = 62


@dataclass
class DayActivity:
    """``active[i, j]``: unit ``units[i]`` did the event on day ``first_day + j`` (up to as-of)."""

    units: np.ndarray  # sorted int64 keys
    active: np.ndarray  # bool, len(units) × n_days
    first_day: int

    @property
    def n_days(self) -> int:
        return self.active.shape[1]

    def buckets(self, start_days: list[int], end_day_exclusive: int) -> np.ndarray:
        """Activity per calendar bucket (bool, units × buckets); buckets start at or after first_day."""
        cols = [d - self.first_day for d in start_days]
        if self.active.shape[0] == 0:
            return np.zeros((0, len(cols)), dtype=bool)
        return np.logical_or.reduceat(self.active, cols, axis=1) if cols else self.active[:, :0]


def load_day_activity(
    engine: Engine, event_sql: str, event_params: list, first_day: int, last_day: int, as_of_ms: int
) -> DayActivity:
    """Every user's active days in ``first_day..last_day`` for the events ``event_sql`` selects."""
    from seglab.core.analyses.common import buckets_for

    days = buckets_for(first_day, last_day, "day")
    users, active = load_bucket_activity(engine, event_sql, event_params, days, first_day, last_day, as_of_ms)
    return DayActivity(users, active, first_day)


def load_bucket_activity(
    engine: Engine, event_sql: str, event_params: list, buckets, first_day: int, last_day: int, as_of_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """(sorted users, bool users × buckets): the user did the event in that bucket, on a day in
    ``first_day..last_day`` (which must not start before the first bucket), up to as-of.

    One streaming pass grouped by user (the roll-up's key order); ``SUM(DISTINCT 1 << bucket)``
    is exact because each bucket's bit enters the sum once however many events and days hit it.
    """
    from seglab.core.analyses.common import rollup_table

    n_b = len(buckets.starts)
    n_words = max(1, -(-n_b // WORD_DAYS))
    b_sql, b_params = buckets.sql("d.day", sqlite=engine.is_sqlite)
    table = rollup_table(event_sql)
    # Daily buckets over the any-event roll-up: a user's rows are distinct days, so each bit
    # enters the sum once without DISTINCT (SQLite's DISTINCT costs a b-tree insert per row).
    distinct = "" if (table == "user_active_days" and buckets.interval == "day") else "DISTINCT "
    one = "1" if engine.is_sqlite else "CAST(1 AS BIGINT)"  # DuckDB's literal 1 is 32-bit
    cols: list[str] = []
    params: list = []
    for w in range(n_words):
        lo, hi = w * WORD_DAYS, (w + 1) * WORD_DAYS
        bit = f"{one} << ({b_sql} - ?)"
        # Bucket indexes are within 0..n_b-1 by the day filter, so the first and last words need
        # only one bound: fewer comparisons per row on the hot path.
        conds, cparams = [], []
        if w > 0:
            conds.append(f"{b_sql} >= ?")
            cparams += [*b_params, lo]
        if w < n_words - 1:
            conds.append(f"{b_sql} < ?")
            cparams += [*b_params, hi]
        if conds:
            cols.append(f"SUM({distinct}CASE WHEN {' AND '.join(conds)} THEN {bit} ELSE 0 END)")
            params += [*cparams, *b_params, lo]
        else:
            cols.append(f"SUM({distinct}{bit})")
            params += [*b_params, lo]
    cut_sql, cut_params = engine.as_of_filter(as_of_ms, "d.first_ts")
    sql = (
        f"SELECT d.user_key, {', '.join(cols)} FROM {table} d"
        f" WHERE d.day BETWEEN ? AND ?{cut_sql}{event_sql} GROUP BY d.user_key"
    )
    rows = engine.rows(sql, [*params, first_day, last_day, *cut_params, *event_params])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, n_b), dtype=bool)
    data = np.array(rows, dtype=np.int64)
    data = data[np.argsort(data[:, 0], kind="stable")]
    return data[:, 0], unpack_words(data[:, 1:], n_b)


def unpack_words(words: np.ndarray, n_bits: int) -> np.ndarray:
    """Rows of 62-bit words → bool rows of ``n_bits`` (bit i of word w is position 62 w + i)."""
    rows, n_words = words.shape
    as_bytes = np.ascontiguousarray(words.astype("<u8")).view(np.uint8).reshape(rows, n_words, 8)
    bits = np.unpackbits(as_bytes, axis=2, bitorder="little")[:, :, :WORD_DAYS]
    return bits.reshape(rows, n_words * WORD_DAYS)[:, :n_bits].astype(bool)


class UnitMap:
    """The user → account link (users.account_key), loaded once per analysis when needed."""

    def __init__(self, engine: Engine, accounts: tuple[int, ...] | None = None):
        if accounts is None:
            rows = engine.rows("SELECT user_key, account_key FROM users WHERE account_key IS NOT NULL")
        else:  # only these accounts' users (through the users_account index)
            rel, params = engine.key_set(accounts)
            rows = engine.rows(f"SELECT user_key, account_key FROM users WHERE account_key IN {rel}", params)
        data = np.array(rows, dtype=np.int64).reshape(-1, 2)
        order = np.argsort(data[:, 0], kind="stable")
        self.users = data[order, 0]
        self.accounts = data[order, 1]

    def account_of(self, users: np.ndarray) -> np.ndarray:
        """Each user's account key, -1 for none."""
        if self.users.size == 0:
            return np.full(users.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.users, users), self.users.size - 1)
        found = self.users[pos] == users
        return np.where(found, self.accounts[pos], -1)


def unit_map_for(engine: Engine, series, need_all: bool = False) -> UnitMap | None:
    """The user → account map the series need: none without account series, else only the
    member accounts' users unless a series is every account (or ``need_all``)."""
    accounts = [s for s in series if s.level == "account"]
    if not accounts and not need_all:
        return None
    if need_all or any(s.keys is None for s in accounts):
        return UnitMap(engine)
    return UnitMap(engine, tuple(sorted({k for s in accounts for k in s.keys})))


def in_series(users: np.ndarray, series: SeriesSpec, unit_map: UnitMap | None) -> np.ndarray:
    """Which of ``users`` belong to ``series`` (a user of a member account, for account series)."""
    if series.level == "user":
        if series.keys is None:
            return np.ones(users.shape, dtype=bool)
        return np.isin(users, np.asarray(series.keys, dtype=np.int64))
    assert unit_map is not None
    acc = unit_map.account_of(users)
    if series.keys is None:
        return acc >= 0
    return (acc >= 0) & np.isin(acc, np.asarray(series.keys, dtype=np.int64))


def group_rows(keys: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OR together the rows of ``matrix`` that share a key; returns (sorted unique keys, matrix)."""
    if keys.size == 0:
        return keys, matrix
    order = np.argsort(keys, kind="stable")
    keys, matrix = keys[order], matrix[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.logical_or.reduceat(matrix, starts, axis=0)


def series_units(
    activity_units: np.ndarray, matrix: np.ndarray, series: SeriesSpec, unit_map: UnitMap | None
) -> tuple[np.ndarray, np.ndarray]:
    """The series' units (users, or accounts) with their activity (an account: any of its users)."""
    keep = in_series(activity_units, series, unit_map)
    users, rows = activity_units[keep], matrix[keep]
    if series.level == "user":
        return users, rows
    assert unit_map is not None
    return group_rows(unit_map.account_of(users), rows)


def user_event_counts(engine: Engine, event: str, window) -> tuple[np.ndarray, np.ndarray]:
    """(users, events in the window) for users with at least one; exact at an as-of inside a day."""
    from seglab.core.analyses.common import event_clause, rollup_table
    from seglab.core.timeutil import DAY_MS

    event_sql, event_params, _ = event_clause(engine, event, "d.event_key")
    table = rollup_table(event_sql)
    as_of = window.as_of_ms
    as_of_day = as_of // DAY_MS
    rows = engine.rows(
        "SELECT d.user_key, SUM(CASE WHEN d.day < ? THEN d.n ELSE 0 END),"
        " SUM(CASE WHEN d.day >= ? THEN d.n ELSE 0 END), SUM(CASE WHEN d.last_ts > ? THEN 1 ELSE 0 END)"
        f" FROM {table} d WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?{event_sql} GROUP BY d.user_key",
        [as_of_day, as_of_day, as_of, window.from_day, window.to_day, as_of, *event_params],
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    data = np.array(rows, dtype=np.int64)
    users, counts = data[:, 0], data[:, 1] + data[:, 2]
    cut = data[:, 3] > 0
    if cut.any():
        # The roll-up cannot split the as-of day: count that day from the events for those users.
        e_sql, e_params, _ = event_clause(engine, event, "e.event_key")
        day_rows = engine.rows(
            "SELECT e.user_key, COUNT(*) FROM events e"
            f" WHERE e.ts BETWEEN ? AND ?{e_sql} GROUP BY e.user_key",
            [as_of_day * DAY_MS, as_of, *e_params],
        )
        on_day = dict(day_rows)
        for i in np.flatnonzero(cut):
            counts[i] = data[i, 1] + on_day.get(int(users[i]), 0)
    keep = counts > 0
    return users[keep], counts[keep]


def _firsts_source(engine: Engine, event: str) -> tuple[str, str, str, str, list]:
    """(all-time table aliased ``f``, its per-day roll-up aliased ``d``, the correlation and
    event clause on ``f``, its parameters): per event name and user ``user_events`` and
    ``user_days``; for any event (``*``) ``users`` and ``user_active_days``."""
    from seglab.core.analyses.common import event_clause
    from seglab.core.analyses.filters import selector_of

    event_sql, event_params, _known = event_clause(engine, event, "f.event_key")
    if not selector_of(event).plain_any:
        return "user_events f", "user_days", " AND d.event_key = f.event_key", event_sql, event_params
    return "users f", "user_active_days", "", event_sql, event_params


def first_active_day(engine: Engine, event: str, as_of_ms: int):
    """(users, first day with the event up to as-of), over all history.

    The all-time first event (``user_events.first_ts``, ``users.first_ts`` for any event)
    is the first one up to as-of whenever it is not later than as-of."""
    table, _days, _corr, event_sql, event_params = _firsts_source(engine, event)
    rows = engine.rows(
        f"SELECT f.user_key, f.first_ts FROM {table} WHERE f.first_ts <= ?{event_sql}",
        [as_of_ms, *event_params],
    )
    data = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return data[:, 0], data[:, 1] // DAY_MS


def first_day_in_range(
    engine: Engine, event: str, from_day: int, to_day: int, as_of_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """(users, first day in ``from_day..to_day`` with an event up to as-of), users sorted.

    A user whose first event ever falls in the range has it as the answer; only users who
    started before the range need their first row in it, one primary-key seek each into the
    per-day roll-up (at 5M events 60-80 ms for weekly retention's cohorts, against 300+ ms
    for a scan of user_days grouped by user)."""
    table, days, corr, event_sql, event_params = _firsts_source(engine, event)
    from_ms = from_day * DAY_MS
    cut_sql, cut_params = engine.as_of_filter(as_of_ms, "d.first_ts")
    # f.last_ts + 0: read the all-time table in key order, so the seeks follow the roll-up's
    # clustering (through the users(last_ts) index they jump around it).
    rows = engine.rows(
        f"SELECT f.user_key, f.first_ts, CASE WHEN f.first_ts < ? THEN (SELECT MIN(d.day) FROM {days} d"
        f" WHERE d.user_key = f.user_key{corr} AND d.day BETWEEN ? AND ?{cut_sql}) END"
        f" FROM {table} WHERE f.last_ts + 0 >= ? AND f.first_ts <= ?{event_sql}"
        " ORDER BY f.user_key",
        [from_ms, from_day, to_day, *cut_params, from_ms, as_of_ms, *event_params],
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    users = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    first = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    seek = np.fromiter((-1 if r[2] is None else r[2] for r in rows), dtype=np.int64, count=len(rows))
    day = np.where(first >= from_ms, first // DAY_MS, seek)
    keep = (day >= 0) & (day <= to_day)
    return users[keep], day[keep]


def reduce_per_unit(series: SeriesSpec, users: np.ndarray, values: np.ndarray, unit_map, how: str):
    """Per series unit: users' values as they are, or combined per account (``sum`` or ``min``)."""
    keep = in_series(users, series, unit_map)
    users, values = users[keep], values[keep]
    if series.level == "user":
        return users, values
    accounts = unit_map.account_of(users)
    if accounts.size == 0:
        return accounts, values
    order = np.argsort(accounts, kind="stable")
    accounts, values = accounts[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], accounts[1:] != accounts[:-1])))
    fn = np.add if how == "sum" else np.minimum
    return accounts[starts], fn.reduceat(values, starts)


def universe_keys(engine: Engine, level: str) -> np.ndarray:
    """Every user, or every account (from an accounts file or linked to a user), sorted."""
    if level == "user":
        rows = engine.rows("SELECT user_key FROM users")
    else:
        rows = engine.rows(
            "SELECT account_key FROM accounts WHERE from_file = 1"
            " OR account_key IN (SELECT account_key FROM users WHERE account_key IS NOT NULL)"
        )
    return np.sort(np.array([r[0] for r in rows], dtype=np.int64))
