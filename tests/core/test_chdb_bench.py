"""benchmarks/chdb_bench.py's correctness check at a tiny size: the generator's rows, written
straight to Parquet and loaded into a chdb folder, give the same segment counts and the same
analysis CSVs as the generator's CSV files imported into a local project. (No timing here: the
benchmark measures speed.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("chdb")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import chdb_bench


def test_parquet_in_chdb_and_csv_in_sqlite_agree(tmp_path):
    n = 20_000
    chdb_bench.build_chdb(tmp_path, n)
    chdb_bench.build_local(tmp_path, n)
    local = chdb_bench.time_engine(tmp_path / str(n) / "segments.seglab", "local", 0)
    connected = chdb_bench.time_engine(tmp_path / str(n) / "connected.seglab", "chdb", 0)
    assert chdb_bench.same(local, connected) == []
    connected["counts"]["U property: plan is pro"]["value"] += 1
    label = chdb_bench.ANALYSES[3][0]
    connected["analyses"][label]["csv"] += "x"
    assert chdb_bench.same(local, connected) == [
        f"count U property: plan is pro: {local['counts']['U property: plan is pro']['value']} != "
        f"{connected['counts']['U property: plan is pro']['value']}",
        f"{label}: the CSVs differ",
    ]
    # Not an agreement on nothing: most definitions match someone, every analysis has rows.
    assert sum(1 for c in local["counts"].values() if c["value"] > 0) >= 15
    assert all(a["rows"] > 0 for a in local["analyses"].values())
    # A changed generator would rebuild the cached folder; an unchanged one reuses it.
    assert "load_s" not in chdb_bench.build_chdb(tmp_path, n)
