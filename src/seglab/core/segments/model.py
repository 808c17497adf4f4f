"""The segment definition model (format version 1; reference: docs/segments.md).

Definitions are frozen dataclasses: an edit makes a new value, so undo, caching and
handing a definition to a worker thread need no copies. :func:`load_definition` does
the structural checks (shapes, known types and operators) and names the JSON path of
every problem; checks that need the project (properties, saved segments, value types)
live in :mod:`seglab.core.segments.validate`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from seglab.core.errors import SegmentError
from seglab.core.segments.operators import COMPARE_OPS, MEASURES, OPERATORS

FORMAT_VERSION = 1
LEVELS = ("user", "account")
MATCHES = ("all", "any")

# The limits of contract version 1.1 (docs/segments.md, "Limits"): past them a definition gets a
# sentence instead of a parser stack overflow, a RecursionError or an expression tree too deep.
MAX_DEPTH = 32  # nested groups (and users conditions); references count too (validate)
MAX_CONDITIONS = 500  # counted through groups
MAX_LIST_VALUES = 100_000  # in one in/not_in list
MAX_INT = 2**63 - 1  # what SQLite stores as an integer
INT_COMPARE_LIMIT = 9.2e18  # counts, integer properties: beyond it a comparison means nothing
MAX_DAYS = 1_000_000  # a window or a "within" of more days reaches before year 1
MAX_VALUES = 5_000_000  # values (keys, strings, numbers) in one definition in all


@dataclass(frozen=True)
class Window:
    kind: str = "ever"  # 'ever' | 'last_days' | 'between' | 'since'
    days: int | None = None
    start: str | None = None  # ISO date
    end: str | None = None  # ISO date


EVER = Window()


@dataclass(frozen=True)
class PropertyFilter:
    """One ``property op value`` test (a property condition, a ``where`` item)."""

    property: str
    op: str
    value: Any = None  # scalars as given in JSON; lists as tuples


@dataclass(frozen=True)
class Measure:
    fn: str = "count"
    property: str | None = None


@dataclass(frozen=True)
class Compare:
    op: str = "gte"
    value: Any = 1  # number, or (low, high) for between


@dataclass(frozen=True)
class PropertyCondition:
    entity: str
    filter: PropertyFilter
    negate: bool = False
    type: str = field(default="property", init=False)


@dataclass(frozen=True)
class BehaviorCondition:
    event: str
    where: tuple[PropertyFilter, ...] = ()
    measure: Measure = Measure()
    compare: Compare = Compare()
    window: Window = EVER
    per: str = "events"  # 'events' | 'users' (account level)
    negate: bool = False
    type: str = field(default="behavior", init=False)


@dataclass(frozen=True)
class SeenCondition:
    kind: str  # 'first_seen' | 'last_seen'
    event: str
    window: Window = EVER
    negate: bool = False

    @property
    def type(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Step:
    event: str
    where: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True)
class SequenceCondition:
    steps: tuple[Step, ...]
    within_days: float | None = None
    window: Window = EVER
    negate: bool = False
    type: str = field(default="sequence", init=False)


@dataclass(frozen=True)
class SegmentRefCondition:
    segment: str
    negate: bool = False
    type: str = field(default="segment", init=False)


@dataclass(frozen=True)
class ListCondition:
    """A fixed list of user or account ids (a static cohort; contract 1.1). Ids the project does not
    have match nobody but are kept, so the list means the same people after a later import."""

    ids: tuple[str, ...]
    negate: bool = False
    type: str = field(default="list", init=False)


@dataclass(frozen=True)
class UsersCondition:
    match: SegmentDef
    compare: Compare = Compare()
    share: bool = False
    negate: bool = False
    type: str = field(default="users", init=False)


@dataclass(frozen=True)
class GroupCondition:
    match: str
    conditions: tuple[Condition, ...]
    negate: bool = False
    type: str = field(default="group", init=False)


Condition = Union[  # noqa: UP007 - the forward references above need a runtime Union
    PropertyCondition,
    BehaviorCondition,
    SeenCondition,
    SequenceCondition,
    SegmentRefCondition,
    ListCondition,
    UsersCondition,
    GroupCondition,
]


@dataclass(frozen=True)
class SegmentDef:
    level: str = "user"
    match: str = "all"
    conditions: tuple[Condition, ...] = ()
    version: int = FORMAT_VERSION


# ---------------------------------------------------------------------------------------------
# Loading


def _err(path: str, message: str) -> SegmentError:
    return SegmentError(message, path or "definition")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _expect_keys(obj: dict, path: str, allowed: set[str], required: tuple[str, ...] = ()) -> None:
    for key in required:
        if key not in obj:
            raise _err(path, f"missing key {key!r}")
    for key in obj:
        if key not in allowed:
            raise _err(
                _join(path, str(key)), f"unknown key {key!r} (expected one of {', '.join(sorted(allowed))})"
            )


def _expect_dict(obj: Any, path: str, what: str = "an object") -> dict:
    if not isinstance(obj, dict):
        raise _err(path, f"expected {what}, got {_kind(obj)}")
    return obj


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else f"{'-' if value < 0 else ''}Infinity"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _choice(obj: dict, key: str, path: str, choices: tuple[str, ...], default: str | None = None) -> str:
    if key not in obj:
        if default is None:
            raise _err(path, f"missing key {key!r}")
        return default
    value = obj[key]
    if not isinstance(value, str) or value not in choices:
        expected = ", ".join(repr(c) for c in choices)
        raise _err(_join(path, key), f"expected one of {expected}, got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    """A value for a message: short values as written, long ones and containers by kind."""
    if isinstance(value, str | int | float) and not isinstance(value, bool) and len(repr(value)) <= 60:
        return _kind(value) if isinstance(value, float) and not math.isfinite(value) else repr(value)
    return _kind(value)


def _bool(obj: dict, key: str, path: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise _err(_join(path, key), f"expected true or false, got {_kind(value)}")
    return value


def _name(obj: dict, key: str, path: str, what: str) -> str:
    if key not in obj:
        raise _err(path, f"missing key {key!r}")
    value = obj[key]
    if not isinstance(value, str) or not value.strip():
        raise _err(_join(path, key), f"expected {what} (a non-empty string), got {_kind(value)}")
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        if not any(isinstance(v, list) for v in value):
            return tuple(value)
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def load_definition(obj: dict | str) -> SegmentDef:
    """Parse a definition (a dict or JSON text) and check its structure.

    Raises :class:`SegmentError` whose ``path`` is the JSON path of the first problem.
    """
    if isinstance(obj, str | bytes):
        try:
            obj = json.loads(obj)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SegmentError(f"not valid JSON ({exc})", "definition") from None
        except RecursionError:
            raise _too_deep("definition") from None
    check_limits(obj)
    return _load_def(obj, "", top=True)


def _too_deep(path: str) -> SegmentError:
    return _err(path, f"groups nest too deeply (at most {MAX_DEPTH} levels)")


def check_limits(obj: Any) -> None:
    """The limits every definition is checked against, before it is read (iteratively: a
    hostile definition must not exhaust the stack): nesting depth, number of conditions,
    in/not_in list length, numbers SQLite can hold, strings that are valid Unicode."""
    conditions = 0
    seen = 0  # values looked at: bounds the work on a definition built with shared references
    # (value, path, depth of conditions lists around it)
    stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        seen += len(value) if isinstance(value, list | dict) else 1
        if seen > MAX_VALUES:
            raise _err("definition", f"the definition is too large (more than {MAX_VALUES:,} values in all)")
        where = path or "definition"
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -MAX_INT - 1 <= value <= MAX_INT:
                raise _err(where, "the number is too large (whole numbers must be within ±9.2e18)")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _err(where, f"expected a finite number, got {_kind(value)}")
        elif isinstance(value, dict):
            op = value.get("op")
            items = value.get("value")
            if op in ("in", "not_in") and isinstance(items, list) and len(items) > MAX_LIST_VALUES:
                raise _err(
                    _join(path, "value"),
                    f"{len(items):,} values in one list; at most {MAX_LIST_VALUES:,} are allowed",
                )
            for key, item in value.items():
                if isinstance(key, str):
                    _check_text(key, where)
                inner = depth
                if key == "conditions" and isinstance(item, list):
                    inner = depth + 1
                    if inner > MAX_DEPTH + 1:
                        raise _too_deep(_join(path, key))
                    conditions += len(item)
                    if conditions > MAX_CONDITIONS:
                        raise _err(
                            _join(path, key),
                            f"more than {MAX_CONDITIONS} conditions in one definition "
                            "(counted through groups); split it into saved segments",
                        )
                stack.append((item, _join(path, str(key)), inner))
        elif isinstance(value, list):
            if not _plain_values(value):
                stack.extend((item, _join(path, i), depth) for i, item in enumerate(value))


def _plain_values(values: list) -> bool:
    """True for a list of strings and numbers that are all fine, checked in bulk (an in list of
    100,000 values); False means: check each item on its own (for the path of a bad one)."""
    kinds = set(map(type, values))
    if not kinds <= {str, int, float, bool}:
        return False
    if str in kinds:
        try:
            "".join(v for v in values if type(v) is str).encode("utf-8")
        except UnicodeEncodeError:
            return False
    if int in kinds:
        ints = [v for v in values if type(v) is int]
        if max(ints) > MAX_INT or min(ints) < -MAX_INT - 1:
            return False
    if float in kinds and not all(math.isfinite(v) for v in values if type(v) is float):
        return False
    return True


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _err(path, "not valid Unicode text (a lone surrogate such as \\ud800)") from None


def _load_version(obj: dict, path: str) -> int:
    version = obj.get("version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _err(_join(path, "version"), f"expected a format version number such as 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise _err(
            _join(path, "version"),
            f"this definition uses segment format version {version}, but this SegLab reads only up to "
            f"version {FORMAT_VERSION}; update SegLab to use it",
        )
    return version


# Upgraders from older format versions: version -> function(dict) -> dict of version + 1.
UPGRADERS: dict[int, Callable[[dict], dict]] = {}


def _load_def(obj: Any, path: str, top: bool) -> SegmentDef:
    obj = _expect_dict(obj, path or "definition", "a segment definition object")
    version = _load_version(obj, path)
    while version < FORMAT_VERSION:  # pragma: no cover - no older format exists yet
        obj = UPGRADERS[version](obj)
        version += 1
    allowed = {"version", "level", "match", "conditions"}
    if top:
        allowed |= {"name", "description"}
    _expect_keys(obj, path or "definition", allowed)
    level = _choice(obj, "level", path, LEVELS, default="user")
    match = _choice(obj, "match", path, MATCHES, default="all")
    conditions = _load_conditions(obj.get("conditions", []), _join(path, "conditions"), level)
    return SegmentDef(level=level, match=match, conditions=conditions, version=FORMAT_VERSION)


def _load_conditions(items: Any, path: str, level: str) -> tuple[Condition, ...]:
    if not isinstance(items, list):
        raise _err(path, f"expected a list of conditions, got {_kind(items)}")
    return tuple(_load_condition(item, _join(path, i), level) for i, item in enumerate(items))


CONDITION_TYPES = (
    "property",
    "behavior",
    "first_seen",
    "last_seen",
    "sequence",
    "segment",
    "list",
    "users",
    "group",
)
MAX_LIST_IDS = 1_000_000


def _load_condition(obj: Any, path: str, level: str) -> Condition:
    obj = _expect_dict(obj, path, "a condition object")
    ctype = obj.get("type")
    if ctype not in CONDITION_TYPES:
        raise _err(
            _join(path, "type"),
            f"unknown condition type {ctype!r} (expected one of {', '.join(CONDITION_TYPES)})",
        )
    negate = _bool(obj, "negate", path)
    if ctype == "property":
        _expect_keys(obj, path, {"type", "entity", "property", "op", "value", "negate"}, ("property", "op"))
        entity = _choice(obj, "entity", path, ("user", "account"), default=level)
        if level == "account" and entity != "account":
            raise _err(
                _join(path, "entity"),
                "an account segment can only test account properties (use a 'users' condition for "
                "user properties)",
            )
        return PropertyCondition(entity=entity, filter=_load_filter(obj, path), negate=negate)
    if ctype == "behavior":
        _expect_keys(
            obj, path, {"type", "event", "where", "measure", "compare", "window", "per", "negate"}, ("event",)
        )
        measure = _load_measure(obj.get("measure"), _join(path, "measure"))
        compare = _load_compare(obj.get("compare"), _join(path, "compare"), default=Compare())
        per = _choice(obj, "per", path, ("events", "users"), default="events")
        if per == "users":
            if level != "account":
                raise _err(_join(path, "per"), "'per': 'users' is only for account segments")
            if measure.fn != "count":
                raise _err(_join(path, "per"), "'per': 'users' counts distinct users; use it with fn 'count'")
        return BehaviorCondition(
            event=_name(obj, "event", path, "an event name or '*'"),
            where=_load_where(obj.get("where", []), _join(path, "where")),
            measure=measure,
            compare=compare,
            window=_load_window(obj.get("window"), _join(path, "window")),
            per=per,
            negate=negate,
        )
    if ctype in ("first_seen", "last_seen"):
        _expect_keys(obj, path, {"type", "event", "window", "negate"})
        event = obj.get("event", "*")
        if not isinstance(event, str) or not event.strip():
            raise _err(_join(path, "event"), f"expected an event name or '*', got {_kind(event)}")
        return SeenCondition(
            kind=ctype,
            event=event,
            window=_load_window(obj.get("window"), _join(path, "window")),
            negate=negate,
        )
    if ctype == "sequence":
        _expect_keys(obj, path, {"type", "steps", "within_days", "window", "negate"}, ("steps",))
        steps_obj = obj["steps"]
        spath = _join(path, "steps")
        if not isinstance(steps_obj, list) or not steps_obj:
            raise _err(spath, "expected a non-empty list of steps")
        steps = []
        for i, step in enumerate(steps_obj):
            p = _join(spath, i)
            step = _expect_dict(step, p, "a step object")
            _expect_keys(step, p, {"event", "where"}, ("event",))
            steps.append(
                Step(
                    event=_name(step, "event", p, "an event name or '*'"),
                    where=_load_where(step.get("where", []), _join(p, "where")),
                )
            )
        within = obj.get("within_days")
        if within is not None and (not _is_number(within) or not 0 < within <= MAX_DAYS):
            raise _err(
                _join(path, "within_days"),
                f"expected a positive number of days (at most {MAX_DAYS:,}), got {_shown(within)}",
            )
        return SequenceCondition(
            steps=tuple(steps),
            within_days=within,
            window=_load_window(obj.get("window"), _join(path, "window")),
            negate=negate,
        )
    if ctype == "segment":
        _expect_keys(obj, path, {"type", "segment", "negate"}, ("segment",))
        return SegmentRefCondition(segment=_name(obj, "segment", path, "a saved segment name"), negate=negate)
    if ctype == "list":
        _expect_keys(obj, path, {"type", "ids", "negate"}, ("ids",))
        return ListCondition(ids=_load_ids(obj["ids"], _join(path, "ids")), negate=negate)
    if ctype == "users":
        _expect_keys(obj, path, {"type", "compare", "match", "share", "negate"}, ("match",))
        if level != "account":
            raise _err(_join(path, "type"), "a 'users' condition is only for account segments")
        share = _bool(obj, "share", path)
        inner_path = _join(path, "match")
        inner_obj = _expect_dict(obj["match"], inner_path, "a user-level definition object")
        if inner_obj.get("level", "user") != "user":
            raise _err(
                _join(inner_path, "level"), "the definition inside a 'users' condition must be 'user' level"
            )
        inner = _load_def(inner_obj, inner_path, top=False)
        compare = _load_compare(obj.get("compare"), _join(path, "compare"), default=Compare())
        if share:
            values = compare.value if compare.op == "between" else (compare.value,)
            if any(not 0 <= v <= 1 for v in values):
                raise _err(
                    _join(path, "compare.value"), "with 'share': true the value is a fraction from 0 to 1"
                )
        return UsersCondition(match=inner, compare=compare, share=share, negate=negate)
    # group
    _expect_keys(obj, path, {"type", "match", "conditions", "negate"}, ("conditions",))
    return GroupCondition(
        match=_choice(obj, "match", path, MATCHES, default="all"),
        conditions=_load_conditions(obj["conditions"], _join(path, "conditions"), level),
        negate=negate,
    )


def _load_ids(ids: Any, path: str) -> tuple[str, ...]:
    if not isinstance(ids, list) or not ids:
        raise _err(path, f"expected a non-empty list of ids, got {_kind(ids)}")
    if len(ids) > MAX_LIST_IDS:
        raise _err(path, f"a list holds at most {MAX_LIST_IDS:,} ids, this one has {len(ids):,}")
    out = []
    for i, item in enumerate(ids):
        # Whole numbers are accepted as ids (a spreadsheet's numeric id column): ids are text.
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise _err(_join(path, i), f"expected an id (a non-empty string), got {_kind(item)}")
        out.append(item)
    return tuple(out)


def _load_filter(obj: dict, path: str) -> PropertyFilter:
    prop = _name(obj, "property", path, "a property name")
    op = obj.get("op")
    if not isinstance(op, str) or op not in OPERATORS:
        what = f"unknown operator {op!r}" if isinstance(op, str) else f"expected an operator, got {_kind(op)}"
        raise _err(_join(path, "op"), f"{what} (one of {', '.join(OPERATORS)})")
    spec = OPERATORS[op]
    vpath = _join(path, "value")
    value = obj.get("value")
    if spec.arity == "none":
        if value is not None:
            raise _err(vpath, f"operator {op!r} takes no value")
        return PropertyFilter(prop, op, None)
    if "value" not in obj or value is None:
        raise _err(path, f"operator {op!r} needs a 'value'")
    if spec.arity == "list":
        if not isinstance(value, list) or not value:
            raise _err(vpath, f"operator {op!r} needs a non-empty list of values, got {_kind(value)}")
        for i, item in enumerate(value):
            if not _is_scalar(item):
                raise _err(_join(vpath, i), f"expected a string, number or boolean, got {_kind(item)}")
    elif spec.arity == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise _err(vpath, f"operator {op!r} needs [low, high], got {_kind(value)}")
        for i, item in enumerate(value):
            if not _is_scalar(item):
                raise _err(_join(vpath, i), f"expected a number or date, got {_kind(item)}")
    elif spec.arity == "days":
        if not _is_number(value) or not 0 <= value <= MAX_DAYS:
            raise _err(
                vpath, f"operator {op!r} needs a number of days (0 to {MAX_DAYS:,}), got {_shown(value)}"
            )
    elif not _is_scalar(value):
        raise _err(vpath, f"operator {op!r} needs a single value, got {_kind(value)}")
    return PropertyFilter(prop, op, _freeze(value))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _load_where(items: Any, path: str) -> tuple[PropertyFilter, ...]:
    if not isinstance(items, list):
        raise _err(path, f"expected a list of property filters, got {_kind(items)}")
    out = []
    for i, item in enumerate(items):
        p = _join(path, i)
        item = _expect_dict(item, p, "a filter object")
        _expect_keys(item, p, {"property", "op", "value"}, ("property", "op"))
        out.append(_load_filter(item, p))
    return tuple(out)


def _load_measure(obj: Any, path: str) -> Measure:
    if obj is None:
        return Measure()
    obj = _expect_dict(obj, path)
    _expect_keys(obj, path, {"fn", "property"})
    fn = _choice(obj, "fn", path, tuple(MEASURES), default="count")
    prop = obj.get("property")
    if MEASURES[fn].needs_property:
        if not isinstance(prop, str) or not prop.strip():
            raise _err(
                _join(path, "property"), f"measure {fn!r} needs the numeric event 'property' it is over"
            )
    elif prop is not None:
        raise _err(_join(path, "property"), f"measure {fn!r} takes no property")
    return Measure(fn=fn, property=prop)


def _load_compare(obj: Any, path: str, default: Compare) -> Compare:
    if obj is None:
        return default
    obj = _expect_dict(obj, path)
    _expect_keys(obj, path, {"op", "value"}, ("op", "value"))
    op = obj["op"]
    if not isinstance(op, str) or op not in COMPARE_OPS:
        what = f"unknown comparison {op!r}" if isinstance(op, str) else f"expected a name, got {_kind(op)}"
        raise _err(_join(path, "op"), f"{what} (one of {', '.join(COMPARE_OPS)})")
    value = obj["value"]
    vpath = _join(path, "value")
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise _err(vpath, "'between' needs [low, high] numbers")
        if value[0] > value[1]:
            raise _err(vpath, f"the low end {value[0]!r} is above the high end {value[1]!r}")
        for i, v in enumerate(value):
            _check_compare_range(v, _join(vpath, i))
        return Compare(op, (value[0], value[1]))
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise _err(vpath, f"expected a number, got {value!r}") from None
    if not _is_number(value):
        raise _err(vpath, f"expected a number, got {_kind(value)}")
    _check_compare_range(value, vpath)
    return Compare(op, value)


def _check_compare_range(value: int | float, path: str) -> None:
    # Counts and days are whole numbers SQLite holds in 64 bits; 1e300 events is a typo.
    if abs(value) > INT_COMPARE_LIMIT:
        raise _err(path, f"the number {value!r} is out of range (at most ±9.2e18)")


def _load_window(obj: Any, path: str) -> Window:
    if obj is None or obj == "ever":
        return EVER
    if isinstance(obj, dict) and len(obj) == 1:
        ((key, value),) = obj.items()
        vpath = _join(path, key)
        if key == "last_days":
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # 7.0 from a JSON writer that only has doubles
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
                raise _err(vpath, f"expected a whole number of days (0 to {MAX_DAYS:,}), got {_shown(value)}")
            return Window("last_days", days=value)
        if key == "between":
            if not (isinstance(value, list) and len(value) == 2):
                raise _err(vpath, "expected [first date, last date]")
            start, end = (_check_date(v, _join(vpath, i)) for i, v in enumerate(value))
            if end < start:
                raise _err(vpath, f"the last date {end} is before the first date {start}")
            return Window("between", start=start, end=end)
        if key == "since":
            return Window("since", start=_check_date(value, vpath))
    raise _err(path, 'expected "ever", {"last_days": N}, {"between": [date, date]} or {"since": date}')


def _check_date(value: Any, path: str) -> str:
    import datetime as dt

    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise _err(path, f"expected a date YYYY-MM-DD, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Dumping


def dump_definition(seg: SegmentDef) -> dict:
    """The JSON-ready dict for ``seg``; ``load_definition(dump_definition(s)) == s``."""
    return {
        "version": FORMAT_VERSION,
        "level": seg.level,
        "match": seg.match,
        "conditions": [_dump_condition(c) for c in seg.conditions],
    }


def _dump_window(w: Window) -> Any:
    if w.kind == "last_days":
        return {"last_days": w.days}
    if w.kind == "between":
        return {"between": [w.start, w.end]}
    if w.kind == "since":
        return {"since": w.start}
    return "ever"


def _dump_filter(f: PropertyFilter) -> dict:
    out = {"property": f.property, "op": f.op}
    if OPERATORS[f.op].arity != "none":
        out["value"] = _thaw(f.value)
    return out


def _dump_compare(c: Compare) -> dict:
    return {"op": c.op, "value": _thaw(c.value)}


def _dump_condition(c: Condition) -> dict:
    if isinstance(c, PropertyCondition):
        out = {"type": "property", "entity": c.entity, **_dump_filter(c.filter)}
    elif isinstance(c, BehaviorCondition):
        measure = {"fn": c.measure.fn}
        if c.measure.property is not None:
            measure["property"] = c.measure.property
        out = {
            "type": "behavior",
            "event": c.event,
            "where": [_dump_filter(f) for f in c.where],
            "measure": measure,
            "compare": _dump_compare(c.compare),
            "window": _dump_window(c.window),
        }
        if c.per != "events":
            out["per"] = c.per
    elif isinstance(c, SeenCondition):
        out = {"type": c.kind, "event": c.event, "window": _dump_window(c.window)}
    elif isinstance(c, SequenceCondition):
        out = {
            "type": "sequence",
            "steps": [{"event": s.event, "where": [_dump_filter(f) for f in s.where]} for s in c.steps],
            "window": _dump_window(c.window),
        }
        if c.within_days is not None:
            out["within_days"] = c.within_days
    elif isinstance(c, SegmentRefCondition):
        out = {"type": "segment", "segment": c.segment}
    elif isinstance(c, ListCondition):
        out = {"type": "list", "ids": list(c.ids)}
    elif isinstance(c, UsersCondition):
        out = {"type": "users", "compare": _dump_compare(c.compare), "match": dump_definition(c.match)}
        if c.share:
            out["share"] = True
    elif isinstance(c, GroupCondition):
        out = {"type": "group", "match": c.match, "conditions": [_dump_condition(x) for x in c.conditions]}
    else:  # pragma: no cover
        raise TypeError(c)
    if c.negate:
        out["negate"] = True
    return out


def definition_json(seg: SegmentDef) -> str:
    """Canonical JSON text (stable key order): what is stored and what cache keys use."""
    return json.dumps(dump_definition(seg), ensure_ascii=False, sort_keys=True)


def iter_conditions(conditions: tuple[Condition, ...], path: str = "conditions"):
    """Yield ``(path, condition)`` for every condition, depth first, groups included."""
    for i, c in enumerate(conditions):
        p = f"{path}[{i}]"
        yield p, c
        if isinstance(c, GroupCondition):
            yield from iter_conditions(c.conditions, f"{p}.conditions")
