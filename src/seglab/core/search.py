"""People search: find a user or an account by id, e-mail, name or any text property.

Built on sqlite-utils' full-text search over the project's ``people_text`` table (one row per
user or account and searchable text; see ``docs/architecture.md``), whose FTS5 index every
import rebuilds (``seglab.core.storage.schema.refresh_people_text``).
The app's Ctrl+K and ``seglab find`` call :func:`find`; on a connected project ``seglab find``
calls :func:`find_in_source`, the same search over the source's people read into memory.

The text typed is split into words; each word matches as a prefix, case- and accent-
insensitively, and every word must match the same text (``ann lee`` finds "Ann-Marie Lee";
``acme`` finds "acme.com" and "ACME GmbH"). Best first: a text equal to what was typed, then
the full-text rank (bm25); each user or account is listed once, under its best text.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass

_WORD = re.compile(r"\w+", re.UNICODE)
# Property names a person would call a label, in order of preference.
_LABELS = ("name", "full_name", "fullname", "display_name", "company", "account_name", "email", "e-mail")


@dataclass(frozen=True)
class Match:
    kind: str  # "user" | "account"
    id: str
    label: str  # the name (or e-mail) to show; the id when there is none
    matched: str  # the property that matched ("id" for the id itself)
    key: int  # internal user_key / account_key (the app opens the profile with it)

    def to_json(self) -> dict:
        out = asdict(self)
        del out["key"]
        return out


def fts_query(text: str) -> str | None:
    """The FTS5 query for ``text``: each word quoted, as a prefix; None when there is no word."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def find(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[Match]:
    """Users and accounts matching ``text``, best first, at most ``limit``."""
    query = fts_query(text)
    if query is None or limit <= 0:
        return []
    from sqlite_utils import Database  # not at import time: keeps start-up quick

    table = Database(conn).table("people_text")
    wanted = " ".join(_WORD.findall(text)).casefold()
    # Ranked candidates, a bounded number: an exact text can sit below a few better-ranked ones.
    hits = table.search(query, columns=["kind", "key", "property", "value"], limit=limit * 20 + 50)
    best: dict[tuple[str, int], tuple[tuple, dict]] = {}
    for position, hit in enumerate(hits):
        exact = " ".join(_WORD.findall(hit["value"])).casefold() == wanted
        score = (0 if exact else 1, 0 if hit["property"] == "id" else 1, position)
        ident = (hit["kind"], hit["key"])
        if ident not in best or score < best[ident][0]:
            best[ident] = (score, hit)
    ranked = sorted(best.values(), key=lambda item: item[0])[:limit]
    return [_match(conn, hit) for _score, hit in ranked]


def _match(conn: sqlite3.Connection, hit: dict) -> Match:
    kind, key = hit["kind"], hit["key"]
    ident, label = _id_and_label(conn, kind, key)
    return Match(kind, ident, label or ident, hit["property"], key)


def _id_and_label(conn: sqlite3.Connection, kind: str, key: int) -> tuple[str, str | None]:
    texts = dict(
        conn.execute(
            "SELECT property, value FROM people_text WHERE kind = ? AND key = ?", (kind, key)
        ).fetchall()
    )
    folded = {name.casefold(): value for name, value in texts.items()}
    return texts.get("id", ""), next((folded[n] for n in _LABELS if n in folded), None)


def display_name(conn: sqlite3.Connection, kind: str, key: int | None) -> str | None:
    """The user's or account's name (its ``name``, ``company``... or ``email`` property), or None."""
    if key is None:
        return None
    return _id_and_label(conn, kind, key)[1]


def people_db(rows) -> sqlite3.Connection:
    """An in-memory ``people_text`` and FTS5 index, as a local project's, holding ``rows``
    ((kind, key, property, value), in that order)."""
    from seglab.core.storage.schema import create_people_text

    conn = sqlite3.connect(":memory:")
    create_people_text(conn)
    conn.executemany("INSERT INTO people_text VALUES (?, ?, ?, ?)", rows)
    conn.execute("INSERT INTO people_text_fts(people_text_fts) VALUES ('rebuild')")
    return conn


def find_in_source(engine, text: str, limit: int = 20) -> list[Match]:
    """:func:`find` on a connected project: the people's text read from the source
    (``engine.people_text()``) into an in-memory index, then the same search."""
    if fts_query(text) is None or limit <= 0:
        return []
    conn = people_db(engine.people_text())
    try:
        return find(conn, text, limit)
    finally:
        conn.close()


def find_task(path, request: tuple[str, int], progress=None) -> list[Match]:
    """Worker task: ``request`` = ``(text, limit)``, on a read-only connection of its own (and,
    for a connected project, its source, opened for this task)."""
    from seglab.core.engines.tasks import task_engine
    from seglab.core.progress import NULL_PROGRESS

    with task_engine(path, progress or NULL_PROGRESS) as (conn, engine):
        if engine.kind == "local":
            return find(conn, *request)
        return find_in_source(engine, *request)
