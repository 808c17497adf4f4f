"""Deterministic, realistic event data for benchmarks (shared by every benchmark).

``generate(out_dir, n_events, seed=0)`` writes ``events.csv``, ``users.csv`` and
``accounts.csv`` and returns their paths. The shape is what analytics exports
look like: power-law activity per user (a few users do most events), ~20 event
names with a skewed mix, users grouped into accounts (B2B), a weekly rhythm,
events in time order over 180 days, and typed properties on all three.

Files are cached: generating the same (n_events, seed) again reuses them.

``generate_parquet(out_dir, n_events, seed=0)`` writes the same rows as typed Parquet files,
straight from the generator in row groups (for sizes too big to import: 50M events).

    python benchmarks/datagen.py OUT_DIR N_EVENTS [--seed S] [--parquet]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from seglab.core.storage.schema import QUERY_TABLES

EVENT_NAMES = (
    "page_view",
    "login",
    "view_dashboard",
    "search",
    "open_report",
    "create_report",
    "edit_report",
    "share_report",
    "export_csv",
    "comment",
    "invite_user",
    "create_project",
    "upload_file",
    "run_query",
    "schedule_report",
    "connect_source",
    "upgrade",
    "purchase",
    "logout",
    "delete_report",
)
PLATFORMS = ("web", "ios", "android")
PLANS = ("free", "starter", "pro", "enterprise")
COUNTRIES = ("US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "AU", "NL")
VERTICALS = ("software", "retail", "finance", "health", "education", "media")
TIERS = ("free", "growth", "scale", "enterprise")
END_MS = 1_719_792_000_000  # 2024-07-01T00:00:00Z
SPAN_DAYS = 180
DAY_MS = 86_400_000
CHUNK = 250_000


def _sizes(n_events: int) -> tuple[int, int]:
    n_users = max(50, n_events // 40)
    n_accounts = max(5, n_users // 15)
    return n_users, n_accounts


def _draws(n_events: int, seed: int):
    """The generated rows as numpy arrays: ``(accounts, users, event_chunks)``.

    Both writers (CSV and Parquet) consume this, so they hold the same rows; the random draws
    happen in a fixed order (the event chunks continue the same generator: consume them in order,
    after the entities). Events come in chunks of whole days, at least :data:`CHUNK` rows each.
    """
    rng = np.random.default_rng(seed)
    n_users, n_accounts = _sizes(n_events)

    # Heavy-tailed account sizes, capped: an uncapped Zipf draw put 124k of 5M events' 125k
    # users into one account (and 64 of 8,333 accounts had any user at all).
    account_size = np.minimum(rng.zipf(1.6, n_accounts), 500).astype(float)
    user_account = rng.choice(n_accounts, size=n_users, p=account_size / account_size.sum())
    tiers = rng.choice(len(TIERS), size=n_accounts, p=(0.4, 0.3, 0.2, 0.1))
    # One draw per account, as the first CSV writer made them (a vector draw would change the data).
    seats = np.array([int(rng.integers(1, 20) * (tiers[a] + 1)) for a in range(n_accounts)], dtype=np.int64)
    accounts = {"tier": tiers, "seats": seats, "mrr": seats * (10 + 40 * tiers)}
    signup = END_MS - rng.integers(0, SPAN_DAYS + 200, n_users) * DAY_MS
    plans = rng.choice(len(PLANS), size=n_users, p=(0.5, 0.25, 0.2, 0.05))
    countries = rng.choice(len(COUNTRIES), size=n_users)
    users = {"account": user_account, "signup_ms": signup, "plan": plans, "country": countries}

    def event_chunks():
        # Power-law activity, skewed event mix, weekly rhythm, time order.
        activity = rng.pareto(1.2, n_users) + 0.05
        activity /= activity.sum()
        name_weights = 1.0 / np.arange(1, len(EVENT_NAMES) + 1) ** 1.1
        name_weights /= name_weights.sum()
        start = END_MS - SPAN_DAYS * DAY_MS
        # Weekday weights (Mon..Sun): quieter weekends.
        weekday_w = np.array([1.0, 1.05, 1.05, 1.0, 0.9, 0.35, 0.3])
        day_w = weekday_w[(np.arange(SPAN_DAYS) + 0) % 7]  # 2024-01-03 is a Wednesday; close enough
        day_w /= day_w.sum()
        per_day = rng.multinomial(n_events, day_w)
        day_start = start
        pending: list[np.ndarray] = []
        pending_n = 0

        def flush(parts: list[np.ndarray]) -> dict:
            ts = np.concatenate(parts)
            n = len(ts)
            chunk = {
                "ts": ts,
                "user": rng.choice(n_users, size=n, p=activity),
                "name": rng.choice(len(EVENT_NAMES), size=n, p=name_weights),
                "platform": rng.choice(3, size=n, p=(0.7, 0.2, 0.1)),
                "duration_ms": rng.integers(5, 120_000, n),
            }
            chunk["amount"] = np.round(rng.gamma(2.0, 30.0, n), 2)  # only purchases carry it
            return chunk

        for d in range(SPAN_DAYS):
            k = int(per_day[d])
            if k:
                # Busier in working hours: a mixture of a daytime bump and uniform noise.
                hours = np.clip(rng.normal(14.0, 4.0, k), 0, 23.999)
                offs = np.sort((hours * 3_600_000).astype(np.int64))
                pending.append(day_start + offs)
                pending_n += k
            day_start += DAY_MS
            if pending_n >= CHUNK:
                yield flush(pending)
                pending, pending_n = [], 0
        if pending:
            yield flush(pending)

    return accounts, users, event_chunks()


def generate(out_dir, n_events: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write (or reuse) events.csv, users.csv, accounts.csv in ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    events, users, accounts = out / "events.csv", out / "users.csv", out / "accounts.csv"
    stamp = out / "datagen.json"
    wanted = {"n_events": n_events, "seed": seed, "version": 2}
    if stamp.exists() and all(p.exists() for p in (events, users, accounts)):
        if json.loads(stamp.read_text()) == wanted:
            return events, users, accounts
    acc, usr, chunks = _draws(n_events, seed)
    with open(accounts, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("account_id", "name", "vertical", "tier", "seats", "mrr"))
        for a in range(len(acc["tier"])):
            w.writerow(
                (
                    f"acct_{a:06d}",
                    f"Company {a}",
                    VERTICALS[a % len(VERTICALS)],
                    TIERS[acc["tier"][a]],
                    int(acc["seats"][a]),
                    f"{acc['mrr'][a]:.2f}",
                )
            )
    with open(users, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("user_id", "account_id", "plan", "country", "signup_date", "email"))
        dates = np.datetime_as_string(usr["signup_ms"].astype("datetime64[ms]"), unit="D")
        user_account = usr["account"]
        for u in range(len(user_account)):
            w.writerow(
                (
                    f"user_{u:07d}",
                    f"acct_{user_account[u]:06d}",
                    PLANS[usr["plan"][u]],
                    COUNTRIES[usr["country"][u]],
                    dates[u],
                    f"user{u}@company{user_account[u]}.example",
                )
            )
    purchase = EVENT_NAMES.index("purchase")
    with open(events, "w", newline="", encoding="utf-8") as fh:
        fh.write("user_id,event,timestamp,account_id,platform,duration_ms,amount\n")
        for c in chunks:
            u, names, plat, dur, amount = c["user"], c["name"], c["platform"], c["duration_ms"], c["amount"]
            iso = np.datetime_as_string(c["ts"].astype("datetime64[ms]"), unit="ms", timezone="UTC")
            lines = []
            for i in range(len(u)):
                ev = names[i]
                lines.append(
                    f"user_{u[i]:07d},{EVENT_NAMES[ev]},{iso[i]},acct_{user_account[u[i]]:06d},"
                    f"{PLATFORMS[plat[i]]},{dur[i]},{amount[i] if ev == purchase else ''}\n"
                )
            fh.write("".join(lines))
    stamp.write_text(json.dumps(wanted))
    return events, users, accounts


def generate_parquet(out_dir, n_events: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """The same rows as :func:`generate`, typed, as events.parquet, users.parquet and
    accounts.parquet in ``out_dir`` (cached like the CSVs); return their paths.

    Written straight from the generator, one row group per event chunk, so memory stays at a
    chunk's size (plus one id string per user) whatever ``n_events`` is. Times are UTC
    milliseconds (``signup_date``: midnight UTC, what the importer reads from the CSV's date);
    ``amount`` is null except on purchases; ``mrr`` is a double (the CSV's ``%.2f`` text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "events.parquet", out / "users.parquet", out / "accounts.parquet"
    stamp = out / "datagen.json"
    wanted = {"n_events": n_events, "seed": seed, "version": 2, "format": "parquet"}
    if stamp.exists() and all(p.exists() for p in paths):
        if json.loads(stamp.read_text()) == wanted:
            return paths
    stamp.unlink(missing_ok=True)
    acc, usr, chunks = _draws(n_events, seed)
    ms = pa.timestamp("ms", tz="UTC")
    n_accounts, n_users = len(acc["tier"]), len(usr["account"])
    account_ids = pa.array([f"acct_{a:06d}" for a in range(n_accounts)], pa.string())
    pq.write_table(
        pa.table(
            {
                "account_id": account_ids,
                "name": pa.array([f"Company {a}" for a in range(n_accounts)], pa.string()),
                "vertical": pa.array([VERTICALS[a % len(VERTICALS)] for a in range(n_accounts)]),
                "tier": pa.array(np.array(TIERS, dtype=object)[acc["tier"]], pa.string()),
                "seats": pa.array(acc["seats"], pa.int64()),
                "mrr": pa.array(acc["mrr"].astype(np.float64), pa.float64()),
            }
        ),
        paths[2],
    )
    user_ids = pa.array([f"user_{u:07d}" for u in range(n_users)], pa.string())
    user_account = usr["account"]
    pq.write_table(
        pa.table(
            {
                "user_id": user_ids,
                "account_id": account_ids.take(pa.array(user_account)),
                "plan": pa.array(np.array(PLANS, dtype=object)[usr["plan"]], pa.string()),
                "country": pa.array(np.array(COUNTRIES, dtype=object)[usr["country"]], pa.string()),
                "signup_date": pa.array(usr["signup_ms"], ms),
                "email": pa.array(
                    [f"user{u}@company{user_account[u]}.example" for u in range(n_users)], pa.string()
                ),
            }
        ),
        paths[1],
    )
    schema = pa.schema(
        [
            ("user_id", pa.string()),
            ("event", pa.string()),
            ("timestamp", ms),
            ("account_id", pa.string()),
            ("platform", pa.string()),
            ("duration_ms", pa.int64()),
            ("amount", pa.float64()),
        ]
    )
    names = pa.array(EVENT_NAMES, pa.string())
    platforms = pa.array(PLATFORMS, pa.string())
    purchase = EVENT_NAMES.index("purchase")
    tmp = paths[0].with_name("events.parquet.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for c in chunks:
            u = pa.array(c["user"])
            batch = pa.table(
                [
                    user_ids.take(u),
                    names.take(pa.array(c["name"])),
                    pa.array(c["ts"], ms),
                    account_ids.take(pa.array(user_account[c["user"]])),
                    platforms.take(pa.array(c["platform"])),
                    pa.array(c["duration_ms"], pa.int64()),
                    pa.array(c["amount"], pa.float64(), mask=c["name"] != purchase),
                ],
                schema=schema,
            )
            writer.write_table(batch, row_group_size=len(batch))
    tmp.replace(paths[0])
    stamp.write_text(json.dumps(wanted))
    return paths


# -- projects built from the generated files, shared by the benchmarks -----------------------

# The tables the benchmarks copy into DuckDB (the same logical schema on both engines).
TABLES = QUERY_TABLES


def _has_tables(path: Path) -> bool:
    """A cached project made before a schema change (e.g. without user_active_days) is rebuilt."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    return set(TABLES) <= names


def build_project(base: Path, n_events: int, name: str, after_import=None) -> Path:
    """``base/<n>/<name>.seglab`` imported from the generated files; reused while its stamp matches.

    ``after_import(project)`` runs inside the same build (e.g. to save a segment).
    """
    import sys
    import time

    from seglab.core.importing import import_file
    from seglab.core.project import Project

    folder = base / f"{n_events}"
    project_path = folder / f"{name}.seglab"
    stamp = folder / f"{name}.json"
    events, users, accounts = generate(folder / "csv", n_events)  # cached while its stamp matches
    # The project is as current as the files it was imported from.
    wanted = {"n": n_events, "data": json.loads((folder / "csv" / "datagen.json").read_text())}
    if (
        project_path.exists()
        and stamp.exists()
        and json.loads(stamp.read_text()) == wanted
        and _has_tables(project_path)
    ):
        # Open it as the app would: a project from an older schema gets its migrations
        # (new roll-ups or indexes) instead of being timed without them.
        Project.open(project_path).close()
        return project_path
    project_path.unlink(missing_ok=True)
    t = time.perf_counter()
    with Project.create(project_path) as project:
        import_file(project, accounts, kind="accounts", force=True)
        import_file(project, users, kind="users", force=True)
        import_file(project, events, kind="events", force=True)
        if after_import is not None:
            after_import(project)
    print(f"imported {n_events:,} events in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    stamp.write_text(json.dumps(wanted))
    return project_path


def to_duckdb(conn):
    """An in-memory DuckDB holding copies of the project's :data:`TABLES`."""
    import duckdb
    import pandas as pd

    duck = duckdb.connect()
    for table in TABLES:
        # Table names are the fixed tuple above, never input.
        frame = pd.read_sql_query(f"SELECT * FROM {table}", conn)
        duck.register("frame_view", frame)
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM frame_view")
        duck.unregister("frame_view")
    return duck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("n_events", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parquet", action="store_true", help="write typed Parquet files instead of CSV")
    args = parser.parse_args()
    write = generate_parquet if args.parquet else generate
    for path in write(args.out_dir, args.n_events, seed=args.seed):
        print(path)


if __name__ == "__main__":
    main()
