"""Analyses: frozen requests in, tidy pandas DataFrames out (Qt-free).

Each ``run_<kind>(conn, request, progress)`` returns a DataFrame whose columns are
the command line's CSV columns, in order. ``conn`` is an SQLite connection (or a
DuckDB one holding the same tables, for cross-checks). Semantics: docs/analyses.md.
"""

from seglab.core.analyses.common import EVERYONE, SeriesSpec, Window, resolve_window
from seglab.core.analyses.distinguish import DISTINGUISH_COLUMNS, DistinguishRequest, run_distinguish
from seglab.core.analyses.distribution import (
    DISTRIBUTION_COLUMNS,
    DISTRIBUTION_STATS_COLUMNS,
    DistributionRequest,
    run_distribution,
    run_distribution_stats,
)
from seglab.core.analyses.engagement import (
    LIFECYCLE_COLUMNS,
    STICKINESS_COLUMNS,
    LifecycleRequest,
    StickinessRequest,
    run_lifecycle,
    run_stickiness,
)
from seglab.core.analyses.filters import PropertyFilter
from seglab.core.analyses.funnel import FUNNEL_COLUMNS, FunnelRequest, FunnelStep, run_funnel
from seglab.core.analyses.membership import (
    SIZE_COLUMNS,
    SizeOverTimeRequest,
    complement_series,
    run_size_over_time,
)
from seglab.core.analyses.overlap import (
    JACCARD_COLUMNS,
    OVERLAP_COLUMNS,
    OverlapRequest,
    run_jaccard,
    run_overlap,
)
from seglab.core.analyses.retention import RETENTION_COLUMNS, RetentionRequest, run_retention
from seglab.core.analyses.top_events import TOP_EVENTS_COLUMNS, TopEventsRequest, run_top_events
from seglab.core.analyses.trend import TREND_COLUMNS, TrendRequest, run_trend

__all__ = [
    "DISTINGUISH_COLUMNS",
    "DISTRIBUTION_COLUMNS",
    "DISTRIBUTION_STATS_COLUMNS",
    "EVERYONE",
    "FUNNEL_COLUMNS",
    "JACCARD_COLUMNS",
    "LIFECYCLE_COLUMNS",
    "OVERLAP_COLUMNS",
    "RETENTION_COLUMNS",
    "SIZE_COLUMNS",
    "STICKINESS_COLUMNS",
    "TOP_EVENTS_COLUMNS",
    "TREND_COLUMNS",
    "DistinguishRequest",
    "DistributionRequest",
    "FunnelRequest",
    "FunnelStep",
    "LifecycleRequest",
    "OverlapRequest",
    "PropertyFilter",
    "RetentionRequest",
    "SeriesSpec",
    "SizeOverTimeRequest",
    "StickinessRequest",
    "TopEventsRequest",
    "TrendRequest",
    "Window",
    "complement_series",
    "resolve_window",
    "run_distinguish",
    "run_distribution",
    "run_distribution_stats",
    "run_funnel",
    "run_jaccard",
    "run_lifecycle",
    "run_overlap",
    "run_retention",
    "run_size_over_time",
    "run_stickiness",
    "run_top_events",
    "run_trend",
]
