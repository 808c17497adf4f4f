"""Event filters for analyses, on THE operator table (``seglab.core.segments.operators``).

An analysis names an event as ``purchase[amount>=100; platform=web]``: an event name
(``*`` for any) and event-property filters that mean exactly what the same operator
means in a segment's ``where`` (same validation, same value reading, same SQL builder,
same missing-value rule). :class:`EventSelector` is that name plus filters;
:func:`parse_event` / :func:`format_event` are the text form (docs/analyses.md, "Event
filters"). :func:`compile_filters` turns filters into an SQL fragment with bound
parameters; :func:`shadow_ctes` makes an analysis read only the matching events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from seglab.core.errors import AnalysisError, SegmentError
from seglab.core.segments.model import PropertyFilter
from seglab.core.segments.operators import OPERATORS, Span

__all__ = [
    "FILTER_SYMBOLS",
    "EventSelector",
    "PropertyFilter",
    "compile_filters",
    "format_event",
    "parse_event",
    "parse_event_list",
    "selector_of",
]

# The text operators, longest first so ">=" is not read as ">".
FILTER_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("!=", "neq"),
    (">=", "gte"),
    ("<=", "lte"),
    ("=", "eq"),
    (">", "gt"),
    ("<", "lt"),
    ("~", "contains"),
)
_SYMBOL_OF = {op: symbol for symbol, op in FILTER_SYMBOLS}
_NEEDS_QUOTES = re.compile(r"[\s;\]\"'\[]")


@dataclass(frozen=True)
class EventSelector:
    """An event name (``*``: any event) and the event-property filters its events must pass."""

    event: str = "*"
    where: tuple[PropertyFilter, ...] = ()

    @property
    def text(self) -> str:
        return format_event(self)

    @property
    def any_event(self) -> bool:
        return self.event == "*"

    @property
    def plain_any(self) -> bool:
        """Any event, unfiltered: the any-event roll-ups answer it."""
        return self.event == "*" and not self.where


def selector_of(event) -> EventSelector:
    """An :class:`EventSelector` from one, from ``{"event", "where"}`` or from its text form."""
    if isinstance(event, EventSelector):
        return event
    if isinstance(event, dict):
        where = tuple(
            w if isinstance(w, PropertyFilter) else PropertyFilter(w["property"], w["op"], w.get("value"))
            for w in event.get("where") or ()
        )
        return EventSelector(str(event.get("event", "*")).strip() or "*", where)
    if hasattr(event, "event") and hasattr(event, "where"):  # a FunnelStep
        return EventSelector(event.event, tuple(event.where))
    if event is None:
        return EventSelector()
    return parse_event(str(event))


def _quote(value) -> str:
    text = "" if value is None else str(value)
    if text == "" or _NEEDS_QUOTES.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def format_filter(f: PropertyFilter) -> str:
    symbol = _SYMBOL_OF.get(f.op)
    if symbol is None:  # an operator without a text form (saved from JSON): its name
        value = f.value if not isinstance(f.value, tuple) else ",".join(str(v) for v in f.value)
        return (
            f"{_quote(f.property)} {f.op} {_quote(value)}" if f.value is not None else f"{f.property} {f.op}"
        )
    return f"{_quote(f.property)}{symbol}{_quote(f.value)}"


def format_event(selector: EventSelector) -> str:
    """The normalised text form: ``name[prop op value; ...]`` (quoted values where needed)."""
    if not selector.where:
        return selector.event
    return f"{selector.event}[{'; '.join(format_filter(f) for f in selector.where)}]"


def _read_token(text: str, i: int, stops: str) -> tuple[str, int, bool]:
    """A possibly double-quoted token from ``text[i:]`` up to one of ``stops`` (unquoted)."""
    n = len(text)
    while i < n and text[i] == " ":
        i += 1
    if i < n and text[i] == '"':
        out = []
        i += 1
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                return "".join(out), i + 1, True
            out.append(ch)
            i += 1
        raise AnalysisError(f"an unclosed quote in “{text}”")
    start = i
    while i < n and text[i] not in stops:
        i += 1
    return text[start:i].strip(), i, False


def _parse_filters(body: str, whole: str) -> tuple[PropertyFilter, ...]:
    """``amount>=100; platform="a;b"`` → filters (``body`` is the text between the brackets)."""
    out: list[PropertyFilter] = []
    i, n = 0, len(body)
    op_chars = "!=<>~"
    while i < n:
        while i < n and body[i] in " ;":
            i += 1
        if i >= n:
            break
        prop, i, _quoted = _read_token(body, i, op_chars + ";")
        while i < n and body[i] == " ":
            i += 1
        op = symbol = ""
        for sym, name in FILTER_SYMBOLS:
            if body.startswith(sym, i):
                op, symbol = name, sym
                i += len(sym)
                break
        else:
            part = body[: i + 1].split(";")[-1].strip() or body.strip()
            raise AnalysisError(
                f"“{whole}”: cannot read the filter “{part}” (write property, one of "
                "= != > >= < <= ~, and a value, e.g. amount>=100)"
            )
        if not prop:
            raise AnalysisError(f"“{whole}”: a filter has no property name before “{symbol}”")
        value, i, _quoted = _read_token(body, i, ";")
        while i < n and body[i] == " ":
            i += 1
        if i < n and body[i] != ";":
            raise AnalysisError(f"“{whole}”: unexpected “{body[i:]}” after the value {value!r}")
        out.append(PropertyFilter(prop, op, value))
    return tuple(out)


def split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and double quotes."""
    parts, depth, quoted, current, i = [], 0, False, [], 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i : i + 2])
                i += 2
                continue
            if ch == '"':
                quoted = False
        elif ch == '"' and depth:
            quoted = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _find_close(text: str, start: int) -> int:
    """The index of the ``]`` closing the ``[`` at ``start - 1`` (quotes respected), -1 if none."""
    quoted, i = False, start
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "]":
            return i
        i += 1
    return -1


def parse_event(text: str) -> EventSelector:
    """``purchase[amount>=100; platform=web]`` → selector; a plain name has no filters."""
    raw = (text or "").strip()
    if "[" not in raw:
        return EventSelector(raw or "*")
    name, _, _rest = raw.partition("[")
    start = len(name) + 1
    close = _find_close(raw, start)
    if close < 0:
        raise AnalysisError(f"“{raw}”: the filters are not closed with “]”")
    if raw[close + 1 :].strip():
        raise AnalysisError(f"“{raw}”: unexpected “{raw[close + 1 :].strip()}” after “]”")
    name = name.strip()
    if not name:
        raise AnalysisError(f"“{raw}”: no event name before “[” (use * for any event)")
    return EventSelector(name, _parse_filters(raw[start:close], raw))


def parse_event_list(text: str) -> list[EventSelector]:
    """Comma-separated events (funnel steps), commas inside brackets or quotes kept."""
    return [parse_event(part) for part in split_top(text or "", ",") if part.strip()]


# -- SQL -------------------------------------------------------------------------------------


def _catalog(engine):
    return {p.name: p for p in engine.properties("event")}


def _prepare(engine) -> None:
    if engine.is_sqlite:
        from seglab.core.segments.engine import prepare_connection

        prepare_connection(engine.conn)


def compile_filters(engine, filters, alias: str, where: str, as_of_ms: int | None = None) -> tuple[str, list]:
    """SQL (joined with AND, '' for no filters) and its parameters, for rows aliased ``alias``.

    Each filter is checked and built as a segment ``where`` item is: the operator's own
    SQL builder over the value read as the property's type (``seglab.core.segments``).
    ``engine`` is an :class:`~seglab.core.analyses.common.Engine` or a connection.
    """
    if not filters:
        return "", []
    from seglab.core.analyses.common import Engine
    from seglab.core.segments.validate import coerce_filter

    if not isinstance(engine, Engine):
        engine = Engine(engine)
    _prepare(engine)
    catalogue = _catalog(engine)
    names: list = []

    def param(value):
        names.append(value)
        return exp.Placeholder(this=f"sgf{len(names)}")

    def wrap(value):
        if value is None:
            return None
        if isinstance(value, Span):
            return Span(param(value.lo), param(value.hi))
        if isinstance(value, tuple):
            return tuple(wrap(v) for v in value)
        return param(value)

    parts = []
    for i, f in enumerate(filters):
        here = f"{where}[{i}]"
        prop = checked_property(catalogue, f, here)
        spec = OPERATORS[f.op]
        try:
            value = coerce_filter(prop, f, here, as_of_ms)
        except SegmentError as exc:
            raise AnalysisError(f"{here}: {exc.reason}") from None
        if not re.fullmatch(r"p\d+", prop.column):
            raise AnalysisError(f"{here}: property {f.property!r} has an unexpected column name")
        parts.append(exp.paren(spec.build(exp.column(prop.column, table=alias), wrap(value)), copy=False))
    node = exp.and_(*parts, copy=False) if len(parts) > 1 else parts[0]
    dialect = "sqlite" if engine.is_sqlite else "duckdb"
    if dialect == "duckdb":
        node = node.transform(
            lambda n: (
                exp.Lower(this=n.expressions[0])
                if isinstance(n, exp.Anonymous) and str(n.this).lower() == "seglab_lower"
                else n
            )
        )
    sql = node.sql(dialect=dialect)
    params: list = []

    def positional(match):
        params.append(names[int(match.group(1)) - 1])
        return "?"

    sql = re.sub(r":sgf(\d+)\b", positional, sql)
    return sql, params


# Roll-ups an analysis may read, rebuilt from the matching events only (see shadow_ctes).
_DAY_SQLITE = "e.ts / 86400000"
_DAY_PORTABLE = "CAST((e.ts - e.ts % 86400000) / 86400000 AS BIGINT)"


def shadow_ctes(
    engine, selector: EventSelector, as_of_ms: int | None = None
) -> tuple[list[tuple[str, str]], list]:
    """Common table expressions named like the event tables and roll-ups (``events``,
    ``user_days``, ``user_active_days``, ``event_days``, ``user_events``) holding only the
    events ``selector`` matches, and the parameters of the first one.

    Put in front of an analysis's statements they make every read of those tables see the
    filtered events, so each analysis's SQL and its semantics stay as they are. Roll-ups are
    computed from the events with the same columns; ``main.events`` is the real table.
    """
    key_sql, key_params = "", []
    if not selector.any_event:
        key = engine.event_keys([selector.event]).get(selector.event)
        key_sql, key_params = "e.event_key = ?", [-1 if key is None else key]
    f_sql, f_params = compile_filters(
        engine, selector.where, "e", f"event {selector.event!r} filter", as_of_ms
    )
    cond = " AND ".join(x for x in (key_sql, f_sql) if x) or "1 = 1"
    day = _DAY_SQLITE if engine.is_sqlite else _DAY_PORTABLE
    agg = "COUNT(*) AS n, MIN(e.ts) AS first_ts, MAX(e.ts) AS last_ts"
    ctes = [
        ("events", f"SELECT * FROM main.events e WHERE {cond}"),
        ("user_days", f"SELECT e.user_key, e.event_key, {day} AS day, {agg} FROM events e GROUP BY 1, 2, 3"),
        ("user_active_days", f"SELECT e.user_key, {day} AS day, {agg} FROM events e GROUP BY 1, 2"),
        ("event_days", f"SELECT e.event_key, {day} AS day, {agg} FROM events e GROUP BY 1, 2"),
        ("user_events", f"SELECT e.event_key, e.user_key, {agg} FROM events e GROUP BY 1, 2"),
    ]
    return ctes, [*key_params, *f_params]


def checked_property(catalogue: dict, f, here: str):
    """The event property filter ``f`` names, once its operator applies to it (else the
    AnalysisError sentence, ``here`` naming the filter); local and connected projects share it."""

    prop = catalogue.get(f.property)
    if prop is None:
        known = ", ".join(sorted(catalogue)[:12]) or "none"
        raise AnalysisError(f"{here}: no event property named {f.property!r} (known: {known})")
    spec = OPERATORS.get(f.op)
    if spec is None:
        raise AnalysisError(f"{here}: unknown operator {f.op!r}")
    if prop.type not in spec.types:
        raise AnalysisError(
            f"{here}: operator {f.op!r} does not apply to the {prop.type} property {prop.name!r}"
        )
    if spec.arity in ("list", "pair") and not isinstance(f.value, (list, tuple)):
        raise AnalysisError(f"{here}: {f.op} needs a list of values")
    return prop
