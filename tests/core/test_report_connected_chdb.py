"""``seglab report`` (the worksheet) on a connected project: every part computed in the source
(sizes, activity, the key funnel, retention, distinctions, the breakdown, overlaps), the same
worksheet as the local project of the same rows (but for the project's name and the time it was
made)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

pytest.importorskip("chdb")

from test_connected_analyses_chdb import reals  # noqa: F401  (fixture)
from test_engine_clickhouse_trend import rich  # noqa: F401

from seglab.cli import main
from seglab.core.report.worksheet import gather


def worksheet(path, tmp_path, capsys, *extra) -> str:
    out = tmp_path / f"{path.stem}.html"
    assert main(["report", str(path), "--out", str(out), *extra]) == 0, capsys.readouterr().err
    capsys.readouterr()
    html = out.read_text(encoding="utf-8")
    html = html.replace(path.stem, "PROJECT").replace(str(path), "PROJECT")
    today = dt.datetime.now(dt.UTC).date().isoformat()  # when it was made (the data is of 2024)
    return re.sub(today + r"T\d\d:\d\d:\d\dZ", "GENERATED", html)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--segment", "Big accounts", "--as-of", "2024-03-20"],
        ["--segment", "Buyers", "--segment", "Pro or free", "--segment", "Logged in lately"],
    ],
    ids=["every segment", "accounts, as-of", "three user segments"],
)
def test_the_worksheet_of_a_connected_project_is_the_local_one(rich, tmp_path, capsys, extra):  # noqa: F811
    local, connected = (worksheet(p, tmp_path, capsys, *extra) for p in rich)
    assert "Buyers" in local or "Big accounts" in local
    assert connected == local


def test_worksheet_numbers_are_the_local_ones(rich):  # noqa: F811
    from seglab.core.project import Project

    sheets = []
    for path in rich:
        with Project.open(path, readonly=True) as project:
            sheets.append(gather(project.conn, None, None))
    local, connected = sheets
    assert connected.key_funnel == local.key_funnel is not None
    assert [s.size for s in connected.sections] == [s.size for s in local.sections]
    for a, b in zip(local.sections, connected.sections):
        for part in (
            "size_over_time",
            "activity",
            "funnel",
            "retention",
            "distinctions",
            "breakdown",
            "notes",
        ):
            assert getattr(b, part) == getattr(a, part), (a.name, part)
    assert connected.overlaps == local.overlaps


def test_the_key_path_is_counted_in_the_source(reals, tmp_path, capsys):  # noqa: F811
    from seglab.core.project import Project

    sheets = []
    for path in reals:
        with Project.open(path, readonly=True) as project:
            sheets.append(gather(project.conn, None, None))
    assert sheets[1].key_funnel == sheets[0].key_funnel is not None
    assert "most common path" in sheets[0].key_funnel.reason or "most frequent" in sheets[0].key_funnel.reason
