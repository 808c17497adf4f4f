"""Saved charts: the ``charts`` table (name, kind, the spec's JSON)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from seglab.core.charts.errors import ChartError
from seglab.core.charts.spec import ChartSpec, spec_from_json
from seglab.core.timeutil import utc_now_iso


@dataclass(frozen=True)
class SavedChart:
    name: str
    kind: str
    created: str
    updated: str


def save_chart(conn: sqlite3.Connection, name: str, spec: ChartSpec, *, overwrite: bool = False) -> None:
    """Store ``spec`` under ``name`` (one transaction). An existing name needs ``overwrite``."""
    name = (name or "").strip()
    if not name:
        raise ChartError("a saved chart needs a name")
    now = utc_now_iso()
    exists = conn.execute("SELECT 1 FROM charts WHERE name = ?", (name,)).fetchone()
    if exists and not overwrite:
        raise ChartError(f"there is already a chart named “{name}”; choose another name or replace it")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if exists:
            conn.execute(
                "UPDATE charts SET kind = ?, options = ?, updated = ? WHERE name = ?",
                (spec.kind, spec.to_json(), now, name),
            )
        else:
            conn.execute(
                "INSERT INTO charts(name, kind, options, created, updated) VALUES (?, ?, ?, ?, ?)",
                (name, spec.kind, spec.to_json(), now, now),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def list_charts(conn: sqlite3.Connection) -> list[SavedChart]:
    rows = conn.execute("SELECT name, kind, created, updated FROM charts ORDER BY name COLLATE NOCASE")
    return [SavedChart(*row) for row in rows]


def load_chart(conn: sqlite3.Connection, name: str) -> ChartSpec:
    row = conn.execute("SELECT options FROM charts WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise ChartError(f"there is no saved chart named “{name}”")
    return spec_from_json(row[0])


def delete_chart(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM charts WHERE name = ?", (name,))


def rename_chart(conn: sqlite3.Connection, old: str, new: str) -> None:
    new = (new or "").strip()
    if not new:
        raise ChartError("a saved chart needs a name")
    if conn.execute("SELECT 1 FROM charts WHERE name = ?", (new,)).fetchone():
        raise ChartError(f"there is already a chart named “{new}”")
    conn.execute("UPDATE charts SET name = ?, updated = ? WHERE name = ?", (new, utc_now_iso(), old))
