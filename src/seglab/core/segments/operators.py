"""THE operator table: validation, the compiler, ``describe()`` and the builder UI all read it.

Each property operator says how many values it takes, which property types it applies
to, whether it is *negative* (negative operators also match a missing value, as the
docs/segments.md says), how it becomes a sqlglot expression, and its sentence fragment.

SQL builders receive the column expression and values already coerced to the
property's type (see :mod:`seglab.core.segments.values`) wrapped as bound parameters.
A datetime value is a half-open span ``[lo, hi)``: one millisecond for a date-time,
the whole UTC day for a bare date, so "bare dates compare as dates".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

ALL_TYPES = frozenset({"text", "integer", "real", "boolean", "datetime"})
ORDERED_TYPES = frozenset({"integer", "real", "datetime"})
NUMERIC_TYPES = frozenset({"integer", "real"})


@dataclass(frozen=True)
class Span:
    """A datetime value as the half-open interval ``[lo, hi)`` of epoch ms it stands for."""

    lo: Any  # sqlglot expressions (parameters) once compiled; ints before
    hi: Any


@dataclass(frozen=True)
class Operator:
    op: str
    label: str  # the builder's menu label
    arity: str  # 'none' | 'scalar' | 'list' | 'pair' | 'days'
    value_kind: str  # what the builder's editor offers: 'any' | 'text' | 'ordered' | 'date' | 'days'
    types: frozenset[str]  # property types it applies to
    negative: bool  # also true for a missing value
    case_insensitive: bool
    sentence: str  # fragment; {value}, {low}, {high} filled by describe()
    build: Callable[..., exp.Expr]  # (column, value) -> boolean expression (NULL = no match)


def _is_null(col: exp.Expr) -> exp.Expr:
    return exp.Is(this=col.copy(), expression=exp.Null())


def _not_null(col: exp.Expr) -> exp.Expr:
    return exp.Not(this=_is_null(col))


def _or_missing(col: exp.Expr, positive: exp.Expr) -> exp.Expr:
    # Null-safe complement: a missing value satisfies every negative operator.
    return exp.or_(_is_null(col), exp.Not(this=exp.paren(positive, copy=False)), copy=False)


def _eq(col, v):
    if isinstance(v, Span):
        return exp.and_(exp.GTE(this=col.copy(), expression=v.lo), exp.LT(this=col.copy(), expression=v.hi))
    return exp.EQ(this=col.copy(), expression=v)


def _gt(col, v):
    return (
        exp.GTE(this=col.copy(), expression=v.hi)
        if isinstance(v, Span)
        else exp.GT(this=col.copy(), expression=v)
    )


def _gte(col, v):
    return (
        exp.GTE(this=col.copy(), expression=v.lo)
        if isinstance(v, Span)
        else exp.GTE(this=col.copy(), expression=v)
    )


def _lt(col, v):
    return (
        exp.LT(this=col.copy(), expression=v.lo)
        if isinstance(v, Span)
        else exp.LT(this=col.copy(), expression=v)
    )


def _lte(col, v):
    return (
        exp.LT(this=col.copy(), expression=v.hi)
        if isinstance(v, Span)
        else exp.LTE(this=col.copy(), expression=v)
    )


def _in(col, values):
    if any(isinstance(v, Span) for v in values):
        return exp.paren(exp.or_(*[_eq(col, v) for v in values], copy=False), copy=False)
    return exp.In(this=col.copy(), expressions=list(values))


def _lower(col):
    # seglab_lower is registered on SQLite connections (SQLite's lower() is ASCII-only);
    # other engines get their own Unicode-aware LOWER.
    return exp.Anonymous(this="seglab_lower", expressions=[col.copy()])


def _contains(col, v):
    return exp.GT(this=exp.StrPosition(this=_lower(col), substr=v), expression=exp.Literal.number(0))


def _starts(col, v):
    return exp.EQ(this=exp.StrPosition(this=_lower(col), substr=v), expression=exp.Literal.number(1))


def _ends(col, v):
    low = _lower(col)
    n = exp.Length(this=v.copy())
    return exp.and_(
        exp.GTE(this=exp.Length(this=low.copy()), expression=n.copy()),
        exp.EQ(
            this=exp.Substring(
                this=low,
                start=exp.Add(
                    this=exp.Sub(this=exp.Length(this=low.copy()), expression=n),
                    expression=exp.Literal.number(1),
                ),
            ),
            expression=v.copy(),
        ),
    )


def _between(col, pair):
    low, high = pair
    return exp.and_(_gte(col, low), _lte(col, high))


def _within_last(col, span):
    # span = (T - N days, T] as Span(lo=T-N days, hi=T): lo < value <= T
    return exp.and_(exp.GT(this=col.copy(), expression=span.lo), exp.LTE(this=col.copy(), expression=span.hi))


def _op(op, label, arity, kind, types, negative, sentence, build, ci=False) -> Operator:
    return Operator(op, label, arity, kind, frozenset(types), negative, ci, sentence, build)


OPERATORS: dict[str, Operator] = {
    o.op: o
    for o in [
        _op("eq", "is", "scalar", "any", ALL_TYPES, False, "is {value}", _eq),
        _op(
            "neq",
            "is not",
            "scalar",
            "any",
            ALL_TYPES,
            True,
            "is not {value}",
            lambda c, v: _or_missing(c, _eq(c, v)),
        ),
        _op("in", "is one of", "list", "any", ALL_TYPES, False, "is one of {value}", _in),
        _op(
            "not_in",
            "is none of",
            "list",
            "any",
            ALL_TYPES,
            True,
            "is none of {value}",
            lambda c, v: _or_missing(c, _in(c, v)),
        ),
        _op(
            "contains", "contains", "scalar", "text", {"text"}, False, "contains {value}", _contains, ci=True
        ),
        _op(
            "not_contains",
            "does not contain",
            "scalar",
            "text",
            {"text"},
            True,
            "does not contain {value}",
            lambda c, v: _or_missing(c, _contains(c, v)),
            ci=True,
        ),
        _op(
            "starts_with",
            "starts with",
            "scalar",
            "text",
            {"text"},
            False,
            "starts with {value}",
            _starts,
            ci=True,
        ),
        _op("ends_with", "ends with", "scalar", "text", {"text"}, False, "ends with {value}", _ends, ci=True),
        _op(
            "gt", "is greater than", "scalar", "ordered", ORDERED_TYPES, False, "is greater than {value}", _gt
        ),
        _op("gte", "is at least", "scalar", "ordered", ORDERED_TYPES, False, "is at least {value}", _gte),
        _op("lt", "is less than", "scalar", "ordered", ORDERED_TYPES, False, "is less than {value}", _lt),
        _op("lte", "is at most", "scalar", "ordered", ORDERED_TYPES, False, "is at most {value}", _lte),
        _op(
            "between",
            "is between",
            "pair",
            "ordered",
            ORDERED_TYPES,
            False,
            "is between {low} and {high}",
            _between,
        ),
        _op("is_set", "is set", "none", "none", ALL_TYPES, False, "is set", lambda c, v: _not_null(c)),
        _op(
            "is_not_set",
            "is not set",
            "none",
            "none",
            ALL_TYPES,
            True,
            "is not set",
            lambda c, v: _is_null(c),
        ),
        _op("before", "is before", "scalar", "date", {"datetime"}, False, "is before {value}", _lt),
        _op("after", "is after", "scalar", "date", {"datetime"}, False, "is after {value}", _gt),
        _op(
            "within_last_days",
            "is within the last … days",
            "days",
            "days",
            {"datetime"},
            False,
            "is within the last {value} days",
            _within_last,
        ),
    ]
}


@dataclass(frozen=True)
class CompareOp:
    op: str
    label: str
    sentence: str  # "{value}" / "{low}", "{high}"
    test: Callable[[float, Any], bool]  # Python evaluation (zero checks, references)
    build: Callable[[exp.Expr, Any], exp.Expr]


COMPARE_OPS: dict[str, CompareOp] = {
    c.op: c
    for c in [
        CompareOp(
            "eq", "exactly", "exactly {value}", lambda x, v: x == v, lambda e, v: exp.EQ(this=e, expression=v)
        ),
        CompareOp(
            "neq",
            "not exactly",
            "other than {value}",
            lambda x, v: x != v,
            lambda e, v: exp.NEQ(this=e, expression=v),
        ),
        CompareOp(
            "gt",
            "more than",
            "more than {value}",
            lambda x, v: x > v,
            lambda e, v: exp.GT(this=e, expression=v),
        ),
        CompareOp(
            "gte",
            "at least",
            "at least {value}",
            lambda x, v: x >= v,
            lambda e, v: exp.GTE(this=e, expression=v),
        ),
        CompareOp(
            "lt",
            "fewer than",
            "fewer than {value}",
            lambda x, v: x < v,
            lambda e, v: exp.LT(this=e, expression=v),
        ),
        CompareOp(
            "lte",
            "at most",
            "at most {value}",
            lambda x, v: x <= v,
            lambda e, v: exp.LTE(this=e, expression=v),
        ),
        CompareOp(
            "between",
            "between",
            "between {low} and {high}",
            lambda x, v: v[0] <= x <= v[1],
            lambda e, v: exp.Between(this=e, low=v[0], high=v[1]),
        ),
    ]
}


@dataclass(frozen=True)
class MeasureFn:
    fn: str
    label: str  # builder menu
    noun: str  # describe(): "did purchase {compare} {noun}"
    needs_property: bool
    zero_when_empty: bool  # over no events the value is 0 (else: no value, matches nothing)


MEASURES: dict[str, MeasureFn] = {
    m.fn: m
    for m in [
        MeasureFn("count", "number of times", "times", False, True),
        MeasureFn("distinct_days", "number of days", "days", False, True),
        MeasureFn("distinct_weeks", "number of weeks", "weeks", False, True),
        MeasureFn("distinct_months", "number of months", "months", False, True),
        MeasureFn("sum", "total of", "total", True, True),
        MeasureFn("avg", "average of", "average", True, False),
        MeasureFn("min", "smallest", "smallest", True, False),
        MeasureFn("max", "largest", "largest", True, False),
    ]
}


def operators_for_type(prop_type: str) -> list[Operator]:
    """The operators the builder offers for a property of ``prop_type``, in menu order."""
    return [o for o in OPERATORS.values() if prop_type in o.types]
