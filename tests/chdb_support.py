"""A local project's rows in a chdb data folder, as a warehouse would hold them, and a
project connected to it (the third engine beside SQLite and DuckDB).

Each property becomes a column named as the property, typed as its column type implies
(integer → Nullable(Int64), real → Nullable(Float64), boolean → Nullable(Bool), datetime →
Nullable(DateTime64(3, 'UTC')), text → Nullable(String)); ids and event names are
non-Nullable String keys of MergeTree tables, as in the acceptance data set.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from seglab.core.project import load_properties

CH_TYPES = {
    "integer": "Nullable(Int64)",
    "real": "Nullable(Float64)",
    "boolean": "Nullable(Bool)",
    "datetime": "Nullable(DateTime64(3, 'UTC'))",
    "text": "Nullable(String)",
}
STAGE_TYPES = {  # how a value travels in JSONEachRow before the INSERT converts it
    "integer": "Nullable(Int64)",
    "real": "Nullable(Float64)",
    "boolean": "Nullable(UInt8)",
    "datetime": "Nullable(Int64)",
    "text": "Nullable(String)",
}


def ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _insert(session, table: str, columns: list[tuple[str, str, str]], rows: list[list]) -> None:
    """columns: (name, stage type, expression over the staged column ``c<i>``, stored type)."""
    cols = ", ".join(f"{ident(c[0])} {c[3]}" for c in columns)
    session.query(f"CREATE TABLE {table} ({cols}) ENGINE = Memory")
    if not rows:
        return
    stage = ", ".join(f"c{i} {c[1]}" for i, c in enumerate(columns))
    data = "\n".join(json.dumps({f"c{i}": v for i, v in enumerate(row)}) for row in rows)
    exprs = ", ".join(c[2].format(c=f"c{i}") for i, c in enumerate(columns))
    session.query(f"INSERT INTO {table} SELECT {exprs} FROM format(JSONEachRow, '{stage}', $${data}$$)")


def to_chdb(
    conn: sqlite3.Connection,
    folder: Path,
    *,
    ts_type: str = "DateTime64(3, 'UTC')",
    json_props: bool = False,
) -> dict[str, str]:
    """Write the project's events, users and accounts into a chdb folder as MergeTree tables.

    ``ts_type`` is the events' time column type (``Int64`` holds epoch ms). ``json_props``
    puts the event properties into one JSON ``String`` column ``props`` instead."""
    from chdb import session as chs

    props = load_properties(conn)
    folder.mkdir(parents=True, exist_ok=True)
    s = chs.Session(str(folder))
    try:

        def typed(entity):
            out = []
            for p in props:
                if p.entity != entity:
                    continue
                expr = "{c}"
                if p.type == "datetime":
                    expr = "fromUnixTimestamp64Milli({c}, 'UTC')"
                elif p.type == "boolean":
                    expr = "CAST({c} AS Nullable(Bool))"
                out.append((p.name, p.column, CH_TYPES[p.type], STAGE_TYPES[p.type], expr))
            return out

        ev_props = typed("event")
        ts_expr = "{c}" if ts_type in ("Int64", "UInt64") else "fromUnixTimestamp64Milli({c}, 'UTC')"
        sel = ", ".join(f"e.{p[1]}" for p in ev_props)
        rows = conn.execute(
            "SELECT u.user_id, n.name, e.ts, a.account_id"
            + (", " + sel if sel else "")
            + " FROM events e JOIN users u ON u.user_key = e.user_key "
            "JOIN event_names n ON n.event_key = e.event_key "
            "LEFT JOIN accounts a ON a.account_key = e.account_key"
        ).fetchall()
        base = [
            ("user_id", "String", "{c}", "String"),
            ("event", "String", "{c}", "String"),
            ("timestamp", "Int64", ts_expr, ts_type),
            ("account_id", "Nullable(String)", "{c}", "Nullable(String)"),
        ]
        if json_props:
            data = [
                [
                    *r[:4],
                    json.dumps(
                        {p[0]: v for p, v in zip(ev_props, r[4:]) if v is not None}, ensure_ascii=False
                    ),
                ]
                for r in rows
            ]
            _insert(s, "events_stage", [*base, ("props", "String", "{c}", "String")], data)
            extra = ", props String"
            body = "user_id, event, timestamp, account_id, props"
        else:
            _insert(
                s,
                "events_stage",
                [*base, *[(p[0], p[3], p[4], p[2]) for p in ev_props]],
                [list(r) for r in rows],
            )
            extra = "".join(f", {ident(p[0])} {p[2]}" for p in ev_props)
            body = ", ".join(
                ["user_id", "event", "timestamp", "account_id", *[ident(p[0]) for p in ev_props]]
            )
        s.query(
            f"CREATE TABLE events (user_id String, event String, timestamp {ts_type}, "
            f"account_id Nullable(String){extra}) ENGINE = MergeTree ORDER BY (event, timestamp)"
        )
        s.query(f"INSERT INTO events SELECT {body} FROM events_stage")
        s.query("DROP TABLE events_stage")

        for table, key, entity, account in (
            ("users", "user_id", "user", True),
            ("accounts", "account_id", "account", False),
        ):
            tp = typed(entity)
            sel = "".join(f", t.{p[1]}" for p in tp)
            if account:
                sql = (
                    # The users table names the account unless it came from the user's events.
                    "SELECT t.user_id, CASE WHEN t.account_from_file = 1 OR t.account_link_ts IS NULL "
                    "THEN a.account_id END"
                    f"{sel} FROM users t LEFT JOIN accounts a ON a.account_key = t.account_key"
                )
            else:
                sql = f"SELECT t.account_id{sel} FROM accounts t WHERE t.from_file = 1"
            rows = [list(r) for r in conn.execute(sql)]
            cols = [(key, "String", "{c}", "String")]
            if account:
                cols.append(("account_id", "Nullable(String)", "{c}", "Nullable(String)"))
            cols += [(p[0], p[3], p[4], p[2]) for p in tp]
            _insert(s, f"{table}_stage", cols, rows)
            ddl = ", ".join(
                [f"{key} String"]
                + (["account_id Nullable(String)"] if account else [])
                + [f"{ident(p[0])} {p[2]}" for p in tp]
            )
            s.query(f"CREATE TABLE {table} ({ddl}) ENGINE = MergeTree ORDER BY {key}")
            s.query(f"INSERT INTO {table} SELECT * FROM {table}_stage")
            s.query(f"DROP TABLE {table}_stage")
    finally:
        s.close()
    return {"events": "events", "users": "users", "accounts": "accounts"}


def connect_to(conn: sqlite3.Connection, folder: Path, project: Path, **kwargs) -> Path:
    """A project connected to a chdb copy of ``conn``'s rows."""
    from seglab.core.engines.connect import connect_project

    tables = to_chdb(conn, folder, **kwargs)
    maps = ["events.properties=props"] if kwargs.get("json_props") else []
    connect_project(project, f"chdb://{folder}", tables, maps)
    return project
