"""Charts without Qt: what a chart shows, saved charts, running one, drill-down; one record per kind.

- :mod:`.spec` — :class:`ChartSpec` (a frozen value, versioned JSON) and its one-line description;
- :mod:`.registry` — one :class:`~seglab.core.charts.kind.ChartKind` per kind (options, request,
  run, the people behind a slice, the rules checked before running, the widget that draws it),
  each in ``kinds/<kind>.py``: "how many" and "who" of a kind side by side;
- :mod:`.run` — :func:`run_chart` maps a spec to the analysis engine (``seglab.core.analyses``) and
  returns the analysis's tidy DataFrame unchanged, so a chart holds exactly the numbers the
  command line prints;
- :mod:`.drill` — :func:`slice_members`: "who is behind this point / bar / cell";
- :mod:`.store`, :mod:`.series`, :mod:`.steps`, :mod:`.catalog`, :mod:`.export`.
"""

from seglab.core.charts.catalog import ChartCatalog, chart_catalog, chart_catalog_file
from seglab.core.charts.drill import (
    SliceMembers,
    SliceRequest,
    furthest_steps,
    make_slice,
    period_label,
    slice_members,
    slice_members_file,
    unit_word,
)
from seglab.core.charts.errors import ChartError, MissingSegmentError
from seglab.core.charts.export import chart_tsv, write_chart_csv
from seglab.core.charts.kind import ChartKind
from seglab.core.charts.registry import BREAKDOWN_KINDS, KINDS, REGISTRY, get_kind, problem
from seglab.core.charts.run import breakdown_of, build_request, run_chart, run_chart_file
from seglab.core.charts.series import (
    EVERYONE_LABEL,
    ResolvedSeries,
    chart_dates,
    missing_segments,
    resolve_chart_as_of,
    resolve_series,
    rest_label,
    saved_segment_levels,
    universe_keys,
)
from seglab.core.charts.spec import (
    INTERVALS,
    RANGE_PRESETS,
    SPEC_VERSION,
    UNITS,
    ChartSpec,
    describe_spec,
    spec_from_json,
)
from seglab.core.charts.steps import format_steps, funnel_steps, parse_steps
from seglab.core.charts.store import (
    SavedChart,
    delete_chart,
    list_charts,
    load_chart,
    rename_chart,
    save_chart,
)

__all__ = [
    "BREAKDOWN_KINDS",
    "EVERYONE_LABEL",
    "INTERVALS",
    "KINDS",
    "RANGE_PRESETS",
    "REGISTRY",
    "SPEC_VERSION",
    "UNITS",
    "ChartCatalog",
    "ChartError",
    "ChartKind",
    "ChartSpec",
    "MissingSegmentError",
    "ResolvedSeries",
    "SavedChart",
    "SliceMembers",
    "SliceRequest",
    "breakdown_of",
    "build_request",
    "chart_catalog",
    "chart_catalog_file",
    "chart_dates",
    "chart_tsv",
    "delete_chart",
    "describe_spec",
    "format_steps",
    "funnel_steps",
    "furthest_steps",
    "get_kind",
    "list_charts",
    "load_chart",
    "make_slice",
    "missing_segments",
    "parse_steps",
    "period_label",
    "problem",
    "rename_chart",
    "resolve_chart_as_of",
    "resolve_series",
    "rest_label",
    "run_chart",
    "run_chart_file",
    "save_chart",
    "saved_segment_levels",
    "slice_members",
    "slice_members_file",
    "spec_from_json",
    "unit_word",
    "universe_keys",
    "write_chart_csv",
]
