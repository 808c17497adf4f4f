"""What distinguishes a segment: properties and events ranked by how differently the segment and
the rest of its level's universe look, with an effect size and a significance measure.

- Property values (text and boolean properties): the share of units with the value, in the
  segment and in the rest; effect size Cohen's h; two-sided two-proportion z-test.
- Numeric properties (integer, real): the mean of the units that have a value; effect size
  Cohen's d (pooled standard deviation); two-sided Welch test with the normal approximation.
- Events: the share of units that did the event in the range; Cohen's h and the z-test.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import unit_map_for, universe_keys
from seglab.core.analyses.common import Engine, SeriesSpec, resolve_window
from seglab.core.analyses.top_events import series_pairs, unit_event_pairs
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS, Progress

DISTINGUISH_COLUMNS = [
    "segment", "kind", "name", "value", "segment_value", "rest_value", "difference", "effect_size", "p_value",
]  # fmt: skip
_SAFE_COLUMN = re.compile(r"^p\d+$")


@dataclass(frozen=True)
class DistinguishRequest:
    series: SeriesSpec
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    max_values: int = 20  # per text property, the values most common in the segment
    limit: int | None = None


def cohen_h(p1: float, p2: float) -> float:
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def two_proportion_p(a: int, n1: int, b: int, n2: int) -> float:
    if n1 == 0 or n2 == 0:
        return float("nan")
    pooled = (a + b) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (a / n1 - b / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def moments(values) -> tuple[int, float, float]:
    """(n, mean, sample variance) with exactly rounded sums (``math.fsum``): the same numbers
    whatever the order of the values, so a connected project's (sums computed in ClickHouse)
    are identical. The variance sums the squared deviations from that mean, each rounded."""
    x = [float(v) for v in values]
    n = len(x)
    if not n:
        return 0, float("nan"), float("nan")
    mean = math.fsum(x) / n
    var = math.fsum((v - mean) * (v - mean) for v in x) / (n - 1) if n > 1 else float("nan")
    return n, mean, var


def mean_difference(x, y) -> tuple[float, float]:
    """(Cohen's d, two-sided p of Welch's test, normal approximation)."""
    return mean_difference_of(moments(x), moments(y))


def mean_difference_of(mx: tuple[int, float, float], my: tuple[int, float, float]) -> tuple[float, float]:
    """:func:`mean_difference` from each side's :func:`moments`."""
    (nx, ax, vx), (ny, ay, vy) = mx, my
    if nx < 2 or ny < 2:
        return float("nan"), float("nan")
    pooled = math.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2))
    diff = ax - ay
    d = diff / pooled if pooled > 0 else 0.0
    se = math.sqrt(vx / nx + vy / ny)
    p = math.erfc(abs(diff / se) / math.sqrt(2)) if se > 0 else 1.0
    return d, p


def run_distinguish(conn, request: DistinguishRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    series = request.series
    if series.keys is None:
        raise AnalysisError("'what distinguishes' needs a segment: everyone has no rest to compare with")
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress)
    universe = universe_keys(engine, series.level)
    members = np.isin(universe, np.asarray(series.keys, dtype=np.int64))
    n_in, n_out = int(members.sum()), int((~members).sum())
    rows: list[tuple] = []
    rows += _property_rows(engine, series, universe, members, request.max_values)
    if not window.empty:
        pairs = unit_event_pairs(engine, window)
        unit_map = unit_map_for(engine, (series,), need_all=series.level == "account")  # the rest too
        everyone = series_pairs(pairs, SeriesSpec("all", series.level, None), unit_map)
        everyone = everyone[np.isin(everyone[:, 0], universe)]
        in_seg = np.isin(everyone[:, 0], universe[members])
        names = dict(engine.rows("SELECT event_key, name FROM event_names"))
        for key in np.unique(everyone[:, 1]):
            this = everyone[:, 1] == key
            a, b = int((this & in_seg).sum()), int((this & ~in_seg).sum())
            rows.append(proportion_row(series.label, "event", names[int(key)], "", a, n_in, b, n_out))
    return finish(pd.DataFrame(rows, columns=DISTINGUISH_COLUMNS), request.limit)


def numeric_row(label, name, sx, sy) -> tuple:
    """A numeric property's row from each side's :func:`moments`."""
    d, pval = mean_difference_of(sx, sy)
    mx, my = sx[1], sy[1]
    return (label, "numeric", name, "", mx, my, mx - my, d, pval)


def finish(frame: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """The rows by decreasing |effect size| (then kind, name, value), at most ``limit``."""
    if frame.empty:
        return frame
    frame = frame.assign(_abs=frame["effect_size"].abs()).sort_values(
        ["_abs", "kind", "name", "value"],
        ascending=[False, True, True, True],
        kind="stable",
        na_position="last",
    )
    frame = frame.drop(columns="_abs").reset_index(drop=True)
    return frame.head(limit) if limit else frame


def proportion_row(label, kind, name, value, a, n_in, b, n_out) -> tuple:
    p1 = a / n_in if n_in else 0.0
    p2 = b / n_out if n_out else 0.0
    return (label, kind, name, value, p1, p2, p1 - p2, cohen_h(p1, p2), two_proportion_p(a, n_in, b, n_out))


def _property_rows(engine: Engine, series: SeriesSpec, universe, members, max_values: int) -> list[tuple]:
    """Rows for the unit's own properties and, for users, their account's (named ``account.NAME``)."""
    usable = lambda entity: [
        p for p in engine.properties(entity)
        if _SAFE_COLUMN.match(p.column) and p.type in ("text", "boolean", "integer", "real")
    ]  # fmt: skip
    own = usable(series.level)
    of_account = usable("account") if series.level == "user" else []
    if not own and not of_account:
        return []
    # Catalogue column names only (checked above) become SQL text; aliases are positional.
    cols = [f"t.{p.column}" for p in own] + [f"a.{p.column}" for p in of_account]
    if series.level == "user":
        source = "users t LEFT JOIN accounts a ON a.account_key = t.account_key"
        key = "t.user_key"
    else:
        source, key = "accounts t", "t.account_key"
    data = engine.rows(f"SELECT {', '.join([key, *cols])} FROM {source}")
    names = [p.name for p in own] + [f"account.{p.name}" for p in of_account]
    frame = pd.DataFrame(data, columns=["key", *[f"c{i}" for i in range(len(names))]])
    frame = frame[frame["key"].isin(universe)]
    inside = frame["key"].isin(universe[members])
    n_in, n_out = int(members.sum()), int((~members).sum())
    rows = []
    for i, (name, p) in enumerate(zip(names, own + of_account)):
        col = frame[f"c{i}"]
        if p.type in ("integer", "real"):
            values = pd.to_numeric(col, errors="coerce")
            # Exact sums: the numbers do not depend on the order rows came back in.
            sx = moments(values[inside].dropna().to_numpy(dtype=float).tolist())
            sy = moments(values[~inside].dropna().to_numpy(dtype=float).tolist())
            rows.append(numeric_row(series.label, name, sx, sy))
            continue
        text = _as_text(col, p.type)
        known = text.dropna()
        if known.size and known.nunique() > max(max_values, known.size // 2):
            continue  # identifier-like (ids, e-mails): no value is shared enough to say anything
        counts_in = text[inside].dropna().value_counts()
        counts_out = text[~inside].dropna().value_counts()
        # Most common in the segment first, ties by value, so the choice never depends on row order.
        ranked = sorted(counts_in.items(), key=lambda kv: (-kv[1], kv[0]))[:max_values]
        for value in sorted(v for v, _n in ranked):
            a, b = int(counts_in[value]), int(counts_out.get(value, 0))
            rows.append(proportion_row(series.label, "property", name, value, a, n_in, b, n_out))
    return rows


def _as_text(col: pd.Series, typ: str) -> pd.Series:
    """Values as text (booleans as true/false), missing as None, for counting."""
    values = col.astype(object)
    present = col.notna()
    if typ == "boolean":
        flags = pd.to_numeric(col, errors="coerce").fillna(0).astype(bool)
        return pd.Series(np.where(flags, "true", "false"), index=col.index, dtype=object).where(present, None)
    return values.map(str, na_action="ignore").where(present, None)
