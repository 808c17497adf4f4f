"""Build small projects from Python data for tests (through the real importer)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path


def _write_csv(path: Path, rows: list[dict], first: tuple[str, ...]) -> Path:
    columns: list[str] = list(first)
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
    return path


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_project(
    path, *, events: Iterable[dict] = (), users: Iterable[dict] = (), accounts: Iterable[dict] = ()
) -> Path:
    """Create a project at ``path`` holding the given rows; return ``path``.

    ``events``: dicts with ``user_id``, ``event``, ``timestamp`` (ISO text or epoch
    number), optional ``account_id`` and any properties; ``users``: ``user_id``,
    optional ``account_id``, properties; ``accounts``: ``account_id``, properties.
    CSVs are written next to ``path`` and imported in the order accounts, users,
    events. Columns absent from a row are empty cells (no value).
    """
    from seglab.core.importing import import_file
    from seglab.core.project import Project

    path = Path(path)
    folder = path.parent
    stem = path.stem
    plans = [
        ("accounts", list(accounts), ("account_id",)),
        ("users", list(users), ("user_id",)),
        ("events", list(events), ("user_id", "event", "timestamp")),
    ]
    with Project.create(path) as project:
        for kind, rows, first in plans:
            if not rows:
                continue
            csv_path = _write_csv(folder / f"{stem}.{kind}.csv", rows, first)
            mapping = {f: f for f in first}
            if kind != "accounts" and any("account_id" in r for r in rows):
                mapping["account_id"] = "account_id"
            import_file(project, csv_path, kind=kind, mapping=mapping, force=True)
    return path
