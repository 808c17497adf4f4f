"""Fixtures and independent pandas references for the analysis tests.

The references work on a plain events table (user, account, event, ts) with
loops and pandas, sharing no code with ``seglab.core.analyses`` beyond the
contract; the projects are written straight into the schema so the analysis
tests do not depend on the importer.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from pathlib import Path

import pandas as pd

from seglab.core.project import Project
from seglab.core.storage.schema import QUERY_TABLES

DAY = 86_400_000
SQL_TYPES = {
    "integer": "INTEGER",
    "real": "REAL",
    "text": "TEXT",
    "boolean": "INTEGER",
    "datetime": "INTEGER",
}
UTC = dt.UTC


def ms(text: str) -> int:
    """'2024-01-01T10:00:00.250' (UTC) → epoch ms."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def build(
    path: Path,
    events,
    users=(),
    event_props: tuple[tuple[str, str], ...] = (),
    user_props: dict[str, dict] | None = None,
    user_prop_types: tuple[tuple[str, str], ...] = (),
    account_props: dict[str, dict] | None = None,
    account_prop_types: tuple[tuple[str, str], ...] = (),
) -> Project:
    """A project holding ``events`` = [(user_id, event, ts_ms[, {prop: value}])].

    ``users`` = [(user_id, account_id or None)]; users only seen in events have no account.
    ``event_props`` = [(name, type)] declares event properties.
    """
    project = Project.create(path)
    conn = project.conn
    conn.execute("BEGIN")
    prop_cols = {}
    for i, (name, typ) in enumerate(event_props, start=1):
        col = f"p{i}"
        sql_type = SQL_TYPES[typ]
        conn.execute(f"ALTER TABLE events ADD COLUMN {col} {sql_type}")
        conn.execute(
            "INSERT INTO properties(entity, name, column_name, type, position) VALUES ('event', ?, ?, ?, ?)",
            (name, col, typ, i),
        )
        prop_cols[name] = col
    account_of = dict(users)
    accounts = {}
    for acc in account_of.values():
        if acc is not None and acc not in accounts:
            accounts[acc] = len(accounts) + 1
            conn.execute("INSERT INTO accounts(account_key, account_id) VALUES (?, ?)", (accounts[acc], acc))
    user_keys: dict[str, int] = {}
    all_users = list(dict.fromkeys([u for u, _ in users] + [e[0] for e in events]))
    for uid in all_users:
        user_keys[uid] = len(user_keys) + 1
        acc = account_of.get(uid)
        conn.execute(
            "INSERT INTO users(user_key, user_id, account_key) VALUES (?, ?, ?)",
            (user_keys[uid], uid, accounts.get(acc) if acc else None),
        )
    names: dict[str, int] = {}
    days: dict[tuple, list] = {}
    for row in events:
        uid, name, ts = row[0], row[1], int(row[2])
        props = row[3] if len(row) > 3 else {}
        if name not in names:
            names[name] = len(names) + 1
            conn.execute("INSERT INTO event_names(event_key, name) VALUES (?, ?)", (names[name], name))
        cols = ["ts", "user_key", "event_key"] + [prop_cols[p] for p in props]
        vals = [ts, user_keys[uid], names[name], *props.values()]
        conn.execute(f"INSERT INTO events({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", vals)
        key = (user_keys[uid], names[name], ts // DAY)
        agg = days.setdefault(key, [0, ts, ts])
        agg[0] += 1
        agg[1] = min(agg[1], ts)
        agg[2] = max(agg[2], ts)
    for (u, e, d), (n, lo, hi) in days.items():
        conn.execute("INSERT INTO user_days VALUES (?, ?, ?, ?, ?, ?)", (u, e, d, n, lo, hi))
    # The any-event roll-up as the importer keeps it: user_days summed over event names.
    conn.execute(
        "INSERT INTO user_active_days SELECT user_key, day, sum(n), min(first_ts), max(last_ts)"
        " FROM user_days GROUP BY user_key, day"
    )
    conn.execute(
        "INSERT INTO user_events SELECT event_key, user_key, sum(n), min(first_ts), max(last_ts)"
        " FROM user_days GROUP BY event_key, user_key"
    )
    conn.execute(
        "INSERT INTO event_days SELECT event_key, day, sum(n), min(first_ts), max(last_ts)"
        " FROM user_days GROUP BY event_key, day"
    )
    for key in user_keys.values():
        conn.execute(
            "UPDATE users SET first_ts = (SELECT min(ts) FROM events WHERE user_key = ?), "
            "last_ts = (SELECT max(ts) FROM events WHERE user_key = ?) WHERE user_key = ?",
            (key, key, key),
        )
    for i, (name, typ) in enumerate(user_prop_types, start=1):
        sql_type = SQL_TYPES[typ]
        conn.execute(f"ALTER TABLE users ADD COLUMN p{i} {sql_type}")
        conn.execute(
            "INSERT INTO properties(entity, name, column_name, type, position) VALUES ('user', ?, ?, ?, ?)",
            (name, f"p{i}", typ, i),
        )
        for uid, props in (user_props or {}).items():
            if name in props:
                conn.execute(f"UPDATE users SET p{i} = ? WHERE user_id = ?", (props[name], uid))
    for i, (name, typ) in enumerate(account_prop_types, start=1):
        sql_type = SQL_TYPES[typ]
        conn.execute(f"ALTER TABLE accounts ADD COLUMN p{i} {sql_type}")
        conn.execute(
            "INSERT INTO properties(entity, name, column_name, type, position)"
            " VALUES ('account', ?, ?, ?, ?)",
            (name, f"p{i}", typ, i),
        )
        for aid, props in (account_props or {}).items():
            if name in props:
                conn.execute(f"UPDATE accounts SET p{i} = ? WHERE account_id = ?", (props[name], aid))
    conn.execute("COMMIT")
    project.user_keys = user_keys  # type: ignore[attr-defined]
    project.account_keys = accounts  # type: ignore[attr-defined]
    return project


def to_duckdb(conn: sqlite3.Connection):
    """The same tables in an in-memory DuckDB database."""
    import duckdb

    duck = duckdb.connect()
    for table in QUERY_TABLES:
        frame = pd.read_sql_query(f"SELECT * FROM {table}", conn)
        cols = conn.execute(f"PRAGMA table_info({table})").fetchall()
        types = {c[1]: (c[2] or "TEXT") for c in cols}
        sql_types = {"INTEGER": "BIGINT", "REAL": "DOUBLE"}
        ddl = ", ".join(f"{name} {sql_types.get(t.upper(), 'VARCHAR')}" for name, t in types.items())
        duck.execute(f"CREATE TABLE {table} ({ddl})")
        if len(frame):
            duck.register("frame_view", frame)
            duck.execute(f"INSERT INTO {table} SELECT * FROM frame_view")
            duck.unregister("frame_view")
    return duck


def frame_of(events, users=()) -> pd.DataFrame:
    account_of = dict(users)
    return pd.DataFrame(
        {
            "user": [e[0] for e in events],
            "account": [account_of.get(e[0]) for e in events],
            "event": [e[1] for e in events],
            "ts": [int(e[2]) for e in events],
            "props": [e[3] if len(e) > 3 else {} for e in events],
        }
    )


# -- calendar, written independently of seglab.core -----------------------------


def period_of(ts: int, interval: str) -> dt.date:
    day = dt.datetime.fromtimestamp(ts / 1000, UTC).date()
    return floor_date(day, interval)


def floor_date(day: dt.date, interval: str) -> dt.date:
    if interval == "day":
        return day
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    return dt.date(day.year, day.month, 1)


def step_date(day: dt.date, interval: str, k: int = 1) -> dt.date:
    if interval == "day":
        return day + dt.timedelta(days=k)
    if interval == "week":
        return day + dt.timedelta(days=7 * k)
    m = day.month - 1 + k
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def date_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _units(df: pd.DataFrame, level: str, members) -> pd.DataFrame:
    df = df.copy()
    df["unit"] = df["user"] if level == "user" else df["account"]
    df = df[df["unit"].notna()]
    if members is not None:
        df = df[df["unit"].isin(set(members))]
    return df


# -- references ----------------------------------------------------------------


def ref_trend(df, *, event, measure, interval, as_of, date_from, date_to, level="user", members=None):
    df = _units(df, level, members)
    lo, hi = date_ms(date_from), min(date_ms(date_to) + DAY - 1, as_of)
    df = df[(df.ts >= lo) & (df.ts <= hi)]
    if event != "*":
        df = df[df.event == event]
    out = []
    start = floor_date(date_from, interval)
    while start <= date_to:
        nxt = step_date(start, interval)
        part = df[(df.ts >= date_ms(start)) & (df.ts < date_ms(nxt))]
        if measure == "count":
            value = len(part)
        elif measure == "users":
            value = part.user.nunique()
        elif measure == "accounts":
            value = part.account.dropna().nunique()
        else:
            value = len(part) / part.user.nunique() if len(part) else 0.0
        out.append((start.isoformat(), value))
        start = nxt
    return out


def ref_funnel(df, *, steps, within_days, as_of, date_from, date_to, level="user", members=None):
    """Brute force: every step-1 occurrence, depth-first over every later occurrence."""
    df = _units(df, level, members)
    df = df[df.ts <= as_of]
    lo, hi = date_ms(date_from), min(date_ms(date_to) + DAY - 1, as_of)
    win = within_days * DAY

    def matches(row, k):
        step = steps[k]
        name, pred = (step, None) if isinstance(step, str) else step
        return (name == "*" or row.event == name) and (pred is None or pred(row.props))

    best_depth: dict = {}
    best_times: dict = {}
    for unit, part in df.groupby("unit", sort=True):
        rows = list(part.sort_values("ts", kind="stable").itertuples())
        starts = [r for r in rows if matches(r, 0) and lo <= r.ts <= hi]
        for s in sorted(starts, key=lambda r: r.ts):
            deadline = s.ts + win

            def depth(k, t, rows=rows, deadline=deadline):  # furthest step index reachable after t
                best = k
                if k + 1 >= len(steps):
                    return best
                for r in rows:
                    if r.ts > t and r.ts <= deadline and matches(r, k + 1):
                        best = max(best, depth(k + 1, r.ts))
                return best

            d = depth(0, s.ts) + 1
            # greedy times (earliest next occurrence) for the medians
            times = [s.ts]
            for k in range(1, d):
                nxt = [r.ts for r in rows if times[-1] < r.ts <= deadline and matches(r, k)]
                times.append(min(nxt))
            if d > best_depth.get(unit, 0):
                best_depth[unit] = d
                best_times[unit] = times
    out = []
    entered = [sum(1 for d in best_depth.values() if d >= k + 1) for k in range(len(steps))]
    for k in range(len(steps)):
        if k == 0:
            med = None
        else:
            diffs = [(t[k] - t[k - 1]) / 1000 for u, t in best_times.items() if best_depth[u] >= k + 1]
            med = float(pd.Series(diffs).median()) if diffs else None
        first = entered[0]
        prev = entered[k - 1] if k else first
        out.append(
            (
                k + 1,
                entered[k],
                entered[k] / first if first else 0.0,
                entered[k] / prev if prev else 0.0,
                med,
            )
        )
    return out


def ref_retention(
    df, *, start_event, return_event, interval, periods, as_of, date_from, date_to, level="user", members=None
):
    df = _units(df, level, members)
    df = df[df.ts <= as_of]
    lo, hi = date_ms(date_from), min(date_ms(date_to) + DAY - 1, as_of)
    starts = df[(df.ts >= lo) & (df.ts <= hi)]
    if start_event != "*":
        starts = starts[starts.event == start_event]
    cohort_of = {u: period_of(int(t), interval) for u, t in starts.groupby("unit").ts.min().items()}
    returns = df if return_event == "*" else df[df.event == return_event]
    did = defaultdict(set)
    for r in returns.itertuples():
        if r.unit in cohort_of:
            did[r.unit].add(period_of(r.ts, interval))
    cohorts = defaultdict(list)
    for u, c in cohort_of.items():
        cohorts[c].append(u)
    out = []
    for c in sorted(cohorts):
        members_c = cohorts[c]
        for k in range(periods):
            p = step_date(c, interval, k)
            got = sum(1 for u in members_c if p in did[u])
            end = date_ms(step_date(p, interval)) - 1
            out.append((c.isoformat(), len(members_c), k, got, got / len(members_c), end <= as_of))
    return out
