"""Event-property filters for analyses (funnel steps): catalogue identifiers, bound values.

The operators and their missing-value rules follow segment-definition.md: a row
without the property matches only the negative operators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from seglab.core.errors import AnalysisError
from seglab.core.project import PropertyInfo

_SAFE_COLUMN = re.compile(r"^p\d+$")
NEGATIVE_OPS = {"neq", "not_in", "not_contains", "is_not_set"}
OPS = {
    "eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with",
    "gt", "gte", "lt", "lte", "between", "is_set", "is_not_set",
}  # fmt: skip


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    op: str
    value: Any = None


def _coerce(prop: PropertyInfo, value: Any, where: str):
    if prop.type in ("integer", "real", "datetime"):
        if isinstance(value, bool):
            raise AnalysisError(f"{where}: {prop.name!r} is numeric; {value!r} is not a number")
        try:
            return float(value) if prop.type == "real" else int(float(value))
        except (TypeError, ValueError):
            raise AnalysisError(f"{where}: {prop.name!r} is numeric; {value!r} is not a number") from None
    if prop.type == "boolean":
        if isinstance(value, bool):
            return int(value)
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return 1
        if text in ("false", "0"):
            return 0
        raise AnalysisError(f"{where}: {prop.name!r} is true/false; {value!r} is not")
    return str(value)


def compile_filters(conn, filters: tuple[PropertyFilter, ...], alias: str, where: str) -> tuple[str, list]:
    """SQL (joined with AND, '' for no filters) and its parameters."""
    if not filters:
        return "", []
    from seglab.core.analyses.common import Engine

    catalogue = {p.name: p for p in Engine(conn).properties("event")}
    parts: list[str] = []
    params: list = []
    for i, f in enumerate(filters):
        here = f"{where}[{i}]"
        prop = catalogue.get(f.property)
        if prop is None:
            raise AnalysisError(f"{here}: no event property named {f.property!r}")
        if f.op not in OPS:
            raise AnalysisError(f"{here}: unknown operator {f.op!r}")
        if not _SAFE_COLUMN.match(prop.column):
            raise AnalysisError(f"{here}: property {f.property!r} has an unexpected column name")
        col = f"{alias}.{prop.column}"
        op = f.op
        if op == "is_set":
            parts.append(f"{col} IS NOT NULL")
            continue
        if op == "is_not_set":
            parts.append(f"{col} IS NULL")
            continue
        if op in ("contains", "not_contains", "starts_with", "ends_with"):
            text = str(f.value).lower()
            pattern = {"starts_with": "{}%", "ends_with": "%{}"}.get(op, "%{}%")
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            cond = f"lower(CAST({col} AS TEXT)) LIKE ? ESCAPE '\\'"
            params.append(pattern.format(escaped))
            parts.append(f"({col} IS NULL OR NOT {cond})" if op == "not_contains" else f"({cond})")
            continue
        if op in ("in", "not_in"):
            values = f.value if isinstance(f.value, (list, tuple)) else [f.value]
            if not values:
                raise AnalysisError(f"{here}: {op} needs a non-empty list")
            marks = ", ".join("?" for _ in values)
            params.extend(_coerce(prop, v, here) for v in values)
            if op == "in":
                parts.append(f"{col} IN ({marks})")
            else:
                parts.append(f"({col} IS NULL OR {col} NOT IN ({marks}))")
            continue
        if op == "between":
            if not isinstance(f.value, (list, tuple)) or len(f.value) != 2:
                raise AnalysisError(f"{here}: between needs [low, high]")
            params.extend([_coerce(prop, f.value[0], here), _coerce(prop, f.value[1], here)])
            parts.append(f"{col} BETWEEN ? AND ?")
            continue
        sql_op = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        params.append(_coerce(prop, f.value, here))
        if op == "neq":
            parts.append(f"({col} IS NULL OR {col} <> ?)")
        else:
            parts.append(f"{col} {sql_op} ?")
    return " AND ".join(parts), params
