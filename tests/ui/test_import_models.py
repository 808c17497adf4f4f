"""The rejects table and the time-left estimate of the import wizard (model level)."""

from __future__ import annotations

import itertools

import pytest

from seglab.ui.models.rejects_model import RejectsTableModel, read_rejects
from seglab.ui.models.time_left import TimeLeft


def test_rejects_table_splits_the_record_under_the_source_columns(tmp_path, qtmodeltester):
    source = tmp_path / "events.csv"
    source.write_text("user_id;event;timestamp\nu1;login;2024-01-01\nu2;login;never\n")
    rejects = tmp_path / "events.csv.rejects.csv"
    rejects.write_text('line,reason,raw\n3,bad timestamp,"u2;login;never"\n4,too many fields,"u3;x;y;z"\n')
    headers, rows, more = read_rejects(rejects, source)
    assert headers == ["Line", "Reason", "user_id", "event", "timestamp", "field 4"]
    assert rows == [
        ["3", "bad timestamp", "u2", "login", "never", ""],
        ["4", "too many fields", "u3", "x", "y", "z"],
    ]
    assert not more
    model = RejectsTableModel()
    model.load(rejects, source)
    qtmodeltester.check(model)
    # Without the source file the fields are numbered (and the delimiter is sniffed).
    headers, rows, _ = read_rejects(rejects)
    assert headers[:3] == ["Line", "Reason", "field 1"] and rows[0][2:5] == ["u2", "login", "never"]
    _, rows, more = read_rejects(rejects, source, limit=1)
    assert len(rows) == 1 and more


@pytest.mark.parametrize("seed", [0])
def test_time_left_counts_down_instead_of_jumping_up(seed):
    est = TimeLeft()
    assert est.update(0.01, 1.0) is None  # too early to say
    shown = []
    elapsed = 0.0
    fraction = 0.0
    # Fast, then a slower stretch (the estimate would rise), then fast again.
    for i in range(60):
        speed = 0.02 if i < 20 or i >= 30 else 0.012
        elapsed += 1.0
        fraction = min(1.0, fraction + speed)
        value = est.update(fraction, elapsed)
        if value is not None:
            shown.append(value)
    rises = [i for i in range(1, len(shown)) if shown[i] > shown[i - 1]]
    # No jumping about: a rise is a rare, deliberate revision, never two within 8 updates.
    assert len(rises) <= 3
    assert all(b - a >= 8 for a, b in itertools.pairwise(rises))
    assert shown[-1] < shown[0]
    est.reset()
    assert est.update(0.5, 10.0) == pytest.approx(10.0)
