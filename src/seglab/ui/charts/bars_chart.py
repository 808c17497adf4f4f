"""Grouped vertical bars: the distribution histogram (with median / p90 markers) and stickiness.

Both draw one bar per series in each category (a histogram bin, a number of active days),
the height being a share in percent, so segments of different sizes compare directly.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from seglab.core import formatting
from seglab.ui.charts.chart_base import BaseChart, brush, colors_for, pen, series_info

GROUP_WIDTH = 0.8


def bin_label(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}–{high}"


def bin_position(value: float, bins: list[tuple[int, int]]) -> float:
    """Where ``value`` falls on an axis whose category i spans [i - 0.5, i + 0.5] for bin i."""
    for i, (low, high) in enumerate(bins):
        if value <= high + 0.5:
            span = high - low + 1
            return i - 0.5 + (min(max(value, low - 0.5), high + 0.5) - (low - 0.5)) / span
    return len(bins) - 0.5


class GroupedBarsChart(BaseChart):
    """``bars[label]``: a BarGraphItem per series (x = category index + offset, height = share %)."""

    kind = "distribution"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._add_legend_plot_note()
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.markers: list[pg.GraphicsObject] = []
        self._geometry: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        self._categories: list[tuple] = []
        self._emit_slices_on_click(self.item)

    # -- shared drawing -----------------------------------------------------------------------
    def _draw(self, frame: pd.DataFrame, shares: dict[str, np.ndarray], categories: list[tuple],
              tick_labels: list[str]) -> dict[str, str]:  # fmt: skip
        colors = colors_for(frame)
        labels = [s[0] for s in series_info(frame)]
        self._categories = categories
        n = max(1, len(labels))
        width = GROUP_WIDTH / n
        for gone in [lbl for lbl in self.bars if lbl not in labels]:
            self.item.removeItem(self.bars.pop(gone))
        for m in self.markers:
            self.item.removeItem(m)
        self.markers = []
        self._geometry = {}
        for i, label in enumerate(labels):
            height = shares.get(label, np.zeros(len(categories)))
            x = np.arange(len(categories), dtype=float) + (i - (n - 1) / 2) * width
            bar = self.bars.get(label)
            if bar is None:
                bar = pg.BarGraphItem(x=x, height=height, width=width * 0.9)
                self.item.addItem(bar)
                self.bars[label] = bar
            bar.setOpts(
                x=x, height=height, width=width * 0.9, brush=brush(colors[label]), pen=pen(colors[label], 1)
            )
            self._geometry[label] = (x, height, width * 0.9)
        self.item.getAxis("bottom").setTicks([list(enumerate(tick_labels))])
        top = max([float(np.max(h)) for h in shares.values() if len(h)] + [1.0])
        self.item.setYRange(0, top * 1.18, padding=0)
        if categories:
            self.item.setXRange(-0.6, len(categories) - 0.4, padding=0)
        self.legend_label.setText(
            "&nbsp;&nbsp;&nbsp;".join(
                f"<span style='color:{colors[lbl]}; font-size:14pt'>■</span> {html.escape(lbl)}"
                for lbl in labels
            )
        )
        self.legend_label.setVisible(len(labels) > 1)
        self._show_empty("" if len(frame) else "No data for this range.")
        return colors

    def slice_at(self, x: float, y: float) -> dict | None:
        for label, (xs, height, width) in self._geometry.items():
            for k in range(len(xs)):
                if abs(x - xs[k]) <= width / 2 and 0 <= y <= max(height[k], 0.5):
                    return self._slice(label, k)
        return None

    def bar_center(self, label: str, index: int) -> tuple[float, float]:
        xs, height, _w = self._geometry[label]
        return float(xs[index]), float(height[index] / 2)

    def _slice(self, label: str, index: int) -> dict | None:
        return None


class DistributionChart(GroupedBarsChart):
    """Histogram of events per unit (doubling bins) with a median and a p90 marker per series."""

    kind = "distribution"

    def set_frame(self, frame: pd.DataFrame, **_options) -> None:
        self._frame = frame
        bins = (
            [
                (int(lo), int(hi))
                for lo, hi in frame[["bin_low", "bin_high"]].drop_duplicates().itertuples(index=False)
            ]
            if len(frame)
            else []
        )
        bins.sort()
        shares = {}
        for label, rows in frame.groupby("segment", sort=False):
            by_bin = {(int(r.bin_low), int(r.bin_high)): float(r.share) * 100 for r in rows.itertuples()}
            shares[str(label)] = np.array([by_bin.get(b, 0.0) for b in bins], dtype=float)
        colors = self._draw(frame, shares, bins, [bin_label(lo, hi) for lo, hi in bins])
        self.item.setLabel("left", "Share of units (%)")
        self.item.setLabel("bottom", "Events per unit in the range")
        self.marker_positions: dict[str, dict[str, float]] = {}
        stats = frame.attrs.get("stats") or []
        top = self.item.vb.viewRange()[1][1]
        for k, row in enumerate(stats):
            label = str(row["segment"])
            if label not in colors or not row.get("units"):
                continue
            self.marker_positions[label] = {}
            for j, (name, style) in enumerate((("median", False), ("p90", True))):
                value = row.get(name)
                if value is None or (isinstance(value, float) and np.isnan(value)):
                    continue
                x = bin_position(float(value), bins)
                self.marker_positions[label][name] = x
                line = pg.InfiniteLine(
                    pos=x, angle=90, movable=False, pen=pen(colors[label], 1.6, dashed=style)
                )
                self.item.addItem(line, ignoreBounds=True)
                text = pg.TextItem(f"{name} {formatting.number(value)}", color=colors[label], anchor=(0, 0))
                text.setPos(x, top * (0.98 - 0.07 * (2 * k + j)))
                self.item.addItem(text, ignoreBounds=True)
                self.markers += [line, text]
        self.note.setText(
            "Units with at least one event in the range, by how many events they did (bins double: 1, 2, "
            "3–4, 5–8 ...). Solid line: median; dashed: 90th percentile. Click a bar to list those units."
        )

    def _slice(self, label: str, index: int) -> dict:
        low, high = self._categories[index]
        return {"segment": label, "bin_low": int(low), "bin_high": int(high)}


class StickinessChart(GroupedBarsChart):
    """Share of active units by days active per week (or month), over all the range's periods."""

    kind = "stickiness"

    def set_frame(self, frame: pd.DataFrame, *, interval: str = "week", **_options) -> None:
        self._frame = frame
        days = sorted(int(d) for d in frame["days"].unique()) if len(frame) else []
        shares = {}
        for label, rows in frame.groupby("segment", sort=False):
            per_day = rows.groupby("days")["units"].sum()
            total = float(per_day.sum()) or 1.0
            shares[str(label)] = np.array([100 * per_day.get(d, 0) / total for d in days], dtype=float)
        self._draw(frame, shares, [(d,) for d in days], [str(d) for d in days])
        word = "month" if interval == "month" else "week"
        self.item.setLabel("left", f"Share of active units in a {word} (%)")
        self.item.setLabel("bottom", f"Days active in the {word}")
        self.note.setText(
            f"How many distinct days units were active in a {word}, over every {word} of the range "
            "(each active unit counted once per period). The data table has each period."
        )

    def _slice(self, label: str, index: int) -> dict | None:
        # A bar sums every period of the range: its people are those with that many days in any of them.
        return {"segment": label, "days": int(self._categories[index][0])}
