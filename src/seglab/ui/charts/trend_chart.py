"""Trend: a line per segment over a UTC date axis, legend, hover crosshair, optional moving average."""

from __future__ import annotations

import datetime as dt
import html

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QWidget

from seglab.core import formatting
from seglab.core.charts import period_label
from seglab.ui.charts.chart_base import (
    PREVIOUS_SUFFIX,
    BaseChart,
    brush,
    colors_for,
    make_plot_widget,
    pen,
    series_info,
)

MEASURE_TITLES = {
    "sum": "Sum",
    "avg": "Average",
    "min": "Minimum",
    "max": "Maximum",
    "median": "Median",
    "count": "Events",
    "users": "Unique users",
    "accounts": "Unique accounts",
    "per_user": "Events per user",
}


def to_epoch_seconds(period_start) -> float:
    day = dt.date.fromisoformat(str(period_start)[:10])
    return float((day - dt.date(1970, 1, 1)).days * 86400)


def partial_period(periods: list[str], interval: str, as_of_ms) -> str | None:
    """The last period if it has not ended at as-of (its value may still grow), else None."""
    if not periods or as_of_ms is None:
        return None
    start = dt.date.fromisoformat(periods[-1][:10])
    if interval == "day":
        end = start + dt.timedelta(days=1)
    elif interval == "week":
        end = start + dt.timedelta(days=7)
    else:
        end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    end_ms = (end - dt.date(1970, 1, 1)).days * 86_400_000
    return periods[-1] if int(as_of_ms) < end_ms - 1 else None


def moving_average(values: np.ndarray, n: int) -> np.ndarray:
    """Trailing mean over ``n`` periods (fewer at the start, so the line starts with the data)."""
    if n <= 1:
        return values.astype(float)
    return pd.Series(values, dtype=float).rolling(n, min_periods=1).mean().to_numpy()


class UtcDateAxis(pg.DateAxisItem):
    """A UTC date axis whose finer tick labels never print over a coarser one ("Apr" over "02")."""

    def __init__(self):
        super().__init__(orientation="bottom", utcOffset=0)

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if len(levels) < 2:
            return levels
        major = np.asarray(levels[0][1], dtype=float)
        out = [levels[0]]
        for spacing, values in levels[1:]:
            values = np.asarray(values, dtype=float)
            if major.size and values.size:
                gap = np.min(np.abs(values[:, None] - major[None, :]), axis=1)
                step = np.min(np.diff(np.sort(values))) if values.size > 1 else spacing
                values = values[gap > 0.6 * step]
            out.append((spacing, values.tolist()))
        return out


class TrendChart(BaseChart):
    """Lines per series. ``curves[label]`` holds exactly the analysis's values; with a moving
    average on, ``average_curves[label]`` holds the smoothed line and the raw one is drawn faint."""

    kind = "trend"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.axis = UtcDateAxis()
        self.plot = make_plot_widget(bottom=self.axis)
        self._layout.addWidget(self.plot, 1)
        self.item = self.plot.getPlotItem()
        self.legend = self.item.addLegend(offset=(10, 10), labelTextColor="#333333")
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.average_curves: dict[str, pg.PlotDataItem] = {}
        self.partial_markers: dict[str, pg.ScatterPlotItem] = {}
        self.partial_tails: dict[str, pg.PlotDataItem] = {}  # the line into a partial period, dashed
        self._x = np.array([], dtype=float)
        self._periods: list[str] = []
        self._values: dict[str, np.ndarray] = {}
        self._colors: dict[str, str] = {}
        self._window = 0
        self.partial_period: str | None = None
        self.crosshair = pg.InfiniteLine(angle=90, movable=False, pen=pen("#888888", 1, dashed=True))
        self.crosshair.setZValue(20)
        self.hover_text = pg.TextItem("", anchor=(0, 0), fill=brush("#FFFFFF", 230), border=pen("#BBBBBB", 1))
        self.hover_text.setZValue(30)
        self.item.addItem(self.crosshair, ignoreBounds=True)
        self.item.addItem(self.hover_text, ignoreBounds=True)
        self.crosshair.hide()
        self.hover_text.hide()
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=60, slot=self._mouse_moved)

    # -- data -------------------------------------------------------------------------
    def set_frame(self, frame: pd.DataFrame, *, interval: str = "week", measure: str = "count",
                  moving_average_periods: int = 0, value_column: str = "value",
                  y_title: str | None = None) -> None:  # fmt: skip
        self._frame = frame
        self._interval = interval
        self._window = int(moving_average_periods or 0)
        colors = colors_for(frame)
        self._colors = colors
        labels = [s[0] for s in series_info(frame)]
        periods = list(dict.fromkeys(frame["period_start"].astype(str))) if len(frame) else []
        self._periods = periods
        self._x = np.array([to_epoch_seconds(p) for p in periods], dtype=float)
        # Items are kept and updated in place; only series that left the chart are removed.
        for gone in [lbl for lbl in self.curves if lbl not in labels]:
            self.item.removeItem(self.curves.pop(gone))
            self.legend.removeItem(gone)
            self.item.removeItem(self.average_curves.pop(gone))
            self.item.removeItem(self.partial_markers.pop(gone))
            self.item.removeItem(self.partial_tails.pop(gone))
        self._values = {}
        smooth = self._window > 1
        self.partial_period = partial_period(periods, interval, frame.attrs.get("as_of_ms"))
        for label in labels:
            rows = frame[frame["segment"] == label]
            values = rows[value_column].to_numpy(dtype=float)
            self._values[label] = values
            color = colors[label]
            curve = self.curves.get(label)
            if curve is None:
                curve = pg.PlotDataItem(name=label)
                curve.sigPointsClicked.connect(self._points_clicked)
                self.item.addItem(curve)
                self.curves[label] = curve
                avg = pg.PlotDataItem()
                self.item.addItem(avg)
                self.average_curves[label] = avg
            x = np.array([to_epoch_seconds(p) for p in rows["period_start"].astype(str)], dtype=float)
            raw_alpha = 90 if smooth else 255
            # A period still running at as-of is drawn hollow (a white marker on top): not final yet.
            marker = self.partial_markers.get(label)
            if marker is None:
                marker = pg.ScatterPlotItem()
                marker.setZValue(10)
                self.item.addItem(marker)
                self.partial_markers[label] = marker
            last_is_partial = len(x) and rows["period_start"].iloc[-1] == self.partial_period
            tail = self.partial_tails.get(label)
            if tail is None:
                tail = pg.PlotDataItem()
                self.item.addItem(tail)
                self.partial_tails[label] = tail
            # The last period is still running at as-of: its line is dashed (not a real plunge)
            # and its marker hollow; the solid line stops at the last complete period.
            connect = np.ones(len(x), dtype=bool)
            if last_is_partial:
                marker.setData([x[-1]], [values[-1]], size=8, brush=brush("#FFFFFF"), pen=pen(color, 1.6))
                if len(x) > 1:
                    connect[-2] = False
                    tail.setData(
                        x[-2:], values[-2:], pen=pen(color, 1.2 if smooth else 2.2, raw_alpha, dashed=True)
                    )
                else:
                    tail.setData([], [])
            else:
                marker.setData([], [])
                tail.setData([], [])
            dashed = label.endswith(PREVIOUS_SUFFIX)  # the previous period: context, drawn dashed
            curve.setData(
                x,
                values,
                connect=connect,
                pen=pen(color, 1.2 if smooth else 2.2, raw_alpha, dashed=dashed),
                symbol="o",
                symbolSize=5 if smooth else 7,
                symbolBrush=brush(color, raw_alpha),
                symbolPen=pen(color, 1.4, raw_alpha),
            )
            avg = self.average_curves[label]
            if smooth:
                avg.setData(x, moving_average(values, self._window), pen=pen(color, 2.6))
                avg.show()
            else:
                avg.setData([], [])
                avg.hide()
        self.item.setLabel("left", (y_title or MEASURE_TITLES.get(measure, measure)) + (
            f" ({self._window}-{interval} moving average)" if smooth else ""))  # fmt: skip
        self.legend.setVisible(len(labels) > 1)
        top = max([float(np.nanmax(v)) for v in self._values.values() if v.size] + [0.0])
        low = min([float(np.nanmin(v)) for v in self._values.values() if v.size] + [0.0])
        # From zero (a trend axis that starts elsewhere exaggerates change), with room for the legend.
        height = top * 1.15 if top > 0 else 1.0
        self.item.setYRange(low - 0.01 * height, height, padding=0)  # a hair below zero: the 0 tick shows
        self.crosshair.hide()
        self.hover_text.hide()
        self.item.enableAutoRange(axis="x")
        self._show_empty("" if len(frame) else "No data for this range.")

    def series_values(self, label: str) -> np.ndarray:
        return self._values[label]

    # -- hover crosshair --------------------------------------------------------------
    def _mouse_moved(self, args) -> None:
        pos = args[0]
        if not self.item.sceneBoundingRect().contains(pos) or self._x.size == 0:
            self.crosshair.hide()
            self.hover_text.hide()
            return
        view_pos = self.item.vb.mapSceneToView(pos)
        self.hover_at(view_pos.x())

    def hover_at(self, x: float) -> str:
        """Move the crosshair to the period nearest ``x`` (epoch seconds); return the tooltip's text."""
        if self._x.size == 0:
            return ""
        i = int(np.argmin(np.abs(self._x - x)))
        xi = float(self._x[i])
        title = period_label(self._periods[i], self._interval)
        if self._periods[i] == self.partial_period:
            title += " (partial: up to the as-of time)"
        lines = [f"<b>{html.escape(title)}</b>"]
        plain = [title]
        for label, values in self._values.items():
            if i >= values.size:
                continue
            value = formatting.number(float(values[i]))  # 9,980 / 12.3k / 1.23M, as everywhere
            before = self._values.get(label + PREVIOUS_SUFFIX)
            change = ""
            if before is not None and i < before.size and before[i] and not np.isnan(before[i]):
                change = f" ({(values[i] - before[i]) / before[i]:+.0%} vs previous period)"
            color = self._colors.get(label, "#333333")
            swatch = f"<span style='color:{color}'>■</span>"
            lines.append(f"{swatch} {html.escape(label)}: <b>{value}</b>{html.escape(change)}")
            plain.append(f"{label}: {value}{change}")
        self.hover_text.setHtml("<div style='color:#222'>" + "<br>".join(lines) + "</div>")
        y_top = self.item.vb.viewRange()[1][1]
        self.hover_text.setPos(QPointF(xi, y_top))
        left, right = self.item.vb.viewRange()[0]
        self.hover_text.setAnchor((1, 0) if xi > (left + right) / 2 else (0, 0))
        self.crosshair.setPos(xi)
        self.crosshair.show()
        self.hover_text.show()
        return "\n".join(plain)

    # -- drill-down ---------------------------------------------------------------------
    def _points_clicked(self, item, points, _event=None) -> None:
        if not points:
            return
        label = next((lbl for lbl, c in self.curves.items() if c is item), None)
        if label is None:
            return
        self.click_point(label, float(points[0].pos().x()))

    def click_point(self, label: str, x: float) -> dict:
        i = int(np.argmin(np.abs(self._x - x)))
        where = {"segment": label, "period_start": self._periods[i]}
        self.slice_clicked.emit(where)
        return where
