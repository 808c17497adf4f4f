"""Connected projects at scale: 5M and 50M events in a chdb folder beside 1M and 5M in local SQLite.

    python benchmarks/chdb_bench.py [--chdb 5000000 50000000] [--local 1000000 5000000]
                                    [--dir /tmp/seglab-chdb-bench] [--repeat 3]
                                    [--budget 600] [--max-rss 6000] [--reuse]

For each ``--chdb`` size the benchmark generator (benchmarks/datagen.py) writes its rows straight
to Parquet (one row group per chunk of days; no local project is built), ClickHouse loads them into
MergeTree tables in a chdb data folder as a warehouse holds them (events ordered by event name and
time and partitioned by month, ``DateTime64(3, 'UTC')`` times, Nullable properties), and a project
is connected to it. For each ``--local`` size the same generator's CSV files are imported into a
local project. All of it is cached under ``--dir`` (``<n>/parquet``, ``<n>/chdb``,
``<n>/connected.seglab``, ``<n>/segments.seglab``) and reused while the generator's stamp matches.

Then, each engine in its own process (so its peak RSS is its own):

* ``segment count`` of segment_bench.py's 21 definitions through the core functions the command
  calls (``seglab.core.segments.count`` locally, ``ClickHouseEngine.count`` connected, on one open
  engine), and the first count of a fresh engine (opening the folder and building the session's
  users and accounts tables, which a connected command reading them pays once);
* ``seglab analyze trend|funnel|retention`` run in-process through the command line's own entry
  point (``seglab.cli.main``, CSV written to a file): the whole command but the interpreter start.

Each figure is a median of ``--repeat`` runs (5 when a run takes under a second) after one
untimed run; a first run of 30 s or more is the figure by itself (marked ¹). An analysis still
running after ``--budget`` seconds, or past ``--max-rss`` MB of memory, is stopped (the shared
machine comes first) and printed as such. Printed: the tables, the growth from the smallest to
the largest size of each engine, peak RSS and disk sizes, and whether the chdb and local results
of the same size are identical (counts, and the CSV each analysis writes, byte for byte). Each
engine's timings are saved beside its data; ``--reuse`` takes them instead of timing again
(to finish a run that was interrupted).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datagen  # noqa: E402
from segment_bench import DEFINITIONS, POWER_USERS  # noqa: E402

SEGMENTS = {
    "Power users": POWER_USERS,
    "Active accounts": DEFINITIONS["A >= 5 users logged in in last 7 days"],
}
FUNNEL_6 = "login,search,open_report,create_report,share_report,export_csv"
# (label, the command's arguments after the project)
ANALYSES = [
    ("trend: daily users, any event, everyone", ["trend", "--event", "*", "--measure", "users"]),
    (
        "trend: weekly count of login, Power users",
        ["trend", "--event", "login", "--interval", "week", "--segment", "Power users"],
    ),
    (
        "trend: weekly accounts, any event, Active accounts",
        ["trend", "--measure", "accounts", "--interval", "week", "--segment", "Active accounts"],
    ),
    ("funnel: 3 steps, everyone", ["funnel", "--steps", "login,view_dashboard,open_report"]),
    ("funnel: 6 steps, Power users", ["funnel", "--steps", FUNNEL_6, "--segment", "Power users"]),
    (
        "retention: weekly login -> any, 12 periods, everyone",
        ["retention", "--start-event", "login", "--interval", "week", "--periods", "12"],
    ),
    (
        "retention: weekly login -> any, 12 periods, Power users",
        ["retention", "--start-event", "login", "--periods", "12", "--segment", "Power users"],
    ),
]
EVENTS_DDL = (
    "user_id String, event String, timestamp DateTime64(3, 'UTC'), account_id Nullable(String), "
    "platform Nullable(String), duration_ms Nullable(Int64), amount Nullable(Float64)"
)
USERS_DDL = (
    "user_id String, account_id Nullable(String), plan Nullable(String), country Nullable(String), "
    "signup_date Nullable(DateTime64(3, 'UTC')), email Nullable(String)"
)
ACCOUNTS_DDL = (
    "account_id String, name Nullable(String), vertical Nullable(String), tier Nullable(String), "
    "seats Nullable(Int64), mrr Nullable(Float64)"
)
TABLES = [
    ("events", EVENTS_DDL, "PARTITION BY toYYYYMM(timestamp) ORDER BY (event, timestamp)"),
    ("users", USERS_DDL, "ORDER BY user_id"),
    ("accounts", ACCOUNTS_DDL, "ORDER BY account_id"),
]


# -- building (each in a child process: its time and peak RSS are measured) ------------------


def _save_segments(path: Path) -> None:
    from seglab.core.project import Project
    from seglab.core.segments import save_segment

    with Project.open(path) as project:
        have = {r[0] for r in project.conn.execute("SELECT name FROM segments")}
        for name, definition in SEGMENTS.items():
            if name not in have:
                save_segment(project.conn, name, definition)


def build_chdb(base: Path, n: int) -> dict:
    """Parquet straight from the generator, then MergeTree tables in ``<n>/chdb``, connected."""
    from chdb import session

    from seglab.core.engines.connect import connect_project

    folder = base / str(n)
    out: dict = {}
    t = time.perf_counter()
    files = datagen.generate_parquet(folder / "parquet", n)
    out["parquet_s"] = time.perf_counter() - t
    stamp, data = folder / "chdb.json", json.loads((folder / "parquet" / "datagen.json").read_text())
    chdb_dir, connected = folder / "chdb", folder / "connected.seglab"
    if not (stamp.exists() and json.loads(stamp.read_text()) == data and connected.exists()):
        stamp.unlink(missing_ok=True)
        connected.unlink(missing_ok=True)
        shutil.rmtree(chdb_dir, ignore_errors=True)
        chdb_dir.mkdir(parents=True)
        t = time.perf_counter()
        s = session.Session(str(chdb_dir))
        try:
            for (name, ddl, layout), path in zip(TABLES, files, strict=True):
                s.query(f"CREATE TABLE {name} ({ddl}) ENGINE = MergeTree {layout}")
                # The path is this script's own cache folder, never input from a file.
                s.query(f"INSERT INTO {name} SELECT * FROM file('{path}', Parquet)")
            out["load_s"] = time.perf_counter() - t
            t = time.perf_counter()
            # Settled parts (one per month), as a warehouse's background merges leave them.
            s.query("OPTIMIZE TABLE events FINAL")
            out["optimize_s"] = time.perf_counter() - t
            out["rows"] = int(s.query("SELECT count() FROM events", "CSV").bytes())
            out["parts"] = int(
                s.query("SELECT count() FROM system.parts WHERE active AND table = 'events'", "CSV").bytes()
            )
        finally:
            s.close()
        connect_project(
            connected, f"chdb://{chdb_dir}", {"events": "events", "users": "users", "accounts": "accounts"}
        )
        _save_segments(connected)
        stamp.write_text(json.dumps(data))
    return out


def build_local(base: Path, n: int) -> dict:
    t = time.perf_counter()
    path = datagen.build_project(base, n, "segments")
    _save_segments(path)
    return {"build_s": time.perf_counter() - t}


# -- timing (each engine in a child process) -------------------------------------------------


SINGLE_RUN_S = 30.0


def _median(fn, repeat: int) -> tuple[float, int, object]:
    """(median ms, runs, last value) after one untimed run; 5 runs when a run takes under 1 s,
    the first run alone when it takes :data:`SINGLE_RUN_S` or more. ``repeat=0``: the one run
    only (the results without the timing)."""
    t = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t
    if repeat == 0 or first >= SINGLE_RUN_S:
        # A run this long is its own figure: a warm cache is a small part of it, and repeating
        # it would hold the shared machine for many minutes.
        return first * 1000, 1, value
    runs = repeat if first >= 1.0 else max(repeat, 5)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        value = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), runs, value


def _cli(project: Path, args: list[str], out: Path) -> str:
    from seglab.cli import main as seglab

    code = seglab(["analyze", args[0], str(project), *args[1:], "--out", str(out)])
    if code != 0:
        raise SystemExit(f"seglab analyze {' '.join(args)} exited {code}")
    return out.read_text(encoding="utf-8")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _guard(done, result: dict, labels: list[str], budget_s: float, max_rss_mb: float) -> None:
    """Stop the process when the running analysis passes its time or memory budget, reporting
    what was measured (the parent prints the rest as stopped; ClickHouse's query ends with us)."""
    start = time.perf_counter()
    while not done.wait(0.25):
        took, rss = time.perf_counter() - start, _rss_mb()
        if took < budget_s and rss < max_rss_mb:
            continue
        why = f"over {budget_s:g} s" if took >= budget_s else f"over {max_rss_mb:,.0f} MB of memory"
        for label in labels:
            result["analyses"].setdefault(
                label, {"ms": float("nan"), "runs": 0, "csv": "", "rows": -1, "stopped": why}
            )
        json.dump(result, sys.stdout)
        sys.stdout.flush()
        print(f"  {labels[0]}: stopped, {why}", file=sys.stderr, flush=True)
        os._exit(0)


def time_engine(
    project: Path, kind: str, repeat: int, budget_s: float = 600.0, max_rss_mb: float = 6000.0
) -> dict:
    from seglab.core.engines.base import open_engine
    from seglab.core.project import Project
    from seglab.core.segments import count, load_definition

    result: dict = {"counts": {}, "analyses": {}}
    with Project.open(project, readonly=True) as p:
        if kind == "local":
            from seglab.core.project import resolve_as_of

            as_of = resolve_as_of(p.conn)

            def counter(seg):
                return lambda: count(p.conn, seg, as_of)

        else:
            engine = open_engine(p.conn)

            def first_count():
                e = open_engine(p.conn)
                try:
                    return e.count(load_definition({"level": "account", "conditions": []}), as_of)
                finally:
                    e.close()

            as_of = engine.as_of()
            engine.close()
            ms, runs, _ = _median(first_count, min(repeat, 3))
            result["first_count"] = {"ms": ms, "runs": runs}
            engine = open_engine(p.conn)
            # The session's users and accounts tables, built once per command (timed above).
            engine.count(load_definition({"level": "account", "conditions": []}), as_of)

            def counter(seg):
                return lambda: engine.count(seg, as_of)

        result["as_of"] = as_of
        try:
            for name, definition in DEFINITIONS.items():
                ms, runs, value = _median(counter(load_definition(definition)), repeat)
                result["counts"][name] = {"ms": ms, "runs": runs, "value": value}
                print(f"  {name}: {ms:.1f} ms", file=sys.stderr, flush=True)
        finally:
            if kind != "local":
                engine.close()

    # The funnels last: on a large source they are the slow ones, and may be stopped.
    order = sorted(ANALYSES, key=lambda a: a[1][0] == "funnel")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, args) in enumerate(order):
            out = Path(tmp) / "out.csv"
            done = threading.Event()
            guard = threading.Thread(
                target=_guard,
                args=(done, result, [x for x, _ in order[i:]], budget_s, max_rss_mb),
                daemon=True,
            )
            guard.start()
            try:
                ms, runs, text = _median(lambda args=args, out=out: _cli(project, args, out), repeat)
            finally:
                done.set()
                guard.join()
            result["analyses"][label] = {"ms": ms, "runs": runs, "csv": text, "rows": text.count("\n") - 1}
            print(f"  {label}: {ms:.0f} ms", file=sys.stderr, flush=True)
    return result


# -- the parent: children, comparison, tables ------------------------------------------------


def child(args: list[str]) -> tuple[dict, float, int]:
    """(the child's JSON, wall seconds, peak RSS MB) of one phase run in its own process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"chdb_bench {' '.join(args)} failed")
    return json.loads(out), time.perf_counter() - started, usage.ru_maxrss // 1024


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def same(a: dict, b: dict) -> list[str]:
    """What differs between two engines' results of the same rows (empty: identical)."""
    diffs = []
    if a["as_of"] != b["as_of"]:
        diffs.append(f"as-of {a['as_of']} != {b['as_of']}")
    for name in DEFINITIONS:
        x, y = a["counts"][name]["value"], b["counts"][name]["value"]
        if x != y:
            diffs.append(f"count {name}: {x} != {y}")
    for label, _ in ANALYSES:
        x, y = a["analyses"][label], b["analyses"][label]
        if not (x["runs"] and y["runs"]):
            diffs.append(f"{label}: not compared (stopped)")
        elif x["csv"] != y["csv"]:
            diffs.append(f"{label}: the CSVs differ")
    return diffs


def report(sizes_ch: list[int], sizes_local: list[int], res: dict, rss: dict) -> None:
    cols = [(f"SQLite {n / 1e6:g}M", res[("local", n)]) for n in sizes_local]
    cols += [(f"chdb {n / 1e6:g}M", res[("chdb", n)]) for n in sizes_ch]

    def growth(kind, sizes, key, label):
        if len(sizes) < 2:
            return ""
        lo, hi = res[(kind, sizes[0])][key][label], res[(kind, sizes[-1])][key][label]
        if not (lo["runs"] and hi["runs"]):
            return "-"
        return f"{hi['ms'] / max(lo['ms'], 0.001):.1f}x"

    head = "| | " + " | ".join(c for c, _ in cols) + " | SQLite growth | chdb growth |"
    for key, title, unit in (
        ("counts", "segment count", "ms"),
        ("analyses", "analysis (whole command)", "s"),
    ):
        print(f"\n{title}, median {unit}\n")
        print(head.replace("| |", f"| {title} |", 1))
        print("|---|" + "---:|" * (len(cols) + 2))
        for label in cols[0][1][key]:
            vals = []
            for _, r in cols:
                ms, runs = r[key][label]["ms"], r[key][label]["runs"]
                text = f"{ms:.1f}" if unit == "ms" else f"{ms / 1000:.2f}"
                vals.append(f"stopped ({r[key][label]['stopped']})" if not runs else text + "¹" * (runs == 1))
            print(
                f"| {label} | "
                + " | ".join(vals)
                + f" | {growth('local', sizes_local, key, label)} | {growth('chdb', sizes_ch, key, label)} |"
            )
        meds = [
            statistics.median([v["ms"] for v in r[key].values() if v["runs"]] or [math.nan]) for _, r in cols
        ]
        print(
            "| **median** | "
            + " | ".join(f"{m:.1f}" if unit == "ms" else f"{m / 1000:.2f}" for m in meds)
            + " | | |"
        )
    for n in sizes_ch:
        fc = res[("chdb", n)]["first_count"]["ms"]
        print(
            f"\nchdb {n:,}: first count of a fresh engine (opens the folder, builds users and "
            f"accounts) {fc:.0f} ms"
        )
    print()
    for key, value in rss.items():
        print(f"{key}: {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chdb", type=int, nargs="+", default=[5_000_000, 50_000_000])
    parser.add_argument("--local", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--dir", default="/tmp/seglab-chdb-bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--budget", type=float, default=600, metavar="S", help="stop an analysis after S seconds (600)"
    )
    parser.add_argument(
        "--max-rss", type=float, default=6000, metavar="MB", help="stop an analysis past MB of memory (6000)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the timings a previous run saved (after an interruption)"
    )
    parser.add_argument(
        "--phase", choices=["parquet", "build-chdb", "build-local", "time-chdb", "time-local"]
    )
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    base = Path(args.dir)
    if args.phase:
        if args.phase == "parquet":
            t = time.perf_counter()
            datagen.generate_parquet(base / str(args.n) / "parquet", args.n)
            out = {"parquet_s": time.perf_counter() - t}
        elif args.phase == "build-chdb":
            out = build_chdb(base, args.n)
        elif args.phase == "build-local":
            out = build_local(base, args.n)
        else:
            kind = args.phase.removeprefix("time-")
            name = "connected.seglab" if kind == "chdb" else "segments.seglab"
            out = time_engine(base / str(args.n) / name, kind, args.repeat, args.budget, args.max_rss)
        json.dump(out, sys.stdout)
        return 0
    common = ["--dir", str(base), "--repeat", str(args.repeat)]
    rss: dict[str, str] = {}
    for n in args.chdb:
        if not (base / str(n) / "parquet" / "datagen.json").exists():
            out, wall, peak = child(["--phase", "parquet", "--n", str(n), *common])
            rss[f"chdb {n:,} Parquet"] = f"written in {wall:.0f} s, peak RSS {peak} MB"
        out, wall, peak = child(["--phase", "build-chdb", "--n", str(n), *common])
        if "load_s" in out:
            rss[f"chdb {n:,} build"] = (
                f"load {out['load_s']:.0f} s, OPTIMIZE {out['optimize_s']:.0f} s "
                f"({out['rows']:,} rows, {out['parts']} parts); wall {wall:.0f} s, peak RSS {peak} MB"
            )
        folder = base / str(n)
        rss[f"chdb {n:,} disk"] = (
            f"Parquet {mb(du(folder / 'parquet'))}, chdb folder {mb(du(folder / 'chdb'))}"
        )
    for n in args.local:
        out, wall, peak = child(["--phase", "build-local", "--n", str(n), *common])
        rss[f"SQLite {n:,} project"] = f"{mb(du(base / str(n) / 'segments.seglab'))}"
    res: dict = {}
    for kind, sizes in (("local", args.local), ("chdb", args.chdb)):
        for n in sizes:
            saved = base / str(n) / f"timing-{kind}.json"
            if args.reuse and saved.exists():
                res[(kind, n)] = json.loads(saved.read_text())
                print(f"reusing {saved}", file=sys.stderr)
                continue
            print(f"timing {kind} {n:,}", file=sys.stderr, flush=True)
            out, wall, peak = child(
                ["--phase", f"time-{kind}", "--n", str(n), "--budget", str(args.budget),
                 "--max-rss", str(args.max_rss), *common]
            )  # fmt: skip
            out["peak_rss_mb"], out["wall_s"] = peak, wall
            saved.write_text(json.dumps(out))
            res[(kind, n)] = out
    for (kind, n), out in res.items():
        rss[f"{'SQLite' if kind == 'local' else 'chdb'} {n:,} timing run"] = (
            f"peak RSS {out['peak_rss_mb']} MB, wall {out['wall_s']:.0f} s"
        )
    report(args.chdb, args.local, res, rss)
    status = 0
    for n in sorted(set(args.chdb) & set(args.local)):
        diffs = same(res[("local", n)], res[("chdb", n)])
        print(f"\n{n:,} events, chdb against SQLite: " + ("identical" if not diffs else "DIFFERENT"))
        for d in diffs:
            print(f"  {d}")
        status = status or bool(diffs)
    results = base / "results.json"
    results.write_text(json.dumps({f"{k}:{n}": v for (k, n), v in res.items()}))
    print(f"\nfull results (CSV texts included): {results}")
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
