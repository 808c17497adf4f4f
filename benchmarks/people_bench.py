"""People search and lists of ids on a generated project (issue 17).

    python benchmarks/people_bench.py PROJECT.seglab [--repeat 5]

On an imported project (e.g. the 1M-event one benchmarks/import_bench.py builds) it times,
as medians of ``--repeat`` runs: ``count`` of a ``list`` condition of 100,000 ids (every user
plus ids the project does not have) and of its negation next to a behaviour condition; a full
rebuild of the people-search index (what a users or accounts import adds); the events-import
path that only adds new ids (with 25k users missing from the index); and ``find`` for a few
typical texts. Nothing is written: every change runs in a transaction rolled back.
"""

from __future__ import annotations

import argparse
import statistics
import time

from seglab.core import search
from seglab.core.segments import count, load_definition
from seglab.core.storage.connection import connect
from seglab.core.storage.schema import refresh_people_text


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    conn = connect(args.project)
    events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    ids = [r[0] for r in conn.execute("SELECT user_id FROM users")]
    ids += [f"missing-{i}" for i in range(max(0, 100_000 - len(ids)))]
    listed = load_definition({"level": "user", "conditions": [{"type": "list", "ids": ids}]})
    mixed = load_definition(
        {
            "level": "user",
            "conditions": [
                {"type": "list", "ids": ids[::2], "negate": True},
                {"type": "behavior", "event": "login", "window": {"last_days": 30}},
            ],
        }
    )
    print(f"{events:,} events, {len(ids):,} ids listed")
    print(
        f"count(list of 100k ids):            {_median_ms(lambda: count(conn, listed), args.repeat):8.1f} ms"
    )
    print(
        f"count(NOT list of 50k ids and did): {_median_ms(lambda: count(conn, mixed), args.repeat):8.1f} ms"
    )

    def rebuild():
        conn.execute("BEGIN")
        refresh_people_text(conn)
        conn.execute("ROLLBACK")

    def add_new_ids():
        conn.execute("BEGIN")
        conn.execute("DELETE FROM people_text WHERE kind = 'user' AND property = 'id'")
        conn.execute("INSERT INTO people_text_fts(people_text_fts) VALUES ('rebuild')")
        start = time.perf_counter()
        refresh_people_text(conn, new_ids_only=True)
        took = time.perf_counter() - start
        conn.execute("ROLLBACK")
        return took

    print(f"search index, full rebuild:          {_median_ms(rebuild, args.repeat):8.1f} ms")
    added = statistics.median(add_new_ids() for _ in range(args.repeat)) * 1000
    print(f"search index, add every user's id:   {added:8.1f} ms")
    for text in ("user12", "gmail", "company 01", "acct_0012"):
        ms = _median_ms(lambda text=text: search.find(conn, text, 20), args.repeat)
        print(f"find {text!r:14}                    {ms:8.1f} ms")
    conn.close()


if __name__ == "__main__":
    main()
