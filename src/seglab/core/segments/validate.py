"""Validation against the project: the property catalogue, event names, saved segments.

Every problem names the JSON path of the offending piece and what was expected.
:func:`problems` lists them all (the builder shows them next to each row);
:func:`validate` raises the first error as :class:`SegmentError`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from seglab.core.errors import SegmentError
from seglab.core.project import PropertyInfo, load_properties
from seglab.core.segments.model import (
    INT_COMPARE_LIMIT,
    MAX_DEPTH,
    BehaviorCondition,
    GroupCondition,
    ListCondition,
    PropertyCondition,
    PropertyFilter,
    SeenCondition,
    SegmentDef,
    SegmentRefCondition,
    SequenceCondition,
    UsersCondition,
    load_definition,
)
from seglab.core.segments.operators import NUMERIC_TYPES, OPERATORS, Span
from seglab.core.timeutil import DAY_MS, date_to_ms, datetime_to_ms

MAX_REFERENCE_DEPTH = 32


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    severity: str = "error"  # 'error' | 'warning' (warnings do not stop evaluation)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Catalog:
    """What a definition is checked and compiled against: one snapshot of the project."""

    properties: dict[tuple[str, str], PropertyInfo] = field(default_factory=dict)
    event_keys: dict[str, int] = field(default_factory=dict)
    saved_json: dict[str, str] = field(default_factory=dict)
    default_as_of: int | None = None  # used when compiling from a Catalog without an explicit T
    first_ts: int | None = None  # the earliest event (calendar-month buckets of "ever" windows)
    last_ts: int | None = None  # the latest event
    _saved_cache: dict[str, SegmentDef] = field(default_factory=dict)
    _conn: sqlite3.Connection | None = None

    @classmethod
    def from_conn(cls, conn: sqlite3.Connection) -> Catalog:
        props = {(p.entity, p.name): p for p in load_properties(conn)}
        events = {name: key for key, name in conn.execute("SELECT event_key, name FROM event_names")}
        saved = {
            name: definition for name, definition in conn.execute("SELECT name, definition FROM segments")
        }
        return cls(props, events, saved, _conn=conn)

    def max_ts(self) -> int | None:
        """The latest event (None when unknown): above it, users.first_ts/last_ts answer "*" exactly."""
        if self.last_ts is None and self._conn is not None:
            row = self._conn.execute("SELECT max(ts) FROM events").fetchone()
            self.last_ts = row[0] if row and row[0] is not None else -1
        return None if self.last_ts in (None, -1) else self.last_ts

    def min_ts(self, fallback: int) -> int:
        if self.first_ts is None and self._conn is not None:
            row = self._conn.execute("SELECT min(first_ts) FROM users").fetchone()
            self.first_ts = row[0] if row else None
        return self.first_ts if self.first_ts is not None else fallback

    def prop(self, entity: str, name: str) -> PropertyInfo | None:
        return self.properties.get((entity, name))

    def names(self, entity: str) -> list[str]:
        return [name for (ent, name) in self.properties if ent == entity]

    def saved(self, name: str) -> SegmentDef | None:
        if name not in self.saved_json:
            return None
        if name not in self._saved_cache:
            self._saved_cache[name] = load_definition(self.saved_json[name])
        return self._saved_cache[name]


def as_catalog(conn_or_catalog: sqlite3.Connection | Catalog) -> Catalog:
    if isinstance(conn_or_catalog, Catalog):
        return conn_or_catalog
    return Catalog.from_conn(conn_or_catalog)


# ---------------------------------------------------------------------------------------------
# Values: JSON values read as the property's type


_TRUE = {"true", "yes", "1", "t", "y"}
_FALSE = {"false", "no", "0", "f", "n"}


def coerce_scalar(prop: PropertyInfo, value: Any, path: str, case_insensitive: bool = False) -> Any:
    """``value`` read as ``prop``'s type: str, int/float, 0/1, or a :class:`Span` for datetimes."""
    what = f"{prop.entity} property {prop.name!r} ({prop.type})"
    if prop.type == "text":
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float | str):
            text = str(value)
        else:
            raise SegmentError(f"expected a text value for {what}, got {value!r}", path)
        return text.lower() if case_insensitive else text
    if prop.type in NUMERIC_TYPES:
        if isinstance(value, bool):
            raise SegmentError(f"expected a number for {what}, got {value!r}", path)
        number = None
        if isinstance(value, int | float):
            number = value
        elif isinstance(value, str):
            text = value.strip()
            try:
                number = int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    number = None
        if number is not None and number == number and abs(number) != float("inf"):
            # An integer column compares against 64-bit integers (a bigger one cannot be bound).
            if abs(number) > INT_COMPARE_LIMIT and (prop.type == "integer" or isinstance(number, int)):
                raise SegmentError(f"the number {value!r} is out of range for {what} (at most ±9.2e18)", path)
            return number
        raise SegmentError(f"expected a number for {what}, got {value!r}", path)
    if prop.type == "boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int | float) and value in (0, 1):
            return int(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return int(value.strip().lower() in _TRUE)
        raise SegmentError(f"expected true or false for {what}, got {value!r}", path)
    if prop.type == "datetime":
        if isinstance(value, str):
            span = parse_date_value(value)
            if span is not None:
                return span
        raise SegmentError(
            f"expected a date (YYYY-MM-DD) or date-time (ISO 8601) for {what}, got {value!r}", path
        )
    raise SegmentError(f"unsupported property type {prop.type!r}", path)  # pragma: no cover


def parse_date_value(text: str) -> Span | None:
    """A bare date is its whole UTC day; a date-time is its millisecond. None if neither."""
    text = text.strip()
    if len(text) == 10:
        try:
            start = date_to_ms(dt.date.fromisoformat(text))
        except ValueError:
            return None
        return Span(start, start + DAY_MS)
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    ms = datetime_to_ms(value)
    return Span(ms, ms + 1)


def _plain_list(prop: PropertyInfo, values: tuple, case_insensitive: bool) -> tuple | None:
    """A list already of the property's type, read in one go (100,000 values of an in list
    one by one took a third of a second); None when any value needs :func:`coerce_scalar`."""
    kinds = set(map(type, values))
    if prop.type == "text" and kinds == {str}:
        return tuple(v.lower() for v in values) if case_insensitive else tuple(values)
    if prop.type in NUMERIC_TYPES and kinds and kinds <= {int, float}:
        numbers = [v for v in values if type(v) is float]
        if any(v != v or abs(v) == float("inf") for v in numbers):
            return None
        limit = INT_COMPARE_LIMIT if prop.type == "integer" or int in kinds else float("inf")
        if max(values) > limit or min(values) < -limit:
            return None
        return tuple(values)
    return None


def coerce_filter(prop: PropertyInfo, f: PropertyFilter, path: str, as_of_ms: int | None) -> Any:
    """The filter's value(s) in the property's type, shaped for the operator's SQL builder."""
    spec = OPERATORS[f.op]
    vpath = f"{path}.value"
    if spec.arity == "none":
        return None
    if spec.arity == "list":
        fast = _plain_list(prop, f.value, spec.case_insensitive)
        if fast is not None:
            return fast
        return tuple(
            coerce_scalar(prop, v, f"{vpath}[{i}]", spec.case_insensitive) for i, v in enumerate(f.value)
        )
    if spec.arity == "pair":
        low, high = (coerce_scalar(prop, v, f"{vpath}[{i}]") for i, v in enumerate(f.value))
        lo_key = low.lo if isinstance(low, Span) else low
        hi_key = high.lo if isinstance(high, Span) else high
        if hi_key < lo_key:
            raise SegmentError(f"the low end {f.value[0]!r} is above the high end {f.value[1]!r}", vpath)
        return (low, high)
    if spec.arity == "days":
        t = as_of_ms if as_of_ms is not None else 0
        return Span(t - round(f.value * DAY_MS), t)
    return coerce_scalar(prop, f.value, vpath, spec.case_insensitive)


# ---------------------------------------------------------------------------------------------
# Problems


def problems(
    conn_or_catalog: sqlite3.Connection | Catalog, seg: SegmentDef, *, name: str | None = None
) -> list[Problem]:
    """Every problem of ``seg`` against the project (errors and warnings), in document order.

    ``name`` is the name the definition is being saved under, so a reference back to
    itself is reported as a cycle.
    """
    catalog = as_catalog(conn_or_catalog)
    out: list[Problem] = []
    _check_def(catalog, seg, "", out, top_level=seg.level)
    if name is not None:
        # A reference to the segment being saved is a cycle, reported as such below.
        missing_self = f"no saved segment named {name!r}"
        out = [p for p in out if not p.message.startswith(missing_self)]
    _check_cycles(catalog, seg, name, out)
    depth = nesting(catalog, seg.conditions)
    if depth > MAX_DEPTH:
        out.append(
            Problem(
                "conditions",
                f"groups and segment references nest more than {MAX_DEPTH} levels deep "
                "(counting the saved segments it refers to)",
            )
        )
    return out


def nesting(catalog: Catalog, conditions, above: int = 0, chain: tuple[str, ...] = ()) -> int:
    """How deep groups, users conditions and references nest under ``conditions`` (plus
    ``above``); stops counting past the limit, so a long chain of references is cheap."""
    deepest = above
    for c in conditions:
        if deepest > MAX_DEPTH:
            break
        sub_chain = chain
        if isinstance(c, GroupCondition):
            inner = c.conditions
        elif isinstance(c, UsersCondition):
            inner = c.match.conditions
        elif isinstance(c, SegmentRefCondition) and c.segment not in chain:
            try:
                other = catalog.saved(c.segment)
            except SegmentError:
                continue
            if other is None:
                continue
            inner, sub_chain = other.conditions, (*chain, c.segment)
        else:
            continue
        deepest = max(deepest, nesting(catalog, inner, above + 1, sub_chain))
    return deepest


def validate(
    conn_or_catalog: sqlite3.Connection | Catalog, seg: SegmentDef, *, name: str | None = None
) -> None:
    """Raise :class:`SegmentError` (with the JSON path) for the first error in ``seg``."""
    for problem in problems(conn_or_catalog, seg, name=name):
        if problem.severity == "error":
            raise SegmentError(problem.message, problem.path)


def _join(path: str, rest: str) -> str:
    return f"{path}.{rest}" if path else rest


def _check_def(catalog: Catalog, seg: SegmentDef, path: str, out: list[Problem], top_level: str) -> None:
    _check_conditions(catalog, seg.conditions, _join(path, "conditions"), seg.level, out)


def _check_conditions(catalog, conditions, path, level, out) -> None:
    for i, c in enumerate(conditions):
        _check_condition(catalog, c, f"{path}[{i}]", level, out)


def _known(catalog: Catalog, entity: str) -> str:
    names = sorted(catalog.names(entity))
    if not names:
        return f"the project has no {entity} properties"
    shown = ", ".join(repr(n) for n in names[:12])
    return f"known {entity} properties: {shown}{', ...' if len(names) > 12 else ''}"


def _check_filter(catalog: Catalog, entity: str, f: PropertyFilter, path: str, out: list[Problem]) -> None:
    prop = catalog.prop(entity, f.property)
    if prop is None:
        out.append(
            Problem(
                f"{path}.property", f"unknown {entity} property {f.property!r} ({_known(catalog, entity)})"
            )
        )
        return
    spec = OPERATORS[f.op]
    if prop.type not in spec.types:
        allowed = ", ".join(o.op for o in OPERATORS.values() if prop.type in o.types)
        out.append(
            Problem(
                f"{path}.op",
                f"operator {f.op!r} does not apply to {prop.type} property {prop.name!r} "
                f"(expected one of {allowed})",
            )
        )
        return
    try:
        coerce_filter(prop, f, path, 0)
    except SegmentError as exc:
        out.append(Problem(exc.path, exc.reason))


def _check_event(catalog: Catalog, event: str, path: str, out: list[Problem]) -> None:
    if event != "*" and event not in catalog.event_keys:
        out.append(
            Problem(path, f"no event named {event!r} in this project (it matches no events)", "warning")
        )


def _check_condition(catalog, c, path, level, out) -> None:
    if isinstance(c, PropertyCondition):
        _check_filter(catalog, c.entity, c.filter, path, out)
    elif isinstance(c, BehaviorCondition):
        _check_event(catalog, c.event, f"{path}.event", out)
        for i, f in enumerate(c.where):
            _check_filter(catalog, "event", f, f"{path}.where[{i}]", out)
        if c.measure.property is not None:
            prop = catalog.prop("event", c.measure.property)
            mpath = f"{path}.measure.property"
            if prop is None:
                out.append(
                    Problem(
                        mpath, f"unknown event property {c.measure.property!r} ({_known(catalog, 'event')})"
                    )
                )
            elif prop.type not in NUMERIC_TYPES:
                out.append(
                    Problem(
                        mpath,
                        f"measure {c.measure.fn!r} needs a numeric event property; "
                        f"{prop.name!r} is {prop.type}",
                    )
                )
    elif isinstance(c, SeenCondition):
        _check_event(catalog, c.event, f"{path}.event", out)
    elif isinstance(c, SequenceCondition):
        for i, step in enumerate(c.steps):
            spath = f"{path}.steps[{i}]"
            _check_event(catalog, step.event, f"{spath}.event", out)
            for j, f in enumerate(step.where):
                _check_filter(catalog, "event", f, f"{spath}.where[{j}]", out)
    elif isinstance(c, SegmentRefCondition):
        other = None
        try:
            other = catalog.saved(c.segment)
        except SegmentError as exc:
            out.append(Problem(f"{path}.segment", f"the saved segment {c.segment!r} is broken ({exc})"))
            return
        if other is None:
            known = ", ".join(repr(n) for n in sorted(catalog.saved_json)[:12]) or "none saved yet"
            out.append(Problem(f"{path}.segment", f"no saved segment named {c.segment!r} (saved: {known})"))
        elif other.level != level:
            hint = " (use it inside a 'users' condition)" if level == "account" else ""
            out.append(
                Problem(
                    f"{path}.segment",
                    f"segment {c.segment!r} is a {other.level} segment, but this is {level} level{hint}",
                )
            )
    elif isinstance(c, ListCondition):
        _check_ids(catalog, c, f"{path}.ids", level, out)
    elif isinstance(c, UsersCondition):
        _check_def(catalog, c.match, f"{path}.match", out, top_level="user")
    elif isinstance(c, GroupCondition):
        _check_conditions(catalog, c.conditions, f"{path}.conditions", level, out)


def _check_ids(catalog: Catalog, c: ListCondition, path: str, level: str, out: list[Problem]) -> None:
    """A warning (not an error: the list keeps them) for listed ids the project does not have."""
    if catalog._conn is None:
        return
    table, column = ("users", "user_id") if level == "user" else ("accounts", "account_id")
    ids = list(dict.fromkeys(c.ids))
    found = catalog._conn.execute(
        f"SELECT count(*) FROM json_each(?) j JOIN {table} t ON t.{column} = j.value",
        (json.dumps(ids, ensure_ascii=False),),
    ).fetchone()[0]
    missing = len(ids) - found
    if not missing:
        return
    noun = "user" if level == "user" else "account"
    if not found:
        text = f"none of the {len(ids):,} ids is {'a' if level == 'user' else 'an'} {noun} in this project"
    else:
        text = f"{missing:,} of the {len(ids):,} ids are not {noun}s in this project"
    out.append(Problem(path, f"{text} (they match nobody until an import adds them)", "warning"))


def references(seg: SegmentDef) -> list[tuple[str, str]]:
    """``(path, name)`` of every saved segment ``seg`` refers to, nested ones included."""
    found: list[tuple[str, str]] = []

    def walk(conditions, path):
        for i, c in enumerate(conditions):
            p = f"{path}[{i}]"
            if isinstance(c, SegmentRefCondition):
                found.append((f"{p}.segment", c.segment))
            elif isinstance(c, GroupCondition):
                walk(c.conditions, f"{p}.conditions")
            elif isinstance(c, UsersCondition):
                walk(c.match.conditions, f"{p}.match.conditions")

    walk(seg.conditions, "conditions")
    return found


def _check_cycles(catalog: Catalog, seg: SegmentDef, name: str | None, out: list[Problem]) -> None:
    def visit(current: SegmentDef, chain: list[str]) -> list[str] | None:
        for _path, ref in references(current):
            if ref in chain:
                return [*chain[chain.index(ref) :], ref]
            if len(chain) > MAX_REFERENCE_DEPTH:
                return [*chain, ref]
            try:
                other = catalog.saved(ref)
            except SegmentError:
                continue
            if other is None:
                continue
            cycle = visit(other, [*chain, ref])
            if cycle:
                return cycle
        return None

    start = [name] if name else []
    for path, ref in references(seg):
        if name is not None and ref == name:
            out.append(Problem(path, f"segment {name!r} refers to itself (cycle: {name} → {name})"))
            continue
        try:
            other = catalog.saved(ref)
        except SegmentError:
            continue
        if other is None:
            continue
        cycle = visit(other, [*start, ref])
        if cycle:
            out.append(Problem(path, f"a cycle of segment references: {' → '.join(cycle)}"))
