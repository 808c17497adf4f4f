"""The numpy sequence matcher (SQLite's evaluation of sequence conditions), on hand-made steps."""

import numpy as np

from seglab.core.segments.sequence import complete_users


def steps(*pairs):
    """Each step as [(user, ts), ...] -> (user keys, times) arrays."""
    return [
        (np.array([u for u, _ in p], dtype=np.int64), np.array([t for _, t in p], dtype=np.int64))
        for p in pairs
    ]


def test_steps_must_be_strictly_later():
    # User 1: b at the same time as a (not later); user 2: b one ms later.
    assert complete_users(steps([(1, 10), (2, 10)], [(1, 10), (2, 11)]), None) == [2]


def test_the_limit_runs_from_the_first_step_to_the_last_inclusive():
    s = steps([(1, 0), (2, 0)], [(1, 5), (2, 5)], [(1, 100), (2, 101)])
    assert complete_users(s, 100) == [1]
    assert complete_users(s, None) == [1, 2]


def test_a_later_start_rescues_a_chain_an_earlier_one_cannot_finish():
    # Starts at 0 and 90 reach the same b at 95; only the start at 90 finishes within 20.
    s = steps([(7, 0), (7, 90)], [(7, 95)], [(7, 105)])
    assert complete_users(s, 20) == [7]
    assert complete_users(s, 10) == []


def test_the_earliest_next_step_is_taken_and_repeated_events_need_distinct_occurrences():
    login = [(3, 1), (3, 2), (4, 1), (4, 1)]
    # User 3 logged in at 1 and 2: login > login works; user 4's two logins share a time.
    assert complete_users(steps(login, login), None) == [3]
    assert complete_users(steps(login, login, login), None) == []


def test_users_missing_a_step_and_empty_steps():
    assert complete_users(steps([(1, 1), (2, 1)], [(2, 5)], [(1, 9)]), None) == []
    assert complete_users(steps([], [(1, 1)]), None) == []


def test_large_keys_and_negative_times_keep_their_order():
    big = 2**40
    s = steps([(big, -(2**50)), (5, 3)], [(big, 2**50), (5, 2)])
    assert complete_users(s, None) == [big]


def test_times_too_far_apart_to_pack_are_ranked():
    lo, hi = -(2**61), 2**61  # a span of 2^62 ms: no room for the user rank
    s = steps([(1, lo), (2, lo)], [(1, hi), (2, lo + 5)], [(2, lo + 6)])
    assert complete_users(s, None) == [2]
    assert complete_users(s[:2], None) == [1, 2]
    assert complete_users(s[:2], 10) == [2]


def test_sparse_user_keys_take_the_sorted_path():
    s = steps([(2**50, 1), (7, 1), (2**51, 1)], [(2**50, 2), (2**51, 0), (9, 5)])
    assert complete_users(s, None) == [2**50]
