"""Event writing: batches of raw event cells become typed, keyed rows in ``events``, and the
roll-ups, users' first/last times and account links follow them (:mod:`.rollups` does the
group-bys; this module writes them).

Columns are processed a batch at a time (ids through dict lookups, timestamps through numpy),
which is what makes the import fast enough; a batch with unusual cells falls back to
cell-by-cell parsing with the same results."""

from __future__ import annotations

import bisect
import itertools
from typing import TYPE_CHECKING

import numpy as np

from seglab.core.errors import Cancelled
from seglab.core.importing import rollups
from seglab.core.importing.catalogue import convert_values
from seglab.core.importing.filecheck import BAD_BYTE
from seglab.core.importing.keys import event_keys, user_keys
from seglab.core.importing.timestamps import parse_column
from seglab.core.importing.transaction import max_params, write_rows
from seglab.core.storage.schema import SPARSE_SHARE, sparse_property_index_sql

if TYPE_CHECKING:
    from seglab.core.importing.pipeline import KindRunner


class EventBatcher:
    """Turns batches of raw event rows into typed, keyed rows, inserts them and keeps the per-day
    roll-ups, users' first/last times and account links up to date."""

    # Pending per-day rows aggregated into a run on disk when this many accumulate, and users
    # merged back from the runs about this many rows at a time (both bound the memory).
    DAYS_FLUSH_ROWS = 600_000
    MERGE_ROWS = 500_000

    def __init__(self, runner: KindRunner):
        self.r = runner
        conn = self.conn = runner.conn
        self.sparse_pending = {p.column for p in runner.props}  # decided once values show up
        fields = runner.cmap.fields
        self.iu, self.ie, self.it = fields["user_id"], fields["event"], fields["timestamp"]
        self.ia, self.ii = fields.get("account_id"), fields.get("insert_id")
        self.users = user_keys(conn)
        self.names = event_keys(conn)
        columns = ["ts", "user_key", "event_key"]
        if self.ia is not None:
            columns.append("account_key")
        if self.ii is not None:
            columns.append("insert_id")
        columns += [p.column for p in runner.props]
        self.width = len(columns)
        self.max_params = max_params(conn)
        self.head = f"INSERT INTO events({', '.join(columns)})"
        self.days = rollups.DayRollUp(self.DAYS_FLUSH_ROWS, self.MERGE_ROWS)
        self.user_times = rollups.UserTimes()
        self.links = rollups.LatestAccounts()

    def batch(self, cols: list, ends: list[int], batch_start: int, early: list[int]) -> None:
        """Process one batch: ``cols`` are the file's columns (equal-length sequences of
        cells), ``ends`` the last line of each record, ``early`` the ends of records
        already rejected inside the batch (for exact line spans)."""

        r = self.r
        state = r.state
        n = len(ends)
        state.rows_read += n
        bad: dict[int, tuple[str, str | None]] = {}
        if r.check_nul:
            for col in cols:
                if "\x00" in "".join(col):
                    for i, v in enumerate(col):
                        if "\x00" in v:
                            bad[i] = ("NUL byte in the row", None)
        if r.bad_utf8:
            for col in cols:
                if BAD_BYTE.search("".join(col)):
                    for i, v in enumerate(col):
                        if BAD_BYTE.search(v):
                            bad.setdefault(i, ("", "not valid UTF-8"))  # the reason needs the lines
        users, names = self.users, self.names
        uid_col = cols[self.iu]
        uks = users.lookup(uid_col)
        if None in uks:
            for i, k in enumerate(uks):
                if k is None and not uid_col[i].strip():
                    bad.setdefault(i, ("no user id", None))
        ts_col = cols[self.it]
        tss, reasons = parse_column(ts_col, r.parse_ts)
        for i, why in reasons.items():
            bad.setdefault(i, (f"bad timestamp {ts_col[i][:40]!r}: {why}", "bad timestamp"))
        name_col = cols[self.ie]
        eks = names.lookup(name_col)
        if None in eks:
            for i, k in enumerate(eks):
                if k is None and not name_col[i].strip():
                    bad.setdefault(i, ("no event name", None))
        if bad:
            for i in sorted(bad):
                start = ends[i - 1] if i else batch_start
                j = bisect.bisect_left(early, ends[i])
                if j:
                    start = max(start, early[j - 1])
                reason, category = bad[i]
                r.rejects.add(start + 1, ends[i], reason or r.utf8_reason(start + 1, ends[i]), category)
            keep = [i for i in range(n) if i not in bad]
            cols = [[c[i] for i in keep] for c in cols]
            uks = [uks[i] for i in keep]
            eks = [eks[i] for i in keep]
            tss = [tss[i] for i in keep]
            n = len(keep)
            if not n:
                return
        new_users = users.assign(uks, cols[self.iu])
        new_events = names.assign(eks, cols[self.ie])
        out = [tss, uks, eks]
        aks = None
        if self.ia is not None:
            acc_col = cols[self.ia]
            aks = r.accounts.lookup(acc_col)
            if None in aks:
                for i, k in enumerate(aks):
                    if k is None and acc_col[i]:
                        aks[i] = r.accounts.key(acc_col[i])
            out.append(aks)
        if self.ii is not None:
            ids = [v.strip() or None for v in cols[self.ii]]
            keep = self._new_insert_ids(ids)
            if len(keep) < n:
                state.duplicates += n - len(keep)
                out = [[c[i] for i in keep] for c in out]
                cols = [[c[i] for i in keep] for c in cols]
                tss, uks, eks = out[0], out[1], out[2]
                aks = None if aks is None else out[3]
                ids = [ids[i] for i in keep]
                n = len(keep)
                if not n:
                    return
            out.append(ids)
        for prop in r.props:
            out.append(self._convert(prop, cols[prop.index]))
        if self.sparse_pending:
            self._sparse_indexes(out[len(out) - len(r.props) :], n)

        conn = self.conn
        for head, pairs in (
            ("INSERT INTO users(user_key, user_id)", new_users),
            ("INSERT INTO event_names(event_key, name)", new_events),
        ):
            if pairs:
                write_rows(conn, head, "", 2, list(itertools.chain.from_iterable(pairs)), self.max_params)
        state.new_users += len(new_users)
        r.accounts.flush()
        self._write_events(out)
        state.rows_imported += n

        ts_a = np.array(tss, dtype=np.int64)
        if aks is not None:
            state.conflicts.update(self.links.add(uks, aks, ts_a))
        self.days.add(np.array(uks, dtype=np.int64), np.array(eks, dtype=np.int64), ts_a)

    def _convert(self, prop, values) -> list:
        """A property's cells as its values, the column widened first when a cell needs it (the
        staged batcher of :mod:`.arrowpath` overrides this to note widenings of staged rows)."""
        return convert_values(self.conn, "event", prop, values)

    def _write_events(self, out: list) -> None:
        """Insert a batch of typed event columns (``out``: ts, keys, insert ids, properties)."""
        flat = list(itertools.chain.from_iterable(zip(*out)))
        write_rows(self.conn, self.head, "", self.width, flat, self.max_params)

    def _sparse_indexes(self, values: list, n: int) -> None:
        """Give a numeric property its partial index (``storage.schema.sparse_property_index_sql``)
        when the first batch holding its values shows it sparse, before those rows go in: the
        index then grows with the import instead of being built over the table afterwards."""
        for prop, column in zip(self.r.props, values):
            if prop.column not in self.sparse_pending:
                continue
            present = n - column.count(None)
            if not present:
                continue
            self.sparse_pending.discard(prop.column)
            if prop.type in ("integer", "real") and present <= SPARSE_SHARE * n:
                self.conn.execute(sparse_property_index_sql(prop.column))

    def _new_insert_ids(self, ids: list) -> list[int]:
        """Indexes of the rows to keep: no id, or an id seen neither before nor earlier in the batch."""
        listed = sorted({i for i in ids if i is not None})
        known: set = set()
        for lo in range(0, len(listed), 500):
            part = listed[lo : lo + 500]
            known.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT insert_id FROM events WHERE insert_id IN ({', '.join('?' * len(part))})", part
                )
            )
        keep = []
        for i, value in enumerate(ids):
            if value is None:
                keep.append(i)
            elif value not in known:
                known.add(value)
                keep.append(i)
        return keep

    def write_roll_ups(self) -> None:
        """Upsert everything this import rolled up, a range of users at a time (in key order)."""
        progress, size = self.r.progress, self.r.size
        spilled = self.days.spilled
        if spilled:
            progress.report(size, size, "updating the roll-ups")
        for aggregate in self.days.aggregates():
            if spilled and progress.is_cancelled():
                raise Cancelled("cancelled")
            self._apply_days(*aggregate)
            del aggregate

    def discard(self) -> None:
        """Remove the roll-up runs' file, if an error or a cancel came before :meth:`close`."""
        self.days.discard()

    def _apply_days(self, uk, ek, day, cnt, first, last) -> None:
        """Upsert one aggregate (sorted by user, event, day) into the four roll-ups; note users' times."""
        self._upsert(
            "INSERT INTO user_days(user_key, event_key, day, n, first_ts, last_ts)",
            " ON CONFLICT(user_key, event_key, day) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            (uk, ek, day, cnt, first, last),
        )
        self._upsert(
            "INSERT INTO user_events(event_key, user_key, n, first_ts, last_ts)",
            " ON CONFLICT(event_key, user_key) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            rollups.user_event_totals(uk, ek, day, cnt, first, last),
        )
        self._upsert(
            "INSERT INTO event_days(event_key, day, n, first_ts, last_ts)",
            " ON CONFLICT(event_key, day) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            rollups.event_day_totals(ek, day, cnt, first, last),
        )
        del ek
        # The any-event roll-up (per user and day) from the same aggregate: its rows are
        # exactly this flush's new user_days rows summed over event names, so it touches only
        # the affected users and days and never reads raw events.
        uk, day, cnt, first, last = rollups.aggregate_days(uk, day, cnt, first, last)
        self._upsert(
            "INSERT INTO user_active_days(user_key, day, n, first_ts, last_ts)",
            " ON CONFLICT(user_key, day) DO UPDATE SET n = n + excluded.n, "
            "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            (uk, day, cnt, first, last),
        )
        # Users' first and last event, from the (smaller) per-day aggregate.
        self.user_times.update(*rollups.user_spans(uk, first, last))

    def write_first_last(self) -> None:
        users, firsts, lasts = self.user_times.known()
        self.conn.executemany(
            "UPDATE users SET first_ts = min(coalesce(first_ts, ?), ?), "
            "last_ts = max(coalesce(last_ts, ?), ?) WHERE user_key = ?",
            [(a, a, b, b, u) for u, a, b in zip(users, firsts, lasts)],
        )

    def _upsert(self, head: str, tail: str, columns: tuple) -> None:
        """Multi-row upserts of parallel numpy columns."""
        # Python ints cost ~36 bytes each: convert a few statements' worth at a time.
        step = 4 * max(1, self.max_params // len(columns))
        for lo in range(0, len(columns[0]), step):
            flat = np.column_stack([a[lo : lo + step] for a in columns]).ravel().tolist()
            write_rows(self.conn, head, tail, len(columns), flat, self.max_params)

    def close(self) -> None:
        self.write_roll_ups()
        self.write_first_last()
