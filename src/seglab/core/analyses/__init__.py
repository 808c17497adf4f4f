"""Analyses: frozen requests in, tidy pandas DataFrames out (Qt-free).

Each ``run_<kind>(conn, request, progress)`` returns a DataFrame whose columns are
the command line's CSV columns, in order. Semantics: docs/analyses.md.
"""

from seglab.core.analyses.common import EVERYONE, SeriesSpec, Window, resolve_window
from seglab.core.analyses.filters import PropertyFilter
from seglab.core.analyses.funnel import FUNNEL_COLUMNS, FunnelRequest, FunnelStep, run_funnel
from seglab.core.analyses.retention import RETENTION_COLUMNS, RetentionRequest, run_retention
from seglab.core.analyses.trend import TREND_COLUMNS, TrendRequest, run_trend

__all__ = [
    "EVERYONE",
    "FUNNEL_COLUMNS",
    "RETENTION_COLUMNS",
    "TREND_COLUMNS",
    "FunnelRequest",
    "FunnelStep",
    "PropertyFilter",
    "RetentionRequest",
    "SeriesSpec",
    "TrendRequest",
    "Window",
    "resolve_window",
    "run_funnel",
    "run_retention",
    "run_trend",
]
