"""A user's profile on a connected project (read in its chdb source) is the local project's:
the same properties, account, first and last seen, event counts and timeline."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("chdb")

from test_engine_clickhouse_trend import rich  # noqa: F401  (the fixture: local and connected)

from seglab.core import profiles
from seglab.core.project import Project


def test_every_user_profile_is_the_local_one(rich):  # noqa: F811
    local, connected = rich
    with Project.open(local, readonly=True) as project:
        users = project.conn.execute("SELECT user_key, user_id FROM users ORDER BY user_id").fetchall()
    assert len(users) > 3
    for key, uid in users:
        want, want_events = profiles.load_user_profile(local, key)
        got, got_events = profiles.load_user_profile(connected, uid)
        assert dataclasses.replace(got, key=want.key, account_key=want.account_key) == want, uid
        assert got.key == 0 and got.account_key is None  # no local keys on a connected project
        assert got_events.total == want_events.total
        # Newest first; events at the same millisecond may come in either order.
        assert [r[0] for r in got_events.rows] == sorted((r[0] for r in got_events.rows), reverse=True)
        assert sorted(map(repr, got_events.rows)) == sorted(map(repr, want_events.rows)), uid


def test_every_account_profile_is_the_local_one(rich):  # noqa: F811
    local, connected = rich
    with Project.open(local, readonly=True) as project:
        accounts = project.conn.execute("SELECT account_key, account_id FROM accounts").fetchall()
        ids = dict(project.conn.execute("SELECT user_key, user_id FROM users"))
    assert len(accounts) > 1
    active = 0
    for key, aid in accounts:
        want, want_events = profiles.load_account_profile(local, key)
        got, got_events = profiles.load_account_profile(connected, aid)
        users = tuple(dataclasses.replace(u, key=ids[u.key]) for u in want.users)  # the user's id there
        assert got == dataclasses.replace(want, key=0, users=users), aid
        assert got_events.total == want_events.total
        assert [r[0] for r in got_events.rows] == sorted((r[0] for r in got_events.rows), reverse=True)
        assert sorted(map(repr, got_events.rows)) == sorted(map(repr, want_events.rows)), aid
        active += got.health.active_users_30d

    assert active, "some account was active in its last 30 days"


def test_an_unknown_user_or_account_is_a_clear_error(rich):  # noqa: F811
    _local, connected = rich
    with pytest.raises(LookupError, match="no user with id nobody"):
        profiles.load_user_profile(connected, "nobody")
    with pytest.raises(LookupError, match="no account with id nobody"):
        profiles.load_account_profile(connected, "nobody")


def test_the_names_shown_are_the_local_ones(tmp_path):
    from builders import build_project
    from chdb_support import connect_to

    users = [
        {"user_id": "u1", "account_id": "a1", "Name": "Ada Lovelace", "email": "ada@x.org"},
        {"user_id": "u2", "account_id": "a1", "email": "bob@x.org"},
        {"user_id": "u3"},
    ]
    accounts = [{"account_id": "a1", "company": "Analytical Engines"}]
    events = [
        {"user_id": u, "event": e, "timestamp": f"2024-03-0{d}T10:00:00Z", "plan": "pro"}
        for d, (u, e) in enumerate([("u1", "login"), ("u2", "login"), ("u3", "buy"), ("u1", "buy")], 1)
    ]
    local = build_project(tmp_path / "l.seglab", events=events, users=users, accounts=accounts)
    with Project.open(local) as project:
        connected = connect_to(project.conn, tmp_path / "ch", tmp_path / "c.seglab")
        keys = dict(project.conn.execute("SELECT user_id, user_key FROM users"))
    names = []
    for uid, key in sorted(keys.items()):
        want, _ = profiles.load_user_profile(local, key)
        got, _ = profiles.load_user_profile(connected, uid)
        assert dataclasses.replace(got, key=want.key, account_key=want.account_key) == want
        names.append((got.name, got.account_name))
    assert names == [
        ("Ada Lovelace", "Analytical Engines"),
        ("bob@x.org", "Analytical Engines"),
        (None, None),
    ]
