"""The import's group-bys (seglab.core.importing.rollups) on their own: numpy in, numpy out, each
checked against a plain-Python group-by of the same random events."""

from collections import defaultdict

import numpy as np
import pytest

from seglab.core.importing import rollups
from seglab.core.timeutil import DAY_MS

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def _events(seed: int, n: int = 3000):
    rng = np.random.default_rng(seed)
    uk = rng.integers(1, 60, n).astype(np.int64)
    ek = rng.integers(1, 7, n).astype(np.int64)
    ts = (T0 + rng.integers(0, 20 * DAY_MS, n)).astype(np.int64)
    return uk, ek, ts


def _python_group(keys_of, uk, ek, ts) -> list[tuple]:
    """(keys..., count, first, last) per group, sorted by the keys: the reference."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for u, e, t in zip(uk.tolist(), ek.tolist(), ts.tolist()):
        groups[keys_of(u, e, t)].append(t)
    return [(*key, len(v), min(v), max(v)) for key, v in sorted(groups.items())]


def _rows(columns) -> list[tuple]:
    return list(zip(*(c.tolist() for c in columns)))


def test_day_rows_are_user_days_of_a_batch():
    uk, ek, ts = _events(1)
    got = rollups.day_rows(uk, ek, ts)
    assert [c.dtype for c in got] == [np.int32] * 4 + [np.int64] * 2  # compact while pending
    assert _rows(got) == _python_group(lambda u, e, t: (u, e, t // DAY_MS), uk, ek, ts)


def test_the_derived_roll_ups_match_python_group_bys():
    uk, ek, ts = _events(2)
    agg = rollups.aggregate(uk, ek, ts // DAY_MS, np.ones(len(ts), dtype=np.int64), ts, ts)
    assert _rows(agg) == _python_group(lambda u, e, t: (u, e, t // DAY_MS), uk, ek, ts)
    assert _rows(rollups.user_event_totals(*agg)) == _python_group(lambda u, e, t: (e, u), uk, ek, ts)
    u, e, d, n, first, last = agg
    assert _rows(rollups.event_day_totals(e, d, n, first, last)) == _python_group(
        lambda u, e, t: (e, t // DAY_MS), uk, ek, ts
    )
    active = rollups.aggregate_days(u, d, n, first, last)
    assert _rows(active) == _python_group(lambda u, e, t: (u, t // DAY_MS), uk, ek, ts)
    spans = rollups.user_spans(active[0], active[3], active[4])
    assert _rows(spans) == [
        (u, first, last) for u, _n, first, last in _python_group(lambda u, e, t: (u,), uk, ek, ts)
    ]


@pytest.mark.parametrize("flush_rows, merge_rows", [(10**9, 10**9), (500, 300), (1, 1)])
def test_day_roll_up_gives_the_same_rows_spilled_or_not(flush_rows, merge_rows):
    """Batches aggregated, spilled to runs on disk and merged back a range of users at a time give
    exactly the rows of one group-by over all events, in user order."""
    uk, ek, ts = _events(3, 4000)
    days = rollups.DayRollUp(flush_rows, merge_rows)
    for lo in range(0, len(uk), 700):
        days.add(uk[lo : lo + 700], ek[lo : lo + 700], ts[lo : lo + 700])
    assert days.spilled == (flush_rows < 10**9)
    parts = list(days.aggregates())
    got = [row for part in parts for row in _rows(part)]
    assert got == _python_group(lambda u, e, t: (u, e, t // DAY_MS), uk, ek, ts)
    if flush_rows == 1:
        assert len(parts) > 1  # really merged back in ranges
    assert not days.spilled  # the runs' file is gone once read back
    assert list(days.aggregates()) == []


def test_day_roll_up_discard_removes_the_runs():
    uk, ek, ts = _events(4, 500)
    days = rollups.DayRollUp(10, 10)
    days.add(uk, ek, ts)
    runs_file = days.runs.file
    days.discard()
    assert runs_file.closed and not days.spilled


def test_user_times_keep_each_users_earliest_and_latest():
    times = rollups.UserTimes()
    times.update(np.array([3, 5]), np.array([100, 50]), np.array([200, 60]))
    times.update(np.array([5, 9]), np.array([40, 7]), np.array([45, 8]))
    assert times.known() == ([3, 5, 9], [100, 40, 7], [200, 60, 8])


def test_latest_accounts_and_conflicts():
    links = rollups.LatestAccounts()
    # User 1 has account 10 then 11 in one batch (a conflict); user 2 only account 20; user 3 none.
    conflicts = links.add([1, 1, 2, 3], [10, 11, 20, None], np.array([5, 9, 1, 4]))
    assert conflicts == {1}
    assert links.latest() == {1: (9, 11), 2: (1, 20)}
    # A later batch: user 2 moves to account 21 (a conflict with the earlier batch); an earlier
    # time for user 1 does not replace their latest account.
    assert links.add([2, 1], [21, 10], np.array([7, 2])) == {1, 2}
    assert links.latest() == {1: (9, 11), 2: (7, 21)}
    # Ties at the same time: the later row wins, as a file in time order would say.
    links = rollups.LatestAccounts()
    links.add([4, 4], [1, 2], np.array([3, 3]))
    assert links.latest() == {4: (3, 2)}
    assert rollups.LatestAccounts().add([5], [None], np.array([1])) == set()
