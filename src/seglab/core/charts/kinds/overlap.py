"""Overlap: the regions of 2 to 6 segments of one unit (``seglab analyze overlap``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    SliceMembers,
    unit_word,
)
from seglab.core.charts.errors import ChartError
from seglab.core.charts.kind import ChartKind, series_of

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def problem(spec: ChartSpec) -> str:
    if not 2 <= len(spec.segments) <= 6:
        return "Tick 2 to 6 segments of one unit to see how they overlap."
    return ""


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import OverlapRequest

    return OverlapRequest(series=series_of(series))


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_jaccard, run_overlap

    frame = run_overlap(conn, request, progress)
    frame.attrs["jaccard"] = run_jaccard(conn, request, progress).to_dict("records")  # the pairs it lists
    return frame


def describe(spec: ChartSpec, o: dict) -> str:
    return "Overlap"


def members(conn, spec: ChartSpec, s, window, req: SliceRequest, progress=None, resolved=()) -> SliceMembers:
    return region_members(tuple(resolved), str(req.get("region")))


def region_members(series: tuple[ResolvedSeries, ...], region: str) -> SliceMembers:
    from seglab.core.analyses.overlap import REGION_SEPARATOR

    names = region.split(REGION_SEPARATOR)
    sets = {s.label: set(s.keys or ()) for s in series}
    if any(n not in sets for n in names):
        raise ChartError(f"the overlap has no region “{region}”")
    keys = set.intersection(*(sets[n] for n in names))
    for other, members in sets.items():
        if other not in names:
            keys -= members
    level = series[0].level if series else "user"
    only = "only " if len(names) < len(sets) else ""
    title = f"{unit_word(level).capitalize()} in {only}{' and '.join(names)}"
    return SliceMembers(level, tuple(sorted(keys)), title)


KIND = ChartKind(
    name="overlap",
    title="Overlap",
    analyze="overlap",
    defaults={},
    draws="overlap",
    build=build,
    run=run,
    describe=describe,
    members=members,
    problem=problem,
    uses_interval=False,
)
