"""Top events: per series, the share of its units that did each event, and the lift versus the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.core.analyses.activity import UnitMap, in_series, unit_map_for, universe_keys
from seglab.core.analyses.common import EVERYONE_SERIES, Engine, SeriesSpec, check_series, resolve_window
from seglab.core.progress import NULL_PROGRESS, Progress

TOP_EVENTS_COLUMNS = ["segment", "event", "units", "share", "rest_units", "rest_share", "lift"]


@dataclass(frozen=True)
class TopEventsRequest:
    series: tuple[SeriesSpec, ...] = EVERYONE_SERIES
    as_of_ms: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    limit: int | None = None


def unit_event_pairs(engine: Engine, window) -> np.ndarray:
    """Distinct (user, event) pairs active in the window, as an n × 2 array."""
    span = int(engine.one("SELECT MAX(event_key) FROM event_names") or 0) + 1
    cut_sql, cut_params = engine.as_of_filter(window.as_of_ms, "d.first_ts")
    # One packed integer per pair: a single-column fetch is much cheaper than two columns.
    packed = engine.column(
        "SELECT d.user_key * ? + d.event_key FROM user_days d"
        f" WHERE d.day BETWEEN ? AND ?{cut_sql} GROUP BY d.user_key, d.event_key",
        [span, window.from_day, window.to_day, *cut_params],
    )
    users, events = np.divmod(packed, span)
    return np.stack([users, events], axis=1)


def series_pairs(pairs: np.ndarray, series: SeriesSpec, unit_map: UnitMap | None) -> np.ndarray:
    """Distinct (unit, event) pairs of the series' units (accounts: any of their users)."""
    part = pairs[in_series(pairs[:, 0], series, unit_map)]
    if series.level == "account" and part.size:
        assert unit_map is not None  # there is an account series
        span = int(part[:, 1].max()) + 1
        packed = np.unique(unit_map.account_of(part[:, 0]) * span + part[:, 1])
        accounts, events = np.divmod(packed, span)
        part = np.stack([accounts, events], axis=1)
    return part


def run_top_events(conn, request: TopEventsRequest, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """Rows per series sorted by share (then name); events no unit of the series did are left out.

    ``share`` is over all the series' units (doers or not); the rest is the level's
    universe minus the series, and ``lift`` = share / rest_share (empty without a rest).
    """
    check_series(request.series)
    window = resolve_window(request.as_of_ms, request.date_from, request.date_to, conn)
    engine = Engine(conn, progress)
    names = dict(engine.rows("SELECT event_key, name FROM event_names"))
    pairs = unit_event_pairs(engine, window) if not window.empty else np.zeros((0, 2), dtype=np.int64)
    # The rest needs every account's users, not only the members'.
    any_account = any(s.level == "account" for s in request.series)
    unit_map = unit_map_for(engine, request.series, need_all=any_account)
    everyone_pairs: dict[str, np.ndarray] = {}
    universe: dict[str, np.ndarray] = {}
    rows = []
    for series in request.series:
        level = series.level
        if level not in universe:
            universe[level] = universe_keys(engine, level)
            everyone_pairs[level] = series_pairs(pairs, SeriesSpec("all", level, None), unit_map)
        uni = universe[level]
        size = uni.size if series.keys is None else len(set(series.keys))
        rest_size = 0 if series.keys is None else int((~np.isin(uni, np.asarray(series.keys))).sum())
        mine = series_pairs(pairs, series, unit_map)
        keys = np.asarray(sorted(names), dtype=np.int64)
        top = int(keys.max()) + 1 if keys.size else 1
        n_in = np.bincount(mine[:, 1], minlength=top)[keys]
        n_all = np.bincount(everyone_pairs[level][:, 1], minlength=top)[keys]
        for k, a, b in zip(keys, n_in, n_all):
            if a == 0:
                continue
            share = a / size if size else 0.0
            rest_units = int(b - a) if series.keys is not None else 0
            rest_share = rest_units / rest_size if rest_size else float("nan")
            lift = share / rest_share if rest_size and rest_share > 0 else float("nan")
            rows.append((series.label, names[int(k)], int(a), share, rest_units, rest_share, lift))
    frame = pd.DataFrame(rows, columns=TOP_EVENTS_COLUMNS)
    if frame.empty:
        return frame
    order = {s.label: i for i, s in enumerate(request.series)}
    frame["_o"] = frame["segment"].map(order)
    frame = frame.sort_values(["_o", "share", "event"], ascending=[True, False, True], kind="stable")
    frame = frame.drop(columns="_o").reset_index(drop=True)
    if request.limit:
        frame = frame.groupby("segment", sort=False).head(request.limit).reset_index(drop=True)
    return frame
