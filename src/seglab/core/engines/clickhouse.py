"""Segments on a ClickHouse source: the compiler's SQL over a view layer of the raw tables.

The segment compiler writes SQL against a local project's tables (``users``, ``accounts``,
``events`` and the roll-ups ``user_events``, ``user_days``, ``user_active_days``). A source
has none of them, so each query gets them as CTEs over the mapped source tables, read as the
importer reads the same rows (docs/sources.md): ids and event names trimmed, rows without a
user, an event name or a time left out, ``insert_id`` duplicates counted once, each user's
account from the users table else from their latest event carrying one. Keys are the text ids
themselves and times integer epoch milliseconds (``toUnixTimestamp64Milli``), so UTC days and
Monday weeks are the compiler's integer arithmetic and no time zone can shift them; bounds on an
event's time go to the source's own time column as ``toDateTime64(..., 3, 'UTC')`` literals,
which its primary key can use. ``users`` and ``accounts`` become temporary tables of the
session once per command. Values are query parameters (``{v1:String}``), identifiers sqlglot
nodes.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlglot import exp

from seglab.core.analyses.breakdown import Groups
from seglab.core.engines.source import Client, SourceError, SourceURL, open_client, parse_url
from seglab.core.errors import Cancelled
from seglab.core.progress import NULL_PROGRESS, Progress, check_cancelled
from seglab.core.project import PropertyInfo, load_properties
from seglab.core.segments.compiler import _Compiler, _plain
from seglab.core.segments.model import SegmentDef
from seglab.core.segments.validate import Catalog, validate
from seglab.core.timeutil import DAY_MS, ms_to_iso

if TYPE_CHECKING:
    from seglab.core.analyses.common import Interval

PREFIX = "seglab_"
LOCAL_TABLES = ("events", "users", "accounts", "user_events", "user_days", "user_active_days")
_DEPENDS = {
    "events": (),
    "users": ("events",),
    "accounts": ("users",),
    "user_events": ("events",),
    "user_days": ("events",),
    "user_active_days": ("events",),
}
MATERIALIZED = ("users", "accounts")  # made session temporary tables once per command
TRUE_WORDS = ("true", "yes", "t", "y")
FALSE_WORDS = ("false", "no", "f", "n")


def fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def lit(value: Any) -> exp.Expr:
    if value is None:
        return exp.Null()
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=table)


def sel(*items) -> exp.Select:
    return exp.select(*items, copy=False)


def base_type(ch_type: str) -> str:
    """``Nullable(LowCardinality(String))`` → ``String``."""
    t = ch_type.strip()
    changed = True
    while changed:
        changed = False
        for wrapper in ("Nullable(", "LowCardinality("):
            if t.startswith(wrapper) and t.endswith(")"):
                t = t[len(wrapper) : -1].strip()
                changed = True
    return t


def property_type(ch_type: str) -> str | None:
    """The property type a column type implies (docs/sources.md); None: not a property type."""
    t = base_type(ch_type)
    head = t.split("(", 1)[0]
    if head in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"):
        return "integer"
    if head in ("Float32", "Float64", "BFloat16") or head.startswith("Decimal"):
        return "real"
    if head == "Bool":
        return "boolean"
    if head in ("Date", "Date32", "DateTime", "DateTime64"):
        return "datetime"
    if head in ("String", "FixedString", "Enum8", "Enum16", "Enum"):
        return "text"
    return None


def is_text_or_int(ch_type: str) -> bool:
    t = base_type(ch_type)
    return property_type(t) in ("text", "integer") or t == "UUID"


def timestamp_kind(ch_type: str) -> str | None:
    """'datetime' for DateTime/DateTime64, 'ms' for (U)Int64 epoch milliseconds, else None."""
    head = base_type(ch_type).split("(", 1)[0]
    if head in ("DateTime", "DateTime64"):
        return "datetime"
    if head in ("Int64", "UInt64"):
        return "ms"
    return None


def _trimmed_id(expr: exp.Expr) -> exp.Expr:
    return fn("trimBoth", fn("coalesce", fn("toString", expr), lit("")))


def _no_blank(text: exp.Expr) -> exp.Expr:
    """NULL for NULL, '' and blanks ("no value", as an empty CSV cell)."""
    return exp.If(
        this=exp.EQ(this=fn("trimBoth", fn("coalesce", text.copy(), lit(""))), expression=lit("")),
        true=exp.Null(),
        false=text,
    )


def _null_text() -> exp.Expr:
    """A NULL text (a bare NULL is of type Nothing, which ClickHouse cannot group or join)."""
    return exp.Cast(this=exp.Null(), to=exp.DataType.build("Nullable(String)", dialect="clickhouse"))


def _ms(expr: exp.Expr) -> exp.Expr:
    return fn("toUnixTimestamp64Milli", fn("toDateTime64", expr, lit(3), lit("UTC")))


def column_value(expr: exp.Expr, ch_type: str, ptype: str) -> exp.Expr:
    """A typed source column as the property's stored value (SQLite's representation)."""
    if ptype in ("integer", "boolean"):
        return fn("toInt64", expr)
    if ptype == "real":
        return fn("toFloat64", expr)
    if ptype == "datetime":
        return _ms(expr)
    return _no_blank(fn("toString", expr))


def text_value(raw: exp.Expr, ptype: str) -> exp.Expr:
    """A JSON or Map value (text) read as the importer reads a CSV cell of type ``ptype``."""
    text = _no_blank(raw)
    trimmed = fn("trimBoth", text.copy())
    if ptype == "integer":
        return fn("toInt64OrNull", trimmed)
    if ptype == "real":
        return fn("toFloat64OrNull", trimmed)
    if ptype == "boolean":
        low = fn("lower", trimmed)
        return exp.Case(
            ifs=[
                exp.If(this=exp.In(this=low.copy(), expressions=[lit(w) for w in TRUE_WORDS]), true=lit(1)),
                exp.If(this=exp.In(this=low.copy(), expressions=[lit(w) for w in FALSE_WORDS]), true=lit(0)),
            ]
        )
    if ptype == "datetime":
        return fn(
            "toUnixTimestamp64Milli", fn("parseDateTime64BestEffortOrNull", trimmed, lit(3), lit("UTC"))
        )
    return text


def key_raw(column: exp.Expr, ch_type: str, key: str) -> exp.Expr:
    """The text of ``key`` in a JSON String or Map(String, String) column (NULL when missing)."""
    if base_type(ch_type).startswith("Map("):
        return exp.If(
            this=fn("mapContains", column.copy(), lit(key)),
            true=exp.Bracket(this=column.copy(), expressions=[lit(key)]),
            false=exp.Null(),
        )
    kind = fn("JSONType", column.copy(), lit(key))
    # JSONExtractString gives '' for a missing key and for a number: type first, then the text.
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=kind, expression=lit("String")),
                true=fn("JSONExtractString", column.copy(), lit(key)),
            ),
            exp.If(
                this=exp.In(
                    this=kind.copy(), expressions=[lit(t) for t in ("Int64", "UInt64", "Double", "Bool")]
                ),
                true=fn("JSONExtractRaw", column.copy(), lit(key)),
            ),
        ]
    )


class ViewLayer:
    """The CTEs standing in for a local project's tables, over one source's mapped tables."""

    def __init__(self, source: dict, properties: list[PropertyInfo], database: str):
        self.source = source
        self.properties = properties
        self.database = database
        self._rendered: dict[str, str] = {}
        self.materialized: set[str] = set()  # names that are temporary tables in the session

    def table(self, kind: str) -> exp.Table:
        name = self.source[kind]["table"]
        db, _, table = name.rpartition(".")
        return exp.Table(
            this=exp.to_identifier(table, quoted=True), db=exp.to_identifier(db or self.database, quoted=True)
        )

    def _props(self, kind: str, entity: str, src: str) -> list[exp.Expr]:
        mapping = self.source[kind]
        types = self.source["columns"][kind]
        out = []
        for p in self.properties:
            if p.entity != entity:
                continue
            if p.name in mapping["properties"]:
                value = column_value(col(p.name, src), types[p.name], p.type)
            else:
                pc = mapping["properties_column"]
                value = text_value(key_raw(col(pc, src), types[pc], p.name), p.type)
            out.append(exp.alias_(value, p.column, quoted=True))
        return out

    def _nulls(self, entity: str) -> list[exp.Expr]:
        return [exp.alias_(exp.Null(), p.column, quoted=True) for p in self.properties if p.entity == entity]

    def _file_props(self, entity: str, has_file: bool) -> list[exp.Expr]:
        """The entity's properties from its table (alias ``f``), or NULLs when it has none."""
        if not has_file:
            return self._nulls(entity)
        mine = [p for p in self.properties if p.entity == entity]
        return [exp.alias_(col(p.column, "f"), p.column, quoted=True) for p in mine]

    def events(self) -> exp.Query:
        m = self.source["events"]
        types = self.source["columns"]["events"]
        ts_col = col(m["timestamp"], "src")
        ts = _ms(ts_col) if timestamp_kind(types[m["timestamp"]]) == "datetime" else fn("toInt64", ts_col)
        account = _no_blank(_trimmed_id(col(m["account_id"], "src"))) if m.get("account_id") else _null_text()
        inner = sel(
            exp.alias_(ts, "ts_", quoted=True),
            exp.alias_(ts_col.copy(), "ts_at_", quoted=True),
            exp.alias_(_trimmed_id(col(m["user_id"], "src")), "user_key_", quoted=True),
            exp.alias_(_trimmed_id(col(m["event"], "src")), "event_key_", quoted=True),
            exp.alias_(account, "account_key_", quoted=True),
            exp.alias_(
                _trimmed_id(col(m["insert_id"], "src")) if m.get("insert_id") else lit(""),
                "insert_id_",
                quoted=True,
            ),
            *self._props("events", "event", "src"),
        ).from_(self.table("events").as_("src"))
        columns = [
            exp.alias_(fn("assumeNotNull", col("ts_")), "ts", quoted=True),
            exp.alias_(col("ts_at_"), "ts_at", quoted=True),
            exp.alias_(col("user_key_"), "user_key", quoted=True),
            exp.alias_(col("event_key_"), "event_key", quoted=True),
            exp.alias_(col("account_key_"), "account_key", quoted=True),
            *[col(p.column) for p in self.properties if p.entity == "event"],
        ]
        keep = exp.and_(
            exp.NEQ(this=col("user_key_"), expression=lit("")),
            exp.NEQ(this=col("event_key_"), expression=lit("")),
            exp.Not(this=exp.Is(this=col("ts_"), expression=exp.Null())),
        )
        rows = sel(*[c.copy() for c in columns]).from_(inner.subquery("r")).where(keep)
        if not m.get("insert_id"):
            return rows
        # Events sharing an insert_id count once (the importer keeps one; here the earliest).
        plain = rows.where(exp.EQ(this=col("insert_id_"), expression=lit("")))
        deduped = (
            sel(
                col("ts_"),
                col("ts_at_"),
                col("user_key_"),
                col("event_key_"),
                col("account_key_"),
                *[col(p.column) for p in self.properties if p.entity == "event"],
            )
            .from_(inner.copy().subquery("r"))
            .where(exp.and_(keep.copy(), exp.NEQ(this=col("insert_id_"), expression=lit(""))))
            .order_by(col("ts_"))
        )
        deduped = _limit_by(deduped, col("insert_id_"), exp.Limit(expression=lit(1)))
        deduped_sql = sel(*[c.copy() for c in columns]).from_(deduped.subquery("d"))
        return exp.union(plain, deduped_sql, distinct=False)

    def users(self) -> exp.Select:
        ue = (
            sel(
                col("user_key"),
                exp.alias_(exp.Min(this=col("ts")), "first_ts_", quoted=True),
                exp.alias_(exp.Max(this=col("ts")), "last_ts_", quoted=True),
                exp.alias_(
                    fn(
                        "argMaxIf",
                        col("account_key"),
                        col("ts"),
                        exp.Not(this=exp.Is(this=col("account_key"), expression=exp.Null())),
                    ),
                    "event_account_",
                    quoted=True,
                ),
            )
            .from_(exp.to_table(PREFIX + "events"))
            .group_by(col("user_key"))
        )
        parts = [sel(exp.alias_(col("user_key"), "k", quoted=True)).from_(exp.to_table(PREFIX + "events"))]
        um = self.source.get("users")
        uf = None
        if um:
            account = (
                _no_blank(_trimmed_id(col(um["account_id"], "src"))) if um.get("account_id") else _null_text()
            )
            uf = sel(
                exp.alias_(_trimmed_id(col(um["user_id"], "src")), "k", quoted=True),
                exp.alias_(account, "file_account_", quoted=True),
                *self._props("users", "user", "src"),
            ).from_(self.table("users").as_("src"))
            uf = _one_row_per_id(uf)
            parts.append(sel(col("k")).from_(uf.copy().subquery("f0")))
        ids = exp.union(*parts, distinct=True) if len(parts) > 1 else parts[0]
        if len(parts) == 1:
            ids = sel(col("k")).from_(ids.subquery("i0")).group_by(col("k"))
        account = col("event_account_", "ue")
        if uf is not None:
            account = fn("coalesce", col("file_account_", "f"), account)
        props = self._file_props("user", uf is not None)
        # Whether the account is the users table's (a local project's users.account_from_file).
        from_file = _present(col("file_account_", "f")) if uf is not None else lit(0)
        query = (
            sel(
                exp.alias_(col("k", "i"), "user_key", quoted=True),
                exp.alias_(col("k", "i"), "user_id", quoted=True),
                exp.alias_(account, "account_key", quoted=True),
                exp.alias_(from_file, "account_from_file", quoted=True),
                exp.alias_(col("first_ts_", "ue"), "first_ts", quoted=True),
                exp.alias_(col("last_ts_", "ue"), "last_ts", quoted=True),
                *props,
            )
            .from_(ids.subquery("i"))
            .join(
                ue.subquery("ue"),
                on=exp.EQ(this=col("user_key", "ue"), expression=col("k", "i")),
                join_type="left",
            )
        )
        if uf is not None:
            query = query.join(
                uf.subquery("f"), on=exp.EQ(this=col("k", "f"), expression=col("k", "i")), join_type="left"
            )
        return query

    def accounts(self) -> exp.Select:
        users = exp.to_table(PREFIX + "users")
        linked = exp.Not(this=exp.Is(this=col("account_key"), expression=exp.Null()))
        agg = (
            sel(
                exp.alias_(fn("assumeNotNull", col("account_key")), "k", quoted=True),
                exp.alias_(exp.Min(this=col("first_ts")), "first_ts_", quoted=True),
                exp.alias_(exp.Max(this=col("last_ts")), "last_ts_", quoted=True),
            )
            .from_(users)
            .where(linked)
            .group_by(col("k"))
        )
        am = self.source.get("accounts")
        parts = [sel(col("k")).from_(agg.copy().subquery("a0"))]
        af = None
        if am:
            af = sel(
                exp.alias_(_trimmed_id(col(am["account_id"], "src")), "k", quoted=True),
                *self._props("accounts", "account", "src"),
            ).from_(self.table("accounts").as_("src"))
            af = _one_row_per_id(af)
            parts.append(sel(col("k")).from_(af.copy().subquery("f0")))
        ids = exp.union(*parts, distinct=True) if len(parts) > 1 else parts[0]
        from_file = _present(col("k", "f")) if af is not None else lit(0)
        props = self._file_props("account", af is not None)
        query = (
            sel(
                exp.alias_(col("k", "i"), "account_key", quoted=True),
                exp.alias_(col("k", "i"), "account_id", quoted=True),
                exp.alias_(from_file, "from_file", quoted=True),
                exp.alias_(col("first_ts_", "g"), "first_ts", quoted=True),
                exp.alias_(col("last_ts_", "g"), "last_ts", quoted=True),
                *props,
            )
            .from_(ids.subquery("i"))
            .join(
                agg.subquery("g"), on=exp.EQ(this=col("k", "g"), expression=col("k", "i")), join_type="left"
            )
        )
        if af is not None:
            query = query.join(
                af.subquery("f"), on=exp.EQ(this=col("k", "f"), expression=col("k", "i")), join_type="left"
            )
        return query

    def rollup(self, name: str) -> exp.Select:
        day = exp.alias_(fn("intDiv", col("ts"), lit(DAY_MS)), "day", quoted=True)
        keys_of: dict[str, list[exp.Expr]] = {
            "user_events": [col("event_key"), col("user_key")],
            "user_days": [col("user_key"), col("event_key"), day],
            "user_active_days": [col("user_key"), day],
        }
        keys = keys_of[name]
        groups = [k.copy() if isinstance(k, exp.Column) else col("day") for k in keys]
        return (
            sel(
                *keys,
                exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
                exp.alias_(exp.Min(this=col("ts")), "first_ts", quoted=True),
                exp.alias_(exp.Max(this=col("ts")), "last_ts", quoted=True),
            )
            .from_(exp.to_table(PREFIX + "events"))
            .group_by(*groups)
        )

    def cte(self, name: str) -> exp.Query:
        if name in ("events", "users", "accounts"):
            return getattr(self, name)()
        return self.rollup(name)

    def sql(self, query: exp.Expr, params: dict[str, Any], materialize=None, inline=()) -> str:
        """ClickHouse SQL of ``query`` reading the CTEs for the local tables it names.

        The CTEs are rendered once per view layer (building them is most of a small query's
        time otherwise) and put in front of the query's own WITH list. ``materialize(name)``,
        when given, is asked to make ``users`` and ``accounts`` session temporary tables
        (:data:`MATERIALIZED`) instead: each is an aggregate over every event, which the
        compiler's SQL reads several times per query."""
        used: set[str] = set()

        def rename(node):
            if isinstance(node, exp.Table) and not node.args.get("db") and node.name in LOCAL_TABLES:
                used.add(node.name)
                out = exp.Table(this=exp.to_identifier(PREFIX + node.name))
                alias = node.args.get("alias")
                if alias is not None:
                    out.set("alias", alias)
                return out
            return node

        query = query.transform(rename, copy=False)
        self._raw_time_bounds(query)
        body = render(query, params)
        needed: list[str] = []

        def need(name: str) -> None:
            if name in self.materialized:
                return
            if materialize is not None and name in MATERIALIZED and name not in inline:
                materialize(name)
                return
            for dep in _DEPENDS[name]:
                need(dep)
            if name not in needed:
                needed.append(name)

        for name in LOCAL_TABLES:
            if name in used:
                need(name)
        if not needed:
            return body
        ctes = ", ".join(self._cte_sql(name) for name in needed)
        if body.startswith("WITH "):
            return f"WITH {ctes}, {body[len('WITH ') :]}"
        return f"WITH {ctes} {body}"

    def _raw_time_bounds(self, query: exp.Expr) -> None:
        """``e.ts > N`` on an events row → ``e.ts_at >= <N+1 ms>`` on the source's own time column,
        so ClickHouse can prune by a primary key holding the time (the epoch-ms form hides it).

        Exact for any column precision: ``ts`` is the time floored to the millisecond, so
        ``ts > N`` ⟺ ``at >= N+1 ms``, ``ts >= N`` ⟺ ``at >= N ms``, ``ts <= N`` ⟺
        ``at < N+1 ms``, ``ts < N`` ⟺ ``at < N ms``. A DateTime column gets
        ``toDateTime64('YYYY-MM-DD HH:MM:SS.fff', 3, 'UTC')`` literals, an epoch-ms column
        integers."""
        aliases = {
            t.alias_or_name
            for t in query.find_all(exp.Table)
            if t.name == PREFIX + "events" and not t.args.get("db")
        }
        if not aliases:
            return
        m = self.source["events"]
        as_datetime = timestamp_kind(self.source["columns"]["events"][m["timestamp"]]) == "datetime"
        flip = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}
        for node in list(query.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE)):
            kind, column, value = type(node), node.this, node.expression
            if not isinstance(column, exp.Column):
                kind, column, value = flip[kind], node.expression, node.this
            if not (
                isinstance(column, exp.Column)
                and column.name == "ts"
                and column.table in aliases
                and isinstance(value, exp.Literal)
                and not value.is_string
            ):
                continue
            try:
                n = int(value.this)
            except ValueError:
                continue
            if not 0 <= n < _MAX_LITERAL_MS:
                continue
            bound, op = {
                exp.GT: (n + 1, exp.GTE),
                exp.GTE: (n, exp.GTE),
                exp.LTE: (n + 1, exp.LT),
                exp.LT: (n, exp.LT),
            }[kind]
            literal = _datetime_literal(bound) if as_datetime else lit(bound)
            node.replace(op(this=col("ts_at", column.table), expression=literal))

    def _cte_sql(self, name: str) -> str:
        cached = self._rendered.get(name)
        if cached is None:
            cte = exp.CTE(this=self.cte(name), alias=exp.TableAlias(this=exp.to_identifier(PREFIX + name)))
            cached = self._rendered[name] = cte.sql(dialect="clickhouse")
        return cached


_MAX_LITERAL_MS = 7_258_118_400_000  # 2200-01-01: within every DateTime64 range


def _datetime_literal(ms: int) -> exp.Expr:
    import datetime as dt

    text = (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return fn("toDateTime64", lit(text), lit(3), lit("UTC"))


def _one_row_per_id(rows: exp.Select) -> exp.Select:
    """A users or accounts table's rows keyed ``k``: blank ids dropped, one row per id."""
    kept = sel(exp.Star()).from_(rows.subquery("x")).where(exp.NEQ(this=col("k"), expression=lit("")))
    return _limit_by(kept, col("k"), exp.Limit(expression=lit(1)))


def _present(column: exp.Expr) -> exp.Expr:
    """1 when ``column`` holds a value, else 0."""
    return exp.If(this=exp.Is(this=column, expression=exp.Null()), true=lit(0), false=lit(1))


def _limit_by(query: exp.Select, key: exp.Expr, limit: exp.Limit) -> exp.Select:
    """``query LIMIT 1 BY key`` (ClickHouse)."""
    limit.set("expressions", [key])
    query.set("limit", limit)
    return query


def ch_type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "UInt8"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    return "String"


def render(query: exp.Expr, params: dict[str, Any]) -> str:
    """ClickHouse SQL: Unicode-aware text functions and typed query parameters."""

    def fix(node):
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "seglab_lower":
            return fn("lowerUTF8", *node.expressions)
        if isinstance(node, exp.Substring):  # byte-based in ClickHouse; lengths count characters
            args = [node.this, node.args["start"]] + (
                [node.args["length"]] if node.args.get("length") else []
            )
            return fn("substringUTF8", *args)
        if isinstance(node, exp.Length):
            return fn("lengthUTF8", node.this)
        if isinstance(node, exp.StrPosition):
            return fn("positionUTF8", node.this, node.args["substr"])
        if isinstance(node, exp.Placeholder) and node.name in params:
            return exp.Placeholder(this=node.name, kind=ch_type_of(params[node.name]))
        return node

    # Children first, so a replaced node keeps its already-fixed children.
    for node in reversed(list(query.walk(bfs=False))):
        new = fix(node)
        if new is not node:
            if node is query:
                query = new
            else:
                node.replace(new)
    return query.sql(dialect="clickhouse")


def _drop_unused_user_joins(query: exp.Expr) -> exp.Expr:
    """``query`` without its ``LEFT JOIN users AS u ON u.user_key = e.user_key`` joins that nothing
    reads (``u`` named nowhere but in such ONs): the users table has one row per user key, so such
    a join keeps every row as it is, and dropping it spares building the session's users table,
    which reads every event (1.4 s at 5M events), for analyses of users that never look at it."""
    candidates = []
    for select in query.find_all(exp.Select):
        for join in select.args.get("joins") or []:
            key = _user_join_key(select, join)
            if key is not None:
                candidates.append((select, join, key))
    if not candidates:
        return query
    keys = {id(key) for _s, _j, key in candidates}
    named = {c.table for c in query.find_all(exp.Column) if c.table and id(c) not in keys}
    for select, join, key in candidates:
        if key.table not in named:
            select.set("joins", [j for j in select.args["joins"] if j is not join])
    return query


def _user_join_key(select: exp.Select, join: exp.Join) -> exp.Column | None:
    """The ``u.user_key`` of ``LEFT JOIN users AS u ON u.user_key = <t>.user_key`` (None otherwise)."""
    table, on = join.this, join.args.get("on")
    if not (
        isinstance(table, exp.Table)
        and table.name == "users"
        and not table.args.get("db")
        and table.alias
        and join.side == "LEFT"
        and not join.kind
        and not join.args.get("using")
        and isinstance(on, exp.EQ)
    ):
        return None
    sides = [on.this, on.expression]
    if not all(isinstance(c, exp.Column) and c.name == "user_key" and c.table for c in sides):
        return None
    mine = [c for c in sides if c.table == table.alias]
    if len(mine) != 1:
        return None
    # An unqualified column of the select's own scope could be the users table's: keep the join.
    own = {e.alias_or_name for e in select.expressions if isinstance(e, exp.Alias)}
    for column in select.find_all(exp.Column):
        if not column.table and column.name not in own and column.parent_select is select:
            return None
    return mine[0]


class ClickHouseEngine:
    """A connected project's commands: compiled SQL run in the source, results read back."""

    def __init__(self, conn: sqlite3.Connection, source: dict, client: Client):
        self.conn = conn
        self.source = source
        self.client = client
        self.kind = source["kind"]
        self.url = parse_url(source["url"])
        self.views = ViewLayer(source, load_properties(conn), self.url.database)
        self._bounds: tuple[int | None, int | None] | None = None
        self.progress: Progress = NULL_PROGRESS  # checked before each query (see watching)
        self._cancel = threading.Event()
        self._depth = 0  # nested watching blocks

    @classmethod
    def open(cls, conn: sqlite3.Connection, source: dict) -> ClickHouseEngine:
        client = open_client(parse_url(source["url"]))
        return cls(conn, source, client)

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- running --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the work running on this engine, from any thread: the running query is killed in
        the source and, inside a :meth:`watching` block (every analysis), the next one does not
        start; the work raises :class:`~seglab.core.errors.Cancelled`, and the engine stays
        usable. With nothing running it does nothing."""
        if self._depth:  # inside run_analysis & co: the next query does not start either
            self._cancel.set()
        self.client.cancel()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            self._cancel.clear()
            raise Cancelled("cancelled")
        check_cancelled(self.progress)

    @contextmanager
    def watching(self, progress: Progress):
        """Run the block's queries under ``progress``: none starts once it is cancelled, and a
        watcher cancels the running one (:meth:`cancel`) within ~0.1 s of it being cancelled."""
        previous = self.progress
        self.progress = progress
        self._depth += 1
        if self._depth == 1:  # a cancel of earlier work does not stop this one
            self._cancel.clear()
        done = threading.Event()
        watcher = None
        if progress is not NULL_PROGRESS and progress is not previous:

            def watch() -> None:
                while not done.wait(0.05):
                    if progress.is_cancelled():
                        self.client.cancel()
                        # A query that started after the kill is killed too.
                        while not done.wait(0.05):
                            self.client.cancel()
                        return

            watcher = threading.Thread(target=watch, name="seglab-cancel-watch", daemon=True)
            watcher.start()
        try:
            yield self
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
            self.progress = previous
            self._depth -= 1

    def run(self, query: exp.Expr, params: dict[str, Any] | None = None) -> list[list[Any]]:
        params = params or {}
        sql = self.views.sql(_drop_unused_user_joins(_plain(query)), params, self._materialize)
        self._check_cancel()
        try:
            return self.client.query(sql, params)
        except Cancelled:
            self._cancel.clear()
            raise

    def _materialize(self, name: str) -> None:
        """``users`` or ``accounts`` as a temporary table of this session (the source is
        never written: temporary tables live in SegLab's own session and end with it)."""
        if name in self.views.materialized:
            return
        select = self.views.sql(sel(exp.Star()).from_(exp.to_table(name)), {}, self._materialize, (name,))
        table = exp.to_identifier(PREFIX + name).sql(dialect="clickhouse")
        self._check_cancel()
        try:
            self.client.execute(f"CREATE TEMPORARY TABLE {table} ENGINE = Memory AS {select}")
        except Cancelled:
            self._cancel.clear()
            raise
        self.views.materialized.add(name)

    def bounds(self) -> tuple[int | None, int | None]:
        """(first, last) event time in the source."""
        if self._bounds is None:
            row = self.run(
                sel(fn("minOrNull", col("ts")), fn("maxOrNull", col("ts"))).from_(exp.to_table("events"))
            )[0]
            self._bounds = (row[0], row[1])
        return self._bounds

    def has_event(self, name: str) -> bool:
        """Whether the source has an event of this name (one row read back)."""
        query = sel(exp.Count(this=exp.Star())).from_(
            sel(lit(1))
            .from_(exp.to_table("events"))
            .where(exp.EQ(this=col("event_key"), expression=exp.Placeholder(this="e")))
            .limit(1)
            .subquery("x")
        )
        return bool(self.run(query, {"e": name})[0][0])

    def latest_event_ms(self) -> int | None:
        return self.bounds()[1]

    def as_of(self, explicit_ms: int | None = None) -> int | None:
        if explicit_ms is not None:
            return int(explicit_ms)
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'as_of_pin'").fetchone()
        if row and row[0]:
            return int(row[0])
        return self.latest_event_ms()

    def catalog(self) -> Catalog:
        first, last = self.bounds()
        props = {(p.entity, p.name): p for p in load_properties(self.conn)}
        saved = dict(self.conn.execute("SELECT name, definition FROM segments"))
        return Catalog(props, {}, saved, first_ts=first, last_ts=-1 if last is None else last)

    def _as_of(self, as_of_ms: int | None) -> int:
        t = self.as_of(as_of_ms)
        if t is None:
            from seglab.core.segments.compiler import default_as_of_without_events

            t = default_as_of_without_events()
        return t

    def count(self, seg: SegmentDef, as_of_ms: int | None = None) -> int:
        catalog = self.catalog()
        validate(catalog, seg)
        comp = _Compiler(catalog, self._as_of(as_of_ms), "clickhouse")
        query = comp.count_members(seg)
        return int(self.run(query, comp.params)[0][0])

    def member_ids(self, seg: SegmentDef, as_of_ms: int | None = None) -> list[str]:
        catalog = self.catalog()
        validate(catalog, seg)
        comp = _Compiler(catalog, self._as_of(as_of_ms), "clickhouse")
        query = comp.members(seg).order_by("key")
        # The keys are the text ids (sorted by ClickHouse as bytes; Python sorts code points alike).
        return sorted(row[0] for row in self.run(query, comp.params))

    def property_rows(self, level: str, columns: list[str], ids: list[str]) -> list[tuple]:
        """Property values (internal ``p<N>`` columns, stored as a local project stores them) of
        the users or accounts ``ids``, in that order; an id the source does not know gets NULLs."""
        if not columns or not ids:
            return [(None,) * len(columns) for _ in ids]
        key = "user_key" if level == "user" else "account_key"
        table = "users" if level == "user" else "accounts"
        by_id: dict[str, tuple] = {}
        # Ids are literals (sqlglot nodes), in chunks so no query grows without bound.
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            query = (
                sel(col(key), *[col(c) for c in columns])
                .from_(exp.to_table(table))
                .where(exp.In(this=col(key), expressions=[lit(i) for i in chunk]))
            )
            for row in self.run(query):
                by_id[row[0]] = tuple(row[1:])
        empty = (None,) * len(columns)
        return [by_id.get(i, empty) for i in ids]

    def people_text(self) -> list[tuple[str, int, str, str]]:
        """The rows of a local project's ``people_text`` (kind, key, property, value) for the
        source's users and accounts: ids, then each text property's non-empty values.

        Keys number the ids in id order (a local project numbers them in import order), users
        and accounts apart; rows follow the local rule otherwise: user ids, account ids, then the
        text properties in catalogue order (entity, position), each in key order. This reads
        every id and text value back: ``find`` searches them (docs/sources.md, "What runs where")."""
        rows: list[tuple[str, int, str, str]] = []
        texts: list[tuple[str, int, str, str]] = []
        for entity, table, key in (("user", "users", "user_key"), ("account", "accounts", "account_key")):
            props = [p for p in self.views.properties if p.entity == entity and p.type == "text"]
            result = self.run(sel(col(key), *[col(p.column) for p in props]).from_(exp.to_table(table)))
            result.sort(key=lambda row: row[0])
            rows += [(entity, n, "id", row[0]) for n, row in enumerate(result, 1)]
            for j, p in enumerate(props, 1):
                texts += [(entity, n, p.name, row[j]) for n, row in enumerate(result, 1) if row[j]]
        # The local catalogue order: account properties before user ones (ORDER BY entity, position).
        return rows + sorted(texts, key=lambda row: row[0])

    def info(self) -> dict:
        n = lambda table, where=None: exp.Subquery(
            this=sel(exp.Count(this=exp.Star())).from_(exp.to_table(table)).where(where)
            if where is not None
            else sel(exp.Count(this=exp.Star())).from_(exp.to_table(table))
        )
        accounts_in_universe = exp.or_(
            exp.EQ(this=col("from_file"), expression=lit(1)),
            exp.In(
                this=col("account_key"),
                query=exp.Subquery(
                    this=sel(col("account_key"))
                    .from_(exp.to_table("users"))
                    .where(exp.Not(this=exp.Is(this=col("account_key"), expression=exp.Null())))
                ),
            ),
        )
        names = exp.Subquery(this=sel(fn("uniqExact", col("event_key"))).from_(exp.to_table("events")))
        row = self.run(sel(n("events"), n("users"), n("accounts", accounts_in_universe), names))[0]
        first, last = self.bounds()
        pinned = bool(self.conn.execute("SELECT 1 FROM meta WHERE key = 'as_of_pin'").fetchone())
        from seglab.core.storage.schema import schema_version

        return {
            "events": int(row[0]),
            "users": int(row[1]),
            "accounts": int(row[2]),
            "event_names": int(row[3]),
            "properties": self.conn.execute("SELECT count(*) FROM properties").fetchone()[0],
            "first_event": ms_to_iso(first),
            "last_event": ms_to_iso(last),
            "as_of": ms_to_iso(self.as_of()),
            "as_of_pinned": pinned,
            "imports": self.conn.execute("SELECT count(*) FROM imports").fetchone()[0],
            "segments": self.conn.execute("SELECT count(*) FROM segments").fetchone()[0],
            "schema_version": schema_version(self.conn),
            "account_conflicts": self.account_conflicts(),
            "source": {"kind": self.kind, "url": self.source["url"]},
        }

    def account_conflicts(self, limit: int = 1000) -> list[dict]:
        """``account_conflict_list`` of the same rows imported locally, computed in the source:
        the users linked to more than one account (their events carry two, or the users
        table's account is not the one on their events), by user id, at most ``limit``."""
        seen = (
            sel(
                col("user_key"),
                exp.alias_(fn("uniqExact", col("account_key")), "n", quoted=True),
                exp.alias_(fn("groupUniqArray", fn("assumeNotNull", col("account_key"))), "a", quoted=True),
            )
            .from_(exp.to_table("events"))
            .where(exp.Not(this=exp.Is(this=col("account_key"), expression=exp.Null())))
            .group_by(col("user_key"))
        )
        # The kept account is the users table's, else the latest on the events (one of "a").
        clash = exp.or_(
            exp.GT(this=col("n", "s"), expression=lit(1)),
            exp.Not(this=fn("has", col("a", "s"), fn("assumeNotNull", col("account_key", "u")))),
        )
        query = (
            sel(col("user_id", "u"), col("account_key", "u"), col("account_from_file", "u"), col("a", "s"))
            .from_(exp.to_table("users").as_("u"))
            .join(seen.subquery("s"), on=exp.EQ(this=col("user_key", "s"), expression=col("user_key", "u")))
            .where(clash)
            .order_by(col("user_id", "u"))
            .limit(lit(int(limit)))
        )
        return [
            {
                "user_id": user_id,
                "account": account,
                "kept_from": "users file" if int(from_file) else "latest event",
                "accounts": sorted({account, *accounts}),
            }
            for user_id, account, from_file, accounts in self.run(query)
        ]


_MANTISSA = 2**52 - 1  # the fraction bits of a Float64


def _users_join(e: str, u: str) -> dict[str, Any]:
    """``Select.join`` arguments for ``events AS e LEFT JOIN users AS u`` on the user: an event's
    account (and user properties) come from the users table."""
    return {
        "expression": exp.to_table("users").as_(u),
        "on": exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
        "join_type": "left",
    }


def _float_parts(bits: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
    """A Float64's bits (``reinterpretAsUInt64``) as (its exponent field, its signed integer
    mantissa as Int256): the value is mantissa * 2**(field - 1075), a subnormal's field counting
    as 1. Exact sums add the mantissas per exponent in ClickHouse, then exactly in Python."""
    field = fn("bitAnd", fn("bitShiftRight", bits, lit(52)), lit(2047))
    mantissa = fn(
        "bitOr",
        fn("bitAnd", bits.copy(), lit(_MANTISSA)),
        exp.If(this=exp.GT(this=field.copy(), expression=lit(0)), true=lit(_MANTISSA + 1), false=lit(0)),
    )
    signed = fn(
        "multiIf",
        exp.EQ(this=fn("bitShiftRight", bits.copy(), lit(63)), expression=lit(1)),
        fn("negate", fn("toInt256", mantissa)),
        fn("toInt256", mantissa.copy()),
    )
    return field, signed


def segment_sums(
    engine: ClickHouseEngine, seg: SegmentDef, as_of_ms, properties: list[str]
) -> dict[str, float]:
    """``segment count --sum`` in the source: the numbers ``membership.segment_sums`` gives for
    the same rows imported locally, the members a subquery (never fetched).

    An integer property is summed as Int256 (exact). A real property's sum must be the
    correctly rounded one (``math.fsum``, whatever the row order): ClickHouse adds up the
    integer mantissas per binary exponent exactly (Int256) and returns one row, an array of
    at most 2,046 (exponent, sum) pairs, which Python adds up exactly and rounds once."""
    from fractions import Fraction

    from seglab.core.analyses.membership import sum_property

    catalog = engine.catalog()
    validate(catalog, seg)
    catalogue = load_properties(engine.conn)
    out: dict[str, float] = {}
    for text in properties:
        entity, prop = sum_property(catalogue, text)
        comp = _Compiler(catalog, engine._as_of(as_of_ms), "clickhouse")
        members = exp.Subquery(this=comp.members(seg))
        if entity == "user":
            table, key = "users", ("user_key" if seg.level == "user" else "account_key")
            units = exp.In(this=col(key, "t"), query=members)
        else:
            table = "accounts"
            if seg.level == "account":
                units = exp.In(this=col("account_key", "t"), query=members)
            else:  # each member's account, once
                accounts = (
                    sel(col("account_key", "m"))
                    .from_(exp.to_table("users").as_("m"))
                    .where(
                        exp.and_(
                            exp.In(this=col("user_key", "m"), query=members),
                            exp.Not(this=exp.Is(this=col("account_key", "m"), expression=exp.Null())),
                        )
                    )
                )
                units = exp.In(this=col("account_key", "t"), query=exp.Subquery(this=accounts))
        value = col(prop.column, "t")
        rows = (
            sel()
            .from_(exp.to_table(table).as_("t"))
            .where(exp.and_(units, exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))))
        )
        if prop.type == "integer":
            query = rows.select(fn("toString", fn("sum", fn("toInt256", fn("assumeNotNull", value)))))
            out[text] = float(int(engine.run(query, comp.params)[0][0]))
            continue
        bits = col("b")
        field, signed = _float_parts(bits)
        raw = rows.select(
            exp.alias_(
                fn("reinterpretAsUInt64", fn("toFloat64", fn("assumeNotNull", value))), "b", quoted=True
            )
        )
        per_exponent = (
            sel(
                exp.alias_(fn("greatest", field, lit(1)), "e", quoted=True),
                exp.alias_(fn("toString", fn("sum", signed)), "s", quoted=True),
            )
            .from_(raw.subquery("r"))
            .group_by(col("e"))
        )
        query = sel(fn("groupArray", fn("tuple", col("e"), col("s")))).from_(per_exponent.subquery("x"))
        pairs = [(int(e), int(s)) for e, s in engine.run(query, comp.params)[0][0]]
        # A Float64 is mantissa * 2**(exponent field - 1075) (a subnormal's field counts as 1).
        exact = sum((Fraction(s) * Fraction(2) ** (e - 1075) for e, s in pairs), Fraction(0))
        out[text] = float(exact)
    return out


__all__ = ["ClickHouseEngine", "SourceError", "SourceSeries", "SourceURL", "ViewLayer", "render"]


@dataclass(frozen=True)
class SourceSeries:
    """One series of a pushed-down analysis: its label and level, and who is in it: everyone at
    ``level`` (no definition), a saved segment's members (its definition, run as a subquery), or,
    with ``rest``, the level's units that are NOT its members (``--vs-rest``, "not NAME")."""

    label: str
    level: str = "user"
    definition: SegmentDef | None = None
    rest: bool = False
    group: Any = None  # a breakdown group (_Group): only the units with that value


@dataclass(frozen=True)
class SourceGroups(Groups):
    """A breakdown's groups with the group key of each kept label (for the previous period)."""

    keys: tuple = ()


def source_series(series) -> list[SourceSeries]:
    """:class:`SourceSeries` from them or from ``(label, definition or None)`` pairs."""
    out = []
    for s in series:
        if isinstance(s, SourceSeries):
            out.append(s)
        else:
            label, seg = s
            out.append(SourceSeries(label, seg.level if seg is not None else "user", seg))
    return out


def _members_of(comp, catalog, s: SourceSeries) -> exp.Select | None:
    """The series' unit keys as a subquery (``key``), None for everyone."""
    if s.definition is None:
        return None
    validate(catalog, s.definition)
    members = comp.members(s.definition)
    if not s.rest:
        return members
    universe, key, _alias = comp.universe(s.level)
    return universe.where(exp.Not(this=exp.paren(exp.In(this=key, query=exp.Subquery(this=members)))))


def _in_series(comp, catalog, s: SourceSeries, unit: exp.Expr) -> exp.Expr | None:
    """``unit IN (the series' members)`` (and in its breakdown group); None for everyone."""
    preds = []
    members = _members_of(comp, catalog, s)
    if members is not None and not s.rest:
        # "key IN (SELECT key FROM users WHERE key IN S)" is "key IN S" when S returns each key
        # once: S's keys are all in the universe, and the users table need not be built.
        same = comp._same_as.get(id(members))
        if same is not None and same[0] is members:
            members = same[1]
    if members is not None:
        preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=members)))
    if s.group is not None and s.group.by.entity != "event":  # an event group filters events instead
        preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=s.group.units(comp, s.level))))
    return exp.and_(*preds) if preds else None


@dataclass(frozen=True)
class _Group:
    """One group of a breakdown: the units whose value (its group key) is ``key`` (``which`` =
    'kept'), is another value (``'other'``: none of ``kept``), or is missing (``'none'``)."""

    by: Any  # the Breakdown
    column: str  # the property's column (p<N>)
    ptype: str
    which: str
    key: Any = None
    kept: tuple = ()

    def units(self, comp, level: str) -> exp.Select:
        values = _unit_values(level, self.by, self.column, self.ptype)
        return sel(col("k")).from_(values.subquery("gv")).where(self.test(comp, col("g")))

    def test(self, comp, g: exp.Expr) -> exp.Expr:
        """Whether group key ``g`` is in this group."""
        if self.which == "kept":
            pred: exp.Expr = exp.EQ(this=g, expression=comp.param(self.key))
        elif self.which == "none":
            pred = exp.Is(this=g, expression=exp.Null())
        else:
            pred = exp.Not(this=exp.Is(this=g, expression=exp.Null()))
            if self.kept:
                pred = exp.and_(
                    pred, exp.Not(this=exp.In(this=g.copy(), expressions=[comp.param(k) for k in self.kept]))
                )
        return pred


def _group_key(value: exp.Expr, ptype: str) -> exp.Expr:
    """The value a breakdown groups by: a datetime's UTC month (YYYYMM), a boolean's 0/1."""
    if ptype == "datetime":
        return fn("toYYYYMM", fn("fromUnixTimestamp64Milli", value, lit("UTC")))
    if ptype == "boolean":
        return exp.If(
            this=exp.Is(this=value.copy(), expression=exp.Null()),
            true=exp.Null(),
            false=exp.NEQ(this=value, expression=lit(0)),
        )
    return value


def _group_label(key: Any, ptype: str) -> str:
    from seglab.core.analyses.breakdown import number_text

    if ptype == "datetime":
        return f"{int(key) // 100:04d}-{int(key) % 100:02d}"
    if ptype == "boolean":
        return "true" if int(key) else "false"
    if ptype in ("integer", "real"):
        return number_text(key)
    return str(key)


def _unit_values(level: str, by, column: str, ptype: str) -> exp.Select:
    """(k, g): every unit of ``level`` and its group key (NULL: no value) for the breakdown."""
    if level == "user" and by.entity == "user":
        return sel(
            exp.alias_(col("user_key"), "k", quoted=True),
            exp.alias_(_group_key(col(column), ptype), "g", quoted=True),
        ).from_(exp.to_table("users"))
    if level == "user":
        return (
            sel(
                exp.alias_(col("user_key", "gu"), "k", quoted=True),
                exp.alias_(_group_key(col(column, "ga"), ptype), "g", quoted=True),
            )
            .from_(exp.to_table("users").as_("gu"))
            .join(
                exp.to_table("accounts").as_("ga"),
                on=exp.EQ(this=col("account_key", "ga"), expression=col("account_key", "gu")),
                join_type="left",
            )
        )
    return sel(
        exp.alias_(col("account_key"), "k", quoted=True),
        exp.alias_(_group_key(col(column), ptype), "g", quoted=True),
    ).from_(exp.to_table("accounts"))


def _rank_groups(engine, comp, entries: dict[str, list[exp.Select]], by, prop) -> SourceGroups:
    """The breakdown's groups, ranked over the units ``entries`` give per level (queries of
    ``k``): the ``limit`` values with the most units (ties: smaller first), ``(other)`` when
    another value has units, ``(none)`` when a unit has none. Reads back ``limit`` + 2 rows."""

    parts = []
    for level, queries in entries.items():
        union = exp.union(*queries, distinct=True) if len(queries) > 1 else queries[0].distinct()
        parts.append(
            sel(col("g", "v"))
            .from_(union.subquery("c"))
            .join(
                _unit_values(level, by, prop.column, prop.type).subquery("v"),
                on=exp.EQ(this=col("k", "v"), expression=col("k", "c")),
            )
        )
    return _rank_values(engine, comp, {"": parts}, by, prop)


def _rank_values(engine, comp, entries: dict[str, list[exp.Select]], by, prop) -> SourceGroups:
    """The groups ranked over rows of group keys ``g`` (one per counted unit)."""
    from seglab.core.analyses.breakdown import NONE, OTHER

    parts = [q for queries in entries.values() for q in queries]
    if not parts:
        return SourceGroups((), (), ())
    everyone = exp.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    ranked = (
        sel(col("g"), exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
        .from_(everyone.subquery("a"))
        .where(exp.Not(this=exp.Is(this=col("g"), expression=exp.Null())))
        .group_by(col("g"))
        .order_by(exp.Ordered(this=col("n"), desc=True), col("g"))
        .limit(lit(by.limit + 1))
    )
    top = engine.run(ranked, comp.params)
    missing = sel(fn("countIf", exp.Is(this=col("g"), expression=exp.Null()))).from_(
        everyone.copy().subquery("a")
    )
    has_none = bool(int(engine.run(missing, comp.params)[0][0]))
    keys = tuple(row[0] for row in top[: by.limit])
    labels = [_group_label(k, prop.type) for k in keys]
    if len(top) > by.limit:
        labels.append(OTHER)
    if has_none:
        labels.append(NONE)
    return SourceGroups(tuple(labels), tuple(labels[: len(keys)]), keys)


def _group_of(groups: SourceGroups, label: str, by, prop) -> _Group:
    from seglab.core.analyses.breakdown import NONE, OTHER

    if label == OTHER:
        return _Group(by, prop.column, prop.type, "other", kept=groups.keys)
    if label == NONE:
        return _Group(by, prop.column, prop.type, "none")
    return _Group(by, prop.column, prop.type, "kept", key=dict(zip(groups.kept, groups.keys))[label])


def _breakdown_property(engine, by):
    from seglab.core.errors import AnalysisError

    props = {p.name: p for p in load_properties(engine.conn) if p.entity == by.entity}
    prop = props.get(by.property)
    if prop is None:
        names = ", ".join(sorted(props)[:12]) or "none"
        raise AnalysisError(f"--by {by.text}: no {by.entity} property named {by.property!r} (known: {names})")
    return prop


def _event_broken_down(engine, series, by, event, measure, as_of_ms, date_from, date_to, groups=None):
    """A trend's series split by an event property (each event counted under its own value), the
    values ranked as ``trend._event_groups`` ranks them: by the distinct units (accounts for the
    accounts measure and account series) with a matching event of that value."""
    from seglab.core.analyses.breakdown import GROUP_SEP
    from seglab.core.analyses.common import resolve_window
    from seglab.core.errors import AnalysisError

    props = {p.name: p for p in load_properties(engine.conn) if p.entity == "event"}
    prop = props.get(by.property)
    if prop is None:
        names = ", ".join(sorted(props)[:12]) or "none"
        raise AnalysisError(f"--by {by.text}: no event property named {by.property!r} (known: {names})")
    series = source_series(series)
    if groups is None:
        window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
        catalog = engine.catalog()
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        e, u = "e", "u"
        pairs = []
        for s in series:
            by_account = measure == "accounts" or s.level == "account"
            unit = col("account_key", u) if by_account else col("user_key", e)
            own = col("user_key", e) if s.level == "user" else col("account_key", u)
            preds = [
                exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
                exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
                *_event_preds(comp, event, e),
            ]
            if by_account:
                preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
            inside = _in_series(comp, catalog, s, own)
            if inside is not None:
                preds.append(inside)
            pairs.append(
                sel(
                    exp.alias_(lit("a" if by_account else "u"), "kind", quoted=True),
                    exp.alias_(unit, "unit", quoted=True),
                    exp.alias_(_group_key(col(prop.column, e), prop.type), "g", quoted=True),
                )
                .from_(exp.to_table("events").as_(e))
                .join(**_users_join(e, u))
                .where(exp.and_(*preds))
            )
        if window.empty:
            groups = SourceGroups((), (), ())
        else:
            seen = exp.union(*pairs, distinct=True) if len(pairs) > 1 else pairs[0].distinct()
            entries = {"event": [sel(col("g")).from_(seen.subquery("p"))]}
            groups = _rank_values(engine, comp, entries, by, prop)
    expanded = [
        SourceSeries(
            f"{s.label}{GROUP_SEP}{label}", s.level, s.definition, s.rest, _group_of(groups, label, by, prop)
        )
        for s in series
        for label in groups.labels
    ]
    return expanded, groups


def broken_down(engine, series, by, event, as_of_ms, date_from, date_to, groups=None, rank_level=None):
    """Each series split by ``by`` (a user or account property) into one series per group, the
    groups ranked as a local project ranks them (``analyses.breakdown.run_broken_down``): by the
    units of the series that did ``event`` in the range, up to as-of; the ``limit`` values with
    the most units (ties: smaller first), then ``(other)`` and ``(none)``. Reads back at most
    ``limit`` + 2 rows. Returns (the expanded series, the groups)."""
    from seglab.core.analyses.breakdown import GROUP_SEP, check_level
    from seglab.core.analyses.common import resolve_window
    from seglab.core.errors import AnalysisError

    if by.entity == "event":
        raise AnalysisError(f"--by {by.text}: only a trend can be broken down by an event property")
    series = source_series(series)
    for s in series:
        check_level(by, s.level)
    prop = _breakdown_property(engine, by)
    if groups is None:
        window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
        catalog = engine.catalog()
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        e, u = "e", "u"
        entries: dict[str, list[exp.Select]] = {}
        for s in series:
            level = rank_level or s.level
            unit = col("user_key", e) if level == "user" else col("account_key", u)
            own = col("user_key", e) if s.level == "user" else col("account_key", u)
            preds = [
                exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
                exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
                exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())),
                *_event_preds(comp, event, e),
            ]
            inside = _in_series(comp, catalog, s, own)
            if inside is not None:
                preds.append(inside)
            entries.setdefault(level, []).append(
                sel(exp.alias_(unit, "k", quoted=True))
                .from_(exp.to_table("events").as_(e))
                .join(**_users_join(e, u))
                .where(exp.and_(*preds))
            )
        groups = _rank_groups(engine, comp, entries, by, prop)
    expanded = [
        SourceSeries(
            f"{s.label}{GROUP_SEP}{label}", s.level, s.definition, s.rest, _group_of(groups, label, by, prop)
        )
        for s in series
        for label in groups.labels
    ]
    return expanded, groups


def run_broken_down(run, series, expanded, groups):
    """``run(series)`` over the expanded series, the labels split back into ``segment`` and a
    ``group`` column after it (as ``analyses.breakdown.run_broken_down`` does locally)."""
    import pandas as pd

    from seglab.core.analyses.breakdown import split_labels

    if not expanded:  # nobody to count: no rows
        frame = run(series).iloc[0:0].copy()
        frame.insert(1, "group", pd.Series([], dtype=object))
    else:
        frame = split_labels(run(expanded))
    frame.attrs["groups"] = groups
    return frame


def _event_preds(comp, event, table: str = "e") -> list[exp.Expr]:
    """An event selector (``purchase[amount>=100]`` or its parsed form) as predicates on an events
    row: its name and each filter built by the segment compiler's operator table, checked with
    the same sentences as a local project's filters (``analyses.filters.compile_filters``)."""
    from seglab.core.analyses.filters import checked_property, selector_of
    from seglab.core.errors import AnalysisError, SegmentError

    selector = selector_of(event)
    preds: list[exp.Expr] = []
    if selector.event != "*":
        preds.append(exp.EQ(this=col("event_key", table), expression=comp.param(selector.event)))
    where = f"event {selector.event!r} filter"
    catalogue = {name: p for (entity, name), p in comp.catalog.properties.items() if entity == "event"}
    for i, f in enumerate(selector.where):
        here = f"{where}[{i}]"
        checked_property(catalogue, f, here)
        try:
            preds.append(comp.filter_pred("event", f, table, here))
        except SegmentError as exc:
            raise AnalysisError(f"{here}: {exc.reason}") from None
    return preds


def _bucket_index(day: exp.Expr, start_days: list[int]) -> exp.Expr:
    """The index of the calendar bucket holding ``day`` (bucket 0 starts at ``start_days[0]``)."""
    if len(start_days) == 1:
        return lit(0)
    ifs = [
        exp.If(this=exp.LT(this=day.copy(), expression=lit(start)), true=lit(i))
        for i, start in enumerate(start_days[1:])
    ]
    return exp.Case(ifs=ifs, default=lit(len(start_days) - 1))


def trend(
    engine: ClickHouseEngine,
    event,
    measure: str,
    interval: str,
    series,
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
    *,
    of: str | None = None,
    by=None,
    compare: str | None = None,
    progress: Progress = NULL_PROGRESS,
):
    """``analyze trend`` in the source: one grouped query per series, the segment a subquery of it.

    Same rows as :func:`seglab.core.analyses.run_trend` on a local project of the same rows:
    events whose UTC day is in the range and whose time is at most as-of, per calendar bucket;
    a value measure (``of``) over the events with a value; ``compare="previous"`` adds each
    series one range earlier; ``by`` breaks each series down by a user or account property."""
    import datetime as dt

    from seglab.core.analyses.common import check_interval, resolve_window
    from seglab.core.analyses.trend import MEASURES, VALUE_MEASURES, _merge_previous
    from seglab.core.errors import AnalysisError

    if measure not in MEASURES:
        raise AnalysisError(f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    if measure in VALUE_MEASURES and not of:
        raise AnalysisError(f"--measure {measure} needs --of PROPERTY (a numeric event property)")
    if of and measure not in VALUE_MEASURES:
        raise AnalysisError("--of goes with --measure sum, avg, min, max or median")
    if compare not in (None, "previous"):
        raise AnalysisError(f"--compare {compare!r}: the only comparison is 'previous'")
    check_interval(interval)
    series = source_series(series)
    value_prop = None
    if measure in VALUE_MEASURES:
        props = {p.name: p for p in load_properties(engine.conn) if p.entity == "event"}
        value_prop = props.get(of or "")
        if value_prop is None:
            raise AnalysisError(f"--of {of!r}: no event property of that name")
        if value_prop.type not in ("integer", "real"):
            raise AnalysisError(
                f"--of {of!r} is a {value_prop.type} property; a value measure needs a number"
            )

    def once(date_from, date_to, groups=None):
        if by is not None:
            rank_level = "account" if measure == "accounts" else None
            if rank_level and by.entity != "event":
                from seglab.core.analyses.breakdown import check_level

                check_level(by, "account")
            if by.entity == "event":
                expanded, groups = _event_broken_down(
                    engine, series, by, event, measure, as_of_ms, date_from, date_to, groups
                )
            else:
                expanded, groups = broken_down(
                    engine, series, by, event, as_of_ms, date_from, date_to, groups, rank_level
                )

        def run(run_series):
            return _trend_once(
                engine,
                event,
                measure,
                interval,
                run_series,
                as_of_ms,
                date_from,
                date_to,
                value_prop,
                progress,
            )

        if by is None:
            return run(series)
        return run_broken_down(run, series, expanded, groups)

    if compare != "previous":
        return once(date_from, date_to)
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    current = once(window.from_date, window.to_date)
    days = window.to_day - window.from_day + 1
    prev_to = window.from_date - dt.timedelta(days=1)
    prev_from = prev_to - dt.timedelta(days=days - 1)
    previous = once(prev_from, prev_to, current.attrs.get("groups"))
    return _merge_previous(current, previous)


def _trend_once(engine, event, measure, interval, series, as_of_ms, date_from, date_to, value_prop, progress):
    import pandas as pd

    from seglab.core.analyses.common import buckets_for, resolve_window, safe_rate
    from seglab.core.analyses.trend import TREND_COLUMNS, VALUE_MEASURES

    iv = cast("Interval", interval)
    as_of = engine.as_of(as_of_ms)
    window = resolve_window(as_of, date_from, date_to)
    buckets = buckets_for(window.from_day, window.to_day, iv)
    catalog = engine.catalog()
    rows = []
    for i, s in enumerate(series):
        progress.report(i, len(series), f"trend: {s.label}")
        label = s.label
        values: dict[int, Any] = {}
        if not window.empty:
            comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
            e, u = "e", "u"
            day = fn("intDiv", col("ts", e), lit(DAY_MS))
            preds: list[exp.Expr] = [
                exp.GTE(this=col("ts", e), expression=lit(window.from_day * DAY_MS)),
                exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
                *_event_preds(comp, event, e),
            ]
            unit = col("user_key", e) if s.level == "user" else col("account_key", u)
            inside = _in_series(comp, catalog, s, unit)
            if inside is not None:
                preds.append(inside)
            if s.group is not None and s.group.by.entity == "event":
                preds.append(s.group.test(comp, _group_key(col(s.group.column, e), s.group.ptype)))
            events = (
                sel().from_(exp.to_table("events").as_(e)).join(**_users_join(e, u)).where(exp.and_(*preds))
            )
            bucket = exp.alias_(_bucket_index(day, buckets.start_days), "b", quoted=True)
            if measure in VALUE_MEASURES:
                values = _value_measure(
                    engine, comp, events, bucket, col(value_prop.column, e), value_prop.type, measure
                )
            else:
                # The users' accounts only for the accounts measure: the users join is dropped
                # otherwise (_drop_unused_user_joins), and with it the users table's build.
                accounts = fn("uniqExact", col("account_key", u)) if measure == "accounts" else lit(0)
                query = events.select(
                    bucket,
                    exp.Count(this=exp.Star()),
                    fn("uniqExact", col("user_key", e)),
                    accounts,
                ).group_by(col("b"))
                for b, n, users, accounts in engine.run(query, comp.params):
                    values[int(b)] = {
                        "count": int(n),
                        "users": int(users),
                        "accounts": int(accounts),
                        "per_user": safe_rate(int(n), int(users)),
                    }[measure]
        empty = (
            0
            if measure in ("count", "users", "accounts", "sum")
            else (0.0 if measure == "per_user" else None)
        )
        for b, start in enumerate(buckets.starts):
            rows.append((label, start.isoformat(), values.get(b, empty)))
    progress.report(len(series), len(series), "trend: done")
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS)
    frame["value"] = frame["value"].astype(
        "int64" if measure in ("count", "users", "accounts") else "float64"
    )
    return frame


def _value_measure(
    engine, comp, events: exp.Select, bucket, value: exp.Expr, ptype: str, measure: str
) -> dict:
    """Per bucket, sum/avg/min/max/median of the events' values (events without one left out),
    as pandas gives them locally: sums exact (correctly rounded), medians from the two middle
    values, averages the sum over the count. One row per bucket read back."""
    from fractions import Fraction

    valued = events.copy().where(exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
    v = fn("assumeNotNull", value.copy())
    real = ptype == "real"
    number = fn("toFloat64", v.copy())
    sorted_values = fn("arraySort", fn("groupArray", number.copy()))
    out: dict[int, Any] = {}
    if measure in ("min", "max", "median"):
        if measure == "median":
            picks = [
                _template("arrayElement(__s, intDiv(length(__s) + 1, 2))", {"__s": col("s")}),
                _template("arrayElement(__s, intDiv(length(__s), 2) + 1)", {"__s": col("s")}),
            ]
            inner = valued.select(bucket, exp.alias_(sorted_values, "s", quoted=True)).group_by(col("b"))
            query = sel(col("b"), *picks).from_(inner.subquery("m"))
            for b, lo, hi in engine.run(query, comp.params):
                lo, hi = float(lo), float(hi)
                out[int(b)] = lo if lo == hi else (lo + hi) / 2
            return out
        agg = exp.Min(this=number) if measure == "min" else exp.Max(this=number)
        for b, x in engine.run(valued.select(bucket, agg).group_by(col("b")), comp.params):
            out[int(b)] = float(x)
        return out
    counts: dict[int, int] = {}
    sums: dict[int, Fraction] = {}
    if not real:
        query = valued.select(
            bucket, exp.Count(this=exp.Star()), fn("toString", fn("sum", fn("toInt256", v)))
        ).group_by(col("b"))
        for b, n, total in engine.run(query, comp.params):
            counts[int(b)], sums[int(b)] = int(n), Fraction(int(total))
    else:
        bits = col("bits")
        field, signed = _float_parts(bits)
        raw = valued.select(bucket, exp.alias_(fn("reinterpretAsUInt64", number), "bits", quoted=True))
        per_exponent = (
            sel(
                col("b"),
                exp.alias_(fn("greatest", field, lit(1)), "x", quoted=True),
                exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
                exp.alias_(fn("toString", fn("sum", signed)), "t", quoted=True),
            )
            .from_(raw.subquery("r"))
            .group_by(col("b"), col("x"))
        )
        query = (
            sel(col("b"), exp.Sum(this=col("n")), fn("groupArray", fn("tuple", col("x"), col("t"))))
            .from_(per_exponent.subquery("p"))
            .group_by(col("b"))
        )
        for b, n, pairs in engine.run(query, comp.params):
            counts[int(b)] = int(n)
            # A Float64 is mantissa * 2**(exponent field - 1075) (a subnormal's field counts as 1).
            sums[int(b)] = sum(
                (Fraction(int(t)) * Fraction(2) ** (int(x) - 1075) for x, t in pairs), Fraction(0)
            )
    for b, total in sums.items():
        out[b] = float(total) if measure == "sum" else float(total) / counts[b]
    return out


_UNREACHED = 9_223_372_036_854_775_807  # a funnel step not reached: no event is later


def funnel(
    engine: ClickHouseEngine,
    steps: list[str],
    within_days: float,
    series: list[tuple[str, SegmentDef | None]],
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
):
    """``analyze funnel`` in the source, with :func:`seglab.core.analyses.run_funnel`'s semantics
    (docs/analyses.md): one query per series reading back one row (entered and the median time
    from the previous step, per step), the segment a subquery of it."""
    import math

    import pandas as pd

    from seglab.core.analyses.common import resolve_window, safe_rate
    from seglab.core.analyses.filters import format_event, selector_of
    from seglab.core.analyses.funnel import FUNNEL_COLUMNS, MAX_STEPS
    from seglab.core.errors import AnalysisError

    if not steps:
        raise AnalysisError("a funnel needs at least one step")
    if len(steps) > MAX_STEPS:
        raise AnalysisError(f"a funnel has at most {MAX_STEPS} steps")
    if not isinstance(within_days, (int, float)) or not 0 < within_days < math.inf:
        raise AnalysisError("--within-days must be a positive number of days")
    n = len(steps)
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    catalog = engine.catalog()
    rows = []
    for s in source_series(series):
        label = s.label
        entered, medians = [0] * n, [None] * n
        if not window.empty:
            entered, medians = _funnel_series(engine, catalog, steps, within_days, s, window)
        for k, step in enumerate(steps):
            prev = entered[k - 1] if k else entered[0]
            from_start, from_prev = safe_rate(entered[k], entered[0]), safe_rate(entered[k], prev)
            rows.append(
                (label, k + 1, format_event(selector_of(step)), entered[k], from_start, from_prev, medians[k])
            )
    frame = pd.DataFrame(rows, columns=FUNNEL_COLUMNS)
    frame["step"] = frame["step"].astype("int64")
    frame["entered"] = frame["entered"].astype("int64")
    frame["median_seconds_from_previous"] = frame["median_seconds_from_previous"].astype("float64")
    return frame


# numpy's median of a sorted array: the middle value, or the mean of the two middle ones.
_MEDIAN = (
    "if(length(__g) = 0, NULL, if(length(__g) % 2 = 1, __g[intDiv(length(__g), 2) + 1], "
    "(__g[intDiv(length(__g), 2)] + __g[intDiv(length(__g), 2) + 1]) / 2))"
)


def _query_template(text: str, names: dict[str, exp.Expr]) -> exp.Query:
    """:func:`_template` of a whole ``SELECT``."""
    return cast(exp.Query, _template(text, names))


def _template(text: str, names: dict[str, exp.Expr]) -> exp.Expr:
    """A fixed ClickHouse SQL text with its ``__name`` placeholders replaced by sqlglot nodes."""
    import sqlglot

    def fill(node):
        if isinstance(node, exp.Column) and node.name in names and not node.table:
            return names[node.name].copy()
        if isinstance(node, exp.Table) and node.name in names:
            return names[node.name].copy()
        return node

    def array_length(node):  # an array's length here (render() makes text lengths UTF-8)
        return fn("length", node.this) if isinstance(node, exp.Length) else node

    return sqlglot.parse_one(text, read="clickhouse").transform(array_length).transform(fill)


def funnel_chosen(catalog, steps, within_days, seg, window) -> tuple[_Compiler, exp.Select]:
    """Per unit of ``seg`` (``unit``), the step times it is counted with (``chosen``: 0 for a step
    not reached): the chain reaching furthest, the earliest such. The funnel and its drill-down
    (engines/drill.py) both read it."""
    n = len(steps)
    window_ms = min(round(float(within_days) * DAY_MS), window.as_of_ms - window.start_ms + 1)
    upper = min(window.end_ms + window_ms, window.as_of_ms)
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    e, u = "e", "u"
    level = seg.level
    unit = col("user_key", e) if level == "user" else col("account_key", u)
    step_preds = [_event_preds(comp, step, e) for step in steps]

    def step_is(j: int) -> exp.Expr:
        if not step_preds[j]:
            return exp.true()
        return exp.and_(*[p.copy() for p in step_preds[j]])

    preds: list[exp.Expr] = [
        exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
        exp.LTE(this=col("ts", e), expression=lit(upper)),
    ]
    if level == "account":
        preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
    inside = _in_series(comp, catalog, seg, unit)
    if inside is not None:
        preds.append(inside)
    first = exp.and_(step_is(0), exp.LTE(this=col("ts", e), expression=lit(window.end_ms)))

    def step_rows(cond: exp.Expr, where: list[exp.Expr]) -> exp.Select:
        return (
            sel(exp.alias_(unit.copy(), "unit", quoted=True), exp.alias_(col("ts", e), "ts", quoted=True))
            .from_(exp.to_table("events").as_(e))
            .join(**_users_join(e, u))
            .where(exp.and_(*[p.copy() for p in where], cond))
        )

    # One row per step-1 event; each later step joined as of the previous step's time: its first
    # event strictly after it (ASOF), kept when within W of the start, else _UNREACHED, which no
    # later event follows. Memory and time grow with the events, not with their square per unit.
    # Later steps need only the time range: the join on the unit keeps the series' units.
    chain = sel(col("unit"), exp.alias_(col("ts"), "k1", quoted=True)).from_(
        step_rows(first, preds).subquery("c1")
    )
    for j in range(1, n):
        k, prev = f"k{j + 1}", col(f"k{j}", "l")
        got = col("ts", "r")
        inside = exp.and_(
            exp.Not(this=exp.Is(this=got.copy(), expression=exp.Null())),
            exp.LTE(this=got.copy(), expression=exp.Add(this=col("k1", "l"), expression=lit(window_ms))),
        )
        reached = exp.If(this=inside, true=fn("assumeNotNull", got.copy()), false=lit(_UNREACHED))
        chain = (
            sel(
                col("unit", "l"),
                *[col(f"k{i + 1}", "l") for i in range(j)],
                exp.alias_(reached, k, quoted=True),
            )
            .from_(chain.subquery("l"))
            .join(
                step_rows(step_is(j), preds[:2]).subquery("r"),
                on=exp.and_(
                    exp.EQ(this=col("unit", "l"), expression=col("unit", "r")),
                    exp.GT(this=col("ts", "r"), expression=prev),
                ),
                join_type="LEFT ASOF",
                dialect="clickhouse",
            )
        )
    times = [
        col("k1"),
        *[
            exp.If(
                this=exp.EQ(this=col(f"k{j + 1}"), expression=lit(_UNREACHED)),
                true=lit(0),
                false=col(f"k{j + 1}"),
            )
            for j in range(1, n)
        ],
    ]
    reach: exp.Expr = lit(1)
    for j in range(1, n):
        reach = exp.Add(
            this=reach, expression=fn("toInt64", exp.NEQ(this=col(f"k{j + 1}"), expression=lit(_UNREACHED)))
        )
    # Per unit, the chain reaching furthest, the earliest such (0: a step not reached).
    chosen = (
        sel(
            col("unit"),
            exp.alias_(
                fn(
                    "argMin",
                    exp.Array(expressions=times),
                    exp.Tuple(expressions=[exp.Neg(this=exp.Paren(this=reach)), col("k1")]),
                ),
                "chosen",
                quoted=True,
            ),
        )
        .from_(chain.subquery("ch"))
        .group_by(col("unit"))
    )
    return comp, chosen


def _funnel_series(engine, catalog, steps, within_days, seg, window):
    n = len(steps)
    comp, chosen = funnel_chosen(catalog, steps, within_days, seg, window)
    best = _template("arrayCount(x -> x <> 0, chosen)", {})
    reached = [fn("countIf", exp.GTE(this=best.copy(), expression=lit(k))) for k in range(1, n + 1)]
    gaps = []
    for k in range(2, n + 1):
        # Seconds per unit from the previous step, as numpy takes them (ms / 1000.0).
        gap = _template(
            "toFloat64(arrayElement(chosen, __k) - arrayElement(chosen, __p)) / 1000",
            {"__k": lit(k), "__p": lit(k - 1)},
        )
        gaps.append(
            exp.alias_(
                fn("arraySort", fn("groupArrayIf", gap, exp.GTE(this=best.copy(), expression=lit(k)))),
                f"g{k}",
                quoted=True,
            )
        )
    grouped = sel(*[exp.alias_(r, f"n{i + 1}", quoted=True) for i, r in enumerate(reached)], *gaps).from_(
        chosen.subquery("c")
    )
    query = sel(
        *[col(f"n{i + 1}") for i in range(n)],
        *[_template(_MEDIAN, {"__g": col(f"g{k}")}) for k in range(2, n + 1)],
    ).from_(grouped.subquery("g"))
    row = engine.run(query, comp.params)[0]
    entered = [int(v) for v in row[:n]]
    medians = [None] + [None if v is None else float(v) for v in row[n:]]
    return entered, medians


def retention(
    engine: ClickHouseEngine,
    start_event: str,
    return_event: str,
    interval: str,
    periods: int,
    series: list[tuple[str, SegmentDef | None]],
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
):
    """``analyze retention`` in the source, with :func:`seglab.core.analyses.run_retention`'s
    semantics (docs/analyses.md): per series, the cohort sizes and the retained counts per cohort
    and period are grouped in ClickHouse (one row per non-empty cohort, and per cohort and period
    with returns, read back); the segment is a subquery."""
    import pandas as pd

    from seglab.core.analyses.common import (
        bucket_starts,
        buckets_for,
        check_interval,
        resolve_window,
        safe_rate,
    )
    from seglab.core.analyses.retention import MAX_PERIODS, RETENTION_COLUMNS
    from seglab.core.errors import AnalysisError

    check_interval(interval)
    iv = cast("Interval", interval)
    if not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS:
        raise AnalysisError(f"--periods must be a whole number from 1 to {MAX_PERIODS}")
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    n_cohorts = len(bucket_starts(window.from_date, window.to_date, iv))
    buckets = buckets_for(window.from_day, window.to_day, iv, extra=periods - 1)
    catalog = engine.catalog()
    rows = []
    for s in source_series(series):
        label, seg = s.label, s
        sizes: dict[int, int] = {}
        retained: dict[tuple[int, int], int] = {}
        if not window.empty:
            sizes, retained = _retention_series(
                engine, catalog, start_event, return_event, periods, seg, window, buckets
            )
        for c in range(n_cohorts):
            size = sizes.get(c, 0)
            if not size:
                continue
            start = buckets.starts[c].isoformat()
            for k in range(periods):
                got = retained.get((c, k), 0)
                complete = buckets.last_ms(c + k) <= window.as_of_ms
                rows.append((label, start, size, k, got, safe_rate(got, size), complete))
    frame = pd.DataFrame(rows, columns=RETENTION_COLUMNS)
    for name in ("cohort_size", "period", "retained"):
        frame[name] = frame[name].astype("int64")
    frame["rate"] = frame["rate"].astype("float64")
    frame["complete"] = frame["complete"].astype("bool")
    return frame


def _retention_series(engine, catalog, start_event, return_event, periods, seg, window, buckets):
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    level = seg.level

    def unit_rows(event: str, lo_ms: int, hi_ms: int, value: exp.Expr, alias: str) -> exp.Select:
        """(unit, value) of the event's rows in [lo_ms, hi_ms], the units kept to the series."""
        e, u = "e", "u"
        unit = col("user_key", e) if level == "user" else col("account_key", u)
        preds: list[exp.Expr] = [
            exp.GTE(this=col("ts", e), expression=lit(lo_ms)),
            exp.LTE(this=col("ts", e), expression=lit(hi_ms)),
            *_event_preds(comp, event, e),
        ]
        if level == "account":
            preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
        inside = _in_series(comp, catalog, seg, unit)
        if inside is not None:
            preds.append(inside)
        return (
            sel(exp.alias_(unit.copy(), "unit", quoted=True), exp.alias_(value, alias, quoted=True))
            .from_(exp.to_table("events").as_(e))
            .join(**_users_join(e, u))
            .where(exp.and_(*preds))
        )

    day = fn("intDiv", col("ts", "e"), lit(DAY_MS))
    # Cohort: the day of each unit's first start event in the range, at or before as-of.
    first_hi = min(window.to_day * DAY_MS + DAY_MS - 1, window.as_of_ms)
    cohorts = (
        sel(col("unit"), exp.alias_(exp.Min(this=col("d")), "cday", quoted=True))
        .from_(unit_rows(start_event, window.from_day * DAY_MS, first_hi, day.copy(), "d").subquery("s"))
        .group_by(col("unit"))
    )
    # Returns: the buckets with a return event, from the first bucket's start up to as-of.
    last_day = min(buckets.end_day_exclusive - 1, window.as_of_ms // DAY_MS)
    returns_hi = min(last_day * DAY_MS + DAY_MS - 1, window.as_of_ms)
    returns = (
        sel(col("unit"), col("rb"))
        .from_(
            unit_rows(
                return_event,
                buckets.base_day * DAY_MS,
                returns_hi,
                _bucket_index(day.copy(), buckets.start_days),
                "rb",
            ).subquery("r")
        )
        .group_by(col("unit"), col("rb"))
    )
    cohort_bucket = _bucket_index(col("cday", "c"), buckets.start_days)
    sizes_query = (
        sel(exp.alias_(cohort_bucket.copy(), "cb", quoted=True), exp.Count(this=exp.Star()))
        .from_(cohorts.subquery("c"))
        .group_by(col("cb"))
    )
    period = exp.Sub(this=col("rb", "r"), expression=col("cb"))
    retained_query = (
        sel(
            exp.alias_(cohort_bucket.copy(), "cb", quoted=True),
            exp.alias_(period, "k", quoted=True),
            exp.Count(this=exp.Star()),
        )
        .from_(cohorts.copy().subquery("c"))
        .join(returns.subquery("r"), on=exp.EQ(this=col("unit", "r"), expression=col("unit", "c")))
        .where(exp.Between(this=col("k"), low=lit(0), high=lit(periods - 1)))
        .group_by(col("cb"), col("k"))
    )
    sizes = {int(b): int(n) for b, n in engine.run(sizes_query, comp.params)}
    retained = {(int(b), int(k)): int(n) for b, k, n in engine.run(retained_query, comp.params)}
    return sizes, retained


_QUANTILES = (0.5, 0.75, 0.9, 0.99)  # numpy's 50/100, 75/100, 90/100, 99/100


def _numpy_linear(a: int, b: int, t: float) -> float:
    """numpy's linear percentile between two neighbouring order statistics (its ``_lerp``)."""
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def distribution(
    engine: ClickHouseEngine,
    event: str,
    series: list[tuple[str, SegmentDef | None]],
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
    stats: bool = False,
):
    """``analyze distribution`` (``--stats``) in the source, with
    :func:`seglab.core.analyses.run_distribution`'s bins and numpy's percentiles: per series one
    query over the per-unit counts, reading back one row per bin (or one row)."""
    import math

    import pandas as pd

    from seglab.core.analyses.common import resolve_window
    from seglab.core.analyses.distribution import DISTRIBUTION_COLUMNS, DISTRIBUTION_STATS_COLUMNS, bin_edges

    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    catalog = engine.catalog()
    stat_rows: list[tuple[Any, ...]] = []
    results: list[tuple[str, dict[int, tuple[int, int]]]] = []
    for s in source_series(series):
        label = s.label
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        counts = _unit_counts(comp, catalog, event, s, window)
        c = col("c")
        if stats:
            # n, sum, max and, per quantile, the two order statistics numpy interpolates between.
            picks = []
            for q in _QUANTILES:
                index = fn(
                    "toUInt64",
                    fn(
                        "floor",
                        exp.Mul(
                            this=exp.paren(exp.Sub(this=fn("length", col("s")), expression=lit(1))),
                            expression=lit(q),
                        ),
                    ),
                )
                nxt = fn("least", exp.Add(this=index.copy(), expression=lit(2)), fn("length", col("s")))
                picks += [
                    fn("arrayElement", col("s"), exp.Add(this=index, expression=lit(1))),
                    fn("arrayElement", col("s"), nxt),
                ]
            inner = sel(
                exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
                exp.alias_(exp.Sum(this=c.copy()), "total", quoted=True),
                exp.alias_(exp.Max(this=c.copy()), "top", quoted=True),
                exp.alias_(fn("arraySort", fn("groupArray", c.copy())), "s", quoted=True),
            ).from_(counts.subquery("u"))
            row = engine.run(
                sel(col("n"), col("total"), col("top"), *picks).from_(inner.subquery("a")), comp.params
            )[0]
            n = int(row[0])
            if n == 0:
                stat_rows.append((label, 0, *([math.nan] * 5), 0))
                continue
            values = []
            for i, q in enumerate(_QUANTILES):
                pos = (n - 1) * q
                values.append(_numpy_linear(int(row[3 + 2 * i]), int(row[4 + 2 * i]), pos - math.floor(pos)))
            stat_rows.append((label, n, int(row[1]) / n, *values, int(row[2])))
        else:
            # Bins 1, 2, 3-4, 5-8, ...: bin i holds counts up to 2^i.
            bin_of = exp.If(
                this=exp.EQ(this=c.copy(), expression=lit(1)),
                true=lit(0),
                false=fn("toUInt32", fn("ceil", fn("log2", c.copy()))),
            )
            query = (
                sel(exp.alias_(bin_of, "b", quoted=True), exp.Count(this=exp.Star()), exp.Max(this=c.copy()))
                .from_(counts.subquery("u"))
                .group_by(col("b"))
            )
            results.append((label, {int(b): (int(k), int(m)) for b, k, m in engine.run(query, comp.params)}))
    if stats:
        frame = pd.DataFrame(stat_rows, columns=DISTRIBUTION_STATS_COLUMNS)
        return frame
    top = max((m for _, bins in results for _, m in bins.values()), default=1)
    rows = []
    for label, bins in results:
        total = sum(k for k, _ in bins.values())
        for i, (low, high) in enumerate(bin_edges(top)):
            k = bins.get(i, (0, 0))[0]
            rows.append((label, low, high, k, k / total if total else 0.0))
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _unit_counts(comp, catalog, event: str, seg, window) -> exp.Select:
    """(unit, c): each unit's events in the range (at or before as-of), units with at least one."""
    e, u = "e", "u"
    level = seg.level
    unit = col("user_key", e) if level == "user" else col("account_key", u)
    preds: list[exp.Expr] = [
        exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
        exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
        *_event_preds(comp, event, e),
    ]
    if level == "account":
        preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
    inside = _in_series(comp, catalog, seg, unit)
    if inside is not None:
        preds.append(inside)
    return (
        sel(
            exp.alias_(unit.copy(), "unit", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "c", quoted=True),
        )
        .from_(exp.to_table("events").as_(e))
        .join(**_users_join(e, u))
        .where(exp.and_(*preds))
        .group_by(col("unit"))
    )


def size_over_time(
    engine: ClickHouseEngine,
    segments: list[tuple[str, SegmentDef]],
    interval: str,
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
    vs_rest: bool = False,
    by=None,
):
    """``analyze size``: each segment counted in the source at the end of each interval (or at
    as-of for the interval holding it), as :func:`seglab.core.analyses.run_size_over_time` does;
    one row read back per count."""
    import pandas as pd

    from seglab.core.analyses.common import buckets_for, check_interval, resolve_window
    from seglab.core.analyses.membership import SIZE_COLUMNS
    from seglab.core.errors import AnalysisError

    check_interval(interval)
    iv = cast("Interval", interval)
    if not segments:
        raise AnalysisError("segment size over time needs at least one segment")
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    buckets = buckets_for(window.from_day, window.to_day, iv)
    from seglab.core.analyses.membership import rest_label
    from seglab.core.segments.model import load_definition

    if by is not None:
        return _size_broken_down(engine, segments, window, buckets, vs_rest, by)
    rows: list[tuple] = []
    universe: dict[str, int] = {}
    for label, definition in segments:
        counts = []
        for b, start in enumerate(buckets.starts):
            if buckets.start_ms(b) > window.as_of_ms:
                continue
            at = min(buckets.last_ms(b), window.as_of_ms)
            counts.append((start.isoformat(), ms_to_iso(at) or "", int(engine.count(definition, at))))
        rows.extend((label, *c) for c in counts)
        if vs_rest:  # the level's units not in the segment (the universe does not depend on time)
            level = definition.level
            if level not in universe:
                everyone = load_definition({"level": level, "conditions": []})
                universe[level] = engine.count(everyone, window.as_of_ms)
            rows.extend((rest_label(label), start, at, universe[level] - n) for start, at, n in counts)
    return pd.DataFrame(rows, columns=SIZE_COLUMNS)


def _size_broken_down(engine, segments, window, buckets, vs_rest: bool, by):
    """``analyze size --by``, as ``run_size_over_time``: the values ranked over the members at
    as-of (the whole universe with ``vs_rest``), then per segment (and its rest), group and
    interval, the members with that value counted in the source."""
    import pandas as pd

    from seglab.core.analyses.breakdown import check_level
    from seglab.core.analyses.membership import SIZE_COLUMNS, rest_label

    for _label, definition in segments:
        check_level(by, definition.level)
    prop = _breakdown_property(engine, by)
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    entries: dict[str, list[exp.Select]] = {}
    for _label, definition in segments:
        validate(catalog, definition)
        units = comp.universe(definition.level)[0] if vs_rest else comp.members(definition)
        entries.setdefault(definition.level, []).append(
            sel(exp.alias_(col("key"), "k", quoted=True)).from_(units.subquery("m"))
        )
    groups = _rank_groups(engine, comp, entries, by, prop)
    times = [
        (start.isoformat(), min(buckets.last_ms(b), window.as_of_ms))
        for b, start in enumerate(buckets.starts)
        if buckets.start_ms(b) <= window.as_of_ms
    ]
    rows = []
    for label, definition in segments:
        names = [(label, False)] + ([(rest_label(label), True)] if vs_rest else [])
        for name, rest in names:
            for g in groups.labels:
                group = _group_of(groups, g, by, prop)
                for start, at in times:
                    c = _Compiler(catalog, at, "clickhouse")
                    in_group = exp.In(
                        this=col("key"), query=exp.Subquery(this=group.units(c, definition.level))
                    )
                    members = c.members(definition)

                    def count(units, c=c, in_group=in_group):
                        query = (
                            sel(exp.Count(this=exp.Star())).from_(units.subquery("m")).where(in_group.copy())
                        )
                        return int(engine.run(query, c.params)[0][0])

                    n = count(members)
                    if rest:  # the universe does not depend on time
                        n = count(c.universe(definition.level)[0]) - n
                    rows.append((name, g, start, ms_to_iso(at) or "", n))
    frame = pd.DataFrame(rows, columns=["segment", "group", *SIZE_COLUMNS[1:]])
    frame.attrs["groups"] = groups
    return frame


def overlap(
    engine: ClickHouseEngine, segments: list[tuple[str, SegmentDef]], as_of_ms: int | None, pairs: bool
):
    """``analyze overlap`` (``--pairs``): the units of the union of 2-6 segments grouped by which
    segments hold them, in the source (at most 2^n - 1 rows read back); regions and Jaccard indexes
    as :func:`seglab.core.analyses.run_overlap` / ``run_jaccard`` give them."""
    from itertools import combinations

    import pandas as pd

    from seglab.core.analyses.overlap import JACCARD_COLUMNS, OVERLAP_COLUMNS, REGION_SEPARATOR
    from seglab.core.errors import AnalysisError

    series = source_series(segments)
    if not 2 <= len(series) <= 6:
        raise AnalysisError("an overlap needs 2 to 6 segments")
    if len({s.level for s in series}) != 1:
        raise AnalysisError("the segments of an overlap must all be user segments or all account segments")
    labels = [s.label for s in series]
    if len(set(labels)) != len(labels):
        raise AnalysisError("two series have the same label; give each segment once")
    catalog = engine.catalog()
    comp = _Compiler(catalog, engine._as_of(as_of_ms), "clickhouse")
    members = []
    for s in series:
        m = _members_of(comp, catalog, s)
        if m is None:
            raise AnalysisError(f"{s.label!r}: an overlap needs segments, not everyone")
        members.append(m)
    union = exp.union(*[m.copy() for m in members], distinct=True) if len(members) > 1 else members[0].copy()
    flags = [
        exp.alias_(exp.In(this=col("key", "x"), query=exp.Subquery(this=m)), f"m{i}", quoted=True)
        for i, m in enumerate(members)
    ]
    inner = sel(*flags).from_(union.subquery("x"))
    query = (
        sel(*[col(f"m{i}") for i in range(len(members))], exp.Count(this=exp.Star()))
        .from_(inner.subquery("f"))
        .group_by(*[col(f"m{i}") for i in range(len(members))])
    )
    patterns = {tuple(bool(int(v)) for v in row[:-1]): int(row[-1]) for row in engine.run(query, comp.params)}
    n = len(series)
    total = sum(patterns.values())
    if pairs:
        rows = []
        for a, b in combinations(range(n), 2):
            inter = sum(k for p, k in patterns.items() if p[a] and p[b])
            uni = sum(k for p, k in patterns.items() if p[a] or p[b])
            rows.append((labels[a], labels[b], inter, uni, inter / uni if uni else 0.0))
        return pd.DataFrame(rows, columns=JACCARD_COLUMNS)
    regions = []
    for size in range(n, 0, -1):
        for combo in combinations(range(n), size):
            units = patterns.get(tuple(i in combo for i in range(n)), 0)
            label = REGION_SEPARATOR.join(labels[i] for i in combo)
            regions.append((label, size, units, units / total if total else 0.0))
    return pd.DataFrame(regions, columns=OVERLAP_COLUMNS)


def top_events(
    engine: ClickHouseEngine,
    series: list,
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
    limit: int | None = None,
):
    """``analyze top-events`` in the source, as :func:`seglab.core.analyses.run_top_events`: per
    series one query counting, per event, the series' units and all the level's units that did it
    in the range (one row per event back); sizes are segment counts."""
    import pandas as pd

    from seglab.core.analyses.common import resolve_window
    from seglab.core.analyses.top_events import TOP_EVENTS_COLUMNS
    from seglab.core.segments.model import load_definition

    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    catalog = engine.catalog()
    universe: dict[str, int] = {}
    rows = []
    resolved = source_series(series)
    for s in resolved:
        label, seg, level = s.label, s.definition, s.level
        if level not in universe:
            universe[level] = engine.count(
                load_definition({"level": level, "conditions": []}), window.as_of_ms
            )
        size = universe[level] if seg is None else engine.count(seg, window.as_of_ms)
        if s.rest:
            size = universe[level] - size
        rest_size = 0 if seg is None else universe[level] - size
        if window.empty:
            continue
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        e, u = "e", "u"
        unit = col("user_key", e) if level == "user" else col("account_key", u)
        preds: list[exp.Expr] = [
            exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
            exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
        ]
        if level == "account":
            preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
        inside: exp.Expr = _in_series(comp, catalog, s, unit) or exp.true()
        query = (
            sel(
                col("event_key", e),
                fn("uniqExactIf", unit.copy(), inside),
                fn("uniqExact", unit.copy()),
            )
            .from_(exp.to_table("events").as_(e))
            .join(**_users_join(e, u))
            .where(exp.and_(*preds))
            .group_by(col("event_key", e))
        )
        for name, a, b in engine.run(query, comp.params):
            a, b = int(a), int(b)
            if a == 0:
                continue
            share = a / size if size else 0.0
            rest_units = b - a if seg is not None else 0
            rest_share = rest_units / rest_size if rest_size else float("nan")
            lift = share / rest_share if rest_size and rest_share > 0 else float("nan")
            rows.append((label, name, a, share, rest_units, rest_share, lift))
    frame = pd.DataFrame(rows, columns=TOP_EVENTS_COLUMNS)
    if frame.empty:
        return frame
    order = {s.label: i for i, s in enumerate(resolved)}
    frame["_o"] = frame["segment"].map(order)
    frame = frame.sort_values(["_o", "share", "event"], ascending=[True, False, True], kind="stable")
    frame = frame.drop(columns="_o").reset_index(drop=True)
    if limit:
        frame = frame.groupby("segment", sort=False).head(limit).reset_index(drop=True)
    return frame


def stickiness(
    engine: ClickHouseEngine,
    event: str,
    interval: str,
    series: list[tuple[str, SegmentDef | None]],
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
):
    """``analyze stickiness`` in the source, as :func:`seglab.core.analyses.run_stickiness`: per
    series one query grouping the units by interval and number of distinct active days (inside
    the range, up to as-of): one row per interval and day count back."""
    import pandas as pd

    from seglab.core.analyses.common import buckets_for, next_bucket, resolve_window
    from seglab.core.analyses.engagement import STICKINESS_COLUMNS
    from seglab.core.errors import AnalysisError

    if interval not in ("week", "month"):
        raise AnalysisError("stickiness needs --interval week or month")
    iv = cast("Interval", interval)
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    buckets = buckets_for(window.from_day, window.to_day, iv)
    catalog = engine.catalog()
    rows = []
    for s in source_series(series):
        label = s.label
        counts: dict[tuple[int, int], int] = {}
        if not window.empty:
            comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
            e, u = "e", "u"
            level = s.level
            unit = col("user_key", e) if level == "user" else col("account_key", u)
            day = fn("intDiv", col("ts", e), lit(DAY_MS))
            preds: list[exp.Expr] = [
                exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
                exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
                *_event_preds(comp, event, e),
            ]
            if level == "account":
                preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
            inside = _in_series(comp, catalog, s, unit)
            if inside is not None:
                preds.append(inside)
            per_unit = (
                sel(
                    exp.alias_(_bucket_index(day.copy(), buckets.start_days), "b", quoted=True),
                    exp.alias_(fn("uniqExact", day.copy()), "d", quoted=True),
                )
                .from_(exp.to_table("events").as_(e))
                .join(**_users_join(e, u))
                .where(exp.and_(*preds))
                .group_by(unit.copy(), col("b"))
            )
            query = (
                sel(col("b"), col("d"), exp.Count(this=exp.Star()))
                .from_(per_unit.subquery("p"))
                .group_by(col("b"), col("d"))
            )
            counts = {(int(b), int(d)): int(k) for b, d, k in engine.run(query, comp.params)}
        for b, start in enumerate(buckets.starts):
            n_days = (next_bucket(start, iv) - start).days
            active = sum(k for (bb, d), k in counts.items() if bb == b and 1 <= d <= n_days)
            for d in range(1, n_days + 1):
                k = counts.get((b, d), 0)
                rows.append((label, start.isoformat(), d, k, float(k / active if active else 0.0)))
    return pd.DataFrame(rows, columns=STICKINESS_COLUMNS)


_LIFECYCLE_COUNTS = (
    "SELECT b, countIf(has(bs, b) AND fb = b), countIf(has(bs, b) AND has(bs, b - 1) AND fb <> b), "
    "countIf(has(bs, b) AND NOT has(bs, b - 1) AND fb <> b), countIf(NOT has(bs, b) AND has(bs, b - 1)) "
    "FROM __units ARRAY JOIN range(1, __n) AS b GROUP BY b ORDER BY b"
)


def lifecycle(
    engine: ClickHouseEngine,
    event: str,
    interval: str,
    series: list[tuple[str, SegmentDef | None]],
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
):
    """``analyze lifecycle`` in the source, as :func:`seglab.core.analyses.run_lifecycle`: per series
    each unit's active intervals (from the interval before the range, up to as-of) and the interval
    of its first event ever (up to as-of), counted per interval and status: one row per interval."""
    import datetime as dt

    import pandas as pd

    from seglab.core.analyses.common import bucket_start, buckets_for, resolve_window
    from seglab.core.analyses.engagement import LIFECYCLE_COLUMNS, LIFECYCLE_STATUSES
    from seglab.core.errors import AnalysisError
    from seglab.core.timeutil import date_to_ms

    if interval not in ("day", "week", "month"):
        raise AnalysisError(f"interval {interval!r} is not one of day, week, month")
    iv = cast("Interval", interval)
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    first_start = bucket_start(window.from_date, iv)
    prev = bucket_start(first_start - dt.timedelta(days=1), iv)
    buckets = buckets_for(date_to_ms(prev) // DAY_MS, window.to_day, iv)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    n_b = len(buckets.starts)
    catalog = engine.catalog()
    rows = []
    for s in source_series(series):
        label = s.label
        counts: dict[int, tuple[int, ...]] = {}
        if last_day >= buckets.base_day:
            comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
            level = s.level

            def rows_of(lo_ms, hi_ms, select, comp=comp, level=level, s=s):
                e, u = "e", "u"
                unit = col("user_key", e) if level == "user" else col("account_key", u)
                preds = [exp.LTE(this=col("ts", e), expression=lit(hi_ms))]
                if lo_ms is not None:
                    preds.append(exp.GTE(this=col("ts", e), expression=lit(lo_ms)))
                preds.extend(_event_preds(comp, event, e))
                if level == "account":
                    preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
                inside = _in_series(comp, catalog, s, unit)
                if inside is not None:
                    preds.append(inside)
                day = fn("intDiv", col("ts", e), lit(DAY_MS))
                return (
                    sel(
                        exp.alias_(unit.copy(), "unit", quoted=True),
                        exp.alias_(select(day), "v", quoted=True),
                    )
                    .from_(exp.to_table("events").as_(e))
                    .join(**_users_join(e, u))
                    .where(exp.and_(*preds))
                    .group_by(col("unit"))
                )

            active_hi = min(last_day * DAY_MS + DAY_MS - 1, window.as_of_ms)
            active = rows_of(
                buckets.base_day * DAY_MS,
                active_hi,
                lambda day: fn("groupUniqArray", _bucket_index(day, buckets.start_days)),
            )
            firsts = rows_of(None, window.as_of_ms, lambda day: exp.Min(this=day))
            first_bucket = exp.If(
                this=exp.LT(this=col("v", "f"), expression=lit(buckets.base_day)),
                true=lit(-1),
                false=_bucket_index(col("v", "f"), buckets.start_days),
            )
            units = (
                sel(
                    exp.alias_(col("v", "a"), "bs", quoted=True),
                    exp.alias_(fn("coalesce", first_bucket, lit(-1)), "fb", quoted=True),
                )
                .from_(active.subquery("a"))
                .join(
                    firsts.subquery("f"),
                    on=exp.EQ(this=col("unit", "f"), expression=col("unit", "a")),
                    join_type="left",
                )
            )
            query = _template(_LIFECYCLE_COUNTS, {"__units": units.subquery("x"), "__n": lit(n_b)})
            counts = {int(r[0]): tuple(int(v) for v in r[1:]) for r in engine.run(query, comp.params)}
        for b in range(1, n_b):
            values = counts.get(b, (0, 0, 0, 0))
            start = (dt.date(1970, 1, 1) + dt.timedelta(days=buckets.start_days[b])).isoformat()
            for status, n in zip(LIFECYCLE_STATUSES, values):
                rows.append((label, start, status, n))
    return pd.DataFrame(rows, columns=LIFECYCLE_COLUMNS)


def _exact_sums(engine, comp, parts: list[tuple[int, exp.Select]]) -> dict[tuple[int, int], tuple[int, Any]]:
    """Exactly rounded sums in the source, one row read back: ``parts`` are (tag, query of
    ``i`` (a side, 0/1) and ``v`` (a non-NULL Float64)); returns (tag, side) → (count, the exact
    sum as a Fraction). ClickHouse adds up the values' integer mantissas per binary exponent
    (Int256); Python adds those up exactly (see :func:`segment_sums`)."""
    from fractions import Fraction

    if not parts:
        return {}
    bits = col("bits")
    field, signed = _float_parts(bits)
    raws = [
        sel(
            exp.alias_(lit(tag), "p", quoted=True),
            exp.alias_(fn("toUInt8", col("i")), "i", quoted=True),
            exp.alias_(fn("reinterpretAsUInt64", fn("toFloat64", col("v"))), "bits", quoted=True),
        ).from_(q.subquery(f"q{tag}"))
        for tag, q in parts
    ]
    raw = exp.union(*raws, distinct=False) if len(raws) > 1 else raws[0]
    per = (
        sel(
            col("p"),
            col("i"),
            exp.alias_(fn("greatest", field, lit(1)), "x", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
            exp.alias_(fn("toString", fn("sum", signed)), "t", quoted=True),
        )
        .from_(raw.subquery("r"))
        .group_by(col("p"), col("i"), col("x"))
    )
    query = sel(fn("groupArray", fn("tuple", col("p"), col("i"), col("x"), col("n"), col("t")))).from_(
        per.subquery("s")
    )
    out: dict[tuple[int, int], tuple[int, Any]] = {}
    for p, i, x, n, t in engine.run(query, comp.params)[0][0]:
        count, total = out.get((int(p), int(i)), (0, Fraction(0)))
        out[(int(p), int(i))] = (count + int(n), total + Fraction(int(t)) * Fraction(2) ** (int(x) - 1075))
    return out


# Margin over --limit for candidates ranked in the source: its floating-point effect sizes may
# differ from Python's in the last bit; the final ranking is Python's.
_EFFECT_MARGIN = 20


def _top_effects(rows: exp.Select, n_in: int, n_out: int, ties: list[exp.Expr], limit: int) -> exp.Select:
    """``rows`` (with ``a``, ``b``: units in and out of the segment) ranked in the source by
    |Cohen's h| (ties by ``ties``, as the result sorts them), the first ``limit`` + a margin:
    with ``--limit`` a candidate below them can never be printed."""

    def share(count: str, n: int) -> exp.Expr:
        return exp.Div(this=fn("toFloat64", col(count)), expression=lit(n)) if n else lit(0.0)

    h = exp.Sub(
        this=exp.Mul(this=lit(2), expression=fn("asin", fn("sqrt", share("a", n_in)))),
        expression=exp.Mul(this=lit(2), expression=fn("asin", fn("sqrt", share("b", n_out)))),
    )
    ordered = rows.order_by(exp.Ordered(this=fn("abs", h), desc=True), *ties)
    return ordered.limit(lit(int(limit) + _EFFECT_MARGIN))


def distinguish(
    engine: ClickHouseEngine, s, as_of_ms, date_from=None, date_to=None, max_values=20, limit=None
):
    """``analyze distinguish`` in the source, as :func:`seglab.core.analyses.run_distinguish`: the
    segment (or its rest) against the rest of its level's universe. Counts per property value
    (at most ``max_values`` per property read back), exact sums for the numeric properties'
    means and variances, and per event the units that did it: a few rows, plus one per row of
    the result."""
    import math

    import pandas as pd

    from seglab.core.analyses.common import resolve_window
    from seglab.core.analyses.distinguish import (
        _SAFE_COLUMN,
        DISTINGUISH_COLUMNS,
        finish,
        numeric_row,
        proportion_row,
    )
    from seglab.core.errors import AnalysisError

    s = source_series([s])[0]
    if s.definition is None:
        raise AnalysisError("'what distinguishes' needs a segment: everyone has no rest to compare with")
    window = resolve_window(engine.as_of(as_of_ms), date_from, date_to)
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    level = s.level
    members = _members_of(comp, catalog, s)
    universe = comp.universe(level)[0]
    units = sel(
        exp.alias_(col("key", "w"), "k", quoted=True),
        exp.alias_(exp.In(this=col("key", "w"), query=exp.Subquery(this=members)), "i", quoted=True),
    ).from_(universe.subquery("w"))
    sizes = sel(fn("countIf", exp.EQ(this=col("i"), expression=lit(1))), exp.Count(this=exp.Star())).from_(
        units.copy().subquery("z")
    )
    n_in, n_all = (int(v) for v in engine.run(sizes, comp.params)[0])
    n_out = n_all - n_in
    props = load_properties(engine.conn)
    kinds = ("text", "boolean", "integer", "real")
    usable = lambda entity: [
        p for p in props if p.entity == entity and _SAFE_COLUMN.match(p.column) and p.type in kinds
    ]  # fmt: skip
    own = usable(level)
    of_account = usable("account") if level == "user" else []
    rows: list[tuple] = []
    columns = [(p.name, p, col(p.column, "t")) for p in own] + [
        (f"account.{p.name}", p, col(p.column, "a")) for p in of_account
    ]
    if columns:
        table = "users" if level == "user" else "accounts"
        values = (
            sel(
                col("k", "x"),
                col("i", "x"),
                *[exp.alias_(c, f"c{j}", quoted=True) for j, (_, _, c) in enumerate(columns)],
            )
            .from_(units.subquery("x"))
            .join(
                exp.to_table(table).as_("t"),
                on=exp.EQ(
                    this=col("user_key" if level == "user" else "account_key", "t"), expression=col("k", "x")
                ),
            )
        )
        if of_account:
            values = values.join(
                exp.to_table("accounts").as_("a"),
                on=exp.EQ(this=col("account_key", "a"), expression=col("account_key", "t")),
                join_type="left",
            )
        present = lambda j: exp.Not(this=exp.Is(this=col(f"c{j}"), expression=exp.Null()))
        numeric = [j for j, (_, p, _) in enumerate(columns) if p.type in ("integer", "real")]
        texts = [j for j, (_, p, _) in enumerate(columns) if p.type in ("text", "boolean")]
        if numeric:
            side = lambda j: (
                sel(col("i"), exp.alias_(fn("toFloat64", col(f"c{j}")), "v", quoted=True))
                .from_(values.copy().subquery("vals"))
                .where(present(j))
            )
            sums = _exact_sums(engine, comp, [(j, side(j)) for j in numeric])
            means = {
                (j, i): float(sums[(j, i)][1]) / sums[(j, i)][0] if (j, i) in sums else math.nan
                for j in numeric
                for i in (0, 1)
            }
            deviations = []
            for j in numeric:
                m = exp.If(
                    this=exp.EQ(this=col("i"), expression=lit(1)),
                    true=comp.param(means[(j, 1)]),
                    false=comp.param(means[(j, 0)]),
                )
                d = exp.paren(exp.Sub(this=fn("toFloat64", col(f"c{j}")), expression=m))
                deviations.append(
                    (
                        j,
                        sel(col("i"), exp.alias_(exp.Mul(this=d, expression=d.copy()), "v", quoted=True))
                        .from_(values.copy().subquery("vals"))
                        .where(present(j)),
                    )
                )
            squares = _exact_sums(engine, comp, deviations)
            for j in numeric:
                stats = []
                for i in (1, 0):
                    n = sums.get((j, i), (0, 0))[0]
                    var = float(squares[(j, i)][1]) / (n - 1) if n > 1 else math.nan
                    stats.append((n, means[(j, i)], var))
                rows.append(numeric_row(s.label, columns[j][0], stats[0], stats[1]))
        if texts:

            def text_of(j):
                c = col(f"c{j}")
                if columns[j][1].type != "boolean":
                    return c
                flag = exp.If(this=exp.NEQ(this=c, expression=lit(0)), true=lit("true"), false=lit("false"))
                missing = exp.Is(this=c.copy(), expression=exp.Null())
                return exp.If(this=missing, true=_null_text(), false=flag)

            tagged = [
                sel(exp.alias_(lit(j), "p", quoted=True), col("i"), exp.alias_(text_of(j), "v", quoted=True))
                .from_(values.copy().subquery("vals"))
                .where(present(j))
                for j in texts
            ]
            everything = exp.union(*tagged, distinct=False) if len(tagged) > 1 else tagged[0]
            stats_q = sel(
                fn("groupArray", fn("tuple", col("p"), col("u"), col("n")))
            ).from_(
                sel(col("p"), exp.alias_(fn("uniqExact", col("v")), "u", quoted=True),
                    exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
                .from_(everything.subquery("e1"))
                .group_by(col("p"))
                .subquery("st")
            )  # fmt: skip
            shares = {int(p): (int(u), int(n)) for p, u, n in engine.run(stats_q, comp.params)[0][0]}
            # identifier-like properties (ids, e-mails): no value is shared enough to say anything
            kept = [j for j in texts if j in shares and not shares[j][0] > max(max_values, shares[j][1] // 2)]
            if kept:
                keep = exp.In(this=col("p"), expressions=[lit(j) for j in kept])
                counts = (
                    sel(
                        col("p"),
                        col("v"),
                        exp.alias_(fn("countIf", exp.EQ(this=col("i"), expression=lit(1))), "a", quoted=True),
                        exp.alias_(fn("countIf", exp.EQ(this=col("i"), expression=lit(0))), "b", quoted=True),
                    )
                    .from_(everything.copy().subquery("e2"))
                    .where(keep)
                    .group_by(col("p"), col("v"))
                    .having(exp.GT(this=col("a"), expression=lit(0)))
                    .order_by(col("p"), exp.Ordered(this=col("a"), desc=True), col("v"))
                )
                counts = _limit_by(counts, col("p"), exp.Limit(expression=lit(int(max_values))))
                if limit:
                    named = [
                        exp.If(this=exp.EQ(this=col("p"), expression=lit(j)), true=comp.param(columns[j][0]))
                        for j in kept
                    ]
                    ranked = sel(col("p"), col("v"), col("a"), col("b")).from_(counts.subquery("c"))
                    counts = _top_effects(ranked, n_in, n_out, [exp.Case(ifs=named), col("v")], limit)
                got: dict[int, list] = {}
                for p, v, a, b in engine.run(counts, comp.params):
                    got.setdefault(int(p), []).append((str(v), int(a), int(b)))
                for j in kept:
                    for v, a, b in sorted(got.get(j, [])):
                        rows.append(proportion_row(s.label, "property", columns[j][0], v, a, n_in, b, n_out))
    if not window.empty:
        e, u = "e", "u"
        unit = col("user_key", e) if level == "user" else col("account_key", u)
        inside = exp.In(this=unit.copy(), query=exp.Subquery(this=_members_of(comp, catalog, s)))
        everyone = exp.In(this=unit.copy(), query=exp.Subquery(this=comp.universe(level)[0]))
        outside = exp.Not(this=exp.paren(inside.copy()))
        query = (
            sel(
                exp.alias_(col("event_key", e), "name", quoted=True),
                exp.alias_(fn("uniqExactIf", unit.copy(), inside), "a", quoted=True),
                exp.alias_(fn("uniqExactIf", unit.copy(), outside), "b", quoted=True),
            )
            .from_(exp.to_table("events").as_(e))
            .join(**_users_join(e, u))
            .where(
                exp.and_(
                    exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
                    exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
                    exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())),
                    everyone,
                )
            )
            .group_by(col("event_key", e))
        )
        if limit:
            ranked = sel(col("name"), col("a"), col("b")).from_(query.subquery("ev"))
            query = _top_effects(ranked, n_in, n_out, [col("name")], limit)
        for name, a, b in engine.run(query, comp.params):
            rows.append(proportion_row(s.label, "event", name, "", int(a), n_in, int(b), n_out))
    return finish(pd.DataFrame(rows, columns=DISTINGUISH_COLUMNS), limit)


# -- the worksheet (``seglab report``) ---------------------------------------------------------------


def report_breakdown(engine: ClickHouseEngine, series, max_values: int, as_of_ms: int | None):
    """The worksheet's breakdown in the source: the account property with the most distinct
    values, at most ``max_values`` (first in catalogue order on a tie), and per value label (None:
    no value) the units of the segment and of the rest (``series``) with it; None without one."""
    from seglab.core.analyses.breakdown import Breakdown
    from seglab.core.analyses.distinguish import _SAFE_COLUMN

    props = [p for p in load_properties(engine.conn, "account") if _SAFE_COLUMN.match(p.column)]
    if not props:
        return None
    distinct = engine.run(
        sel(*[fn("uniqExact", col(p.column)) for p in props]).from_(exp.to_table("accounts"))
    )[0]
    best, best_n = None, 0
    for prop, n in zip(props, distinct):
        if best_n < int(n) <= max_values:
            best, best_n = prop, int(n)
    if best is None:
        return None
    seg, rest = source_series(series)
    catalog = engine.catalog()
    comp = _Compiler(catalog, engine._as_of(as_of_ms), "clickhouse")
    values = _unit_values(seg.level, Breakdown("account", best.name, max_values), best.column, best.type)
    inside = [_in_series(comp, catalog, s, col("k")) for s in (seg, rest)]
    query = (
        sel(col("g"), *[fn("countIf", cond or exp.true()) for cond in inside])
        .from_(values.subquery("v"))
        .group_by(col("g"))
    )
    mine: dict = {}
    theirs: dict = {}
    for g, a, b in engine.run(query, comp.params):
        label = None if g is None else _group_label(g, best.type)
        if int(a):
            mine[label] = mine.get(label, 0) + int(a)
        if int(b):
            theirs[label] = theirs.get(label, 0) + int(b)
    return best.name, mine, theirs


def intersection_counts(engine: ClickHouseEngine, definitions: list, as_of_ms: int | None) -> list[list[int]]:
    """``cells[i][j]`` = the members both segments ``i`` and ``j`` hold at as-of (one row back)."""
    catalog = engine.catalog()
    comp = _Compiler(catalog, engine._as_of(as_of_ms), "clickhouse")
    for d in definitions:
        validate(catalog, d)
    pairs = [(i, j) for i in range(len(definitions)) for j in range(i, len(definitions))]
    counts = [
        exp.Subquery(
            this=sel(exp.Count(this=exp.Star()))
            .from_(comp.members(definitions[i]).subquery("a"))
            .where(exp.In(this=col("key", "a"), query=exp.Subquery(this=comp.members(definitions[j]))))
        )
        for i, j in pairs
    ]
    row = engine.run(sel(*counts), comp.params)[0] if pairs else []
    cells = [[0] * len(definitions) for _ in definitions]
    for (i, j), n in zip(pairs, row):
        cells[i][j] = cells[j][i] = int(n)
    return cells


def key_paths(
    engine: ClickHouseEngine, from_day: int, to_day: int, as_of_ms: int, min_new_users: int, length: int
):
    """The worksheet's "most common path" in the source, as ``report.keyfunnel`` computes it on a
    local project: per user, the first ``length`` distinct events of the range (by first time,
    ties by name), among the users who started in the range when there are ``min_new_users`` of
    them, else every user active in it. Returns (new users counted, the number of users with a
    path, the longest path's length, the most common longest paths with their count, each event's
    events among those paths' events, the two most frequent events)."""
    start_ms = from_day * DAY_MS
    comp = _Compiler(engine.catalog(), as_of_ms, "clickhouse")
    started = exp.Between(this=col("first_ts"), low=lit(start_ms), high=lit(as_of_ms))
    new_users = int(
        engine.run(sel(exp.Count(this=exp.Star())).from_(exp.to_table("users")).where(started))[0][0]
    )
    day = fn("intDiv", col("ts"), lit(DAY_MS))
    # Like the roll-up user_days: a (user, event, day) counts when its first event is at most as-of.
    days = (
        sel(
            col("user_key"),
            col("event_key"),
            exp.alias_(exp.Min(this=col("ts")), "t0", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
        )
        .from_(exp.to_table("events"))
        .where(exp.Between(this=day, low=lit(from_day), high=lit(to_day)))
        .group_by(col("user_key"), col("event_key"), day.copy())
        .having(exp.LTE(this=col("t0"), expression=lit(as_of_ms)))
    )
    if new_users >= min_new_users:
        population = sel(col("user_key")).from_(exp.to_table("users")).where(started.copy())
        days = days.where(exp.In(this=col("user_key"), query=exp.Subquery(this=population)))
    per_event = (
        sel(
            col("user_key"),
            exp.alias_(col("event_key"), "name", quoted=True),
            exp.alias_(exp.Min(this=col("t0")), "t", quoted=True),
            exp.alias_(exp.Sum(this=col("n")), "n", quoted=True),
        )
        .from_(days.subquery("d"))
        .group_by(col("user_key"), col("event_key"))
    )
    paths = _query_template(
        "SELECT arraySlice(arrayMap(x -> x.2, arraySort(groupArray(tuple(t, name)))), 1, __len) AS path "
        "FROM __per_event GROUP BY user_key",
        {"__len": lit(length), "__per_event": per_event.subquery("pe")},
    )
    n_users, longest = engine.run(
        sel(exp.Count(this=exp.Star()), fn("max", fn("length", col("path")))).from_(paths.subquery("p")),
        comp.params,
    )[0]
    if not int(n_users):
        return new_users, 0, 0, [], {}, []
    top2 = engine.run(
        sel(col("name"), exp.alias_(exp.Sum(this=col("n")), "total", quoted=True))
        .from_(per_event.copy().subquery("pe2"))
        .group_by(col("name"))
        .order_by(exp.Ordered(this=col("total"), desc=True), col("name"))
        .limit(lit(2)),
        comp.params,
    )
    counted = (
        sel(col("path"), exp.alias_(exp.Count(this=exp.Star()), "c", quoted=True))
        .from_(paths.copy().subquery("p2"))
        .where(exp.EQ(this=fn("length", col("path")), expression=lit(int(longest))))
        .group_by(col("path"))
    )
    best = exp.Subquery(this=sel(fn("max", col("c"))).from_(counted.copy().subquery("m")))
    candidates = [
        (tuple(path), int(c))
        for path, c in engine.run(
            sel(col("path"), col("c"))
            .from_(counted.subquery("k"))
            .where(exp.EQ(this=col("c"), expression=best)),
            comp.params,
        )
    ]
    names = sorted({name for path, _c in candidates for name in path})
    totals = {}
    if names:
        query = (
            sel(col("name"), exp.Sum(this=col("n")))
            .from_(per_event.copy().subquery("pe3"))
            .where(exp.In(this=col("name"), expressions=[comp.param(n) for n in names]))
            .group_by(col("name"))
        )
        totals = {name: int(total) for name, total in engine.run(query, comp.params)}
    return new_users, int(n_users), int(longest), candidates, totals, [(n, int(t)) for n, t in top2]
