"""``seglab connect``: check a source's tables and mapping, then write a connected project.

The project file holds the connection (no password), the mapping, the column types and
the property catalogue; no event, user or account rows (docs/sources.md).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from seglab.core.engines.base import SOURCE_META_KEY
from seglab.core.engines.clickhouse import (
    base_type,
    is_text_or_int,
    property_type,
    timestamp_kind,
)
from seglab.core.engines.source import Client, SourceError, SourceURL, open_client, parse_url
from seglab.core.errors import ImportFileError, ProjectError, UserError
from seglab.core.importing.mapping import resolve_mapping
from seglab.core.importing.types import infer_type

KINDS = ("events", "users", "accounts")
ENTITY = {"events": "event", "users": "user", "accounts": "account"}
FIELDS = {
    "events": ("user_id", "timestamp", "event", "account_id", "insert_id"),
    "users": ("user_id", "account_id"),
    "accounts": ("account_id",),
}
KEY_SAMPLE = 1000  # distinct values per JSON/Map key the type is inferred from


def parse_maps(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """``--map F=C`` options by table (``F`` alone means ``events.F``)."""
    out: dict[str, dict[str, str]] = {k: {} for k in KINDS}
    for item in items:
        if "=" not in item:
            raise UserError(f"--map {item}: expected FIELD=COLUMN (e.g. --map users.user_id=uid)")
        field, column = item.split("=", 1)
        kind, _, name = field.strip().rpartition(".")
        kind = kind or "events"
        if kind not in KINDS:
            raise UserError(f"--map {item}: unknown table {kind!r} (events, users or accounts)")
        if name != "properties" and name not in FIELDS[kind]:
            raise UserError(
                f"--map {item}: unknown {kind} field {name!r} "
                f"(fields: {', '.join((*FIELDS[kind], 'properties'))})"
            )
        out[kind][name] = column.strip()
    return out


def split_table(table: str, database: str) -> tuple[str, str]:
    db, _, name = table.strip().rpartition(".")
    if not name:
        raise UserError(f"{table!r}: expected TABLE or DATABASE.TABLE")
    return db or database, name


def table_columns(client: Client, table: str, database: str) -> list[tuple[str, str]]:
    db, name = split_table(table, database)
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "ORDER BY position",
        {"db": db, "t": name},
    )
    if not rows:
        raise SourceError(f"table {table!r}: no such table in database {db!r} of the source")
    return [(r[0], r[1]) for r in rows]


def _check(table: str, field: str, column: str, ch_type: str) -> None:
    if field == "timestamp":
        ok = timestamp_kind(ch_type) is not None
        wanted = "DateTime, DateTime64 or Int64/UInt64 epoch milliseconds"
    elif field == "properties":
        t = base_type(ch_type)
        ok = t == "String" or t.replace(" ", "") in (
            "Map(String,String)",
            "Map(LowCardinality(String),String)",
        )
        wanted = "a JSON String or Map(String, String)"
    else:
        ok = is_text_or_int(ch_type)
        wanted = "text or integer"
    if not ok:
        raise SourceError(
            f"{table}.{column}: column type {ch_type} cannot hold the {field} (expected {wanted})"
        )


def resolve_table(kind: str, table: str, columns: list[tuple[str, str]], maps: Mapping[str, str]) -> dict:
    """The contract's MAP for one table: fields, property columns, the properties column."""
    names = [c for c, _ in columns]
    types = dict(columns)
    pc = maps.get("properties")
    fields_map = {f: c for f, c in maps.items() if f != "properties"}
    if pc:
        if pc not in types:
            raise SourceError(f"--map {kind}.properties={pc}: table {table!r} has no column {pc!r}")
        _check(table, "properties", pc, types[pc])
    try:
        mapping = resolve_mapping(table, [n if n != pc else "" for n in names], kind=kind, mapping=fields_map)
    except ImportFileError as exc:
        raise SourceError(str(exc).replace("cannot import as", "cannot use as")) from None
    result: dict = {"table": table}
    used = set()
    for field in FIELDS[kind]:
        column = mapping.column_name(field)
        result[field] = column
        if column is not None:
            _check(table, field, column, types[column])
            used.add(column)
    result["properties"] = [n for n in names if n not in used and n != pc]
    result["properties_column"] = pc or None
    return result


_KEYS_SQL = {
    "map": "SELECT k, groupUniqArray({n})(v) FROM __db.__t "
    "ARRAY JOIN mapKeys(__c) AS k, mapValues(__c) AS v GROUP BY k ORDER BY k",
    # Raw JSON values: strings unquoted, JSON null as no value, numbers and booleans as written.
    "json": "SELECT kv.1 AS k, groupUniqArray({n})(if(startsWith(kv.2, '\"'), JSONExtractString(kv.2), "
    "if(kv.2 = 'null', '', kv.2))) FROM __db.__t "
    "ARRAY JOIN JSONExtractKeysAndValuesRaw(ifNull(__c, '')) AS kv GROUP BY k ORDER BY k",
}


def _key_types(client: Client, table: str, database: str, column: str, ch_type: str) -> list[tuple[str, str]]:
    """Keys of a JSON/Map column with the type the importer would infer from their values."""
    import sqlglot
    from sqlglot import exp

    db, name = split_table(table, database)
    form = "map" if base_type(ch_type).startswith("Map(") else "json"
    names = {"__db": db, "__t": name, "__c": column}
    query = sqlglot.parse_one(_KEYS_SQL[form].format(n=KEY_SAMPLE), read="clickhouse").transform(
        lambda node: (
            exp.to_identifier(names[node.name], quoted=True)
            if isinstance(node, exp.Identifier) and node.name in names
            else node
        )
    )
    rows = client.query(query.sql(dialect="clickhouse"))
    return [(k, infer_type(values) or "text") for k, values in rows]


def connect_project(
    project: str | Path,
    url: str,
    tables: Mapping[str, str | None],
    maps: Sequence[str] = (),
    *,
    client: Client | None = None,
) -> dict:
    """Check the source and write PROJECT; returns the contract's JSON (``--json``).

    ``client``: an open client of ``url`` to use (and leave open), for a caller that holds
    one (the desktop app serialises its sources: seglab.core.engines.tasks)."""
    from seglab.core.project import Project

    path = Path(project)
    if path.exists():
        raise ProjectError(f"{path}: already exists; choose another name")
    src: SourceURL = parse_url(url)
    by_table = parse_maps(maps)
    for kind in ("users", "accounts"):
        if by_table[kind] and not tables.get(kind):
            raise UserError(f"--map {kind}.…: there is no --{kind} table to map")
    out: dict = {"project": str(path), "source": {"kind": src.kind, "url": src.url}}
    stored = dict(out["source"], columns={}, keys={})
    catalogue: list[tuple[str, str, str]] = []  # (entity, name, type)
    held: contextlib.AbstractContextManager[Client] = (
        open_client(src) if client is None else contextlib.nullcontext(client)
    )
    with held as client:
        for kind in KINDS:
            table = tables.get(kind)
            if not table:
                out[kind] = None
                stored[kind] = None
                continue
            columns = table_columns(client, table, src.database)
            result = resolve_table(kind, table, columns, by_table[kind])
            out[kind] = result
            stored[kind] = result
            types = dict(columns)
            stored["columns"][kind] = types
            entity = ENTITY[kind]
            for name in result["properties"]:
                catalogue.append((entity, name, property_type(types[name]) or "text"))
            pc = result["properties_column"]
            if pc:
                keys = _key_types(client, table, src.database, pc, types[pc])
                stored["keys"][kind] = keys
                taken = set(result["properties"])
                catalogue.extend((entity, k, t) for k, t in keys if k not in taken)
    if path.exists():
        raise ProjectError(f"{path}: already exists; choose another name")
    proj = Project.create(path)
    try:
        with proj.conn:
            for position, (entity, name, ptype) in enumerate(catalogue):
                proj.conn.execute(
                    "INSERT INTO properties(entity, name, column_name, type, position) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (entity, name, f"p{position + 1}", ptype, position),
                )
            proj.set_meta(SOURCE_META_KEY, json.dumps(stored))
    except BaseException:
        proj.close()
        path.unlink(missing_ok=True)
        raise
    proj.close()
    return out


__all__ = ["connect_project", "parse_maps"]
