"""Segment speed on generated projects: SegLab (SQLite) vs DuckDB on the same data.

    python benchmarks/segment_bench.py [--events 1000000 5000000] [--dir /tmp/seglab-segment-bench]
                                       [--repeat 5]

For each size: generate the CSVs (benchmarks/datagen.py, cached), import them once
(the project is cached too), copy the tables into an in-memory DuckDB, then time
``count`` for a fixed set of definitions covering every condition type at both
levels: SegLab through ``seglab.core.segments.count`` (validation and compilation
included), DuckDB running the same definition compiled for its dialect. Printed:
per-definition medians (ms), the SegLab/DuckDB ratio, and whether both engines
agree on the count. Targets (issue 4): median over the set <= 100 ms at 1M events
and <= 500 ms at 5M; median ratio <= 2 and none worse than 5x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import datagen
from seglab.core.project import resolve_as_of
from seglab.core.segments import count, load_definition, prepare_connection, save_segment
from seglab.core.segments.compiler import compile_count
from seglab.core.storage.connection import connect


def _did(event, **kw):
    return {"type": "behavior", "event": event, **kw}


def _prop(name, op, value=None, entity="user"):
    c = {"type": "property", "entity": entity, "property": name, "op": op}
    if value is not None:
        c["value"] = value
    return c


def _u(*conds, match="all"):
    return {"level": "user", "match": match, "conditions": list(conds)}


def _a(*conds, match="all"):
    return {"level": "account", "match": match, "conditions": list(conds)}


POWER_USERS = _u(
    _did("*", measure={"fn": "distinct_days"}, compare={"op": "gte", "value": 10}, window={"last_days": 28})
)

DEFINITIONS = {
    "U property: plan is pro": _u(_prop("plan", "eq", "pro")),
    "U account property: tier in scale/enterprise": _u(
        _prop("tier", "in", ["scale", "enterprise"], "account")
    ),
    "U did login in last 7 days": _u(_did("login", window={"last_days": 7})),
    "U did not login in last 30 days": _u(
        _did("login", compare={"op": "eq", "value": 0}, window={"last_days": 30})
    ),
    "U purchase >= 3 times in 30 days": _u(
        _did("purchase", compare={"op": "gte", "value": 3}, window={"last_days": 30})
    ),
    "U purchase with amount > 100 in 90 days": _u(
        _did("purchase", window={"last_days": 90}, where=[{"property": "amount", "op": "gt", "value": 100}])
    ),
    "U sum(amount) >= 200 ever": _u(
        _did("purchase", measure={"fn": "sum", "property": "amount"}, compare={"op": "gte", "value": 200})
    ),
    "U active >= 10 of last 28 days": POWER_USERS,
    "U login in >= 3 of last 4 weeks": _u(
        _did(
            "login",
            measure={"fn": "distinct_weeks"},
            compare={"op": "gte", "value": 3},
            window={"last_days": 28},
        )
    ),
    "U first seen in last 30 days": _u({"type": "first_seen", "event": "*", "window": {"last_days": 30}}),
    "U churned (not last seen in last 30 days)": _u(
        {"type": "last_seen", "event": "*", "window": {"last_days": 30}, "negate": True}
    ),
    "U sequence login > create_report > share_report in 1 day": _u(
        {
            "type": "sequence",
            "steps": [{"event": "login"}, {"event": "create_report"}, {"event": "share_report"}],
            "within_days": 1,
            "window": {"last_days": 30},
        }
    ),
    "U in segment Power users and country US": _u(
        {"type": "segment", "segment": "Power users"}, _prop("country", "eq", "US")
    ),
    "U group: pro or (US and did upgrade)": _u(
        _prop("plan", "eq", "pro"),
        {"type": "group", "match": "all", "conditions": [_prop("country", "eq", "US"), _did("upgrade")]},
        match="any",
    ),
    "A property: tier is enterprise": _a(_prop("tier", "eq", "enterprise", "account")),
    "A >= 5 users logged in in last 7 days": _a(
        _did("login", per="users", compare={"op": "gte", "value": 5}, window={"last_days": 7})
    ),
    "A create_report >= 10 times in 30 days": _a(
        _did("create_report", compare={"op": "gte", "value": 10}, window={"last_days": 30})
    ),
    "A >= 3 users created a report in 30 days (users)": _a(
        {
            "type": "users",
            "compare": {"op": "gte", "value": 3},
            "match": _u(_did("create_report", window={"last_days": 30})),
        }
    ),
    "A share of pro users >= 0.5": _a(
        {
            "type": "users",
            "share": True,
            "compare": {"op": "gte", "value": 0.5},
            "match": _u(_prop("plan", "eq", "pro")),
        }
    ),
    "A at risk: active 60-30 days ago, quiet last 30": _a(
        _did("*", window={"last_days": 60}),
        _did("*", compare={"op": "eq", "value": 0}, window={"last_days": 30}),
    ),
    "A first seen in last 90 days": _a({"type": "first_seen", "event": "*", "window": {"last_days": 90}}),
}


def build(base: Path, n_events: int) -> Path:
    def save_power_users(project) -> None:
        save_segment(project.conn, "Power users", POWER_USERS)

    return datagen.build_project(base, n_events, "segments", after_import=save_power_users)


to_duckdb = datagen.to_duckdb


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def run(n_events: int, base: Path, repeat: int) -> list[dict]:
    path = build(base, n_events)
    conn = connect(path, readonly=True)
    prepare_connection(conn)
    as_of = resolve_as_of(conn)
    duck = to_duckdb(conn)
    rows = []
    for name, definition in DEFINITIONS.items():
        seg = load_definition(definition)
        count(conn, seg, as_of)  # warm the page cache like an open project would be
        q = compile_count(conn, seg, as_of, dialect="duckdb")
        duck.execute(q.sql, q.params).fetchone()
        # Interleaved, so both engines see the same load on a shared machine.
        s_times, d_times = [], []
        for _ in range(repeat):
            t, s_count = timed(lambda seg=seg: count(conn, seg, as_of), 1)
            s_times.append(t)
            t, d_row = timed(lambda q=q: duck.execute(q.sql, q.params).fetchone(), 1)
            d_times.append(t)
        s_time, d_time = statistics.median(s_times), statistics.median(d_times)
        rows.append(
            {
                "definition": name,
                "seglab_ms": s_time * 1000,
                "duckdb_ms": d_time * 1000,
                "ratio": s_time / d_time if d_time else float("inf"),
                "count": s_count,
                "agree": s_count == d_row[0],
            }
        )
    conn.close()
    return rows


def report(n_events: int, rows: list[dict]) -> None:
    print(f"\n## {n_events:,} events\n")
    print("| definition | count | SegLab ms | DuckDB ms | ratio | same count |")
    print("|---|---:|---:|---:|---:|:-:|")
    for r in rows:
        print(
            f"| {r['definition']} | {r['count']:,} | {r['seglab_ms']:.1f} | {r['duckdb_ms']:.1f} | "
            f"{r['ratio']:.2f} | {'yes' if r['agree'] else 'NO'} |"
        )
    med = statistics.median(r["seglab_ms"] for r in rows)
    med_ratio = statistics.median(r["ratio"] for r in rows)
    worst = max(rows, key=lambda r: r["ratio"])
    print(
        f"\nmedian SegLab {med:.1f} ms; median ratio {med_ratio:.2f}; "
        f"worst ratio {worst['ratio']:.2f} ({worst['definition']})"
    )


def in_lists(n_events: int, base: Path, n_values: int, repeat: int) -> None:
    """``in``/``not_in`` lists of ``n_values`` values, timed from the JSON text to the count (as
    ``seglab segment count --def`` does: parsing, the limits, validation, compilation, SQLite), the
    membership cache cleared before each run. Each list holds 5,000 values the project has."""
    import json

    from seglab.core.segments.engine import clear_cache

    path = build(base, n_events)
    conn = connect(path, readonly=True)
    prepare_connection(conn)
    as_of = resolve_as_of(conn)
    emails = [
        e for (e,) in conn.execute("SELECT p4 FROM users WHERE p4 IS NOT NULL ORDER BY user_key LIMIT 5000")
    ]
    texts = emails + [f"nobody{i}@example.com" for i in range(n_values - len(emails))]
    numbers = list(range(n_values))
    cases = {
        "U email in": _u(_prop("email", "in", texts)),
        "U email not_in": _u(_prop("email", "not_in", texts)),
        "U did any event with duration_ms in": _u(
            _did("*", where=[{"property": "duration_ms", "op": "in", "value": numbers}])
        ),
        "A seats not_in": _a(_prop("seats", "not_in", numbers, entity="account")),
    }
    print(f"\n## in/not_in with {n_values:,} values, {n_events:,} events\n")
    print("| definition | count | seconds (median) |")
    print("|---|---:|---:|")
    for name, definition in cases.items():
        text = json.dumps(definition)
        times = []
        for _ in range(repeat):
            clear_cache()
            t = time.perf_counter()
            result = count(conn, load_definition(text), as_of)
            times.append(time.perf_counter() - t)
        print(f"| {name} | {result:,} | {statistics.median(times):.3f} |")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--dir", default="/tmp/seglab-segment-bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--in-values", type=int, metavar="N", help="time in/not_in lists of N values instead of the fixed set"
    )
    args = parser.parse_args()
    for n in args.events:
        if args.in_values:
            in_lists(n, Path(args.dir), args.in_values, args.repeat)
        else:
            report(n, run(n, Path(args.dir), args.repeat))


if __name__ == "__main__":
    main()
