"""One chart kind as one record (:class:`ChartKind`): the registry (:mod:`.registry`) holds one per kind.

A record says everything SegLab does with a kind: its title and default options, the
``seglab analyze`` command that writes the same CSV, how its request is built from a
spec, how it runs, which people are behind a clicked slice, what the editor and the page
check before running it, and which chart widget draws it (a name: the core never
imports Qt). "How many" (the analysis) and "who" (``members``) of a kind live in the
same module, ``seglab.core.charts.kinds.<kind>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

USER_ACCOUNT = ("user", "account")  # what a kind other than the trend breaks down by


def series_of(series) -> tuple:
    """The chart's resolved series as the analyses take them."""
    return tuple(s.to_series_spec() for s in series)


def no_problem(spec) -> str:
    return ""


def no_draw_options(spec) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ChartKind:
    name: str  # the spec's kind
    title: str  # the editor's list
    analyze: str  # the ``seglab analyze`` name (chart list --json)
    defaults: dict[str, Any]
    draws: str  # the chart widget that draws it (ui/charts maps the name to a class)
    build: Callable[..., Any]  # (spec, series, window) -> the analysis request
    run: Callable[..., Any]  # (conn, spec, request, progress) -> DataFrame
    describe: Callable[..., str]  # (spec, options) -> what the chart shows, for its subtitle
    members: Callable[..., Any] | None = None  # (conn, spec, series, window, slice, progress) -> SliceMembers
    problem: Callable[[Any], str] = no_problem  # why a spec cannot run yet ('' when it can)
    breakdown: tuple[str, ...] = ()  # the entities its "Breakdown by" offers
    uses_interval: bool = True
    # What the widget needs besides the frame (labels, smoothing), as keyword options.
    draw_options: Callable[[Any], dict[str, Any]] = no_draw_options
    options: tuple[str, ...] = field(default=())  # option keys besides the defaults it reads


def run_analysis(conn, spec, request, runner, progress, ranking_event=None):
    """``runner(conn, request)``, broken down by the spec's "Breakdown by" when it has one
    (``ranking_event``: the event whose doers rank the values, see docs/analyses.md)."""
    from seglab.core.charts.run import breakdown_of

    by = breakdown_of(spec)
    if by is None or ranking_event is None:
        return runner(conn, request, progress)
    from seglab.core.analyses.breakdown import run_broken_down

    return run_broken_down(conn, request, runner, by, ranking_event, progress)


def event_words(options: dict, key: str) -> str:
    return "any event" if options.get(key, "*") == "*" else str(options.get(key))


def every(spec) -> str:
    return {"day": "day", "week": "week", "month": "month"}[spec.interval]
