"""The app's segment colours: the core's one palette (:mod:`seglab.core.palette`) and ``qcolor``."""

from __future__ import annotations

from seglab.core.palette import (  # noqa: F401 - the app's names for the core palette
    EVERYONE_COLOR,
    HEAT_HIGH,
    HEAT_LOW,
    PALETTE,
    REST_COLOR,
    all_colors,
    color_for_name,
    color_for_segment,
    heat_color,
    series_colors,
    text_color_on,
)


def qcolor(hex_color: str, alpha: int = 255):
    """A ``QColor`` for ``hex_color`` (Qt imported here, not at module load)."""
    from PySide6.QtGui import QColor

    color = QColor(hex_color)
    color.setAlpha(alpha)
    return color
