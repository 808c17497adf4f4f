"""The pages of the main window's left navigation, and how later pages plug in.

A page is a QWidget built lazily, the first time it is shown (so, e.g., pyqtgraph is
imported only when the Charts page is opened). To provide a page, create the
module named in :data:`PAGES` with that class. It is built by keyword with whichever
of ``session`` (the :class:`~seglab.ui.session.ProjectSession`), ``undo_stack``
(the window's QUndoStack) and ``window`` (the
:class:`~seglab.ui.main_window.MainWindow`) its ``__init__`` names, or else as
``Class(window)``. Run slow work in a :class:`~seglab.ui.workers.Worker` of your
own. Optional duck-typed hooks the window wires when it builds a page:
``save_action`` (a QAction, added to the Edit menu), ``dirty_changed(bool)`` (marks
the window title modified), ``segments_changed()`` (other pages' ``refresh_catalog()``
or ``reload_segments()`` are then called), ``maybe_close() -> bool`` (asked before the
project is closed or replaced; False keeps it), ``shutdown()`` (the window closes).

Until the module exists the page shows a placeholder. A page may also be set
directly with ``window.set_page(name, widget)``.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from seglab.ui import messages


@dataclass(frozen=True)
class PageSpec:
    name: str
    title: str
    icon: str
    widget: str | None  # "package.module:ClassName", or None when the window builds it
    placeholder: str = ""


PAGES: tuple[PageSpec, ...] = (
    PageSpec("data", "Data", "data", None),
    PageSpec(
        "segments",
        "Segments",
        "segments",
        "seglab.ui.widgets.segment_page:SegmentsPageWidget",
        messages.SEGMENTS_PLACEHOLDER,
    ),
    PageSpec(
        "charts",
        "Charts",
        "charts",
        "seglab.ui.charts.charts_page:ChartsPageWidget",
        messages.CHARTS_PLACEHOLDER,
    ),
)


def load_page_class(spec: PageSpec):
    """The page's class, or None when its module does not exist yet."""
    if not spec.widget:
        return None
    module_name, _, class_name = spec.widget.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, class_name, None)


def build_page(cls, window):
    """Instantiate a page class for ``window`` (see the module docstring)."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    offered = {"session": window.session, "undo_stack": window.undo_stack, "window": window}
    kwargs = {name: value for name, value in offered.items() if name in params}
    return cls(**kwargs) if kwargs else cls(window)
