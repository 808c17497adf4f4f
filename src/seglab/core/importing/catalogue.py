"""The property catalogue: which file columns become which ``p<N>`` columns of which type (plan),
adding them to the project (add), and widening a column when a value does not fit its type
(widen), with the stored values converted in the same transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from seglab.core.errors import ImportFileError
from seglab.core.importing.mapping import property_names
from seglab.core.importing.types import CONVERTERS, convert_column, infer_type, unify, value_type, widen_sql
from seglab.core.storage.schema import property_index_sql

TYPE_SAMPLE_ROWS = 1000  # rows a property's type is inferred from (widened later if need be)
# SQLite allows 2,000 columns in a table; a few are SegLab's own (keys, times, flags).
MAX_PROPERTIES = 1_980
TABLE_OF = {"event": "events", "user": "users", "account": "accounts"}


@dataclass
class Prop:
    """One property column of the file: where it is, where it goes, and its type."""

    index: int  # column index in the file
    name: str
    column: str  # p<N>
    type: str
    convert: Callable[[str], object]
    new: bool


def next_column_number(conn: sqlite3.Connection, entity: str) -> int:
    numbers = [
        int(c[1:])
        for (c,) in conn.execute("SELECT column_name FROM properties WHERE entity = ?", (entity,))
        if c[1:].isdigit()
    ]
    return max(numbers, default=0) + 1


def plan_properties(
    conn, entity: str, columns, used: set[int], sample: list[tuple[str, ...]], types: Mapping[str, str] | None
) -> list[Prop]:
    existing = {
        name: (column, typ)
        for name, column, typ in conn.execute(
            "SELECT name, column_name, type FROM properties WHERE entity = ?", (entity,)
        )
    }
    next_n = next_column_number(conn, entity)
    props = []
    for index, name in property_names(columns, used):
        values = [r[index] for r in sample if index < len(r)]
        inferred = infer_type(values)
        wanted = (types or {}).get(name)
        if wanted is not None and wanted not in CONVERTERS:
            raise ImportFileError(f"property {name!r}: unknown type {wanted!r} ({', '.join(CONVERTERS)})")
        if name in existing:
            column, stored = existing[name]
            typ = unify(stored, wanted or inferred or stored)
            props.append(Prop(index, name, column, stored, CONVERTERS[stored], False))
            props[-1].type = typ  # widened (with stored values) when the transaction starts
        else:
            typ = wanted or inferred or "text"
            props.append(Prop(index, name, f"p{next_n}", typ, CONVERTERS[typ], True))
            next_n += 1
    return props


def too_wide(name: str, entity: str, new: int, have: int | None = None) -> str | None:
    """The sentence refusing ``new`` property columns beside the ``have`` a project holds (None:
    not known, as in the wizard's preview), or None when they fit."""
    total = new + (have or 0)
    if not new or total <= MAX_PROPERTIES:
        return None
    why = "(SQLite allows 2,000 columns in a table); import the file with fewer columns"
    if have is None:
        return (
            f"{name}: {new:,} property columns, but a project holds at most {MAX_PROPERTIES:,} "
            f"{entity} properties {why}"
        )
    return (
        f"{name}: {new:,} new property columns would give the project {total:,} {entity} "
        f"properties, but it holds at most {MAX_PROPERTIES:,} {why}"
    )


def check_room(conn: sqlite3.Connection, entity: str, props: Sequence[Prop], name: str) -> None:
    """Refuse a file whose new property columns would not fit in the project's table."""
    new = sum(p.new for p in props)
    have = conn.execute("SELECT count(*) FROM properties WHERE entity = ?", (entity,)).fetchone()[0]
    problem = too_wide(name, entity, new, have)
    if problem:
        raise ImportFileError(problem)


def apply_properties(conn, entity: str, props: list[Prop]) -> None:
    table = TABLE_OF[entity]
    position = conn.execute(
        "SELECT coalesce(max(position), 0) FROM properties WHERE entity = ?", (entity,)
    ).fetchone()[0]
    for prop in props:
        if prop.new:
            position += 1
            # The column name is our own p<N>; the header text only goes in as a bound value.
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {prop.column}")
            if entity != "event":
                conn.execute(property_index_sql(entity, prop.column))
            conn.execute(
                "INSERT INTO properties(entity, name, column_name, type, position) VALUES (?, ?, ?, ?, ?)",
                (entity, prop.name, prop.column, prop.type, position),
            )
            prop.convert = CONVERTERS[prop.type]
        else:
            stored = conn.execute(
                "SELECT type FROM properties WHERE entity = ? AND name = ?", (entity, prop.name)
            ).fetchone()[0]
            if stored != prop.type:
                widen_column(conn, entity, prop, stored, prop.type)
            prop.convert = CONVERTERS[prop.type]


def widen_column(conn, entity: str, prop: Prop, old: str, new: str) -> None:
    table = TABLE_OF[entity]
    expr = widen_sql(prop.column, old, new)
    if expr:
        conn.execute(f"UPDATE {table} SET {prop.column} = {expr} WHERE {prop.column} IS NOT NULL")
    conn.execute("UPDATE properties SET type = ? WHERE entity = ? AND name = ?", (new, entity, prop.name))
    prop.type = new
    prop.convert = CONVERTERS[new]


def convert_cell(conn, entity: str, prop: Prop, text: str, before_widening: Callable[[], None]):
    """A value the column's type does not hold: strip it, else widen the column (after
    ``before_widening`` has written the rows still pending, so that they are widened too)."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return prop.convert(stripped)
    except ValueError:
        pass
    new = unify(prop.type, value_type(stripped))
    if new == prop.type:
        new = "text"
    before_widening()
    widen_column(conn, entity, prop, prop.type, new)
    return prop.convert(stripped)


def convert_values(conn, entity: str, prop: Prop, values) -> list:
    """A column of text cells as the property's values, the column widened first (in the project
    too) when some cell does not fit its type."""
    for _ in range(len(CONVERTERS)):
        try:
            return convert_column(prop.type, values)
        except ValueError:
            pass
        result: list = []
        wider = prop.type
        for v in values:
            if not v:
                result.append(None)
                continue
            try:
                result.append(prop.convert(v))
                continue
            except ValueError:
                pass
            stripped = v.strip()
            if not stripped:
                result.append(None)
                continue
            try:
                result.append(prop.convert(stripped))
            except ValueError:
                wider = unify(wider, value_type(stripped))
                if wider == prop.type:
                    wider = "text"
                result.append(None)
        if wider == prop.type:
            return result
        widen_column(conn, entity, prop, prop.type, wider)
    raise AssertionError("widening did not settle")  # text takes everything
