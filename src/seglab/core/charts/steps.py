"""Funnel steps as typed in the editor (``signup, purchase[amount>=100; platform=web]``).

The text form is the analyses' event-filter syntax (:mod:`seglab.core.analyses.filters`),
so the editor, the command line and a saved chart read a step the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seglab.core.charts.spec import ChartSpec


def parse_steps(text: str) -> list:
    """Funnel steps as typed: plain steps stay strings; filtered ones become ``{"event", "where"}``.

    Raises :class:`~seglab.core.charts.errors.ChartError` with a sentence for a step it cannot read.
    """
    from seglab.core.analyses.filters import parse_event_list
    from seglab.core.charts.errors import ChartError
    from seglab.core.errors import AnalysisError

    try:
        selectors = parse_event_list(text)
    except AnalysisError as exc:
        raise ChartError(f"funnel step {exc}") from None
    out: list = []
    for sel in selectors:
        if not sel.where:
            out.append(sel.event)
        else:
            where = [{"property": f.property, "op": f.op, "value": f.value} for f in sel.where]
            out.append({"event": sel.event, "where": where})
    return out


def format_steps(steps) -> str:
    """The text :func:`parse_steps` reads back to ``steps``."""
    from seglab.core.analyses.filters import format_event, selector_of

    return ", ".join(format_event(selector_of(step)) for step in steps or [])


def funnel_steps(spec: ChartSpec):
    """The spec's steps as the funnel analysis takes them."""
    from seglab.core.analyses.filters import selector_of
    from seglab.core.analyses.funnel import FunnelStep

    return tuple(FunnelStep(sel.event, sel.where) for sel in map(selector_of, spec.option("steps") or []))
