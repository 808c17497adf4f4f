"""A time-left estimate that does not jump about: it counts down while the import advances.

The raw estimate (elapsed × remaining / done) swings as the speed changes from one part of
a file to the next (the roll-ups at the end are slower than reading rows), and a number that
goes *up* while the bar moves forward reads as a bug. The estimate shown is smoothed
(exponentially) and only allowed to rise when the raw one has been clearly higher for a while.
"""

from __future__ import annotations


class TimeLeft:
    def __init__(self, smoothing: float = 0.2, rise_after: int = 8, min_fraction: float = 0.02):
        self.smoothing = smoothing
        self.rise_after = rise_after  # updates in a row above the shown value before it may rise
        self.min_fraction = min_fraction
        self._shown: float | None = None
        self._smooth: float | None = None
        self._last_elapsed = 0.0
        self._above = 0

    def reset(self) -> None:
        self._shown = self._smooth = None
        self._last_elapsed = 0.0
        self._above = 0

    def update(self, fraction: float, elapsed: float) -> float | None:
        """Seconds left after ``elapsed`` seconds at ``fraction`` done (None: too early to say)."""
        if fraction < self.min_fraction or elapsed < 0.5:
            return None
        raw = elapsed * (1 - fraction) / max(fraction, 1e-9)
        a = self.smoothing
        self._smooth = raw if self._smooth is None else a * raw + (1 - a) * self._smooth
        step = max(0.0, elapsed - self._last_elapsed)
        self._last_elapsed = elapsed
        if self._shown is None:
            self._shown = self._smooth
            return self._shown
        counted_down = max(0.0, self._shown - step)
        if self._smooth <= counted_down:
            self._above = 0
            self._shown = self._smooth
        else:
            self._above += 1
            # A real slowdown (the estimate stays higher): let it rise, once, to the smoothed value.
            self._shown = self._smooth if self._above >= self.rise_after else counted_down
            if self._above >= self.rise_after:
                self._above = 0
        return self._shown
