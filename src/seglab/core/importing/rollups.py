"""The group-bys an import keeps over its events, in numpy and without SQL: the per-day roll-up
(``user_days``) and the tables derived from it (``user_events``, ``event_days``,
``user_active_days``), users' first and last event, and users' latest account.

Batches are aggregated as they come; pending rows are spilled to sorted runs on disk
(:class:`Runs`) and merged back a range of users at a time, so memory stays bounded. Every
function here takes and returns integer numpy arrays: ``tests/core/test_import_rollups.py`` checks
them against plain Python group-bys."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from seglab.core.timeutil import DAY_MS

Columns = tuple  # parallel numpy arrays: the keys, then count, first time, last time


def grown(arr, size: int, fill: int):
    """``arr`` (int64, indexed by key) long enough for ``size`` keys: doubled, new cells ``fill``."""
    if size <= len(arr):
        return arr
    extra = max(size, 2 * len(arr)) - len(arr)
    return np.concatenate((arr, np.full(extra, fill, dtype=np.int64)))


def grouped(keys: tuple):
    """An order that sorts rows by ``keys`` (integer arrays, major first), and where each group
    of equal keys starts in that order.

    The keys are packed into one int64 and sorted once when they fit in 63 bits (always, for
    user, event and day keys): 7x faster than ``lexsort`` on three keys at a million rows.
    Rows inside a group come in no particular order."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    packed = np.zeros(n, dtype=np.int64)
    shift = 0
    for key in reversed(keys):
        lo = int(key.min())
        bits = (int(key.max()) - lo).bit_length()
        if shift + bits > 63:
            break
        packed |= (key.astype(np.int64) - lo) << shift
        shift += bits
    else:
        order = np.argsort(packed)
        packed = packed[order]
        return order, np.flatnonzero(np.concatenate(([True], packed[1:] != packed[:-1])))
    order = np.lexsort(tuple(reversed(keys)))
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        ordered = key[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    return order, np.flatnonzero(change)


def aggregate(uk, ek, day, cnt, first, last):
    """Group rows by (user, event, day): summed counts, earliest first, latest last; sorted by key."""
    return group_sums((uk, ek, day), cnt, first, last)


def aggregate_days(uk, day, cnt, first, last):
    """Group rows by (user, day) over all events: summed counts, earliest first, latest last."""
    return group_sums((uk, day), cnt, first, last)


def group_sums(keys: tuple, cnt, first, last) -> tuple:
    """The distinct ``keys`` in order, each with its summed ``cnt``, least ``first`` and greatest ``last``."""
    order, starts = grouped(keys)
    heads = order[starts]
    return (
        *(key[heads] for key in keys),
        np.add.reduceat(cnt[order], starts) if len(starts) else cnt[:0],
        np.minimum.reduceat(first[order], starts) if len(starts) else first[:0],
        np.maximum.reduceat(last[order], starts) if len(starts) else last[:0],
    )


def day_rows(uk, ek, ts) -> Columns:
    """One batch's events (user key, event key, time in ms) as ``user_days`` rows sorted by (user,
    event, day), the keys, day and count in compact types (a pending row costs 32 bytes, not 48)."""
    day = ts // DAY_MS
    parts = aggregate(uk, ek, day, np.ones(len(ts), dtype=np.int64), ts, ts)
    return tuple(a.astype(np.int32) for a in parts[:4]) + parts[4:]


def user_event_totals(uk, ek, day, cnt, first, last) -> Columns:
    """``user_events`` rows (event, user, count, first, last) from a ``user_days`` aggregate sorted
    by (user, event, day), in the table's (event, user) order."""
    starts = np.flatnonzero(np.concatenate(([True], (uk[1:] != uk[:-1]) | (ek[1:] != ek[:-1]))))
    totals = (
        ek[starts],
        uk[starts],
        np.add.reduceat(cnt, starts),
        np.minimum.reduceat(first, starts),
        np.maximum.reduceat(last, starts),
    )
    order, _ = grouped((totals[0], totals[1]))
    return tuple(a[order] for a in totals)


def event_day_totals(ek, day, cnt, first, last) -> Columns:
    """``event_days`` rows (event, day, count, first, last): everyone's events per event and day."""
    order, starts = grouped((ek, day))
    e_s, d_s = ek[order], day[order]
    return (
        e_s[starts],
        d_s[starts],
        np.add.reduceat(cnt[order], starts),
        np.minimum.reduceat(first[order], starts),
        np.maximum.reduceat(last[order], starts),
    )


def user_spans(uk, first, last) -> Columns:
    """(user, earliest first, latest last) per user of rows sorted by user."""
    starts = np.flatnonzero(np.concatenate(([True], uk[1:] != uk[:-1])))
    return uk[starts].astype(np.int64), np.minimum.reduceat(first, starts), np.maximum.reduceat(last, starts)


class DayRollUp:
    """The ``user_days`` rows of an import's batches: aggregated as they come, spilled to sorted
    runs on disk once ``flush_rows`` are pending, and given back (:meth:`aggregates`) as sorted
    aggregates of about ``merge_rows`` rows, a range of users at a time."""

    def __init__(self, flush_rows: int, merge_rows: int):
        self.flush_rows = flush_rows
        self.merge_rows = merge_rows
        self.parts: list[Columns] = []
        self.rows = 0
        self.runs: Runs | None = None

    def add(self, uk, ek, ts) -> None:
        parts = day_rows(uk, ek, ts)
        self.parts.append(parts)
        self.rows += len(parts[0])
        if self.rows >= self.flush_rows:
            self.spill()

    def _take_pending(self) -> Columns | None:
        """The pending rows as one aggregate sorted by (user, event, day); none pending: None."""
        if not self.parts:
            return None
        merged = [np.concatenate(c) for c in zip(*self.parts)]
        self.parts, self.rows = [], 0
        return aggregate(*merged)

    def spill(self) -> None:
        """Aggregate the pending rows into a sorted run on disk (see :class:`Runs`)."""
        pending = self._take_pending()
        if pending is not None:
            if self.runs is None:
                self.runs = Runs()
            self.runs.add(pending)

    @property
    def spilled(self) -> bool:
        return self.runs is not None

    def aggregates(self) -> Iterator[Columns]:
        """Everything rolled up, as aggregates sorted by (user, event, day), in user-key order."""
        if self.runs is None:  # it all fits in one aggregate: no file
            pending = self._take_pending()
            if pending is not None:
                yield pending
            return
        self.spill()
        try:
            for columns in self.runs.ranges(self.merge_rows):
                yield aggregate(*columns)
        finally:
            self.discard()

    def discard(self) -> None:
        if self.runs is not None:
            self.runs.close()
            self.runs = None


class Runs:
    """Sorted runs of roll-up rows spilled to a temporary file, read back a range of users at a time.

    Upserting each flush straight into the roll-up tables (clustered by user) touched nearly every
    page of them per flush; once they outgrew the page cache (at 5M events ``user_days`` is
    ~110 MB) every flush re-read and re-wrote them, and the upserts took 17 s instead of ~7.
    Written once at the end, a range of users at a time, every page is visited once, in order
    (appends when the tables start empty).
    """

    DTYPES = ("int32", "int32", "int32", "int64", "int64", "int64")  # user, event, day, n, first, last

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="seglab-rollup-")
        # Each run's column offsets, its length and its user column (None: read from the file).
        self.runs: list[tuple[list[int], int, Any]] = []

    def add(self, columns: tuple) -> None:
        """Append one aggregate (columns sorted by user, event, day)."""

        offsets = []
        for array, dtype in zip(columns, self.DTYPES):
            offsets.append(self.file.seek(0, os.SEEK_END))
            self.file.write(np.ascontiguousarray(array, dtype=dtype).tobytes())
        self.runs.append((offsets, len(columns[0]), self._kept_users(columns[0])))

    def _kept_users(self, users):
        """What of a run's user column stays in memory (all of it here)."""
        return np.asarray(users, dtype=np.int32)

    def _users(self, run: tuple):
        """A run's user column."""
        return run[2]

    def ranges(self, rows: int):
        """The runs' rows of successive user-key ranges of about ``rows`` rows, as column tuples."""

        self.file.flush()
        runs = [run for run in self.runs if run[1]]
        size = 1 + max((int(self._users(run)[-1]) for run in runs), default=0)  # runs are sorted
        per_user = np.zeros(size, dtype=np.int64)
        for run in runs:
            per_user += np.bincount(self._users(run), minlength=size)
        per_user = per_user.cumsum()
        # Last user key of each range: where the running row count passes a multiple of ``rows``.
        edges = np.unique(np.searchsorted(per_user, np.arange(rows, per_user[-1], rows)))
        bounds = [*(int(e) + 1 for e in edges), len(per_user)]
        lo = 0
        for hi in bounds:
            if hi <= lo:
                continue
            parts = []
            for run in runs:
                a, b = np.searchsorted(self._users(run), (lo, hi))
                if b > a:
                    parts.append([self._read(run[0][k], dtype, a, b) for k, dtype in enumerate(self.DTYPES)])
            if parts:
                yield tuple(np.concatenate(c) for c in zip(*parts))
            lo = hi

    def _read(self, offset: int, dtype: str, a: int, b: int):

        size = np.dtype(dtype).itemsize
        self.file.seek(offset + a * size)
        return np.frombuffer(self.file.read((b - a) * size), dtype=dtype)

    def close(self) -> None:
        self.file.close()


class UserTimes:
    """Users' first and last event seen by an import (indexed by user key; -1: none yet), written
    to ``users`` once at the end: one UPDATE per user instead of one per user and flush, each also
    moving two index entries (``users(first_ts)``, ``users(last_ts)``)."""

    def __init__(self):
        self.first_of = np.full(0, -1, dtype=np.int64)
        self.last_of = np.full(0, -1, dtype=np.int64)

    def update(self, users, mins, maxs) -> None:
        if users.size:
            self.first_of = grown(self.first_of, int(users.max()) + 1, -1)
            self.last_of = grown(self.last_of, int(users.max()) + 1, -1)
        seen = self.first_of[users] >= 0
        self.first_of[users] = np.where(seen, np.minimum(self.first_of[users], mins), mins)
        self.last_of[users] = np.maximum(self.last_of[users], maxs)

    def known(self) -> tuple[list[int], list[int], list[int]]:
        """(users, their first times, their last times) of every user seen."""
        users = np.flatnonzero(self.first_of >= 0)
        return users.tolist(), self.first_of[users].tolist(), self.last_of[users].tolist()


class LatestAccounts:
    """Each user's latest account on an import's events (and its time; -1: none), and the users
    seen with two accounts."""

    def __init__(self):
        self.account = np.full(0, -1, dtype=np.int64)
        self.ts = np.zeros(0, dtype=np.int64)

    def add(self, uks, aks, ts_a) -> set[int]:
        """Note one batch (user keys, account keys or ``None``, times); the users it shows with
        more than one account, in the batch or against an earlier batch."""
        conflicts: set[int] = set()
        ak_a = np.array([-1 if a is None else a for a in aks] if None in aks else aks, dtype=np.int64)
        uk_a = np.array(uks, dtype=np.int64)
        has = ak_a >= 0
        if not has.all():
            uk_a, ak_a, ts_a = uk_a[has], ak_a[has], ts_a[has]
        if not len(uk_a):
            return conflicts
        # Users with two accounts inside this batch.
        pairs = np.unique((uk_a << 32) | ak_a)
        pair_users = pairs >> 32
        dup = pair_users[1:] == pair_users[:-1]
        if dup.any():
            conflicts.update(pair_users[1:][dup].tolist())
        # The latest row per user (ties: the later row, as a file in time order would say).
        order = np.lexsort((np.arange(len(uk_a)), ts_a, uk_a))
        u, t, a = uk_a[order], ts_a[order], ak_a[order]
        last = np.flatnonzero(np.concatenate((u[1:] != u[:-1], [True])))
        u, t, a = u[last], t[last], a[last]
        size = int(u.max()) + 1
        self.account = grown(self.account, size, -1)
        self.ts = grown(self.ts, size, 0)
        cur_a, cur_t = self.account[u], self.ts[u]
        clash = (cur_a >= 0) & (cur_a != a)
        if clash.any():
            conflicts.update(u[clash].tolist())
        take = (cur_a < 0) | (t >= cur_t)
        self.account[u[take]] = a[take]
        self.ts[u[take]] = t[take]
        return conflicts

    def latest(self) -> dict[int, tuple[int, int]]:
        """user key → (time, account key) of the latest account seen on their events."""
        linked = np.flatnonzero(self.account >= 0)
        return dict(zip(linked.tolist(), zip(self.ts[linked].tolist(), self.account[linked].tolist())))
