"""The project's as-of time T: pinned to a moment, or "the latest event" (the default).

Every count, member list and chart is evaluated at T. The pin is stored in the project
(``meta.as_of_pin``, epoch ms), so the app, ``seglab as-of`` and every command see the same T.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from seglab.core.errors import UserError
from seglab.core.timeutil import ms_to_iso, parse_as_of


@dataclass(frozen=True)
class AsOfState:
    as_of: int | None  # T in epoch ms (None: no pin and no events)
    pinned: bool
    latest_event: int | None

    def to_json(self) -> dict:
        return {
            "as_of": ms_to_iso(self.as_of),
            "pinned": self.pinned,
            "latest_event": ms_to_iso(self.latest_event),
        }

    def sentence(self) -> str:
        """``2024-06-30T23:59:59.999Z (pinned)`` / ``... (the latest event)``."""
        if self.as_of is None:
            return "- (no events yet: the latest event)"
        return f"{ms_to_iso(self.as_of)} ({'pinned' if self.pinned else 'the latest event'})"


def get_pin(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'as_of_pin'").fetchone()
    return int(row[0]) if row and row[0] else None


def as_of_state(conn: sqlite3.Connection, engine=None) -> AsOfState:
    """The pin and the latest event: the project's, or with ``engine`` its source's (a
    connected project keeps its pin in the project file and its events in the source)."""
    latest = (
        conn.execute("SELECT max(ts) FROM events").fetchone()[0]
        if engine is None
        else engine.latest_event_ms()
    )
    pin = get_pin(conn)
    return AsOfState(pin if pin is not None else latest, pin is not None, latest)


def set_pin(conn: sqlite3.Connection, when: str | int | None) -> int | None:
    """Pin T (an ISO date, which means the end of that day, or date-time, UTC; or epoch ms);
    None clears the pin. Returns the pin as stored."""
    if when is None:
        conn.execute("DELETE FROM meta WHERE key = 'as_of_pin'")
        return None
    ms = parse_as_of(when) if isinstance(when, str) else int(when)
    if not -62_135_596_800_000 <= ms <= 253_402_300_799_999:  # years 1 to 9999
        raise UserError(f"as-of {when!r} is out of range")
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('as_of_pin', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (str(ms),),
    )
    return ms


def clear_pin(conn: sqlite3.Connection) -> None:
    set_pin(conn, None)
