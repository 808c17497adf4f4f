"""Saved segments: the ``segments`` table (one row per name) and ``segment_history``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

from seglab.core.errors import SegmentError
from seglab.core.segments.model import (
    GroupCondition,
    SegmentDef,
    SegmentRefCondition,
    UsersCondition,
    definition_json,
    load_definition,
)
from seglab.core.segments.validate import Catalog, references, validate
from seglab.core.timeutil import utc_now_iso

MAX_NAME = 200


@dataclass(frozen=True)
class SavedSegment:
    name: str
    level: str
    definition: SegmentDef
    created: str
    updated: str
    segment_id: int = 0
    # Why the stored definition cannot even be read (it is then an empty definition that must not
    # be evaluated); listings show it with this, and it can still be renamed or deleted.
    problem: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    definition: SegmentDef
    replaced_at: str


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SegmentError("a segment needs a name", "name")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise SegmentError(f"a segment name has at most {MAX_NAME} characters", "name")
    return name


def _as_def(definition: SegmentDef | dict | str) -> SegmentDef:
    return definition if isinstance(definition, SegmentDef) else load_definition(definition)


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` unless the caller already holds a transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.own = not conn.in_transaction

    def __enter__(self):
        if self.own:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, *_):
        if self.own:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def save_segment(conn: sqlite3.Connection, name: str, definition: SegmentDef | dict | str) -> SavedSegment:
    """Save ``definition`` as ``name``, replacing (and keeping in the history) any previous one."""
    name = _check_name(name)
    seg = _as_def(definition)
    validate(Catalog.from_conn(conn), seg, name=name)
    text = definition_json(seg)
    now = utc_now_iso()
    with _Tx(conn):
        row = conn.execute(
            "SELECT segment_id, definition, level FROM segments WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO segments(name, level, definition, created, updated) VALUES (?, ?, ?, ?, ?)",
                (name, seg.level, text, now, now),
            )
        else:
            segment_id, old_text, old_level = row
            if old_level != seg.level:
                users = _referrers(conn, name)
                if users:
                    raise SegmentError(
                        f"cannot change {name!r} from {old_level} to {seg.level} level: "
                        f"{', '.join(users)} refer to it",
                        "level",
                    )
            if old_text != text:
                conn.execute(
                    "INSERT INTO segment_history(segment_id, definition, replaced_at) VALUES (?, ?, ?)",
                    (segment_id, old_text, now),
                )
                conn.execute(
                    "UPDATE segments SET level = ?, definition = ?, updated = ? WHERE segment_id = ?",
                    (seg.level, text, now, segment_id),
                )
    return get_saved(conn, name)


def get_saved(conn: sqlite3.Connection, name: str) -> SavedSegment:
    row = conn.execute(
        "SELECT name, level, definition, created, updated, segment_id FROM segments WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT name FROM segments ORDER BY name LIMIT 12")]
        hint = f" (saved: {', '.join(known)})" if known else " (no segments are saved in this project)"
        raise SegmentError(f"no saved segment named {name!r}{hint}")
    try:
        definition = load_definition(row[2])
    except SegmentError as exc:
        raise SegmentError(f"the saved segment {row[0]!r} cannot be read: {exc}") from None
    return SavedSegment(row[0], row[1], definition, row[3], row[4], row[5])


def list_saved(conn: sqlite3.Connection) -> list[SavedSegment]:
    """Every saved segment; one whose definition cannot be read is listed with its ``problem``
    (it never hides the others)."""
    rows = conn.execute(
        "SELECT name, level, definition, created, updated, segment_id FROM segments ORDER BY name"
    ).fetchall()
    out = []
    for r in rows:
        try:
            out.append(SavedSegment(r[0], r[1], load_definition(r[2]), r[3], r[4], r[5]))
        except SegmentError as exc:
            level = r[1] if r[1] in ("user", "account") else "user"
            out.append(SavedSegment(r[0], level, SegmentDef(level=level), r[3], r[4], r[5], problem=str(exc)))
    return out


def segment_problem(conn: sqlite3.Connection, saved: SavedSegment) -> str | None:
    """Why ``saved`` cannot be evaluated now (its definition unreadable, a reference to a deleted
    segment, a property no longer imported, a nesting too deep...), or None."""
    if saved.problem is not None:
        return saved.problem
    try:
        validate(conn, saved.definition, name=saved.name)
    except SegmentError as exc:
        return str(exc)
    return None


def referrers(conn: sqlite3.Connection, name: str) -> list[str]:
    """The saved segments that refer to ``name``, sorted (a delete is refused while there are any)."""
    return _referrers(conn, name)


def _referrers(conn: sqlite3.Connection, name: str) -> list[str]:
    out = []
    for other, text in conn.execute("SELECT name, definition FROM segments WHERE name <> ?", (name,)):
        try:
            refs = references(load_definition(text))
        except SegmentError:
            continue  # unreadable: it cannot be repaired by a rename either
        if any(ref == name for _path, ref in refs):
            out.append(other)
    return sorted(out)


def _rename_refs(conditions, old: str, new: str):
    out = []
    for c in conditions:
        if isinstance(c, SegmentRefCondition) and c.segment == old:
            c = replace(c, segment=new)
        elif isinstance(c, GroupCondition):
            c = replace(c, conditions=_rename_refs(c.conditions, old, new))
        elif isinstance(c, UsersCondition):
            c = replace(c, match=replace(c.match, conditions=_rename_refs(c.match.conditions, old, new)))
        out.append(c)
    return tuple(out)


def rename_segment(conn: sqlite3.Connection, old: str, new: str) -> SavedSegment:
    """Rename; segments that refer to ``old`` are updated to the new name."""
    new = _check_name(new)
    get_saved(conn, old)
    if new == old:
        return get_saved(conn, old)
    if conn.execute("SELECT 1 FROM segments WHERE name = ?", (new,)).fetchone():
        raise SegmentError(f"a segment named {new!r} already exists", "name")
    now = utc_now_iso()
    with _Tx(conn):
        conn.execute("UPDATE segments SET name = ?, updated = ? WHERE name = ?", (new, now, old))
        for other in _referrers(conn, old):
            seg = get_saved(conn, other).definition
            seg = replace(seg, conditions=_rename_refs(seg.conditions, old, new))
            conn.execute("UPDATE segments SET definition = ? WHERE name = ?", (definition_json(seg), other))
    return get_saved(conn, new)


def delete_segment(conn: sqlite3.Connection, name: str) -> None:
    """Delete ``name`` and its history; refused while another segment refers to it. A segment
    whose definition cannot be read can be deleted too."""
    if conn.execute("SELECT 1 FROM segments WHERE name = ?", (name,)).fetchone() is None:
        get_saved(conn, name)  # the "no saved segment named" error
    users = _referrers(conn, name)
    if users:
        raise SegmentError(f"cannot delete {name!r}: {', '.join(repr(u) for u in users)} refer to it")
    with _Tx(conn):
        conn.execute(
            "DELETE FROM segment_history WHERE segment_id = (SELECT segment_id FROM segments WHERE name = ?)",
            (name,),
        )
        conn.execute("DELETE FROM segments WHERE name = ?", (name,))


def segment_history(conn: sqlite3.Connection, name: str) -> list[HistoryEntry]:
    """Previous definitions of ``name``, newest first."""
    saved = get_saved(conn, name)
    rows = conn.execute(
        "SELECT definition, replaced_at FROM segment_history WHERE segment_id = ? ORDER BY history_id DESC",
        (saved.segment_id,),
    ).fetchall()
    return [HistoryEntry(load_definition(text), when) for text, when in rows]


@dataclass(frozen=True)
class SegmentVersion:
    """One saved version of a segment: 1 is the first save, the highest is the current one."""

    version: int
    saved_at: str  # when this definition was saved (ISO, UTC)
    definition_text: str  # as stored (canonical JSON)
    current: bool

    @property
    def definition(self) -> SegmentDef:
        return load_definition(self.definition_text)

    def description(self) -> str:
        """The one-line sentence (or why there is none: a version may no longer load)."""
        from seglab.core.segments.describe import describe

        try:
            return describe(self.definition)
        except SegmentError as exc:
            return f"(cannot read this version: {exc})"


def segment_versions(conn: sqlite3.Connection, name: str) -> list[SegmentVersion]:
    """Every saved version of ``name``, newest (the current one) first.

    The history keeps each replaced definition with the time it was replaced, so a version's
    save time is the time its predecessor was replaced (the first: when the segment was created)."""
    row = conn.execute(
        "SELECT segment_id, definition, created FROM segments WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        get_saved(conn, name)  # raises the sentence naming the saved segments
    segment_id, current, created = row
    older = conn.execute(
        "SELECT definition, replaced_at FROM segment_history WHERE segment_id = ? ORDER BY history_id",
        (segment_id,),
    ).fetchall()
    texts = [text for text, _ in older] + [current]
    saved = [created] + [when for _, when in older]
    n = len(texts)
    return [SegmentVersion(i + 1, saved[i], texts[i], i == n - 1) for i in reversed(range(n))]


def restore_version(conn: sqlite3.Connection, name: str, version: int) -> SavedSegment:
    """Save version ``version`` of ``name`` again as its newest version (checked like any save)."""
    versions = segment_versions(conn, name)
    match = next((v for v in versions if v.version == version), None)
    if match is None:
        raise SegmentError(
            f"{name!r} has no version {version} (versions 1 to {len(versions)}; see `seglab segment history`)"
        )
    return save_segment(conn, name, match.definition)


def undo_last_save(conn: sqlite3.Connection, name: str, expected: str) -> bool:
    """Take back the last save of ``name`` (its previous definition becomes current again and leaves
    the history) if the current definition is still ``expected`` (canonical JSON); True when done.

    What the app's Undo of a restore does, so undoing leaves no trace in the history."""
    row = conn.execute("SELECT segment_id, definition FROM segments WHERE name = ?", (name,)).fetchone()
    if row is None or row[1] != expected:
        return False
    last = conn.execute(
        "SELECT history_id, definition FROM segment_history WHERE segment_id = ? ORDER BY history_id DESC "
        "LIMIT 1",
        (row[0],),
    ).fetchone()
    if last is None:
        return False
    previous = load_definition(last[1])
    with _Tx(conn):
        conn.execute(
            "UPDATE segments SET level = ?, definition = ?, updated = ? WHERE segment_id = ?",
            (previous.level, last[1], utc_now_iso(), row[0]),
        )
        conn.execute("DELETE FROM segment_history WHERE history_id = ?", (last[0],))
    return True
