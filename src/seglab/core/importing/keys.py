"""Keys: the project's integer user, account and event-name keys for the ids in a file.

Ids known to the project keep their key; new ones get the next free key. File text that differs
only by surrounding spaces maps to the same key (the id is stored stripped)."""

from __future__ import annotations

import sqlite3

from seglab.core.importing.report import RunState


def assign_new_keys(
    keys: list, raw_ids: list[str], known: dict[str, int], next_key: int
) -> tuple[list[tuple[int, str]], int]:
    """Fill the ``None`` entries of ``keys`` in place from ``raw_ids``.

    An id already known once stripped reuses its key; a new one gets ``next_key``, ``next_key + 1``...
    The raw spelling is remembered too, so the next batch finds it with one dict lookup.
    Returns the new ``(key, id)`` pairs to insert and the next free key.
    """
    new: list[tuple[int, str]] = []
    if None not in keys:
        return new, next_key
    for i, k in enumerate(keys):
        if k is None:
            raw = raw_ids[i]
            clean = raw.strip()
            k = known.get(clean)
            if k is None:
                k = next_key
                next_key += 1
                new.append((k, clean))
                known[clean] = k
            known[raw] = k
            keys[i] = k
    return new, next_key


class KeyMap:
    """Ids (and their raw spellings) → keys of one table, and the next free key."""

    def __init__(self, conn: sqlite3.Connection, id_column: str, key_column: str, table: str):
        # The names are this module's own constants, never file text.
        self.known: dict[str, int] = dict(conn.execute(f"SELECT {id_column}, {key_column} FROM {table}"))
        self.next = conn.execute(f"SELECT coalesce(max({key_column}), 0) + 1 FROM {table}").fetchone()[0]

    def lookup(self, ids) -> list:
        """The key of each id, ``None`` where it is not known yet."""
        return list(map(self.known.get, ids))

    def assign(self, keys: list, raw_ids: list[str]) -> list[tuple[int, str]]:
        """Fill the ``None`` entries of ``keys`` (see :func:`assign_new_keys`); the new pairs."""
        new, self.next = assign_new_keys(keys, raw_ids, self.known, self.next)
        return new


def user_keys(conn: sqlite3.Connection) -> KeyMap:
    return KeyMap(conn, "user_id", "user_key", "users")


def event_keys(conn: sqlite3.Connection) -> KeyMap:
    return KeyMap(conn, "name", "event_key", "event_names")


class AccountKeys(KeyMap):
    """Account keys, created one id at a time (events and users files name accounts as they go)
    and inserted into ``accounts`` at :meth:`flush`; each new account is counted in ``state``."""

    def __init__(self, conn: sqlite3.Connection, state: RunState):
        super().__init__(conn, "account_id", "account_key", "accounts")
        self.conn = conn
        self.state = state
        self.pending: list[tuple[int, str]] = []

    def key(self, text: str) -> int | None:
        """The key of the account ``text`` names (new if need be); ``None`` for blank text."""
        key = self.known.get(text)
        if key is not None:
            return key
        clean = text.strip()
        if not clean:
            return None
        key = self.known.get(clean)
        if key is None:
            key = self.next
            self.next += 1
            self.pending.append((key, clean))
            self.state.new_accounts += 1
            self.known[clean] = key
        self.known[text] = key
        return key

    def flush(self) -> None:
        if self.pending:
            self.conn.executemany("INSERT INTO accounts(account_key, account_id) VALUES (?, ?)", self.pending)
            self.pending.clear()
