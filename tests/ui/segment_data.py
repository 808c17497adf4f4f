"""A small B2B data set shared by the segment, members and profile UI tests (no tests here).

Accounts: acme and globex on the enterprise tier, initech on pro, umbrella on free.
As-of time is the latest event, 2024-03-31T12:00:00Z.
"""

from __future__ import annotations

from builders import build_project

ACCOUNTS = [
    {"account_id": "acme", "tier": "enterprise", "seats": 50},
    {"account_id": "globex", "tier": "enterprise", "seats": 20},
    {"account_id": "initech", "tier": "pro", "seats": 10},
    {"account_id": "umbrella", "tier": "free", "seats": 1},
]

USERS = [
    {"user_id": "u1", "account_id": "acme", "plan": "pro", "country": "DE", "age": 31},
    {"user_id": "u2", "account_id": "acme", "plan": "pro", "country": "US", "age": 44},
    {"user_id": "u3", "account_id": "acme", "plan": "free", "country": "US", "age": 25},
    {"user_id": "u4", "account_id": "globex", "plan": "pro", "country": "FR", "age": 38},
    {"user_id": "u5", "account_id": "globex", "plan": "free", "country": "=cmd|' /C calc'!A0", "age": 52},
    {"user_id": "u6", "account_id": "initech", "plan": "free", "country": "DE", "age": 29},
    {"user_id": "u7", "account_id": "initech", "plan": "pro", "country": "US", "age": 61},
    {"user_id": "u8", "account_id": "umbrella", "plan": "free", "country": "-GB", "age": 19},
]


def _events() -> list[dict]:
    rows = []

    def add(user, event, ts, **props):
        rows.append({"user_id": user, "event": event, "timestamp": ts, **props})

    # acme: three users created reports in the last 30 days -> matches "at least 3 users"
    for u in ("u1", "u2", "u3"):
        add(u, "login", "2024-03-20T09:00:00Z")
        add(u, "create_report", "2024-03-21T10:00:00Z", amount=10)
    add("u1", "create_report", "2024-03-25T10:00:00Z", amount=70)
    add("u1", "create_report", "2024-03-26T10:00:00Z", amount=5)
    # globex: two users in the last 30 days, one long ago
    add("u4", "create_report", "2024-03-28T10:00:00Z", amount=3)
    add("u5", "create_report", "2024-03-29T10:00:00Z", amount=4)
    add("u5", "create_report", "2023-12-01T10:00:00Z", amount=4)
    # initech: three users... no, two users, and old activity
    add("u6", "create_report", "2024-03-10T10:00:00Z", amount=60)
    add("u7", "create_report", "2024-01-05T10:00:00Z", amount=60)
    add("u7", "login", "2024-03-30T10:00:00Z")
    # umbrella
    add("u8", "signup", "2024-03-01T08:00:00Z")
    add("u8", "login", "2024-03-31T12:00:00Z")
    return rows


def make_project(path):
    """Build the shared data set at ``path`` and return the path."""
    return build_project(path, events=_events(), users=USERS, accounts=ACCOUNTS)
