"""Definition → SQL, as sqlglot expressions rendered for SQLite (and DuckDB in tests).

Rules (learned the hard way on several engines):

* Window bounds are computed here in Python from the as-of time T and sent as
  literals; no date functions run on timestamps. A window is the half-open range
  ``(lo, hi]`` of epoch ms (``lo`` None = from the beginning), ``hi <= T``.
* Values from definitions are bound parameters; identifiers come only from the
  property catalogue (``p<N>`` columns).
* Every condition is a boolean expression on one row of the level's universe where
  NULL means "no match"; ``negate`` wraps it as ``NOT COALESCE(x, FALSE)`` so a missing
  value can never leak through a negation. Membership subqueries never return NULL
  keys (``NOT IN`` with a NULL in the list would match nothing).
* Conditions without event-property filters read the roll-ups: ``user_events`` (per
  event name and user: count, first, last) answers "did X", "first/last did X" and
  "X ever" whenever its all-time figures decide the window (no lower end, or no event
  after the window's end); ``user_days`` (per user, event and day), or
  ``user_active_days`` for any event (``*``), answer distinct days/weeks/months and
  windows ending in the past. Their ``first_ts``/``last_ts`` make "some event in
  (lo, hi]" and "distinct days" exact whenever lo and hi fall on different days;
  counts take the partial edge days from raw events. Everything else reads ``events``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from seglab.core.errors import SegmentError
from seglab.core.segments.model import (
    BehaviorCondition,
    Compare,
    Condition,
    GroupCondition,
    ListCondition,
    PropertyCondition,
    PropertyFilter,
    SeenCondition,
    SegmentDef,
    SegmentRefCondition,
    SequenceCondition,
    UsersCondition,
    Window,
)
from seglab.core.segments.operators import COMPARE_OPS, MEASURES, OPERATORS, Span
from seglab.core.segments.sequence import SequencePlan
from seglab.core.segments.validate import Catalog, as_catalog, coerce_filter, validate
from seglab.core.timeutil import DAY_MS, add_months, date_to_ms, ms_to_date


def _nocopy(name: str) -> Any:
    """``exp.Select``'s builder ``name``, modifying the query in place (``copy=False``)."""

    def method(self, *args, **kwargs):
        kwargs.setdefault("copy", False)
        return getattr(exp.Select, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


class _Select(exp.Select):
    """A Select whose builder methods modify in place.

    sqlglot's builders deep-copy the query (and every subquery attached to it) on each
    call by default; building a definition bottom-up made compilation quadratic.
    """

    select = _nocopy("select")
    from_ = _nocopy("from_")
    where = _nocopy("where")
    group_by = _nocopy("group_by")
    having = _nocopy("having")
    join = _nocopy("join")
    order_by = _nocopy("order_by")
    with_ = _nocopy("with_")


_Select.key = "select"


def _plain(query: exp.Expr) -> exp.Expr:
    """Turn the in-place builders back into plain Selects (the generator dispatches on class)."""
    for node in query.walk():
        if type(node) is _Select:
            node.__class__ = exp.Select  # type: ignore[assignment]  # the class swap is the point
    return query


def _select(*expressions) -> exp.Select:
    return _Select().select(*expressions)


# "clickhouse": connected projects (seglab.core.engines.clickhouse renders it over its views).
DIALECTS = ("sqlite", "duckdb", "clickhouse")
_MAX_DEPTH = 32
_YEAR_ONE = date_to_ms(dt.date(1, 1, 1))
# SQLite's parser stack holds about 90 open parentheses, and a negated group costs four: past
# this many nested groups (or references, or a users condition) the rest of the nesting is
# written as a WITH table of its own, parsed on its own stack.
_HOIST_DEPTH = 4
# A chain of AND/OR longer than this is written as a balanced tree: SQLite refuses an
# expression tree deeper than 1000 and each link of a flat chain is one level.
_FLAT_CHAIN = 64
# An in/not_in list longer than this is bound as one JSON parameter read with json_each (a
# temporary B-tree SQLite builds once) instead of one parameter per value.
_JSON_LIST = 64


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    params: dict[str, Any]
    dialect: str = "sqlite"
    # (parameter, SequencePlan): values computed against the connection just before running.
    deferred: tuple[tuple[str, SequencePlan], ...] = ()

    def bind(self, conn: sqlite3.Connection) -> dict[str, Any]:
        """The parameters to run ``sql`` with on ``conn`` (evaluating the deferred ones)."""
        if not self.deferred:
            return self.params
        params = dict(self.params)
        for name, plan in self.deferred:
            params[name] = json.dumps(plan.users(conn))
        return params


def window_range(window: Window, as_of_ms: int) -> tuple[int | None, int]:
    """``(lo, hi)``: the window holds timestamps ``lo < ts <= hi`` (``lo`` None: no lower end)."""
    t = as_of_ms
    if window.kind == "last_days":
        assert window.days is not None
        # Nothing happened before year 1 (no date can say so): the window starts there at the latest.
        return max(t - window.days * DAY_MS, _YEAR_ONE - 1), t
    if window.kind == "between":
        assert window.start is not None and window.end is not None
        start = date_to_ms(dt.date.fromisoformat(window.start))
        end = date_to_ms(dt.date.fromisoformat(window.end)) + DAY_MS - 1
        return start - 1, min(end, t)
    if window.kind == "since":
        assert window.start is not None
        return date_to_ms(dt.date.fromisoformat(window.start)) - 1, t
    return None, t


def _day(ms: int) -> int:
    return ms // DAY_MS


def _num(n: int | float) -> exp.Expr:
    return exp.Literal.number(n)


def _col(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table)


def _and(*parts: exp.Expr | None) -> exp.Expr:
    kept = [p for p in parts if p is not None]
    if not kept:
        return exp.true()
    return exp.and_(*kept, copy=False) if len(kept) > 1 else kept[0]


def _in(key: exp.Expr, query: exp.Expr) -> exp.In:
    return exp.In(this=key.copy(), query=exp.Subquery(this=query))


def _not(e: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Coalesce(this=exp.paren(e, copy=False), expressions=[exp.false()]))


def _unindexed(column: exp.Column) -> exp.Expr:
    """The column's value in a form SQLite will not answer from an index (``x + 0``)."""
    return exp.Add(this=column, expression=_num(0))


def _not_in(e: exp.In) -> exp.Expr:
    """``NOT (key IN subquery)`` for a universe row's primary key (never NULL) and a subquery
    that never returns NULL: the membership is never NULL, so no COALESCE is needed (SQLite
    then runs it as a plain ``NOT IN``, about a third faster than the wrapped form)."""
    return exp.Not(this=exp.paren(e, copy=False))


class _Compiler:
    def __init__(self, catalog: Catalog, as_of_ms: int, dialect: str):
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}")
        self.catalog = catalog
        self.t = as_of_ms
        self.dialect = dialect
        self.params: dict[str, Any] = {}
        self._alias_n = 0
        self._depth = 0
        # Subqueries over users that are just a predicate on a users row (see users_with).
        self._direct: dict[int, tuple[exp.Select, Any]] = {}
        # Subqueries returning each of their user (account) keys once, all of them keys of
        # the level's universe (see count_members). Keyed by id, holding the object so that
        # an id is never reused by another query while the compiler lives.
        self._distinct: dict[int, tuple[str, exp.Select]] = {}
        # User segments that are one such subquery (see members).
        self._same_as: dict[int, tuple[exp.Select, exp.Select]] = {}
        self.deferred: list[tuple[str, SequencePlan]] = []
        self._nest = 0  # groups, references and users conditions open around the current one
        self.ctes: list[tuple[str, exp.Select]] = []  # hoisted groups, innermost first

    # -- helpers ------------------------------------------------------------------------------
    def mark_distinct(self, level: str, query: exp.Select) -> exp.Select:
        self._distinct[id(query)] = (level, query)
        return query

    def is_distinct(self, level: str, query: exp.Select | None) -> bool:
        entry = self._distinct.get(id(query))
        return entry is not None and entry[0] == level and entry[1] is query

    def alias(self, prefix: str) -> str:
        self._alias_n += 1
        return f"{prefix}{self._alias_n}"

    def param(self, value: Any) -> exp.Expr:
        name = f"v{len(self.params) + 1}"
        self.params[name] = value
        return exp.Placeholder(this=name)

    def wrap(self, value: Any) -> Any:
        """Coerced filter values → parameters, keeping the Span / list / pair shapes."""
        if value is None:  # operators without a value
            return None
        if isinstance(value, Span):
            return Span(self.param(value.lo), self.param(value.hi))
        if isinstance(value, tuple):
            return tuple(self.wrap(v) for v in value)
        return self.param(value)

    def idiv(self, a: exp.Expr, b: int) -> exp.Expr:
        if not isinstance(a, exp.Column):
            a = exp.paren(a, copy=False)  # the builder does not add precedence parentheses
        if self.dialect == "sqlite":
            return exp.Div(this=a, expression=_num(b), typed=True, safe=False)
        if self.dialect == "clickhouse":  # sqlglot renders IntDiv there as a float division
            return exp.Anonymous(this="intDiv", expressions=[a, _num(b)])
        return exp.IntDiv(this=a, expression=_num(b))

    def event_pred(self, event: str, table: str) -> exp.Expr | None:
        if event == "*":
            return None
        if self.dialect == "clickhouse":  # a connected source's events are keyed by their name
            return exp.EQ(this=_col("event_key", table), expression=self.param(event))
        key = self.catalog.event_keys.get(event)
        # An event the project never saw matches no rows (a warning, not an error).
        return exp.EQ(this=_col("event_key", table), expression=_num(key if key is not None else -1))

    def filter_pred(self, entity: str, f: PropertyFilter, table: str, path: str) -> exp.Expr:
        prop = self.catalog.prop(entity, f.property)
        if prop is None:
            raise SegmentError(f"unknown {entity} property {f.property!r}", f"{path}.property")
        spec = OPERATORS[f.op]
        if prop.type not in spec.types:
            raise SegmentError(
                f"operator {f.op!r} does not apply to {prop.type} property {prop.name!r}", f"{path}.op"
            )
        coerced = coerce_filter(prop, f, path, self.t)
        if (
            spec.arity == "list"
            and self.dialect in ("sqlite", "clickhouse")
            and len(coerced) > _JSON_LIST
            and not any(isinstance(v, Span) for v in coerced)
        ):
            return exp.paren(self.json_list(spec, prop.type, _col(prop.column, table), coerced), copy=False)
        value = self.wrap(coerced)
        return exp.paren(spec.build(_col(prop.column, table), value), copy=False)

    def json_list(self, spec, ptype: str, column: exp.Column, values: tuple) -> exp.Expr:
        """``column IN (SELECT value FROM json_each(:v))``, null-safe like the list form."""
        if self.dialect == "clickhouse":
            element, typed = _ch_list(ptype, values)
            each = self.json_array(self.param(json.dumps(typed, ensure_ascii=False)), element)
        else:
            each = _select(exp.column("value")).from_(
                exp.Anonymous(this="json_each", expressions=[self.param(json.dumps(list(values)))])
            )
        test = exp.In(this=column.copy(), query=exp.Subquery(this=each))
        if not spec.negative:
            return test
        missing = exp.Is(this=column.copy(), expression=exp.Null())
        return exp.or_(missing, exp.Not(this=exp.paren(test, copy=False)), copy=False)

    def json_array(self, param: exp.Expr, element: str) -> exp.Select:
        """ClickHouse: ``SELECT arrayJoin(JSONExtract(:v, 'Array(T)')) AS value``, the rows of
        ONE bound JSON array (ClickHouse has no json_each; IN over it builds one hash set)."""
        array = exp.Anonymous(
            this="JSONExtract", expressions=[param, exp.Literal.string(f"Array({element})")]
        )
        return _select(exp.alias_(exp.Anonymous(this="arrayJoin", expressions=[array]), "value"))

    def where_preds(self, where, table: str, path: str) -> list[exp.Expr]:
        return [self.filter_pred("event", f, table, f"{path}[{i}]") for i, f in enumerate(where)]

    def time_preds(self, table: str, lo: int | None, hi: int, col: str = "ts") -> list[exp.Expr]:
        """``lo < col <= hi``. With a lower end, the upper bound is left out when no event is later
        than ``hi`` (the default as-of time): it holds for every row, and SQLite then tests one term less
        per row (a full scan of users for "last seen in the last 30 days" took half the time)."""
        preds: list[exp.Expr] = [exp.LTE(this=_col(col, table), expression=_num(hi))]
        if lo is not None:
            top = self.catalog.max_ts()
            # "col > lo" alone also rejects NULL (a user or account without events).
            preds = [exp.GT(this=_col(col, table), expression=_num(lo))]
            if top is None or hi < top:
                preds.append(exp.LTE(this=_col(col, table), expression=_num(hi)))
        return preds

    def lift_users(self, user_keys: exp.Select) -> exp.Select:
        """Account keys of the users in ``user_keys`` (the user → account link).

        A ``users_with`` query is a predicate on the users row itself: it is applied to the
        lifting scan directly instead of looking up each of its users again."""
        u = self.alias("lu")
        query = (
            _select(_col("account_key", u))
            .from_(exp.to_table("users").as_(u))
            .where(exp.Not(this=exp.Is(this=_col("account_key", u), expression=exp.Null())))
        )
        return self.restrict_users(query, u, user_keys)

    def restrict_users(self, query: exp.Select, u: str, users: exp.Select) -> exp.Select:
        """``query`` (a scan of ``users AS u``) kept to the users in ``users``.

        A subquery returning each user once is joined, not tested with ``IN``: SQLite then
        seeks each of its users instead of building a list of them and probing it per row
        (at 5M events "accounts with >= 5 users who logged in in the last 7 days" went from
        18 to 12 ms). A predicate on the users row itself is applied directly."""
        same = self._same_as.get(id(users))
        if same is not None and same[0] is users:
            users = same[1]
        if self.is_distinct("user", users):
            s = self.alias("s")
            col = users.selects[0].alias_or_name
            return query.join(
                exp.Subquery(this=users, alias=exp.TableAlias(this=exp.to_identifier(s))),
                on=exp.EQ(this=_col(col, s), expression=_col("user_key", u)),
            )
        direct = self._direct.get(id(users))
        if direct is not None and direct[0] is users:
            return query.where(direct[1](u))
        return query.where(_in(_col("user_key", u), users))

    # -- definitions --------------------------------------------------------------------------
    def universe(self, level: str) -> tuple[exp.Select, exp.Column, str]:
        if level == "user":
            a = self.alias("u")
            return (
                _select(_col("user_key", a).as_("key")).from_(exp.to_table("users").as_(a)),
                _col("user_key", a),
                a,
            )
        a = self.alias("a")
        inner = self.alias("au")
        linked = (
            _select(_col("account_key", inner))
            .from_(exp.to_table("users").as_(inner))
            .where(exp.Not(this=exp.Is(this=_col("account_key", inner), expression=exp.Null())))
        )
        query = (
            _select(_col("account_key", a).as_("key"))
            .from_(exp.to_table("accounts").as_(a))
            .where(
                exp.or_(
                    exp.EQ(this=_col("from_file", a), expression=_num(1)), _in(_col("account_key", a), linked)
                )
            )
        )
        return query, _col("account_key", a), a

    def count_members(self, seg: SegmentDef) -> exp.Select:
        """``count(*)`` of the members.

        A segment that is one condition "key in S" (or its negation), over a subquery S that
        returns each of its keys once, counts S itself (or the universe minus S): every key S
        can return (a user of the events, an account linked to a user) is in the universe, so
        the counts are equal, and SQLite skips building a list of S's keys and probing it once
        per universe row. At 5M events "did not log in in the last 30 days" went from
        45-65 ms to 2-9 ms this way; the builder's count of a lone condition gains the same."""
        if len(seg.conditions) != 1:
            return self._count(self.members(seg))
        query, key, alias = self.universe(seg.level)
        cond = self.condition(seg.conditions[0], seg.level, key, alias, "conditions[0]")
        negated, inner = _membership(cond)
        sub = inner.args["query"].this if isinstance(inner, exp.In) and inner.this == key else None
        if sub is not None and self.is_distinct(seg.level, sub):
            counted = self._count(sub)
        elif negated:
            # Rows where the positive form is TRUE are the ones left out (NULL and FALSE stay
            # in): the universe minus them, counted from an index range where there is one
            # ("not last seen in the last 30 days": 9 -> 2 ms at 5M events).
            counted = self._count(query.where(exp.paren(inner, copy=False)))
        else:
            return self._count(query.where(exp.paren(cond, copy=False)))
        if not negated:
            return counted
        everyone = self._count(self.universe(seg.level)[0])
        return _select(exp.Sub(this=exp.Subquery(this=everyone), expression=exp.Subquery(this=counted)))

    def _count(self, query: exp.Select) -> exp.Select:
        return _select(exp.Count(this=exp.Star())).from_(
            exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(self.alias("m"))))
        )

    def members(self, seg: SegmentDef, path: str = "") -> exp.Select:
        query, key, alias = self.universe(seg.level)
        cond = self.combine(seg.match, seg.conditions, seg.level, key, alias, _p(path, "conditions"))
        if cond is not None:
            query = query.where(cond)
        if seg.level == "user":
            # A user segment is a predicate on a users row: a scan of users elsewhere (the
            # "users" condition of an account segment) applies it to its own row.
            def pred(u, cond=cond):
                if cond is None:
                    return exp.true()
                return cond.copy().transform(
                    lambda n: _col(n.name, u) if isinstance(n, exp.Column) and n.table == alias else n
                )

            self._direct[id(query)] = (query, pred)
            negated, inner = _membership(cond) if cond is not None else (True, None)
            if not negated and isinstance(inner, exp.In) and inner.this == key:
                sub = inner.args["query"].this
                if self.is_distinct("user", sub):
                    self._same_as[id(query)] = (query, sub)
        return query

    def combine(self, match, conditions, level, key, alias, path) -> exp.Expr | None:
        parts = [self.condition(c, level, key, alias, f"{path}[{i}]") for i, c in enumerate(conditions)]
        if not parts:
            return None
        parts = [exp.paren(p, copy=False) for p in parts]
        if len(parts) == 1:
            return parts[0]
        if len(parts) > _FLAT_CHAIN:
            return _balanced(parts, exp.And if match == "all" else exp.Or)
        return exp.and_(*parts, copy=False) if match == "all" else exp.or_(*parts, copy=False)

    def hoisted(self, level, key, build) -> exp.Expr:
        """``key IN (SELECT key FROM gN)`` with ``gN`` a WITH table of the rows ``build(key,
        alias)`` keeps (None: all of them), when the nesting is deep; else ``build`` itself.

        ClickHouse always gets ``build`` itself: its parser allows 1,000 levels (32 negated
        groups measured fine on chdb), and the analyses embed segments as subqueries that
        could not carry the WITH tables along."""
        if self._nest < _HOIST_DEPTH or self.dialect == "clickhouse":
            self._nest += 1
            try:
                cond = build(key, None)
            finally:
                self._nest -= 1
            return cond
        saved, self._nest = self._nest, 0
        try:
            query, inner_key, alias = self.universe(level)
            cond = build(inner_key, alias)
        finally:
            self._nest = saved
        if cond is not None:
            query = query.where(cond)
        name = self.alias("g")
        self.ctes.append((name, query))
        return _in(key, _select(exp.column("key")).from_(exp.to_table(name)))

    def condition(self, c: Condition, level, key, alias, path) -> exp.Expr:
        expr = self._condition(c, level, key, alias, path)
        return _not(expr) if c.negate else expr

    def _condition(self, c, level, key, alias, path) -> exp.Expr:
        if isinstance(c, PropertyCondition):
            return self.property_condition(c, level, alias, path)
        if isinstance(c, BehaviorCondition):
            return self.behavior(c, level, key, path)
        if isinstance(c, SeenCondition):
            return self.seen(c, level, key, path)
        if isinstance(c, SequenceCondition):
            users = self.sequence(c, path)
            return _in(key, users if level == "user" else self.lift_users(users))
        if isinstance(c, SegmentRefCondition):
            other = self.catalog.saved(c.segment)
            if other is None:
                raise SegmentError(f"no saved segment named {c.segment!r}", f"{path}.segment")
            if other.level != level:
                raise SegmentError(
                    f"segment {c.segment!r} is a {other.level} segment, not {level}", f"{path}.segment"
                )
            self._depth += 1
            if self._depth > _MAX_DEPTH:
                raise SegmentError("segment references nest too deeply (a cycle?)", f"{path}.segment")
            # Same level: the referenced rule applies to the same row.
            cond = self.hoisted(
                level,
                key,
                lambda k, a: self.combine(other.match, other.conditions, level, k, a or alias, "conditions"),
            )
            self._depth -= 1
            return cond if cond is not None else exp.true()
        if isinstance(c, ListCondition):
            return _in(key, self.listed(c, level))
        if isinstance(c, UsersCondition):
            self._nest += 2  # a subquery: about as deep as two groups
            try:
                return self.users_condition(c, key, path)
            finally:
                self._nest -= 2
        if isinstance(c, GroupCondition):
            cond = self.hoisted(
                level,
                key,
                lambda k, a: self.combine(c.match, c.conditions, level, k, a or alias, f"{path}.conditions"),
            )
            return cond if cond is not None else exp.true()
        raise TypeError(c)  # pragma: no cover

    # -- property -----------------------------------------------------------------------------
    def property_condition(self, c: PropertyCondition, level: str, alias: str, path: str) -> exp.Expr:
        if level == "account" or c.entity == "user":
            return self.filter_pred(c.entity, c.filter, alias, path)
        # A user's account property: through the user's account; no account = missing value.
        a = self.alias("pa")
        accounts = (
            _select(_col("account_key", a))
            .from_(exp.to_table("accounts").as_(a))
            .where(self.filter_pred("account", c.filter, a, path))
        )
        expr: exp.Expr = _in(_col("account_key", alias), accounts)
        if OPERATORS[c.filter.op].negative:
            expr = exp.or_(exp.Is(this=_col("account_key", alias), expression=exp.Null()), expr)
        return expr

    # -- behaviour ----------------------------------------------------------------------------
    def behavior(self, c: BehaviorCondition, level: str, key: exp.Column, path: str) -> exp.Expr:
        lo, hi = window_range(c.window, self.t)
        spec = MEASURES[c.measure.fn]
        cmp = COMPARE_OPS[c.compare.op]
        zero_ok = spec.zero_when_empty and cmp.test(0, c.compare.value)
        if lo is not None and hi <= lo:  # empty window: every measure is "over no events"
            return exp.true() if zero_ok else exp.false()
        kind = _existence_kind(c.measure.fn, c.compare)
        if kind is not None and level == "account" and c.event == "*" and not c.where and key.table:
            # "Did anything" (by any of its users): the account's first/last event times decide
            # when the window has no lower end or reaches the latest event.
            if self._totals_decide(lo, hi):
                a = key.table
                pred = (
                    exp.LTE(this=_col("first_ts", a), expression=_num(hi))
                    if lo is None
                    else exp.GT(this=_col("last_ts", a), expression=_num(lo))
                )
                return pred if kind == "some" else _not(pred)
        if c.per == "users":
            users = self.exists_users(c.event, c.where, lo, hi, f"{path}.where")
            if kind is not None:
                expr = _in(key, self.lift_users(users))
                return expr if kind == "some" else _not_in(expr)
            u = self.alias("pu")
            counted = self.restrict_users(
                _select(_col("account_key", u))
                .from_(exp.to_table("users").as_(u))
                .where(exp.Not(this=exp.Is(this=_col("account_key", u), expression=exp.Null()))),
                u,
                users,
            ).group_by(_col("account_key", u))
            self.mark_distinct("account", counted)
            return self._having(counted, exp.Count(this=exp.Star()), c.compare, key, zero_ok, path)
        if kind is not None:
            users = self.exists_users(c.event, c.where, lo, hi, f"{path}.where")
            member = self.is_user(key, users) if level == "user" else _in(key, self.lift_users(users))
            if kind == "some":
                return member
            return _not_in(member) if isinstance(member, exp.In) else _not(member)
        if (
            level == "user"
            and key.table
            and self.dialect != "clickhouse"  # its decorrelated count drops users without rows
            and not c.where
            and c.measure.fn.startswith("distinct_")
            and (lo is None or _day(lo) < _day(hi))
        ):
            return self.active_periods(c, key, lo, hi, zero_ok)
        grouped, measure = self.measure_query(c, level, lo, hi, path)
        # Grouped by the level's key.
        self.mark_distinct(level, grouped)
        return self._having(grouped, measure, c.compare, key, zero_ok, path)

    def active_periods(self, c: BehaviorCondition, key: exp.Column, lo, hi, zero_ok) -> exp.Expr:
        """Distinct days/weeks/months with the event, per user row: a correlated count over the
        user's ``user_active_days`` rows in the window (a primary-key range seek per user), or
        ``user_days`` rows of the one event name (same seek, with the event in the key).

        Why not a grouped scan: a recent window is a small slice of each user's rows, and the
        seek reads only that slice; at 5M events "active on >= 10 of the last 28 days" took
        190-200 ms as a scan of the whole roll-up and 120-140 ms this way. A count is never
        NULL, so the comparison is exact for users without rows (0) too; when 0 cannot match,
        users whose first/last event rules out the window are skipped without a seek.
        """
        d = self.alias("d")
        fn = c.measure.fn
        measure = (
            exp.Count(this=exp.Star())
            if fn == "distinct_days"  # one row per (user[, event], day)
            else exp.Count(this=exp.Distinct(expressions=[self.period(fn, _col("day", d), lo, hi)]))
        )
        own = exp.EQ(this=_col("user_key", d), expression=key.copy())
        table = "user_active_days" if c.event == "*" else "user_days"
        sub = (
            _select(measure)
            .from_(exp.to_table(table).as_(d))
            .where(_and(own, self.event_pred(c.event, d), *self.active_day_preds(d, lo, hi)))
        )
        cmp = COMPARE_OPS[c.compare.op]
        value = (
            (self.param(c.compare.value[0]), self.param(c.compare.value[1]))
            if c.compare.op == "between"
            else self.param(c.compare.value)
        )
        test = cmp.build(exp.Subquery(this=sub), value)
        if zero_ok:
            return test
        # 0 cannot match: only users with the event inside the window's span need the seek.
        if c.event != "*":
            return _and(self.is_user(key, self.event_users(c.event, lo, hi)), exp.paren(test, copy=False))
        # The pre-test compares expressions, not the bare indexed columns: read through the
        # users(last_ts) index, users come in last-seen order and the seeks jump around the
        # roll-up; scanned in key order they follow its clustering (at 5M events "active on
        # >= 10 of the last 28 days" took 240-300 ms the first way, 150-170 ms this way).
        # Users without events fail it either way (NULL), and it only skips seeks.
        u = key.table
        seen: list[exp.Expr] = [exp.LTE(this=_unindexed(_col("first_ts", u)), expression=_num(hi))]
        if lo is not None:
            seen.insert(0, exp.GT(this=_unindexed(_col("last_ts", u)), expression=_num(lo)))
        return _and(*seen, exp.paren(test, copy=False))

    def event_users(self, event: str, lo: int | None, hi: int) -> exp.Select:
        """Users from ``user_events`` whose first/last ``event`` bound the window: last > lo and
        first <= hi. A superset of the users with the event in the window in general; exactly
        them when ``lo`` is None or no event is later than ``hi``."""
        top = self.catalog.max_ts()

        def preds(t):
            out = [] if lo is None else [exp.GT(this=_col("last_ts", t), expression=_num(lo))]
            if top is None or hi < top:
                out.append(exp.LTE(this=_col("first_ts", t), expression=_num(hi)))
            return out

        return self.totals_with(event, preds)

    def totals_with(self, event: str, preds) -> exp.Select:
        """Users whose ``user_events`` row for ``event`` meets ``preds(alias)``."""
        t = self.alias("ue")
        query = (
            _select(_col("user_key", t))
            .from_(exp.to_table("user_events").as_(t))
            .where(_and(self.event_pred(event, t), *preds(t)))
        )
        self.mark_distinct("user", query)  # one row per (event, user)
        return query

    def _totals_decide(self, lo: int | None, hi: int) -> bool:
        """Whether a user's all-time first/last event say exactly if one is in ``(lo, hi]``."""
        top = self.catalog.max_ts()
        return lo is None or (top is not None and hi >= top)

    def compare_test(self, measure: exp.Expr, compare: Compare) -> exp.Expr:
        value = (
            (self.param(compare.value[0]), self.param(compare.value[1]))
            if compare.op == "between"
            else self.param(compare.value)
        )
        return COMPARE_OPS[compare.op].build(measure, value)

    def _having(self, grouped: exp.Select, measure: exp.Expr, compare: Compare, key, zero_ok, path):
        test = self.compare_test(measure, compare)
        if zero_ok:
            # Keys without events (measure 0) match: exclude only the keys whose value fails.
            return _not_in(_in(key, grouped.having(exp.Not(this=exp.paren(test, copy=False)))))
        return _in(key, grouped.having(test))

    def users_with(self, pred) -> exp.Select:
        u = self.alias("fu")
        query = _select(_col("user_key", u)).from_(exp.to_table("users").as_(u)).where(pred(u))
        self._direct[id(query)] = (query, pred)
        return query

    def is_user(self, key: exp.Column, users: exp.Expr) -> exp.Expr:
        """``key IN users``; a plain predicate on the outer users row when ``users`` is one."""
        direct = self._direct.get(id(users))
        if direct is not None and direct[0] is users and key.table:
            return direct[1](key.table)
        return _in(key, users)

    def exists_users(self, event: str, where, lo: int | None, hi: int, path: str) -> exp.Select:
        """Users with at least one matching event in ``(lo, hi]``.

        A specific event is an index-only range scan of ``events(event_key, ts, user_key)``.
        For any event ("*") up to the latest event, ``users.first_ts``/``last_ts`` answer
        exactly without touching events.
        """
        if event == "*" and not where:
            top = self.catalog.max_ts()
            if lo is None:
                return self.users_with(lambda u: exp.LTE(this=_col("first_ts", u), expression=_num(hi)))
            if top is not None and hi >= top:
                return self.users_with(lambda u: exp.GT(this=_col("last_ts", u), expression=_num(lo)))
            if _day(lo) < _day(hi):
                # A window ending before the latest event: a user's active-day row inside it,
                # with the edge days decided by first_ts/last_ts, exactly as for distinct days.
                d = self.alias("d")
                return (
                    _select(_col("user_key", d))
                    .from_(exp.to_table("user_active_days").as_(d))
                    .where(_and(*self.active_day_preds(d, lo, hi)))
                )
        # On ClickHouse the roll-up is a CTE grouped over every event (2.9 s at 50M events for
        # "did login in the last 7 days"): a window reads the event's rows in it instead, a range
        # of the source's (event, time) key, grouped to one row per user.
        windowed_ch = self.dialect == "clickhouse" and lo is not None
        if event != "*" and not where and self._totals_decide(lo, hi) and not windowed_ch:
            return self.event_users(event, lo, hi)
        e = self.alias("e")
        preds = [self.event_pred(event, e), *self.time_preds(e, lo, hi), *self.where_preds(where, e, path)]
        query = _select(_col("user_key", e)).from_(exp.to_table("events").as_(e)).where(_and(*preds))
        if windowed_ch:
            return self.mark_distinct("user", query.group_by(_col("user_key", e)))
        return query

    def active_day_preds(self, d: str, lo: int | None, hi: int) -> list[exp.Expr]:
        """``user_active_days`` rows holding an event in ``(lo, hi]`` (exact when lo and hi fall on
        different days: then only the edge days can be partial, and their first_ts/last_ts say
        whether one of their events is inside).

        The day range comes first: SQLite tests the terms of a scan in the order written, and
        ``day >= lo's day`` rejects most rows of a recent window at once (about a third less time
        on "active on 10 of the last 28 days" than with the always-true terms first)."""
        preds: list[exp.Expr] = []
        if lo is not None:
            preds.append(exp.GTE(this=_col("day", d), expression=_num(_day(lo))))
        preds.append(exp.LTE(this=_col("day", d), expression=_num(_day(hi))))
        if lo is not None:
            preds.append(exp.GT(this=_col("last_ts", d), expression=_num(lo)))
        preds.append(exp.LTE(this=_col("first_ts", d), expression=_num(hi)))
        return preds

    def _source(self, table: str | exp.Expr, level: str, alias: str) -> tuple[exp.Select, exp.Column]:
        """``FROM table`` (or a subquery) keyed by user, or joined to users and keyed by account."""
        if isinstance(table, str):
            base = _select().from_(exp.to_table(table).as_(alias))
        else:
            sub = exp.Subquery(this=table, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            base = _select().from_(sub)
        if level == "user":
            return base, _col("user_key", alias)
        u = self.alias("ju")
        base = base.join(
            exp.to_table("users").as_(u),
            on=_and(
                exp.EQ(this=_col("user_key", u), expression=_col("user_key", alias)),
                exp.Not(this=exp.Is(this=_col("account_key", u), expression=exp.Null())),
            ),
        )
        return base, _col("account_key", u)

    def measure_query(self, c: BehaviorCondition, level, lo, hi, path) -> tuple[exp.Select, exp.Expr]:
        fn = c.measure.fn
        if (
            c.event == "*"
            and not c.where
            and fn.startswith("distinct_")
            and (lo is None or _day(lo) < _day(hi))
        ):
            # Periods with any event: the any-event roll-up has one row per user and active day
            # (a third of user_days' rows), and its first_ts/last_ts decide the partial edge days
            # exactly (lo and hi fall on different days).
            d = self.alias("d")
            q, k = self._source("user_active_days", level, d)
            q = q.select(k.copy().as_("k")).where(_and(*self.active_day_preds(d, lo, hi))).group_by(k.copy())
            if fn == "distinct_days" and level == "user":
                # One row per (user, day): counting rows is counting distinct days, no DISTINCT.
                return q, exp.Count(this=exp.Star())
            return q, exp.Count(this=exp.Distinct(expressions=[self.period(fn, _col("day", d), lo, hi)]))
        if c.event == "*" and not c.where and fn == "count" and (lo is None or _day(lo) < _day(hi)):
            return self.any_event_count(level, lo, hi)
        top = self.catalog.max_ts()
        if c.event != "*" and not c.where and fn == "count" and lo is None and top is not None and hi >= top:
            # Every event of the name is inside the window: its all-time count is the answer.
            t = self.alias("ue")
            q, k = self._source("user_events", level, t)
            q = q.select(k.copy().as_("k")).where(self.event_pred(c.event, t)).group_by(k.copy())
            return q, exp.Sum(this=_col("n", t))
        e = self.alias("e")
        preds = [
            self.event_pred(c.event, e),
            *self.time_preds(e, lo, hi),
            *self.where_preds(c.where, e, f"{path}.where"),
        ]
        if fn == "count" and level == "account":
            # Counted per user first, then per account: each user's account is looked up once,
            # not once per event, and the second grouping sorts users, not events (at 5M
            # events "accounts with create_report >= 10 times in 30 days" ~55 -> ~30 ms).
            per_user = (
                _select(_col("user_key", e), exp.Count(this=exp.Star()).as_("c"))
                .from_(exp.to_table("events").as_(e))
                .where(_and(*preds))
                .group_by(_col("user_key", e))
            )
            x = self.alias("x")
            q, k = self._source(per_user, level, x)
            return q.select(k.copy().as_("k")).group_by(k.copy()), exp.Sum(this=_col("c", x))
        q, k = self._source("events", level, e)
        q = q.select(k.copy().as_("k")).where(_and(*preds)).group_by(k.copy())
        if fn == "count":
            return q, exp.Count(this=exp.Star())
        if fn.startswith("distinct_"):
            day = self.idiv(_col("ts", e), DAY_MS)
            return q, exp.Count(this=exp.Distinct(expressions=[self.period(fn, day, lo, hi)]))
        prop = self.catalog.prop("event", c.measure.property or "")
        if prop is None:
            raise SegmentError(f"unknown event property {c.measure.property!r}", f"{path}.measure.property")
        column = _col(prop.column, e)
        # Events without the value add nothing to a sum, average, minimum or maximum; saying
        # so lets SQLite read the property's partial index when it has one (sparse numeric
        # properties, see storage.schema.sparse_property_index_sql).
        # (Written "x IS NOT NULL": SQLite matches a partial index's WHERE literally, "NOT x IS
        # NULL" does not count.)
        q = q.where(exp.Is(this=column.copy(), expression=exp.Not(this=exp.Null())))
        if fn == "sum":
            return q, exp.Coalesce(this=exp.Sum(this=column), expressions=[_num(0)])
        agg = {"avg": exp.Avg, "min": exp.Min, "max": exp.Max}[fn]
        return q, agg(this=column)

    def any_event_count(self, level: str, lo: int | None, hi: int) -> tuple[exp.Select, exp.Expr]:
        """Events of any name in ``(lo, hi]`` per key: whole days from ``user_active_days.n``, the
        partial edge days (at most two: lo and hi are on different days) from ``events``' time
        index, so the count is exact without reading every event of the window."""
        d_lo = None if lo is None else _day(lo)
        d_hi = _day(hi)
        d = self.alias("d")
        whole: list[exp.Expr] = [exp.LT(this=_col("day", d), expression=_num(d_hi))]
        if d_lo is not None:
            whole.insert(0, exp.GT(this=_col("day", d), expression=_num(d_lo)))
        parts: list[exp.Select] = [
            _select(_col("user_key", d).as_("user_key"), _col("n", d).as_("c"))
            .from_(exp.to_table("user_active_days").as_(d))
            .where(_and(*whole))
        ]
        edges = [(d_hi * DAY_MS - 1, hi)]  # (lo, hi] pieces read from events
        if lo is not None and d_lo is not None:
            edges.insert(0, (lo, (d_lo + 1) * DAY_MS - 1))
        for a, b in edges:
            e = self.alias("e")
            parts.append(
                _select(_col("user_key", e).as_("user_key"), _num(1).as_("c"))
                .from_(exp.to_table("events").as_(e))
                .where(_and(*self.time_preds(e, a, b)))
            )
        union: exp.Expr = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False, copy=False)
        x = self.alias("x")
        q, k = self._source(union, level, x)
        q = q.select(k.copy().as_("k")).group_by(k.copy())
        return q, exp.Sum(this=_col("c", x))

    def period(self, fn: str, day: exp.Expr, lo: int | None, hi: int) -> exp.Expr:
        if fn == "distinct_days":
            return day
        if fn == "distinct_weeks":
            # Day 0 (1970-01-01) is a Thursday: +3 makes Monday-based weeks.
            return self.idiv(exp.Add(this=day, expression=_num(3)), 7)
        # Calendar months: boundaries computed here, so no engine date function is needed.
        first = ms_to_date(lo + 1 if lo is not None else self.catalog.min_ts(hi))
        last = ms_to_date(hi)
        month = dt.date(first.year, first.month, 1)
        ifs = []
        n = 0
        while month <= last:
            nxt = add_months(month, 1)
            ifs.append(
                exp.If(this=exp.LT(this=day.copy(), expression=_num(_day(date_to_ms(nxt)))), true=_num(n))
            )
            month = nxt
            n += 1
        if len(ifs) <= 1:
            return _num(0)
        return exp.Case(ifs=ifs, default=_num(n))

    # -- first / last seen --------------------------------------------------------------------
    def first_seen_users(self, event: str, lo: int | None, hi: int) -> exp.Select:
        # The first event (of all: users.first_ts; of the name: user_events.first_ts) is in the
        # window; being <= hi <= T, it is also the first one up to T.
        if event == "*":
            return self.users_with(lambda u: _and(*self.time_preds(u, lo, hi, "first_ts")))
        return self.totals_with(event, lambda t: self.time_preds(t, lo, hi, "first_ts"))

    def last_seen_users(self, event: str, lo: int | None, hi: int) -> exp.Expr | exp.Select:
        top = self.catalog.max_ts()
        if top is not None and self.t >= top:
            # Every event is <= T: the last event (users.last_ts, or user_events.last_ts for
            # the name) is the last one up to T.
            if event == "*":
                return self.users_with(lambda u: _and(*self.time_preds(u, lo, hi, "last_ts")))
            return self.totals_with(event, lambda t: self.time_preds(t, lo, hi, "last_ts"))
        inside = self.exists_users(event, (), lo, hi, "")
        if hi >= self.t:
            return inside
        later = self.exists_users(event, (), hi, self.t, "")
        e = inside.args["from_"].this.alias_or_name if event != "*" else None
        if e is None:
            u = self.alias("lsu")
            return (
                _select(_col("user_key", u))
                .from_(exp.to_table("users").as_(u))
                .where(_and(_in(_col("user_key", u), inside), _not(_in(_col("user_key", u), later))))
            )
        return inside.where(_not(_in(_col("user_key", e), later)))

    def seen(self, c: SeenCondition, level: str, key: exp.Column, path: str) -> exp.Expr:
        lo, hi = window_range(c.window, self.t)
        if lo is not None and hi <= lo:
            return exp.false()
        if level == "user":
            users = (
                self.first_seen_users(c.event, lo, hi)
                if c.kind == "first_seen"
                else self.last_seen_users(c.event, lo, hi)
            )
            return self.is_user(key, users)
        top = self.catalog.max_ts()
        if c.event == "*" and key.table and (c.kind == "first_seen" or (top is not None and self.t >= top)):
            # The account's own first/last event time (its users' earliest/latest, kept by the
            # importer); the first one in the window is also the first up to T (hi <= T), the last
            # one is the last up to T when no event is later than T.
            col = "first_ts" if c.kind == "first_seen" else "last_ts"
            return _and(*self.time_preds(key.table, lo, hi, col))
        # An account's first (last) event is the first (last) of all its users' events: one of
        # them has an event in the window and none has one before (after) it.
        inside = _in(key, self.lift_users(self.exists_users(c.event, (), lo, hi, path)))
        if c.kind == "first_seen":
            if lo is None:
                return inside
            other = self.exists_users(c.event, (), None, lo, path)
        else:
            if hi >= self.t:
                return inside
            other = self.exists_users(c.event, (), hi, self.t, path)
        return _and(inside, _not(_in(key, self.lift_users(other))))

    # -- sequence -----------------------------------------------------------------------------
    def sequence(self, c: SequenceCondition, path: str) -> exp.Select:
        """Users who did the steps in order (strictly later timestamps) within the limit.

        Greedy and exact: from each occurrence of step 1, the earliest later occurrence of
        each next step leaves the most room for the rest. Each step is one pass of a window
        function over the current "frontier" rows and the step's events, sorted per user
        (scans and sorts only: no nested-loop joins between event sets). The stages are
        CTEs, so the SQL stays flat however many steps there are (SQLite's parser has a
        small nesting limit).
        """
        lo, hi = window_range(c.window, self.t)
        limit = None if c.within_days is None else round(c.within_days * DAY_MS)

        def step_events(j: int, alias: str) -> list[exp.Expr | None]:
            step = c.steps[j]
            return [
                self.event_pred(step.event, alias),
                *self.time_preds(alias, lo, hi),
                *self.where_preds(step.where, alias, f"{path}.steps[{j}].where"),
            ]

        def candidates(alias: str, own: int) -> list[exp.Expr]:
            # Only users who did every other step in the window can complete the sequence:
            # cheap index range scans that keep the sorted window passes small.
            # (The per-event totals answer this without reading events when they decide it.)
            out: list[exp.Expr] = []
            for j in range(len(c.steps)):
                if j != own:
                    step = c.steps[j]
                    did = self.exists_users(step.event, step.where, lo, hi, f"{path}.steps[{j}].where")
                    out.append(_in(_col("user_key", alias), did))
            return out

        if self.dialect == "sqlite" and all(step.event != "*" for step in c.steps):
            return self.sequence_plan(c, limit, step_events)
        ctes: list[tuple[str, exp.Expr]] = []
        e = self.alias("e")
        stage = self.alias("st")
        ctes.append(
            (
                stage,
                _select(_col("user_key", e).as_("k"), _col("ts", e).as_("t1"), _col("ts", e).as_("t"))
                .from_(exp.to_table("events").as_(e))
                .where(_and(*step_events(0, e), *candidates(e, 0))),
            )
        )
        for i in range(1, len(c.steps)):
            e, both, ww = self.alias("e"), self.alias("sb"), self.alias("ww")
            frontier = _select(exp.column("k"), exp.column("t1"), exp.column("t"), _num(0).as_("kind")).from_(
                exp.to_table(stage)
            )
            step_rows = (
                _select(
                    _col("user_key", e).as_("k"),
                    exp.Null().as_("t1"),
                    _col("ts", e).as_("t"),
                    _num(1).as_("kind"),
                )
                .from_(exp.to_table("events").as_(e))
                .where(_and(*step_events(i, e), *candidates(e, i)))
            )
            ctes.append((both, exp.union(frontier, step_rows, distinct=False, copy=False)))
            nxt = exp.Window(
                this=exp.Min(
                    this=exp.Case(
                        ifs=[
                            exp.If(
                                this=exp.EQ(this=exp.column("kind"), expression=_num(1)), true=exp.column("t")
                            )
                        ]
                    )
                ),
                partition_by=[exp.column("k")],
                order=exp.Order(expressions=[exp.Ordered(this=exp.column("t"))]),
                # RANGE 1 FOLLOWING on integer ms: strictly later timestamps only.
                spec=exp.WindowSpec(
                    kind="RANGE", start=_num(1), start_side="FOLLOWING", end="UNBOUNDED", end_side="FOLLOWING"
                ),
            )
            windowed = _select(exp.column("k"), exp.column("t1"), exp.column("kind"), nxt.as_("nxt")).from_(
                exp.to_table(both)
            )
            preds = [
                exp.EQ(this=_col("kind", ww), expression=_num(0)),
                exp.Not(this=exp.Is(this=_col("nxt", ww), expression=exp.Null())),
            ]
            if limit is not None:
                preds.append(
                    exp.LTE(
                        this=_col("nxt", ww), expression=exp.Add(this=_col("t1", ww), expression=_num(limit))
                    )
                )
            stage = self.alias("st")
            ctes.append(
                (
                    stage,
                    _select(_col("k", ww).as_("k"), _col("t1", ww).as_("t1"), _col("nxt", ww).as_("t"))
                    .from_(exp.Subquery(this=windowed, alias=exp.TableAlias(this=exp.to_identifier(ww))))
                    .where(_and(*preds)),
                )
            )
        out = _select(exp.column("k")).from_(exp.to_table(stage))
        for name, body in ctes:
            out = out.with_(name, as_=body)
        return out

    def sequence_plan(self, c: SequenceCondition, limit: int | None, step_events) -> exp.Select:
        """The sequence's users as ``json_each(:seqN)``, filled in by a :class:`SequencePlan`
        (numpy) just before the query runs; see :mod:`seglab.core.segments.sequence`. Steps
        of any event ("*") keep the SQL form: every event of the window would be read."""
        steps = []
        for j in range(len(c.steps)):
            e = self.alias("e")
            step = (
                _select(_col("user_key", e), _col("ts", e))
                .from_(exp.to_table("events").as_(e))
                .where(_and(*step_events(j, e)))
            )
            steps.append((_render(step, self.dialect), _used(step, self.params)))
        name = f"seq{len(self.deferred) + 1}"
        self.deferred.append((name, SequencePlan(tuple(steps), limit)))
        query = _select(exp.column("value").as_("k")).from_(
            exp.Table(this=exp.Anonymous(this="json_each", expressions=[exp.Placeholder(this=name)]))
        )
        self.mark_distinct("user", query)  # sorted, distinct user keys
        return query

    # -- list -----------------------------------------------------------------------------------
    def listed(self, c: ListCondition, level: str) -> exp.Select:
        """Keys of the listed ids: the ids are ONE parameter (a JSON array) unpacked by the engine
        and joined to the id's unique index, so 100,000 ids cost one statement, not a giant IN list."""
        table, id_col, key_col = (
            ("users", "user_id", "user_key")
            if level == "user"
            else (
                "accounts",
                "account_id",
                "account_key",
            )
        )
        ids = self.param(json.dumps(list(dict.fromkeys(c.ids)), ensure_ascii=False))
        j, t = self.alias("j"), self.alias("l")
        if self.dialect == "clickhouse":
            # A connected source's keys are the ids: its users (accounts) whose id is listed.
            query = (
                _select(_col(key_col, t))
                .from_(exp.to_table(table).as_(t))
                .where(exp.In(this=_col(id_col, t), query=exp.Subquery(this=self.json_array(ids, "String"))))
            )
            if level == "user":
                self.mark_distinct("user", query)
            return query
        source: exp.Table | exp.Subquery
        if self.dialect == "sqlite":
            source = exp.Table(
                this=exp.Anonymous(this="json_each", expressions=[ids]),
                alias=exp.TableAlias(this=exp.to_identifier(j)),
            )
        else:
            unpack = exp.Anonymous(this="from_json", expressions=[ids, exp.Literal.string('["VARCHAR"]')])
            source = exp.Subquery(
                this=_select(exp.Unnest(expressions=[unpack]).as_("value")),
                alias=exp.TableAlias(this=exp.to_identifier(j)),
            )
        query = (
            _select(_col(key_col, t))
            .from_(source)
            .join(exp.to_table(table).as_(t), on=exp.EQ(this=_col(id_col, t), expression=_col("value", j)))
        )
        if level == "user":
            self.mark_distinct("user", query)  # ids are unique, so are their keys; every user is counted
        return query

    # -- users (account level) ----------------------------------------------------------------
    def users_condition(self, c: UsersCondition, key: exp.Column, path: str) -> exp.Expr:
        inner = self.members(c.match, f"{path}.match")
        u = self.alias("cu")
        if c.share:
            # Users per account over the users that match, both counted per account: with the
            # account in the user property indexes a property's matches are counted from its
            # index alone, where one CASE per user read every users row (at 5M events 33 ms ->
            # 11 ms). Accounts without users have no share at all: never a match.
            h, t, x = self.alias("ch"), self.alias("ct"), self.alias("cx")

            def per_account(alias: str) -> exp.Select:
                return (
                    _select(
                        _col("account_key", alias).as_("account_key"), exp.Count(this=exp.Star()).as_("n")
                    )
                    .from_(exp.to_table("users").as_(alias))
                    .where(exp.Not(this=exp.Is(this=_col("account_key", alias), expression=exp.Null())))
                )

            everyone = per_account(u).group_by(_col("account_key", u))
            hits = self.restrict_users(per_account(h), h, inner).group_by(_col("account_key", h))
            share = exp.Div(
                this=exp.Coalesce(this=_col("n", x), expressions=[_num(0)]),
                expression=_col("n", t),
                typed=False,
                safe=False,
            )
            query = (
                _select(_col("account_key", t))
                .from_(exp.Subquery(this=everyone, alias=exp.TableAlias(this=exp.to_identifier(t))))
                .join(
                    exp.Subquery(this=hits, alias=exp.TableAlias(this=exp.to_identifier(x))),
                    on=exp.EQ(this=_col("account_key", x), expression=_col("account_key", t)),
                    join_type="left",
                )
                .where(self.compare_test(share, c.compare))
            )
            self.mark_distinct("account", query)
            return _in(key, query)
        not_null = exp.Not(this=exp.Is(this=_col("account_key", u), expression=exp.Null()))
        grouped = self.restrict_users(
            _select(_col("account_key", u)).from_(exp.to_table("users").as_(u)).where(not_null), u, inner
        ).group_by(_col("account_key", u))
        zero_ok = COMPARE_OPS[c.compare.op].test(0, c.compare.value)
        self.mark_distinct("account", grouped)
        return self._having(grouped, exp.Count(this=exp.Star()), c.compare, key, zero_ok, path)


def _ch_list(ptype: str, values: tuple) -> tuple[str, list]:
    """An in/not_in list as ClickHouse's JSON array element type and the values of that type
    which can equal a stored value. SQLite compares numbers by value across INTEGER and REAL;
    here an integer property keeps the integral numbers (1.0 is 1; 1.5 matches no integer)
    and a real property the numbers a float holds exactly, so both engines match the same rows."""
    if ptype in ("integer", "boolean"):
        return "Int64", [int(v) for v in values if isinstance(v, int) or float(v).is_integer()]
    if ptype == "real":
        return "Float64", [float(v) for v in values if float(v) == v]
    return "String", [str(v) for v in values]


def _balanced(parts: list[exp.Expr], op: type[exp.Connector]) -> exp.Expr:
    if len(parts) == 1:
        return parts[0]
    mid = len(parts) // 2
    return exp.paren(op(this=_balanced(parts[:mid], op), expression=_balanced(parts[mid:], op)), copy=False)


def _membership(cond: exp.Expr) -> tuple[bool, exp.Expr]:
    """(True, x) when ``cond`` keeps exactly the rows where ``x`` is not TRUE:
    ``NOT COALESCE((x), FALSE)``, or ``NOT (x)`` for an ``x`` that is never NULL (a membership
    of a key, an ``IS NULL`` test); (False, cond) otherwise."""
    while isinstance(cond, exp.Paren):
        cond = cond.this
    if not isinstance(cond, exp.Not):
        return False, cond
    inner = cond.this
    null_safe = isinstance(inner, exp.Coalesce) and inner.expressions and inner.expressions[0] == exp.false()
    if null_safe:
        inner = inner.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if null_safe or isinstance(inner, (exp.In, exp.Is)):
        return True, inner
    return False, cond


def _p(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _existence_kind(fn: str, compare: Compare) -> str | None:
    """'some' when the comparison means "at least one event", 'none' when "no event", else None."""
    if fn not in ("count", "distinct_days", "distinct_weeks", "distinct_months"):
        return None
    cmp = COMPARE_OPS[compare.op]
    if compare.op == "between":
        return None
    v = compare.value
    if compare.op in ("gt", "gte", "neq") and not cmp.test(0, v) and all(cmp.test(n, v) for n in (1, 2, 3)):
        if compare.op != "neq" or v == 0:
            return "some"
    if compare.op in ("eq", "lt", "lte") and cmp.test(0, v) and not cmp.test(1, v):
        return "none"
    return None


def _render(query: exp.Expr, dialect: str) -> str:
    query = _plain(query)
    if dialect == "duckdb":
        query = query.transform(
            lambda node: (
                exp.Lower(this=node.expressions[0])
                if isinstance(node, exp.Anonymous) and str(node.this).lower() == "seglab_lower"
                else node
            )
        )
    return query.sql(dialect=dialect, copy=False)


def compile_segment(
    conn_or_catalog: sqlite3.Connection | Catalog,
    seg: SegmentDef,
    as_of_ms: int | None,
    dialect: str = "sqlite",
    *,
    check: bool = True,
) -> CompiledQuery:
    """SQL selecting the member keys of ``seg`` (one column, ``key``), ordered by key.

    ``as_of_ms`` None resolves the project's as-of time (needs a connection).
    """
    catalog = as_catalog(conn_or_catalog)
    if check:
        validate(catalog, seg)
    if as_of_ms is None:
        as_of_ms = _resolve(conn_or_catalog)
    comp = _Compiler(catalog, as_of_ms, dialect)
    query = comp.members(seg).order_by("key")
    return _compiled(comp, query)


def compile_count(
    conn_or_catalog, seg: SegmentDef, as_of_ms: int | None, dialect: str = "sqlite", *, check: bool = True
) -> CompiledQuery:
    catalog = as_catalog(conn_or_catalog)
    if check:
        validate(catalog, seg)
    if as_of_ms is None:
        as_of_ms = _resolve(conn_or_catalog)
    comp = _Compiler(catalog, as_of_ms, dialect)
    return _compiled(comp, comp.count_members(seg))


def _compiled(comp: _Compiler, query: exp.Select) -> CompiledQuery:
    for name, cte in comp.ctes:  # innermost first: each may read the ones before it
        query = query.with_(name, as_=cte, copy=False)
    names = {p.name for p in query.find_all(exp.Placeholder)}
    deferred = tuple((name, plan) for name, plan in comp.deferred if name in names)
    return CompiledQuery(_render(query, comp.dialect), _used(query, comp.params), comp.dialect, deferred)


def _used(query: exp.Expr, params: dict[str, Any]) -> dict[str, Any]:
    # A datetime Span binds both ends, but e.g. "after" only uses one: engines such as
    # DuckDB refuse parameters the statement does not use.
    names = {p.name for p in query.find_all(exp.Placeholder)}
    return {k: v for k, v in params.items() if k in names}


def compile_condition_keys(
    catalog: Catalog, level: str, condition: Condition, as_of_ms: int, dialect: str = "sqlite"
) -> CompiledQuery:
    """Member keys of the one-condition segment (used for per-condition counts)."""
    seg = SegmentDef(level=level, match="all", conditions=(condition,))
    return compile_segment(catalog, seg, as_of_ms, dialect, check=False)


def _resolve(conn_or_catalog) -> int:
    from seglab.core.project import resolve_as_of

    if isinstance(conn_or_catalog, Catalog):
        if conn_or_catalog.default_as_of is None:
            raise ValueError("compile_segment with a Catalog needs an explicit as_of_ms")
        return conn_or_catalog.default_as_of
    t = resolve_as_of(conn_or_catalog)
    return t if t is not None else default_as_of_without_events()


def default_as_of_without_events() -> int:
    """A project without events has no latest event: windows end now."""
    import time

    return int(time.time() * 1000)
