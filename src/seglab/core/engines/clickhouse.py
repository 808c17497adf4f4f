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
from typing import TYPE_CHECKING, Any, cast

from sqlglot import exp

from seglab.core.engines.source import Client, SourceError, SourceURL, open_client, parse_url
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
    def run(self, query: exp.Expr, params: dict[str, Any] | None = None) -> list[list[Any]]:
        params = params or {}
        return self.client.query(self.views.sql(_plain(query), params, self._materialize), params)

    def _materialize(self, name: str) -> None:
        """``users`` or ``accounts`` as a temporary table of this session (the source is
        never written: temporary tables live in SegLab's own session and end with it)."""
        if name in self.views.materialized:
            return
        select = self.views.sql(sel(exp.Star()).from_(exp.to_table(name)), {}, self._materialize, (name,))
        table = exp.to_identifier(PREFIX + name).sql(dialect="clickhouse")
        self.client.execute(f"CREATE TEMPORARY TABLE {table} ENGINE = Memory AS {select}")
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


__all__ = ["ClickHouseEngine", "SourceError", "SourceURL", "ViewLayer", "render"]


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
    event: str,
    measure: str,
    interval: str,
    series: list[tuple[str, SegmentDef | None]],
    as_of_ms: int | None,
    date_from=None,
    date_to=None,
):
    """``analyze trend`` in the source: one grouped query per series, the segment a subquery of it.

    Same rows as :func:`seglab.core.analyses.run_trend` on a local project of the same rows:
    events whose UTC day is in the range and whose time is at most as-of, per calendar bucket."""
    import pandas as pd

    from seglab.core.analyses.common import buckets_for, check_interval, resolve_window, safe_rate
    from seglab.core.analyses.trend import MEASURES, TREND_COLUMNS
    from seglab.core.errors import AnalysisError

    if measure not in MEASURES:
        raise AnalysisError(f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    check_interval(interval)
    iv = cast("Interval", interval)
    as_of = engine.as_of(as_of_ms)
    window = resolve_window(as_of, date_from, date_to)
    buckets = buckets_for(window.from_day, window.to_day, iv)
    catalog = engine.catalog()
    rows = []
    for label, seg in series:
        values: dict[int, float] = {}
        if not window.empty:
            comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
            e, u = "e", "u"
            day = fn("intDiv", col("ts", e), lit(DAY_MS))
            preds: list[exp.Expr] = [
                exp.GTE(this=col("ts", e), expression=lit(window.from_day * DAY_MS)),
                exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
            ]
            if event != "*":
                preds.append(exp.EQ(this=col("event_key", e), expression=comp.param(event)))
            level = seg.level if seg is not None else "user"
            if seg is not None:
                validate(catalog, seg)
                members = exp.Subquery(this=comp.members(seg))
                unit = col("user_key", e) if level == "user" else col("account_key", u)
                preds.append(exp.In(this=unit, query=members))
            query = (
                sel(
                    exp.alias_(_bucket_index(day, buckets.start_days), "b", quoted=True),
                    exp.Count(this=exp.Star()),
                    fn("uniqExact", col("user_key", e)),
                    fn("uniqExact", col("account_key", u)),
                )
                .from_(exp.to_table("events").as_(e))
                .join(
                    exp.to_table("users").as_(u),
                    on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
                    join_type="left",
                )
                .where(exp.and_(*preds))
                .group_by(col("b"))
            )
            for b, n, users, accounts in engine.run(query, comp.params):
                values[int(b)] = {
                    "count": int(n),
                    "users": int(users),
                    "accounts": int(accounts),
                    "per_user": safe_rate(int(n), int(users)),
                }[measure]
        for b, start in enumerate(buckets.starts):
            rows.append((label, start.isoformat(), values.get(b, 0)))
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS)
    frame["value"] = frame["value"].astype("float64" if measure == "per_user" else "int64")
    return frame


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
    for label, seg in series:
        entered, medians = [0] * n, [None] * n
        if not window.empty:
            entered, medians = _funnel_series(engine, catalog, steps, within_days, seg, window)
        for k, step in enumerate(steps):
            prev = entered[k - 1] if k else entered[0]
            from_start, from_prev = safe_rate(entered[k], entered[0]), safe_rate(entered[k], prev)
            rows.append((label, k + 1, step, entered[k], from_start, from_prev, medians[k]))
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


def _funnel_series(engine, catalog, steps, within_days, seg, window):
    n = len(steps)
    window_ms = min(round(float(within_days) * DAY_MS), window.as_of_ms - window.start_ms + 1)
    upper = min(window.end_ms + window_ms, window.as_of_ms)
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    e, u = "e", "u"
    level = seg.level if seg is not None else "user"
    unit = col("user_key", e) if level == "user" else col("account_key", u)

    def step_is(j: int) -> exp.Expr:
        if steps[j] == "*":
            return exp.true()
        return exp.EQ(this=col("event_key", e), expression=comp.param(steps[j]))

    preds = [
        exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
        exp.LTE(this=col("ts", e), expression=lit(upper)),
    ]
    if level == "account":
        preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
    if seg is not None:
        validate(catalog, seg)
        preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=comp.members(seg))))
    first = exp.and_(step_is(0), exp.LTE(this=col("ts", e), expression=lit(window.end_ms)))

    def step_rows(cond: exp.Expr, where: list[exp.Expr]) -> exp.Select:
        return (
            sel(exp.alias_(unit.copy(), "unit", quoted=True), exp.alias_(col("ts", e), "ts", quoted=True))
            .from_(exp.to_table("events").as_(e))
            .join(
                exp.to_table("users").as_(u),
                on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
                join_type="left",
            )
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
            exp.alias_(
                fn(
                    "argMin",
                    exp.Array(expressions=times),
                    exp.Tuple(expressions=[exp.Neg(this=exp.Paren(this=reach)), col("k1")]),
                ),
                "chosen",
                quoted=True,
            )
        )
        .from_(chain.subquery("ch"))
        .group_by(col("unit"))
    )
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
    for label, seg in series:
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
    level = seg.level if seg is not None else "user"
    members = None
    if seg is not None:
        validate(catalog, seg)
        members = comp.members(seg)

    def unit_rows(event: str, lo_ms: int, hi_ms: int, value: exp.Expr, alias: str) -> exp.Select:
        """(unit, value) of the event's rows in [lo_ms, hi_ms], the units kept to the series."""
        e, u = "e", "u"
        unit = col("user_key", e) if level == "user" else col("account_key", u)
        preds: list[exp.Expr] = [
            exp.GTE(this=col("ts", e), expression=lit(lo_ms)),
            exp.LTE(this=col("ts", e), expression=lit(hi_ms)),
        ]
        if event != "*":
            preds.append(exp.EQ(this=col("event_key", e), expression=comp.param(event)))
        if level == "account":
            preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
        if members is not None:
            preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=members.copy())))
        return (
            sel(exp.alias_(unit.copy(), "unit", quoted=True), exp.alias_(value, alias, quoted=True))
            .from_(exp.to_table("events").as_(e))
            .join(
                exp.to_table("users").as_(u),
                on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
                join_type="left",
            )
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
    for label, seg in series:
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        counts = _unit_counts(comp, catalog, event, seg, window)
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
    level = seg.level if seg is not None else "user"
    unit = col("user_key", e) if level == "user" else col("account_key", u)
    preds: list[exp.Expr] = [
        exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
        exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
    ]
    if event != "*":
        preds.append(exp.EQ(this=col("event_key", e), expression=comp.param(event)))
    if level == "account":
        preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
    if seg is not None:
        validate(catalog, seg)
        preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=comp.members(seg))))
    return (
        sel(
            exp.alias_(unit.copy(), "unit", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "c", quoted=True),
        )
        .from_(exp.to_table("events").as_(e))
        .join(
            exp.to_table("users").as_(u),
            on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
            join_type="left",
        )
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
    rows = []
    for label, definition in segments:
        for b, start in enumerate(buckets.starts):
            if buckets.start_ms(b) > window.as_of_ms:
                continue
            at = min(buckets.last_ms(b), window.as_of_ms)
            rows.append((label, start.isoformat(), ms_to_iso(at) or "", int(engine.count(definition, at))))
    return pd.DataFrame(rows, columns=SIZE_COLUMNS)


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

    if not 2 <= len(segments) <= 6:
        raise AnalysisError("an overlap needs 2 to 6 segments")
    if len({seg.level for _, seg in segments}) != 1:
        raise AnalysisError("the segments of an overlap must all be user segments or all account segments")
    labels = [label for label, _ in segments]
    if len(set(labels)) != len(labels):
        raise AnalysisError("two series have the same label; give each segment once")
    catalog = engine.catalog()
    comp = _Compiler(catalog, engine._as_of(as_of_ms), "clickhouse")
    members = []
    for _, seg in segments:
        validate(catalog, seg)
        members.append(comp.members(seg))
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
    n = len(segments)
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
    series: list[tuple[str, SegmentDef | None]],
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
    for label, seg in series:
        level = seg.level if seg is not None else "user"
        if level not in universe:
            universe[level] = engine.count(
                load_definition({"level": level, "conditions": []}), window.as_of_ms
            )
        size = universe[level] if seg is None else engine.count(seg, window.as_of_ms)
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
        inside: exp.Expr = exp.true()
        if seg is not None:
            validate(catalog, seg)
            inside = exp.In(this=unit.copy(), query=exp.Subquery(this=comp.members(seg)))
        query = (
            sel(
                col("event_key", e),
                fn("uniqExactIf", unit.copy(), inside),
                fn("uniqExact", unit.copy()),
            )
            .from_(exp.to_table("events").as_(e))
            .join(
                exp.to_table("users").as_(u),
                on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
                join_type="left",
            )
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
    order = {label: i for i, (label, _) in enumerate(series)}
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
    for label, seg in series:
        counts: dict[tuple[int, int], int] = {}
        if not window.empty:
            comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
            e, u = "e", "u"
            level = seg.level if seg is not None else "user"
            unit = col("user_key", e) if level == "user" else col("account_key", u)
            day = fn("intDiv", col("ts", e), lit(DAY_MS))
            preds: list[exp.Expr] = [
                exp.GTE(this=col("ts", e), expression=lit(window.start_ms)),
                exp.LTE(this=col("ts", e), expression=lit(window.end_ms)),
            ]
            if event != "*":
                preds.append(exp.EQ(this=col("event_key", e), expression=comp.param(event)))
            if level == "account":
                preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
            if seg is not None:
                validate(catalog, seg)
                preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=comp.members(seg))))
            per_unit = (
                sel(
                    exp.alias_(_bucket_index(day.copy(), buckets.start_days), "b", quoted=True),
                    exp.alias_(fn("uniqExact", day.copy()), "d", quoted=True),
                )
                .from_(exp.to_table("events").as_(e))
                .join(
                    exp.to_table("users").as_(u),
                    on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
                    join_type="left",
                )
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
    for label, seg in series:
        counts: dict[int, tuple[int, ...]] = {}
        if last_day >= buckets.base_day:
            comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
            level = seg.level if seg is not None else "user"
            members = None
            if seg is not None:
                validate(catalog, seg)
                members = comp.members(seg)

            def rows_of(lo_ms, hi_ms, select, comp=comp, level=level, members=members):
                e, u = "e", "u"
                unit = col("user_key", e) if level == "user" else col("account_key", u)
                preds = [exp.LTE(this=col("ts", e), expression=lit(hi_ms))]
                if lo_ms is not None:
                    preds.append(exp.GTE(this=col("ts", e), expression=lit(lo_ms)))
                if event != "*":
                    preds.append(exp.EQ(this=col("event_key", e), expression=comp.param(event)))
                if level == "account":
                    preds.append(exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())))
                if members is not None:
                    preds.append(exp.In(this=unit.copy(), query=exp.Subquery(this=members.copy())))
                day = fn("intDiv", col("ts", e), lit(DAY_MS))
                return (
                    sel(
                        exp.alias_(unit.copy(), "unit", quoted=True),
                        exp.alias_(select(day), "v", quoted=True),
                    )
                    .from_(exp.to_table("events").as_(e))
                    .join(
                        exp.to_table("users").as_(u),
                        on=exp.EQ(this=col("user_key", u), expression=col("user_key", e)),
                        join_type="left",
                    )
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
