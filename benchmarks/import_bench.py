"""Import speed and memory: ``seglab import`` against the sqlite3 shell's ``.import``.

    python benchmarks/import_bench.py                    # 1M rows
    python benchmarks/import_bench.py --sizes 1000000,5000000 --write-docs

For each size it generates a deterministic events file (benchmarks/datagen.py),
imports it into a fresh project with ``seglab import`` (a separate process; the
clock stops when the command returns, i.e. the transaction is committed with the
events index, the per-day roll-up, users' first/last times and account links
built: the project is ready to query), then loads the same file with the Debian
``sqlite3`` shell's ``.import`` into an empty database as the reference (text
columns, no parsing, no index). It prints wall-clock rows/s for both, the ratio,
CPU seconds (the machine may be shared: CPU time is the steadier comparison) and
SegLab's peak RSS: medians of ``--repeat`` runs (3) taken in turns, RSS the highest.

``--format csv,parquet`` (also ``jsonl``, ``csv.gz``) times the same events written in each
format (converted once with pyarrow, beside the CSV), the formats taking turns; ``.import``
still reads the CSV.

``--format csv,exact`` also times the CSV through the exact path alone (``SEGLAB_IMPORT_EXACT=1``:
no Arrow reading, no staging file), the reference the fast path is compared with.

``--with-entities`` also times the same events file into a project that already holds the
accounts and users files (the order the import wizard uses): that path once took 4x as long
(a per-account subquery that SQLite planned with the users file's statistics).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datagen import generate  # noqa: E402

DOC = HERE.parent / "docs" / "performance.md"
BEGIN, END = "<!-- import-bench:begin -->", "<!-- import-bench:end -->"


def run(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, stdout) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, out.decode()


def _seglab_import(
    n: int, events: Path, project: Path, before: tuple[Path, ...], exact: bool = False
) -> tuple[float, float, int]:
    """Wall s, CPU s, peak RSS MB of ``seglab import`` of the events file into a new project that
    first gets the ``before`` files (untimed); ``exact``: through the exact path alone."""
    os.environ["SEGLAB_IMPORT_EXACT"] = "1" if exact else "0"
    seglab = [sys.executable, "-m", "seglab"]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project}{suffix}").unlink(missing_ok=True)
    subprocess.run([*seglab, "new", str(project)], check=True, capture_output=True)
    for path in before:
        subprocess.run([*seglab, "import", str(project), str(path)], check=True, capture_output=True)
    wall, cpu, rss, out = run([*seglab, "import", str(project), str(events), "--json"])
    report = json.loads(out)
    assert report["rows_imported"] == n, report
    return wall, cpu, rss


def events_as(events: Path, fmt: str) -> Path:
    """The generated events file in ``fmt`` (made once, beside it): the same rows and values.

    Converted in a child process, so that pyarrow's memory never counts in this process
    (nor in the peak RSS the kernel reports for the ``seglab import`` children it forks)."""
    if fmt in ("csv", "exact"):
        return events
    if fmt not in ("csv.gz", "jsonl", "parquet"):
        raise SystemExit(f"--format {fmt}: use csv, csv.gz, jsonl or parquet")
    target = events.with_name(f"events.{fmt}")
    if not (target.exists() and target.stat().st_mtime >= events.stat().st_mtime):
        subprocess.run([sys.executable, __file__, "--convert", fmt, str(events)], check=True)
    return target


def convert(events: Path, fmt: str) -> None:
    """Write ``events`` (CSV) as ``events.FMT`` beside it, a block of rows at a time."""
    import gzip

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = events.with_name(f"events.{fmt}")
    tmp = target.with_name(target.name + ".tmp")
    if fmt == "csv.gz":
        with open(events, "rb") as src, gzip.open(tmp, "wb", compresslevel=6) as out:
            shutil.copyfileobj(src, out, 1 << 20)
        tmp.replace(target)
        return
    types = {
        "user_id": pa.string(),
        "event": pa.string(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "account_id": pa.string(),
        "platform": pa.string(),
        "duration_ms": pa.int64(),
        "amount": pa.float64(),
    }
    reader = pacsv.open_csv(events, convert_options=pacsv.ConvertOptions(column_types=types))
    if fmt == "parquet":
        with pq.ParquetWriter(tmp, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch, row_group_size=128 * 1024)
    else:
        with open(tmp, "w", encoding="utf-8") as out:
            for batch in reader:
                for row in batch.to_pylist():
                    row["timestamp"] = (
                        row["timestamp"].isoformat(timespec="milliseconds").replace("+00:00", "Z")
                    )
                    out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    tmp.replace(target)


def bench(
    n: int, data_root: Path, work: Path, repeat: int, with_entities: bool, formats: tuple[str, ...] = ("csv",)
) -> list[dict]:
    """Medians over ``repeat`` runs, SegLab (each format) and ``.import`` taking turns (the machine
    is shared: single runs of the same code vary by a third). One result per format."""
    csv_events, users, accounts = generate(data_root / f"events_{n}", n)
    files = {fmt: events_as(csv_events, fmt) for fmt in formats}
    project = work / f"bench_{n}.seglab"
    ref = work / f"ref_{n}.db"
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        raise SystemExit("the sqlite3 shell is needed for the reference (apt-get install sqlite3)")
    runs: dict[str, list] = {fmt: [] for fmt in formats}
    after: dict[str, list] = {fmt: [] for fmt in formats}
    refs = []
    for _ in range(repeat):
        for fmt, events in files.items():
            runs[fmt].append(_seglab_import(n, events, project, (), exact=fmt == "exact"))
        ref.unlink(missing_ok=True)
        wall, cpu, _, _ = run([sqlite3, str(ref), "-cmd", ".mode csv", f".import {csv_events} events"])
        refs.append((wall, cpu))
        if with_entities:
            for fmt, events in files.items():
                after[fmt].append(_seglab_import(n, events, project, (accounts, users), exact=fmt == "exact"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project}{suffix}").unlink(missing_ok=True)
    ref.unlink(missing_ok=True)
    ref_wall = statistics.median(r[0] for r in refs)
    ref_cpu = statistics.median(r[1] for r in refs)
    results = []
    for fmt, events in files.items():
        wall = statistics.median(r[0] for r in runs[fmt])
        cpu = statistics.median(r[1] for r in runs[fmt])
        result = {
            "rows": n,
            "format": fmt,
            "file_mb": round(events.stat().st_size / 1e6, 1),
            "runs": repeat,
            "seglab_s": round(wall, 2),
            "seglab_s_all": [round(r[0], 2) for r in runs[fmt]],
            "seglab_rows_s": round(n / wall),
            "seglab_cpu_s": round(cpu, 2),
            "ref_s": round(ref_wall, 2),
            "ref_s_all": [round(r[0], 2) for r in refs],
            "ref_rows_s": round(n / ref_wall),
            "ref_cpu_s": round(ref_cpu, 2),
            "ratio": round(ref_wall / wall, 2),
            "cpu_ratio": round(ref_cpu / cpu, 2),
            "peak_rss_mb": max(r[2] for r in runs[fmt]),
        }
        if with_entities:
            result["after_users_s"] = round(statistics.median(r[0] for r in after[fmt]), 2)
            result["after_users_rss_mb"] = max(r[2] for r in after[fmt])
        results.append(result)
    return results


def table(results: list[dict]) -> str:
    extra = "after_users_s" in results[0]
    lines = [
        "| rows | file | runs | SegLab (median) | SegLab rows/s | `.import` (median) | `.import` rows/s "
        "| ratio (wall) | ratio (CPU) | SegLab peak RSS |"
        + (" SegLab after accounts + users |" if extra else ""),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if extra else ""),
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,}{_label(r.get('format', 'csv'))} "
            f"| {r['file_mb']} MB | {r['runs']} | {r['seglab_s']} s "
            f"| {r['seglab_rows_s']:,} | {r['ref_s']} s | {r['ref_rows_s']:,} "
            f"| {r['ratio']}× | {r['cpu_ratio']}× "
            f"| {r['peak_rss_mb']} MB |" + (f" {r['after_users_s']} s |" if extra else "")
        )
    return "\n".join(lines)


def _label(fmt: str) -> str:
    return {"csv": "", "exact": " (CSV, exact path)"}.get(fmt, f" ({fmt})")


def write_docs(text: str) -> None:
    block = f"{BEGIN}\n{text}\n{END}"
    content = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if BEGIN in content and END in content:
        head, rest = content.split(BEGIN, 1)
        content = head + block + rest.split(END, 1)[1]
    else:
        content = content.rstrip("\n") + "\n\n## Import\n\n" + block + "\n"
    DOC.write_text(content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="seglab import vs sqlite3 .import")
    parser.add_argument("--sizes", default="1000000", help="comma-separated row counts")
    parser.add_argument("--data-dir", default=os.environ.get("SEGLAB_BENCH_DATA", "/tmp/seglab-bench-data"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (medians are reported)")
    parser.add_argument(
        "--with-entities",
        action="store_true",
        help="also time the events file into a project that already holds the accounts and users files",
    )
    parser.add_argument(
        "--format",
        default="csv",
        help="events file format(s), comma-separated, timed in turns: csv, csv.gz, jsonl, parquet, "
        "exact (the CSV through the exact path alone)",
    )
    parser.add_argument("--write-docs", action="store_true", help="replace the table in docs/performance.md")
    parser.add_argument("--convert", nargs=2, metavar=("FORMAT", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.convert:
        convert(Path(args.convert[1]), args.convert[0])
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="seglab-import-bench-") as work:
        for n in sizes:
            formats = tuple(f.strip() for f in args.format.split(","))
            for result in bench(
                n, Path(args.data_dir), Path(work), max(1, args.repeat), args.with_entities, formats
            ):
                results.append(result)
                print(json.dumps(result), flush=True)
    text = table(results)
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
