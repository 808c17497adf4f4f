"""Funnel: grouped bars per step, a colour per segment, conversion % and median time between steps.

Bar height is the conversion from step 1 in percent, so segments of different sizes
compare at a glance; the label gives the percentage and, from step 2 on, the median
time from the previous step. Behind each bar a faint "ghost" bar shows where the
previous step stood: the gap between them is the drop-off. Clicking a bar lists who
reached that step; clicking the drop-off gap lists who reached the previous step but
not this one.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QWidget

from seglab.ui.charts.chart_base import BaseChart, brush, colors_for, make_plot_widget, pen, series_info
from seglab.ui.charts.models import format_duration

GROUP_WIDTH = 0.8


class FunnelChart(BaseChart):
    """``bars[label]`` is a BarGraphItem per series: x = step (offset within the group),
    height = ``100 * conversion_from_start``; ``ghosts[label]`` the previous step's height."""

    kind = "funnel"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = make_plot_widget()
        self._layout.addWidget(self.plot, 1)
        self.note = self._add_note(
            "Bars: share of step 1 that reached each step; the faint bar behind is the step before, so the "
            "gap is the drop-off. Under each %: how many reached it and, from step 2, the median time "
            "after the previous step (+2.1 h). Click a bar or a gap to list the people.",
        )
        self.item = self.plot.getPlotItem()
        # The legend sits above the plot, in a label: inside the plot it would cover the bars' labels.
        self.legend_label = QLabel("", self)
        self._layout.insertWidget(1, self.legend_label)
        self.item.setLabel("left", "Converted from step 1 (%)")
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.ghosts: dict[str, pg.BarGraphItem] = {}
        self.labels: list[pg.TextItem] = []
        self._geometry: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]] = {}
        self._steps: list[tuple[int, str]] = []
        self._emit_slices_on_click(self.item)

    def set_frame(self, frame: pd.DataFrame, **_options) -> None:
        self._frame = frame
        colors = colors_for(frame)
        labels = [s[0] for s in series_info(frame)]
        n = max(1, len(labels))
        width = GROUP_WIDTH / n
        steps = frame[["step", "event"]].drop_duplicates().sort_values("step") if len(frame) else frame
        self._steps = [(int(s), str(e)) for s, e in zip(steps["step"], steps["event"])] if len(frame) else []
        for gone in [lbl for lbl in self.bars if lbl not in labels]:
            self.item.removeItem(self.bars.pop(gone))
            self.item.removeItem(self.ghosts.pop(gone))
        for text in self.labels:
            self.item.removeItem(text)
        self.labels = []
        self._geometry = {}
        for i, label in enumerate(labels):
            rows = frame[frame["segment"] == label].sort_values("step")
            step = rows["step"].to_numpy(dtype=float)
            x = step + (i - (n - 1) / 2) * width
            height = rows["conversion_from_start"].to_numpy(dtype=float) * 100
            ghost = np.concatenate(([height[0]], height[:-1])) if height.size else height
            color = colors[label]
            bar = self.bars.get(label)
            if bar is None:
                ghost_item = pg.BarGraphItem(x=x, height=ghost, width=width * 0.92)
                ghost_item.setZValue(-1)
                self.item.addItem(ghost_item)
                self.ghosts[label] = ghost_item
                bar = pg.BarGraphItem(x=x, height=height, width=width * 0.92)
                self.item.addItem(bar)
                self.bars[label] = bar
            bar.setOpts(x=x, height=height, width=width * 0.92, brush=brush(color), pen=pen(color, 1))
            self.ghosts[label].setOpts(
                x=x,
                height=ghost,
                width=width * 0.92,
                brush=brush(color, 45),
                pen=pen(color, 1, 90, dashed=True),
            )
            self._geometry[label] = (x, height, ghost, width * 0.92)
            medians = rows["median_seconds_from_previous"].to_numpy(dtype=float)
            entered = rows["entered"].to_numpy()
            for k in range(len(x)):
                line = f"<b>{height[k]:.0f}%</b>"
                small = f"{int(entered[k]):,}"
                if k > 0 and not np.isnan(medians[k]):
                    small += f"<br>+{html.escape(format_duration(medians[k]))}"
                text = pg.TextItem(
                    html=f"<div style='text-align:center;color:#222'>{line}<br>"
                    f"<span style='font-size:8pt;color:#555'>{small}</span></div>",
                    anchor=(0.5, 1),
                )
                text.setPos(float(x[k]), float(height[k]) + 1)
                self.item.addItem(text)
                self.labels.append(text)
        axis = self.item.getAxis("bottom")
        axis.setTicks([[(s, f"{s}. {e}") for s, e in self._steps]])
        self.legend_label.setText(
            "&nbsp;&nbsp;&nbsp;".join(
                f"<span style='color:{colors[lbl]}; font-size:14pt'>■</span> {html.escape(lbl)}"
                for lbl in labels
            )
        )
        self.legend_label.setVisible(len(labels) > 1)
        # Room above the 100 % bars for their labels, but the axis itself reads 0-100 %.
        self.item.setYRange(0, 116, padding=0)
        self.item.getAxis("left").setTicks([[(v, f"{v}%") for v in range(0, 101, 20)]])
        if self._steps:
            self.item.setXRange(0.5, len(self._steps) + 0.5, padding=0)
        self._show_empty("" if len(frame) else "No data for this funnel.")

    # -- drill-down ---------------------------------------------------------------------
    def bar_center(self, label: str, step: int, *, drop_off: bool = False) -> tuple[float, float]:
        """Data coordinates inside the bar (or its drop-off gap) of ``label`` at ``step``."""
        x, height, ghost, _w = self._geometry[label]
        k = step - 1
        if drop_off:
            return float(x[k]), float((height[k] + ghost[k]) / 2)
        return float(x[k]), float(height[k] / 2)

    def slice_at(self, x: float, y: float) -> dict | None:
        """The slice under (x, y): a bar (reached) or a drop-off gap (dropped after the step before)."""
        for label, (xs, height, ghost, width) in self._geometry.items():
            for k in range(len(xs)):
                if abs(x - xs[k]) > width / 2 or y < 0:
                    continue
                step = self._steps[k][0]
                if y <= max(height[k], 0.6):
                    return {"segment": label, "step": step, "mode": "reached"}
                if k > 0 and y <= ghost[k]:
                    return {"segment": label, "step": self._steps[k - 1][0], "mode": "dropped"}
        return None
