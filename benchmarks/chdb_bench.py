"""Segment counts on a connected chdb folder beside the same rows in a local SQLite project.

    python benchmarks/chdb_bench.py [--events 1000000] [--dir /tmp/seglab-chdb-bench] [--repeat 3]

Builds (and caches) the generated local project (benchmarks/datagen.py), writes its events,
users and accounts into a chdb data folder as a warehouse would hold them (MergeTree tables
ordered by event name and time, ``DateTime64(3, 'UTC')`` times, Nullable properties; loaded
through Parquet), connects a project to it, then times ``count`` of segment_bench.py's
definitions on both (medians, ms) and checks that the counts agree.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import datagen
from seglab.core.project import Project, load_properties, resolve_as_of
from seglab.core.segments import count, load_definition, save_segment
from segment_bench import DEFINITIONS, POWER_USERS

CH_TYPES = {
    "integer": "Nullable(Int64)",
    "real": "Nullable(Float64)",
    "boolean": "Nullable(Bool)",
    "datetime": "Nullable(DateTime64(3, 'UTC'))",
    "text": "Nullable(String)",
}


def ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def to_chdb(local: Path, folder: Path) -> None:
    """The local project's rows as MergeTree tables in a chdb folder (via Parquet files)."""
    import pandas as pd
    from chdb import session

    conn = Project.open(local, readonly=True).conn
    props = load_properties(conn)
    parquet = folder.with_suffix(".parquet.d")
    parquet.mkdir(parents=True, exist_ok=True)

    def cols(entity, table):
        return [(p, f"{table}.{p.column}") for p in props if p.entity == entity]

    def frame(sql, names):
        return pd.DataFrame(conn.execute(sql).fetchall(), columns=names)

    ev = cols("event", "e")
    events = frame(
        "SELECT u.user_id, n.name, e.ts, a.account_id"
        + "".join(f", {c}" for _, c in ev)
        + " FROM events e JOIN users u ON u.user_key = e.user_key"
        " JOIN event_names n ON n.event_key = e.event_key"
        " LEFT JOIN accounts a ON a.account_key = e.account_key",
        ["user_id", "event", "ts", "account_id", *[f"c{i}" for i in range(len(ev))]],
    )
    us = cols("user", "t")
    users = frame(
        "SELECT t.user_id, CASE WHEN t.account_from_file = 1 OR t.account_link_ts IS NULL "
        "THEN a.account_id END"
        + "".join(f", {c}" for _, c in us)
        + " FROM users t LEFT JOIN accounts a ON a.account_key = t.account_key",
        ["user_id", "account_id", *[f"c{i}" for i in range(len(us))]],
    )
    ac = cols("account", "t")
    accounts = frame(
        "SELECT t.account_id" + "".join(f", {c}" for _, c in ac) + " FROM accounts t WHERE t.from_file = 1",
        ["account_id", *[f"c{i}" for i in range(len(ac))]],
    )
    for name, df in (("events", events), ("users", users), ("accounts", accounts)):
        df.to_parquet(parquet / f"{name}.parquet", index=False)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    s = session.Session(str(folder))
    try:

        def typed(pairs):
            out = []
            for i, (p, _) in enumerate(pairs):
                expr = f"c{i}"
                if p.type == "datetime":
                    expr = f"fromUnixTimestamp64Milli(c{i}, 'UTC')"
                out.append((ident(p.name), CH_TYPES[p.type], expr))
            return out

        plans = [
            (
                "events",
                [
                    ("user_id", "String", "user_id"),
                    ("event", "String", "event"),
                    ("timestamp", "DateTime64(3, 'UTC')", "fromUnixTimestamp64Milli(ts, 'UTC')"),
                    ("account_id", "Nullable(String)", "account_id"),
                    *typed(ev),
                ],
                "(event, timestamp)",
            ),
            (
                "users",
                [
                    ("user_id", "String", "user_id"),
                    ("account_id", "Nullable(String)", "account_id"),
                    *typed(us),
                ],
                "user_id",
            ),
            ("accounts", [("account_id", "String", "account_id"), *typed(ac)], "account_id"),
        ]
        for name, columns, order in plans:
            ddl = ", ".join(f"{c} {t}" for c, t, _ in columns)
            s.query(f"CREATE TABLE {name} ({ddl}) ENGINE = MergeTree ORDER BY {order}")
            select = ", ".join(e for _, _, e in columns)
            s.query(f"INSERT INTO {name} SELECT {select} FROM file('{parquet / name}.parquet', Parquet)")
    finally:
        s.close()
        conn.close()


def timed(fn, repeat):
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp/seglab-chdb-bench")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.dir)
    local = datagen.build_project(
        root, args.events, "segments", after_import=lambda p: save_segment(p.conn, "Power users", POWER_USERS)
    )
    base = local.parent
    folder = base / "ch"
    connected = base / "connected.seglab"
    if not connected.exists():
        start = time.perf_counter()
        to_chdb(local, folder)
        from seglab.core.engines.connect import connect_project

        connect_project(
            connected, f"chdb://{folder}", {"events": "events", "users": "users", "accounts": "accounts"}
        )
        with Project.open(connected) as project:
            save_segment(project.conn, "Power users", POWER_USERS)
        print(f"chdb folder and connected project: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    from seglab.core.engines.base import open_engine

    lp = Project.open(local, readonly=True)
    cp = Project.open(connected, readonly=True)
    engine = open_engine(cp.conn)
    as_of = resolve_as_of(lp.conn)
    start = time.perf_counter()
    engine.count(load_definition({"level": "account", "conditions": []}), as_of)
    first = (time.perf_counter() - start) * 1000
    print(f"{args.events:,} events; medians of {args.repeat} (ms)")
    print(f"first count of a command (builds the session's users and accounts tables): {first:.0f} ms")
    print(f"{'definition':<60} {'SQLite':>8} {'chdb':>8}  agree")
    ratios, local_ms, chdb_ms = [], [], []
    try:
        for name, definition in DEFINITIONS.items():
            seg = load_definition(definition)
            count(lp.conn, seg, as_of)
            t_local, n_local = timed(lambda seg=seg: count(lp.conn, seg, as_of), args.repeat)
            t_ch, n_ch = timed(lambda seg=seg: engine.count(seg, as_of), args.repeat)
            ratios.append(t_ch / max(t_local, 0.001))
            local_ms.append(t_local)
            chdb_ms.append(t_ch)
            agree = "yes" if n_local == n_ch else f"NO {n_local} {n_ch}"
            print(f"{name:<60} {t_local:8.1f} {t_ch:8.1f}  {agree}")
    finally:
        engine.close()
        lp.close()
        cp.close()
    medians = statistics.median(local_ms), statistics.median(chdb_ms)
    print(f"median over the definitions: SQLite {medians[0]:.1f} ms, chdb {medians[1]:.1f} ms")
    print(f"median chdb/SQLite ratio: {statistics.median(ratios):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
