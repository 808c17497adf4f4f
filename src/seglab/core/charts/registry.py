"""The chart-kind registry: one :class:`~seglab.core.charts.kind.ChartKind` per kind, in the
editor's order. Adding a kind is one module in ``kinds/`` and one line here."""

from __future__ import annotations

from typing import Any

from seglab.core.charts.errors import ChartError
from seglab.core.charts.kind import ChartKind
from seglab.core.charts.kinds import (
    distinguishes,
    distribution,
    funnel,
    lifecycle,
    overlap,
    retention,
    segment_size,
    stickiness,
    top_events,
    trend,
)

REGISTRY: dict[str, ChartKind] = {
    k.name: k
    for k in (
        trend.KIND,
        funnel.KIND,
        retention.KIND,
        distribution.KIND,
        top_events.KIND,
        stickiness.KIND,
        lifecycle.KIND,
        overlap.KIND,
        distinguishes.KIND,
        segment_size.KIND,
    )
}

# kind -> (title, default options), in the editor's order.
KINDS: dict[str, tuple[str, dict[str, Any]]] = {k.name: (k.title, k.defaults) for k in REGISTRY.values()}
BREAKDOWN_KINDS = tuple(k.name for k in REGISTRY.values() if k.breakdown)


def get_kind(name: str) -> ChartKind:
    kind = REGISTRY.get(name)
    if kind is None:
        raise ChartError(f"unknown chart kind {name!r} (one of {', '.join(REGISTRY)})")
    return kind


def problem(spec) -> str:
    """Why ``spec`` cannot run yet, as the page shows it and the core refuses it ('' when it can)."""
    return get_kind(spec.kind).problem(spec)
