"""Sorted horizontal bars: top events (share of units, lift vs the rest) and what distinguishes a segment."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from seglab.core import formatting
from seglab.ui.charts.chart_base import BaseChart, brush, colors_for, pen, series_info
from seglab.ui.palette import REST_COLOR

ROW_HEIGHT = 0.8


def lift_text(lift) -> str:
    if lift is None or (isinstance(lift, float) and math.isnan(lift)):
        return ""
    return f"×{float(lift):.1f}"


class RankedBarsChart(BaseChart):
    """Rows top to bottom; ``bars[label]`` is a horizontal BarGraphItem per series whose
    ``values[label]`` are the bar lengths in row order; ``rows`` are the row names."""

    kind = "top_events"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._add_legend_plot_note()
        self.item.showGrid(x=True, y=False, alpha=0.15)
        self.item.getAxis("left").setStyle(maxTickLevel=0)
        self.item.getAxis("bottom").setStyle(maxTickLevel=1)
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.values: dict[str, np.ndarray] = {}
        self.rows: list[str] = []
        self.texts: list[pg.TextItem] = []
        self._geometry: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        self._row_keys: list = []
        self._emit_slices_on_click(self.item)

    def _draw(self, frame, labels, values: dict[str, np.ndarray], colors: dict[str, str | list[str]],
              row_names: list[str], annotations: dict[str, list[str]]) -> None:  # fmt: skip
        n = max(1, len(labels))
        thickness = ROW_HEIGHT / n
        for gone in [lbl for lbl in self.bars if lbl not in labels]:
            self.item.removeItem(self.bars.pop(gone))
        for t in self.texts:
            self.item.removeItem(t)
        self.texts = []
        self.rows = row_names
        self.values = {}
        self._geometry = {}
        rows_n = len(row_names)
        for i, label in enumerate(labels):
            width = values[label]
            y = (rows_n - 1 - np.arange(rows_n, dtype=float)) - (i - (n - 1) / 2) * thickness
            color = colors[label]
            brushes = [brush(c) for c in color] if isinstance(color, list) else brush(color)
            bar = self.bars.get(label)
            if bar is None:
                bar = pg.BarGraphItem(x0=0, y=y, width=width, height=thickness * 0.9)
                self.item.addItem(bar)
                self.bars[label] = bar
            opts = {"x0": np.minimum(width, 0), "y": y, "width": np.abs(width), "height": thickness * 0.9}
            if isinstance(color, list):
                bar.setOpts(brushes=brushes, pens=[pen(c, 1) for c in color], **opts)
            else:
                bar.setOpts(brush=brushes, pen=pen(color, 1), **opts)
            self.values[label] = width
            self._geometry[label] = (y, width, thickness * 0.9)
            for k in range(rows_n):
                text = annotations[label][k]
                if not text:
                    continue
                item = pg.TextItem(text, color="#333333", anchor=(0, 0.5) if width[k] >= 0 else (1, 0.5))
                item.setPos(float(width[k]), float(y[k]))
                self.item.addItem(item)
                self.texts.append(item)
        self.item.getAxis("left").setTicks([[(rows_n - 1 - k, name) for k, name in enumerate(row_names)]])
        if rows_n:
            self.item.setYRange(-0.6, rows_n - 0.4, padding=0)
        all_values = np.concatenate([v for v in values.values()]) if values else np.zeros(0)
        lo = min(0.0, float(all_values.min())) if all_values.size else 0.0
        hi = max(0.0, float(all_values.max())) if all_values.size else 1.0
        span = (hi - lo) or 1.0
        # Room right of the longest bar for its label, measured in pixels (a fixed share cut
        # "9,070 vs 214  p<0.001" off at the edge).
        longest = max((t.boundingRect().width() for t in self.texts), default=0.0)  # pixels
        room = min(0.6, max(0.25, (longest + 24) / max(float(self.item.vb.width()), 300.0)))
        right = span * room / (1 - room)
        self.item.setXRange(lo - (0.25 * span if lo < 0 else 0), hi + right, padding=0)
        plain = {k: v for k, v in colors.items() if isinstance(v, str)}
        self.legend_label.setText(
            "&nbsp;&nbsp;&nbsp;".join(
                f"<span style='color:{plain[lbl]}; font-size:14pt'>■</span> {html.escape(lbl)}"
                for lbl in labels
                if lbl in plain
            )
        )
        self.legend_label.setVisible(len(labels) > 1)
        self._show_empty("" if len(frame) else "Nothing to rank in this range.")

    def slice_at(self, x: float, y: float) -> dict | None:
        for label, (ys, width, thickness) in self._geometry.items():
            for k in range(len(ys)):
                lo, hi = sorted((0.0, float(width[k])))
                if abs(y - ys[k]) <= thickness / 2 and lo - 0.5 <= x <= hi + 0.5:
                    return self._slice(label, k)
        return None

    def bar_center(self, label: str, row: int) -> tuple[float, float]:
        ys, width, _t = self._geometry[label]
        return float(width[row] / 2), float(ys[row])

    def _slice(self, label: str, row: int) -> dict | None:
        return None


class TopEventsChart(RankedBarsChart):
    """Events by the share of each series' units who did them; the label gives the lift versus the rest."""

    kind = "top_events"

    def set_frame(self, frame: pd.DataFrame, **_options) -> None:
        self._frame = frame
        colors = colors_for(frame)
        labels = [s[0] for s in series_info(frame)]
        if len(frame):
            first = frame[frame["segment"] == labels[0]] if labels else frame
            order = list(first.sort_values(["share", "event"], ascending=[False, True])["event"])
            order += [e for e in dict.fromkeys(frame["event"]) if e not in order]
        else:
            order = []
        values, notes = {}, {}
        for label in labels:
            rows = frame[frame["segment"] == label].set_index("event")
            values[label] = np.array(
                [100 * float(rows.loc[e, "share"]) if e in rows.index else 0.0 for e in order], dtype=float
            )
            notes[label] = [
                (f"{100 * float(rows.loc[e, 'share']):.0f}%  {lift_text(rows.loc[e, 'lift'])}".rstrip())
                if e in rows.index
                else ""
                for e in order
            ]
        self._draw(frame, labels, values, colors, order, notes)
        self.item.setLabel("bottom", "Share of the segment's units who did it (%)")
        self.note.setText(
            "Sorted by how many of the segment's units did each event in the range. ×N is the lift: the "
            "share in the segment divided by the share in the rest of the universe. Click a bar to list them."
        )

    def _slice(self, label: str, row: int) -> dict:
        return {"segment": label, "event": self.rows[row]}


def distinguish_row_name(row) -> str:
    if row.kind == "event":
        return f"did {row.name}"
    if row.kind == "numeric":
        return f"{row.name} (mean)"
    return f"{row.name} = {row.value}"


def _fmt(kind: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return formatting.number(value) if kind == "numeric" else formatting.percent(value)


def _p(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return "p<0.001" if value < 0.001 else f"p={value:.2g}"


class DistinguishChart(RankedBarsChart):
    """The properties and events that set a segment apart, by effect size (Cohen's h or d)."""

    kind = "distinguishes"

    def set_frame(self, frame: pd.DataFrame, **_options) -> None:
        self._frame = frame
        colors = colors_for(frame)
        label = str(frame["segment"].iloc[0]) if len(frame) else "segment"
        seg_color = colors.get(label, "#0072B2")
        rows = list(frame.itertuples(index=False))
        effects = np.array(
            [
                0.0 if r.effect_size is None or math.isnan(r.effect_size) else float(r.effect_size)
                for r in rows
            ]
        )
        bar_colors = [seg_color if e >= 0 else REST_COLOR for e in effects]
        notes = [
            f"{_fmt(r.kind, r.segment_value)} vs {_fmt(r.kind, r.rest_value)}  {_p(r.p_value)}".rstrip()
            for r in rows
        ]
        names = [distinguish_row_name(r) for r in rows]
        self._row_keys = [(r.kind, r.name, r.value) for r in rows]
        self._draw(frame, [label], {label: effects}, {label: bar_colors}, names, {label: notes})
        self.item.setLabel("bottom", "Effect size (Cohen's h for shares, d for means): + more in the segment")
        self.note.setText(
            f"What sets “{html.escape(label)}” apart from the rest, strongest first. Each bar is an "
            "effect size; the label compares the segment with the rest (shares of units, or means) "
            "and gives the p-value. Click a bar to list the segment's units behind it."
        )

    def _slice(self, label: str, row: int) -> dict:
        kind, name, value = self._row_keys[row]
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        return {"segment": label, "kind": kind, "name": name, "value": value}
