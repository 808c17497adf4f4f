"""Events files on Apache Arrow: the import's fast path.

Every events file is written through a private staging file (core/importing/writer.py): the
exact batcher's rows, the roll-ups and the fast path's blocks alike. A plain UTF-8 CSV file is
also *read* on Arrow: it is cut into blocks of whole lines and each block is checked with numpy
on its bytes (a quote, a NUL byte or a lone CR hands the rest of the file to ``csv.reader``, from
the start of that block, as the exact path does from the start of its chunk). A block whose
lines all have the right number of fields is parsed by ``pyarrow.csv`` into string columns and
keyed, typed and rolled up on Arrow buffers and numpy, without a Python object per cell. Parquet
is read a batch of rows at a time, its cells rendered as the exact path renders them. A block
with anything the fast path does not decide itself (a ragged line, an empty id, a timestamp or a
number outside the plain shapes, a value that would widen a property's type, invalid UTF-8) goes
through the exact batcher (``events.EventBatcher.batch``) instead, so rejects, their lines and
reasons and every stored value are the exact path's.

``SEGLAB_IMPORT_EXACT=1`` turns all of this off (the exact path alone: the reference the tests
compare with).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import os
from typing import TYPE_CHECKING

from seglab.core.errors import Cancelled
from seglab.core.importing.csvrows import _read_events_csv, header_span, plain_lines, read_events
from seglab.core.importing.events import EventBatcher
from seglab.core.importing.readers import RecordRows
from seglab.core.importing.rollups import DayRollUp, Runs
from seglab.core.importing.sniff import FIELD_LIMIT
from seglab.core.importing.timestamps import UTC, TimestampError, fixed_width_cells, parse_column
from seglab.core.importing.types import widen_sql
from seglab.core.importing.writer import Staging
from seglab.core.storage.schema import SPARSE_SHARE, sparse_property_index_sql

if TYPE_CHECKING:
    from seglab.core.importing.pipeline import KindRunner

BLOCK_BYTES = 4 * 1024 * 1024
# The exact rules of core/importing/types.py, ASCII digits only (Python's \d takes any Unicode
# digit: such a cell goes through the exact path).
_INT_PATTERN = r"^-?(0|[1-9][0-9]{0,17})$"
_REAL_PATTERN = (
    r"^-?(0|[1-9][0-9]{0,17})$|^-?(0|[1-9][0-9]*)?\.[0-9]+([eE][-+]?[0-9]{1,3})?$"
    r"|^-?(0|[1-9][0-9]*)(\.[0-9]*)?[eE][-+]?[0-9]{1,3}$"
)
_BOOL_TRUE = ("true", "yes", "t", "y")
_BOOL_FALSE = ("false", "no", "f", "n")


def exact_only() -> bool:
    return os.environ.get("SEGLAB_IMPORT_EXACT", "") not in ("", "0")


def run_events(runner: KindRunner, text, delimiter: str) -> bool:
    """Import an events file's rows for ``runner`` (``KindRunner.run``); False: not taken here."""
    if exact_only():
        return False
    staging = Staging()
    runner.state.after_transaction.append(staging.close)
    runner.events = events = StagedBatcher(runner, staging)  # KindRunner.finish reads its links
    try:
        parse = runner.parse_ts
        plain_times = parse.date_format is None and parse.tz is UTC
        parquet = isinstance(text, RecordRows) and text.source.numbered_rows
        if parquet and text.source.shape is None and plain_times:
            ArrowParquet(runner, events, text.source).run()
        elif isinstance(text, RecordRows):
            runner._record_batches(text, events)  # the exact batcher, through the staging file
        elif _arrow_csv_ok(runner, text, delimiter):
            ArrowCsv(runner, events, text, delimiter).run()
        else:
            read_events(runner, text, delimiter, events)
    finally:
        events.discard()
    return True


def _arrow_csv_ok(runner: KindRunner, text, delimiter: str) -> bool:
    parse = runner.parse_ts
    return (
        isinstance(text, io.TextIOWrapper)
        and codecs.lookup(runner.encoding).name in ("utf-8", "utf-8-sig")
        and not runner.bad_utf8
        and not runner.check_nul
        and parse.date_format is None
        and parse.tz is UTC
        and len(delimiter) == 1
        and delimiter.isascii()
        and delimiter not in '\r\n"\x00'
    )


class StagedBatcher(EventBatcher):
    """The exact batcher, with its events and roll-ups staged and copied in at :meth:`close`
    (ADBC writes on its own thread; the roll-ups are staged on another while the events are
    copied).

    Staged rows keep the property types they were converted with; a widened property starts a
    new staging table, and the copy widens the older tables' values with the project's own
    ``sqlite3`` (``types.widen_sql``), as the exact path's ``UPDATE`` does to stored rows."""

    # The roll-ups are merged back while the events are copied (SQLite's page cache growing
    # meanwhile): in ranges half the exact path's, which keeps a 5M import's peak where it was.
    MERGE_ROWS = 250_000

    def __init__(self, runner: KindRunner, staging: Staging):
        super().__init__(runner)
        self.staging = staging
        self.columns = self.head[self.head.index("(") + 1 : -1].split(", ")
        self.segment = 0
        self.segments: list[dict[str, str]] = []  # each events table's property types
        self.widenings: list[tuple[int, str, str, str]] = []  # (segments before, column, old, new)
        self.roll_ups: list[tuple[str, str, str]] = []  # (staging table, head, tail), in order
        self.days = _FileDayRollUp(self.DAYS_FLUSH_ROWS, self.MERGE_ROWS)
        self.rollup_staging: Staging | None = None  # made at close

    # -- events
    def _write_events(self, out: list) -> None:
        import pyarrow as pa

        arrays = [pa.array(col, type=t) for col, t in zip(out, self._arrow_types(), strict=True)]
        self.stage(pa.Table.from_arrays(arrays, names=self.columns))

    def _arrow_types(self) -> list:
        import pyarrow as pa

        types = [pa.int64()] * 3
        if self.ia is not None:
            types.append(pa.int64())
        if self.ii is not None:
            types.append(pa.string())
        kinds = {"real": pa.float64(), "text": pa.string()}
        return types + [kinds.get(p.type, pa.int64()) for p in self.r.props]

    def stage(self, table) -> None:
        if len(self.segments) <= self.segment:
            self.segments.append({p.column: p.type for p in self.r.props})
            if self.ii is not None:
                self.staging.append(f"events_{self.segment}", table.slice(0, 0))
                name = f"events_{self.segment}"
                self.staging.execute(f"CREATE INDEX {name}_iid ON {name}(insert_id)")
        self.staging.append(f"events_{self.segment}", table)

    def _convert(self, prop, values) -> list:
        before = prop.type
        result = super()._convert(prop, values)
        if prop.type != before:
            # Staged rows keep their old type until the copy widens them, like stored ones.
            self.widenings.append((len(self.segments), prop.column, before, prop.type))
            if len(self.segments) > self.segment:
                self.segment += 1
        return result

    def _new_insert_ids(self, ids: list) -> list[int]:
        keep = super()._new_insert_ids(ids)  # against the project and within the batch
        staged: set = set()
        listed = sorted({ids[i] for i in keep if ids[i] is not None})
        for k in range(len(self.segments)):
            for lo in range(0, len(listed), 500):
                part = listed[lo : lo + 500]
                marks = ", ".join("?" * len(part))
                sql = f"SELECT insert_id FROM events_{k} WHERE insert_id IN ({marks})"
                rows = self.staging.execute(sql, part)
                staged.update(r[0] for r in rows)
        return [i for i in keep if ids[i] is None or ids[i] not in staged] if staged else keep

    def write_first_last(self) -> None:
        """``EventBatcher.write_first_last`` a slice of users at a time: the parameters of 500k
        users at once took ~80 MB (the peak of a 20M import)."""
        import numpy as np

        first_of, last_of = self.user_times.first_of, self.user_times.last_of
        users = np.flatnonzero(first_of >= 0)
        for lo in range(0, len(users), 50_000):
            part = users[lo : lo + 50_000]
            firsts, lasts = first_of[part].tolist(), last_of[part].tolist()
            self.conn.executemany(
                "UPDATE users SET first_ts = min(coalesce(first_ts, ?), ?), "
                "last_ts = max(coalesce(last_ts, ?), ?) WHERE user_key = ?",
                [(a, a, b, b, u) for u, a, b in zip(part.tolist(), firsts, lasts, strict=True)],
            )

    # -- roll-ups
    def _upsert(self, head: str, tail: str, columns: tuple) -> None:
        import pyarrow as pa

        names = head[head.index("(") + 1 : -1].split(", ")
        table = next((t for t, h, _ in self.roll_ups if h == head), None)
        if table is None:
            table = f"rollup_{len(self.roll_ups)}"
            self.roll_ups.append((table, head, tail))
        assert self.rollup_staging is not None
        self.rollup_staging.append(table, pa.Table.from_arrays([pa.array(c) for c in columns], names=names))

    def close(self) -> None:
        """Copy the staged events into the project while the roll-ups are aggregated and staged
        on a thread of their own (the copy runs in SQLite, without the GIL), then copy those."""
        import threading

        progress, size = self.r.progress, self.r.size
        schema = self.staging.attach(self.conn) if self.segments else None
        if self.days.spilled:
            progress.report(size, size, "updating the roll-ups")
        # Each range's roll-ups written before the next is aggregated: two ranges in memory at
        # once took a 5M import's peak RSS 40 MB higher.
        self.rollup_staging = Staging("seglab_staging_rollups", pending=0)
        self.r.state.after_transaction.append(self.rollup_staging.close)
        failed: list[BaseException] = []
        stop = threading.Event()

        def stage_roll_ups() -> None:
            try:
                for aggregate in self.days.aggregates():
                    if stop.is_set() or progress.is_cancelled():
                        raise Cancelled("cancelled")
                    self._apply_days(*aggregate)
                    del aggregate
            except BaseException as exc:
                failed.append(exc)

        worker = threading.Thread(target=stage_roll_ups, name="seglab-rollups")
        worker.start()
        try:
            for k in range(len(self.segments)):
                exprs = []
                for name in self.columns:
                    expr = name
                    for before, column, old, new in self.widenings:
                        if column == name and before > k:
                            expr = widen_sql(f"({expr})", old, new) or expr
                    exprs.append(expr)
                self.conn.execute(
                    f"{self.head} SELECT {', '.join(exprs)} FROM {schema}.events_{k} ORDER BY rowid"
                )
        except BaseException:
            stop.set()  # a failed or cancelled copy: the roll-ups are not needed
            raise
        finally:
            worker.join()
        if failed:
            raise failed[0]
        if self.roll_ups:
            rollups = self.rollup_staging.attach(self.conn)
            for table, head, tail in self.roll_ups:
                names = head[head.index("(") + 1 : -1]
                self.conn.execute(f"{head} SELECT {names} FROM {rollups}.{table} WHERE true{tail}")
        self.write_first_last()
        _return_freed_memory()


def _return_freed_memory() -> None:
    """Give the memory the worker threads freed back to the system (glibc keeps each thread's
    freed blocks in that thread's arena: at 5M events the rest of the import then ran ~40 MB
    higher). Elsewhere nothing to do."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the process runs on
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return
    trim(0)


class _FileDayRollUp(DayRollUp):
    """``rollups.DayRollUp`` spilling to runs that keep no column in memory (:class:`_FileRuns`)."""

    def spill(self) -> None:
        pending = self._take_pending()
        if pending is not None:
            if self.runs is None:
                self.runs = _FileRuns()
            self.runs.add(pending)


class _FileRuns(Runs):
    """``rollups.Runs`` whose user columns stay in their file: memory-mapped a run at a time
    to count the users and to find each range's rows (at 20M events holding them took ~60 MB,
    and twice that while the ranges were cut)."""

    def _kept_users(self, users) -> None:
        return None

    def _users(self, run: tuple):
        import numpy as np

        offsets, n, _ = run
        return np.memmap(self.file, dtype=np.int32, mode="r", offset=offsets[0], shape=(n,))


class ArrowCsv:
    """A plain UTF-8 CSV events file read in blocks of whole lines (see the module's docstring)."""

    def __init__(self, runner: KindRunner, events: StagedBatcher, text, delimiter: str):
        self.r = runner
        self.events = events
        self.text = text
        self.stream = text.buffer
        self.delim = delimiter
        self.ncols = runner.ncols
        self.errors = "replace"
        self.columns = ArrowColumns(runner, events).columns

    def run(self) -> None:
        import numpy as np

        r, events = self.r, self.events
        first = self.stream.read(BLOCK_BYTES)
        if self.r.encoding.replace("_", "-").lower() in ("utf-8-sig", "utf8-sig") and first.startswith(
            codecs.BOM_UTF8
        ):
            first = first[len(codecs.BOM_UTF8) :]
        cut = first.rfind(b"\n")
        head_text = (first if cut < 0 else first[: cut + 1]).decode("utf-8", errors=self.errors)
        skipped, pos = header_span(head_text, first, self.delim)
        head = first[:pos]
        if cut < 0 or (b"\r" in head and head.count(b"\r") != head.count(b"\r\n")):
            # No whole line in the first block, or old Mac line ends: the exact path reads it all.
            self.text.seek(0)
            read_events(r, self.text, self.delim, events)
            return
        rest = first[pos:]
        line_base = skipped
        want = self.ncols - 1
        delim = ord(self.delim)
        while True:
            if r.progress.is_cancelled():
                raise Cancelled("cancelled")
            cut = rest.rfind(b"\n")
            if cut < 0 or len(rest) < BLOCK_BYTES // 2:
                more = self.stream.read(BLOCK_BYTES)
                if more:
                    rest += more
                    continue
                if not rest:
                    break
                body, rest = (rest if rest.endswith(b"\n") else rest + b"\n"), b""
            else:
                body, rest = rest[: cut + 1], rest[cut + 1 :]
            if b"\r" in body:
                crlf = body.replace(b"\r\n", b"\n")
                if b"\r" not in crlf:
                    body = crlf
            if b'"' in body or b"\x00" in body or b"\r" in body:
                # Real CSV from here on: csv.reader, from this block's first line (as the exact path).
                tail = self.stream.readline()
                stream = itertools.chain(
                    io.StringIO((body + rest + tail).decode("utf-8", errors=self.errors), newline=""),
                    self.text,
                )
                reader = csv.reader(stream, delimiter=self.delim, strict=True)
                _read_events_csv(r, reader, 0, events, line_base)
                return
            a = np.frombuffer(body, dtype=np.uint8)
            ends = np.flatnonzero(a == 10)
            counts = np.diff(np.searchsorted(np.flatnonzero(a == delim), ends), prepend=0)
            longest = int(np.diff(ends, prepend=-1).max()) - 1
            shaped = bool((counts == want).all()) and longest <= FIELD_LIMIT
            if not (shaped and self._arrow_block(body, line_base)):
                self._python_block(body, line_base)
            line_base += len(ends)
            r.rejects.flush()
            r.report()
        events.close()

    def _python_block(self, body: bytes, line_base: int) -> None:
        """The exact path's handling of one block of lines (``csvrows.read_events``)."""
        lines = body.decode("utf-8", errors=self.errors)[:-1].split("\n")
        cols, ends, early = plain_lines(self.r, lines, self.ncols, self.delim, line_base)
        if ends:
            self.events.batch(cols, ends, line_base, early)

    # -- one clean block on Arrow
    def _arrow_block(self, body: bytes, line_base: int) -> bool:
        """Import one block whose lines all have the right number of fields; False (nothing done)
        when a row needs the exact path."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        names = [f"c{i}" for i in range(self.ncols)]
        try:
            table = pacsv.read_csv(
                pa.py_buffer(body),
                # One thread: per-thread buffers cost ~25 MB of peak RSS at 1M and 30 MB at 5M, for
                # no time on a shared 2-core machine.
                read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delim,
                    quote_char=False,
                    double_quote=False,
                    escape_char=False,
                    newlines_in_values=False,
                    ignore_empty_lines=False,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
                ),
            )
        except pa.ArrowInvalid:  # e.g. invalid UTF-8
            return False
        cols = [table.column(i).combine_chunks() for i in range(self.ncols)]
        del table
        return self.columns(cols)


class ArrowColumns:
    """Imports a block of rows given as Arrow string columns (the file's cells as the exact path
    would see them) without a Python object per cell; see the module's docstring."""

    def __init__(self, runner: KindRunner, events: StagedBatcher):
        self.r = runner
        self.events = events
        self.ncols = runner.ncols

    def columns(self, cols: list | _Cells, raw: list | None = None) -> bool:
        """Import the rows of ``cols`` (one string array per file column; ``raw``: the typed
        arrays they were rendered from, if any); False (nothing done) when a row needs the
        exact path."""
        import numpy as np
        import pyarrow as pa

        r, ev = self.r, self.events
        n = len(cols[ev.iu])
        # Timestamps: the fixed-width ISO shape straight off the buffer; other shapes by cells.
        if raw is not None and raw[ev.it] is not None and pa.types.is_timestamp(raw[ev.it].type):
            ts = _timestamp_column(raw[ev.it], np)
        else:
            ts = _timestamps(cols[ev.it], r.parse_ts, np)
        if ts is None:
            return False
        # Ids and names, a distinct value at a time.
        keyed = []
        for index, keys in ((ev.iu, ev.users), (ev.ie, ev.names)):
            encoded = cols[index].dictionary_encode()
            values = encoded.dictionary.to_pylist()
            found = keys.lookup(values)
            if None in found and any(f is None and not v.strip() for f, v in zip(found, values)):
                return False  # no user id / no event name: rejects
            keyed.append((encoded, values, found))
        typed = []
        for prop in r.props:
            column = functools.partial(cols.__getitem__, prop.index)
            value = _typed(column, prop.type, np, None if raw is None else raw[prop.index])
            if value is None:
                return False
            typed.append(value)
        # From here on the block is imported: keys are handed out in order of first appearance.
        state = r.state
        state.rows_read += n
        (u_enc, u_vals, u_found), (e_enc, e_vals, e_found) = keyed
        new_users = ev.users.assign(u_found, u_vals)
        new_events = ev.names.assign(e_found, e_vals)
        uk = np.asarray(u_found, dtype=np.int64)[u_enc.indices.to_numpy(zero_copy_only=False)]
        ek = np.asarray(e_found, dtype=np.int64)[e_enc.indices.to_numpy(zero_copy_only=False)]
        out = {"ts": ts, "user_key": uk, "event_key": ek}
        ak = None
        if ev.ia is not None:
            encoded = cols[ev.ia].dictionary_encode()
            accounts = [r.accounts.key(v) if v else None for v in encoded.dictionary.to_pylist()]
            lookup = np.asarray([-1 if k is None else k for k in accounts], dtype=np.int64)
            ak = lookup[encoded.indices.to_numpy(zero_copy_only=False)] if accounts else np.full(n, -1)
            out["account_key"] = pa.array(ak, mask=ak < 0)
        keep = None
        if ev.ii is not None:
            ids = [v.strip() or None for v in cols[ev.ii].to_pylist()]
            kept = ev._new_insert_ids(ids)
            if len(kept) < n:
                state.duplicates += n - len(kept)
                keep = np.asarray(kept, dtype=np.int64)
                ids = [ids[i] for i in kept]
            out["insert_id"] = pa.array(ids, type=pa.string())
        if keep is not None:
            n = len(keep)
            ts, uk, ek = ts[keep], uk[keep], ek[keep]
            out.update(ts=ts, user_key=uk, event_key=ek)
            if ak is not None:
                ak = ak[keep]
                out["account_key"] = pa.array(ak, mask=ak < 0)
            typed = [t.take(pa.array(keep)) for t in typed]
        for prop, value in zip(r.props, typed, strict=True):
            out[prop.column] = value
        self._sparse_indexes(typed, n)
        conn = ev.conn
        for sql, pairs in (
            ("INSERT INTO users(user_key, user_id) VALUES (?, ?)", new_users),
            ("INSERT INTO event_names(event_key, name) VALUES (?, ?)", new_events),
        ):
            if pairs:
                conn.executemany(sql, pairs)
        state.new_users += len(new_users)
        r.accounts.flush()
        if not n:
            return True
        ev.stage(pa.Table.from_arrays([_arrow(out[c], pa, np) for c in ev.columns], names=ev.columns))
        state.rows_imported += n
        if ak is not None:
            state.conflicts.update(ev.links.add(uk, ak, ts))
        ev.days.add(uk, ek, ts)
        return True

    def _sparse_indexes(self, typed: list, n: int) -> None:
        """``EventBatcher._sparse_indexes`` for Arrow columns."""
        ev = self.events
        for prop, column in zip(self.r.props, typed, strict=True):
            if prop.column not in ev.sparse_pending:
                continue
            present = n - column.null_count
            if not present:
                continue
            ev.sparse_pending.discard(prop.column)
            if prop.type in ("integer", "real") and present <= SPARSE_SHARE * n:
                ev.conn.execute(sparse_property_index_sql(prop.column))


class ArrowParquet:
    """A Parquet events file, a batch of rows at a time: its columns rendered as the exact path's
    text cells (``readers._arrow_cells``) on Arrow and numpy, then :class:`ArrowColumns`; a batch
    that needs the exact path goes through the exact batcher as those cells."""

    ROWS = 65_536

    def __init__(self, runner: KindRunner, events: StagedBatcher, source):
        self.r = runner
        self.events = events
        self.source = source
        self.arrow = ArrowColumns(runner, events)

    def run(self) -> None:
        import pyarrow as pa

        from seglab.core.errors import ImportFileError
        from seglab.core.importing.readers import _first_line, _flatten_batch

        source = self.source
        pf = source._parquet_file()
        total = max(1, pf.metadata.num_rows)
        row = 0
        source._parquet_done = 0
        batches = pf.iter_batches(batch_size=self.ROWS, use_threads=False)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError) as exc:
                raise ImportFileError(
                    f"{source.path.name}: the Parquet file is damaged near row {row + 1:,} "
                    f"({_first_line(exc)}); nothing was imported"
                ) from None
            if batch is None:
                break
            while any(pa.types.is_struct(t) for t in batch.schema.types):
                batch = _flatten_batch(batch)
            by_name = dict(zip(batch.schema.names, batch.columns))
            n = batch.num_rows
            raw = [by_name.get(c) for c in source.columns]
            cols = _Cells(raw, n)
            if n and not self.arrow.columns(cols, raw):
                ends = list(range(row + 1, row + n + 1))
                self.events.batch([c.to_pylist() for c in cols], ends, row, [])
            row += n
            source._parquet_done = int(source.size * row / total)
            self.r.rejects.flush()
            self.r.report()
        self.events.close()


def _timestamp_column(array, np):
    """Epoch ms of a Parquet timestamp column as its rendered cells would parse (see ``_cells``:
    ``YYYY-MM-DDTHH:MM:SS.fff[Z]``, which the parser takes as UTC); None when a cell is missing
    or outside 1971..2199 (the exact path rejects it)."""
    import pyarrow as pa

    from seglab.core.importing.readers import _PER_MS, _int64_values
    from seglab.core.importing.timestamps import MAX_MS, MIN_MS

    values, nat = _int64_values(np, pa, array)
    unit = array.type.unit
    ms = values * 1000 if unit == "s" else np.floor_divide(values, _PER_MS[unit])
    if nat.any() or not ((ms >= MIN_MS) & (ms < MAX_MS)).all():
        return None
    return ms.astype(np.int64)


class _Cells:
    """A batch's columns as text cells (``_cells``), rendered when first asked for."""

    def __init__(self, raw: list, n: int):
        self.raw = raw
        self.n = n
        self.done: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, index: int):
        if index not in self.done:
            self.done[index] = _cells(self.raw[index], self.n)
        return self.done[index]

    def __iter__(self):
        return (self[i] for i in range(len(self.raw)))


def _cells(array, n: int):
    """``readers._arrow_cells`` of a Parquet column, as an Arrow string array (missing column: "")."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from seglab.core.importing.readers import _PER_MS, _arrow_cells, _int64_values

    if array is None:
        return pa.nulls(n, pa.string()).fill_null("")
    typ = array.type
    if pa.types.is_dictionary(typ):
        return _cells(array.dictionary_decode(), n)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_integer(typ):
        return array.cast(pa.string()).fill_null("")
    if pa.types.is_timestamp(typ):
        values, nat = _int64_values(np, pa, array)
        ms = values * 1000 if typ.unit == "s" else np.floor_divide(values, _PER_MS[typ.unit])
        text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
        if typ.tz:
            text = np.char.add(text, "Z")
        return pa.array(np.where(nat, "", text), type=pa.string())
    if pa.types.is_boolean(typ):
        return pc.if_else(array, "true", "false").fill_null("")
    return pa.array(_arrow_cells(array), type=pa.string())


def _arrow(values, pa, np):
    return pa.array(values) if isinstance(values, np.ndarray) else values


def _timestamps(col, parser, np):
    """Epoch ms of a string column as ``parse_column`` would give them, or None when a cell is not
    a timestamp (the block then goes through the exact path, which rejects it)."""
    import pyarrow as pa

    n = len(col)
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset : col.offset + n + 1]
    widths = np.diff(offsets)
    width = int(widths[0]) if n else 0
    if n and width in (19, 20, 23, 24) and (widths == width).all():
        data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        fixed = fixed_width_cells(data.reshape(n, width), np)
        if fixed is not None:
            ms, suspect = fixed
            from seglab.core.importing.timestamps import MAX_MS, MIN_MS

            bad = suspect | (ms < MIN_MS) | (ms >= MAX_MS)
            if bad.any():
                ms = ms.copy()
                values = col.take(pa.array(np.flatnonzero(bad))).to_pylist()
                try:
                    ms[bad] = [parser(v) for v in values]
                except TimestampError:
                    return None
            return ms.astype(np.int64)
    out, reasons = parse_column(col.to_pylist(), parser)
    if reasons:
        return None
    return np.asarray(out, dtype=np.int64)


def _typed(cells, typ: str, np, raw=None):
    """The Arrow column of a property's values as the exact path stores them ("" is no value), or
    None when a value does not fit ``typ`` exactly as a plain cell (the exact path then decides:
    stripping, widening). ``raw``: the typed Parquet column ``col`` was rendered from: a float
    column's text is its shortest round trip, so a real property takes its values as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if raw is not None and typ == "integer" and pa.types.is_integer(raw.type):
        try:
            values = raw.cast(pa.int64())
        except pa.ArrowInvalid:  # uint64 beyond int64: text, the exact path widens
            return None
        # Up to 18 digits is an integer cell; more is text (the exact path widens).
        if pc.any(pc.greater_equal(pc.abs(values), 10**18)).as_py():
            return None
        return values
    if raw is not None and typ == "real" and pa.types.is_floating(raw.type):
        values = raw.cast(pa.float64())
        if pc.any(pc.is_inf(values)).as_py():
            return None  # "inf" is text
        return pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
    col = cells()

    empty = pc.equal(col, "")
    valued = pc.invert(empty)
    if typ == "text":
        return pc.if_else(empty, pa.scalar(None, pa.string()), col)
    if typ in ("integer", "real"):
        pattern = _INT_PATTERN if typ == "integer" else _REAL_PATTERN
        fits = pc.or_(empty, pc.match_substring_regex(col, pattern))
        if not pc.all(fits).as_py():
            return None
        nulled = pc.if_else(empty, pa.scalar(None, pa.string()), col)
        try:
            return nulled.cast(pa.int64() if typ == "integer" else pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    if typ == "boolean":
        low = pc.ascii_lower(col)
        true = pc.is_in(low, value_set=pa.array(_BOOL_TRUE))
        false = pc.is_in(low, value_set=pa.array(_BOOL_FALSE))
        if not pc.all(pc.or_(empty, pc.or_(true, false))).as_py():
            return None
        return pc.if_else(valued, true.cast(pa.int64()), pa.scalar(None, pa.int64()))
    # datetime: the cells through the exact converter (rare in events files).
    from seglab.core.importing.types import convert_column

    try:
        return pa.array(convert_column(typ, col.to_pylist()), type=pa.int64())
    except ValueError:
        return None
