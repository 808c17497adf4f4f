"""People search: the FTS5 index (sqlite-utils) kept up to date by every import, and its ranking."""

from __future__ import annotations

import sqlite3

from builders import build_project
from seglab.core import search
from seglab.core.importing import import_file
from seglab.core.project import Project
from seglab.core.storage.schema import SCHEMA_VERSION, migrate

ACCOUNTS = [{"account_id": "A1", "name": "ACME GmbH"}, {"account_id": "A2", "name": "Globex"}]
USERS = [
    {"user_id": "u1", "name": "Ann-Marie Lee", "email": "ann.lee@acme.com", "account_id": "A1"},
    {"user_id": "u2", "name": "Bob Ström", "email": "bob@globex.com", "account_id": "A2", "age": 40},
    {"user_id": "ann", "email": "someone@else.org"},
]
EVENTS = [{"user_id": "u1", "event": "login", "timestamp": "2024-01-01T00:00:00Z"}]


def _found(conn, text, limit=20):
    return [(m.kind, m.id, m.label, m.matched) for m in search.find(conn, text, limit)]


def test_words_prefixes_case_accents_and_best_first(tmp_path):
    path = build_project(tmp_path / "p.seglab", accounts=ACCOUNTS, users=USERS, events=EVENTS)
    with Project.open(path, readonly=True) as p:
        # The exact id first, then a name that starts with the word.
        assert _found(p.conn, "ann") == [
            ("user", "ann", "someone@else.org", "id"),
            ("user", "u1", "Ann-Marie Lee", "name"),
        ]
        assert _found(p.conn, "ANN lee") == [("user", "u1", "Ann-Marie Lee", "name")]
        assert _found(p.conn, "strom") == [("user", "u2", "Bob Ström", "name")]
        assert _found(p.conn, "bob@glob") == [("user", "u2", "Bob Ström", "email")]
        # One row per person, under its best text; accounts too.
        assert _found(p.conn, "acme") == [
            ("account", "A1", "ACME GmbH", "name"),
            ("user", "u1", "Ann-Marie Lee", "email"),
        ]
        assert _found(p.conn, "acme", limit=1) == [("account", "A1", "ACME GmbH", "name")]
        # Only text properties and ids: a number is not searched; FTS syntax is just text.
        assert _found(p.conn, "40") == []
        assert _found(p.conn, 'ann" OR *') == []
        assert search.find(p.conn, "  ,, ") == []


def test_every_import_keeps_the_index_up_to_date(tmp_path):
    path = build_project(tmp_path / "p.seglab", users=USERS[:1])
    events = tmp_path / "more.csv"
    events.write_text("user_id,event,timestamp,account_id\nnewbie,login,2024-02-01T00:00:00Z,A9\n")
    users = tmp_path / "renamed.csv"
    users.write_text("user_id,name\nu1,Annabel Smith\n")
    with Project.open(path) as p:
        assert _found(p.conn, "newbie") == []
        import_file(
            p,
            events,
            kind="events",
            mapping={
                "user_id": "user_id",
                "event": "event",
                "timestamp": "timestamp",
                "account_id": "account_id",
            },
        )
        assert _found(p.conn, "newbie") == [("user", "newbie", "newbie", "id")]
        assert _found(p.conn, "a9") == [("account", "A9", "A9", "id")]
        import_file(p, users, kind="users", mapping={"user_id": "user_id"})
        assert _found(p.conn, "annabel") == [("user", "u1", "Annabel Smith", "name")]
        assert _found(p.conn, "marie") == []
        # The index holds exactly what the tables hold (the rebuild and the additions agree).
        assert p.conn.execute("INSERT INTO people_text_fts(people_text_fts) VALUES ('integrity-check')")


def test_migration_indexes_an_older_project(tmp_path):
    path = build_project(tmp_path / "p.seglab", users=USERS)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE people_text_fts")
    conn.execute("DROP TABLE people_text")
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    assert migrate(conn) == 1
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    assert [m.id for m in search.find(conn, "bob")] == ["u2"]
    conn.close()
