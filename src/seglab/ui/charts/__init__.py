"""Chart widgets (pyqtgraph). Import pyqtgraph only from here, and only when a chart is shown."""

from __future__ import annotations

_configured = False


def configure_pyqtgraph() -> None:
    """Set pyqtgraph's global options once, the first time a chart is needed."""
    global _configured
    if _configured:
        return
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background="w", foreground="#333333", useNumba=False)
    _configured = True
