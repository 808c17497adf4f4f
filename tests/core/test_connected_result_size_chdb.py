"""Push-down, counted: the rows each command reads back from a chdb source are held to the size of
what it prints (docs/sources.md, "What runs where"); member lists and ``find`` (the people's text)
are the exceptions.

Every client's ``query`` is wrapped to add up the rows it returns (the real queries run)."""

from __future__ import annotations

import csv
import io
import json

import pytest

pytest.importorskip("chdb")

from test_connected_analyses_chdb import ANALYZE, CHARTS, charted  # noqa: F401  (fixtures)
from test_engine_clickhouse_trend import rich  # noqa: F401

from seglab.cli import main
from seglab.core.engines import source


@pytest.fixture
def rows_read(monkeypatch):
    counted = {"rows": 0, "queries": 0}
    original = source.Client.query

    def query(self, sql, params=None):
        rows = original(self, sql, params)
        counted["rows"] += len(rows)
        counted["queries"] += 1
        return rows

    monkeypatch.setattr(source.Client, "query", query)
    return counted


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def series_of(out: str) -> int:
    rows = list(csv.DictReader(io.StringIO(out)))
    key = "segment" if rows and "segment" in rows[0] else None
    if key is None:
        return 1
    return len({(r[key], r.get("group")) for r in rows}) or 1


def held(out: str, counted: dict, per_series: int = 3, extra: int = 3) -> None:
    """At most the printed rows, plus a few per series (counts, sizes) and per command (the
    as-of, event names): far inside the contract's 100 per series."""
    printed = max(len(out.splitlines()) - 1, 0)
    n = series_of(out)
    assert counted["rows"] <= printed + per_series * n + extra, (counted, printed, n)
    assert counted["rows"] <= printed + 100 * n


@pytest.mark.parametrize("args", ANALYZE, ids=lambda a: " ".join(a[1:4]))
def test_analyze_reads_back_about_what_it_prints(rich, capsys, rows_read, args):  # noqa: F811
    out = run([args[0], args[1], rich[1], *args[2:]], capsys)
    # distinguish with --limit reads its best limit + 20 events and values (ranked in the source)
    held(out, rows_read, extra=3 + (2 * 20 if args[1] == "distinguish" else 0))


@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_run_reads_back_about_what_it_prints(charted, capsys, rows_read, name):  # noqa: F811
    out = run(["chart", "run", charted[1], "--name", name], capsys)
    held(out, rows_read, extra=3 + (2 * 20 if name == "distinguishes" else 0))


def test_segment_count_info_and_list_read_back_a_few_rows(rich, capsys, rows_read):  # noqa: F811
    run(["segment", "count", rich[1], "--name", "Buyers"], capsys)
    assert rows_read["rows"] <= 3
    rows_read["rows"] = 0
    info = json.loads(run(["info", rich[1], "--json"], capsys))
    assert rows_read["rows"] <= 2 + len(info["account_conflicts"]) + 1
    rows_read["rows"] = 0
    listed = run(["segment", "list", rich[1]], capsys)
    assert rows_read["rows"] <= len(listed.splitlines()) + 1


def test_member_lists_are_the_exception(rich, capsys, rows_read):  # noqa: F811
    out = run(["segment", "members", rich[1], "--name", "Pro or free"], capsys)
    assert rows_read["rows"] >= len(out.splitlines()) - 1 > 0


def test_find_reads_the_peoples_text(rich, capsys, rows_read):  # noqa: F811
    """find searches every id and text value: it reads back one row per user and per account."""
    out = run(["find", rich[1], "u1", "--limit", "1"], capsys)
    assert len(out.splitlines()) == 1
    assert rows_read["rows"] >= 7 + 3 > len(out.splitlines())


def test_report_reads_back_numbers_not_members(rich, tmp_path, capsys, rows_read):  # noqa: F811
    """The worksheet of 4 segments: its parts' rows (what each analysis above reads), never the
    members or the events."""
    run(["report", rich[1], "--out", tmp_path / "w.html"], capsys)
    assert rows_read["rows"] <= 100 * 4  # measured: 253 (13 weekly sizes, activity, retention...)
