"""Locate files shipped in the ``resources/`` folder (the ``seglab.resources`` package)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(relative: str) -> Path:
    """Path of a shipped resource, e.g. ``resource_path("demo/events.csv.gz")``."""
    path = Path(str(resources.files("seglab.resources").joinpath(relative)))
    if not path.exists():
        raise FileNotFoundError(f"SegLab resource missing: {relative}")
    return path


def doc_path(name: str = "user-guide.md") -> Path:
    """Path of a page of the documentation shipped with SegLab (``docs/`` as ``seglab.docs``)."""
    path = Path(str(resources.files("seglab.docs").joinpath(name)))
    if not path.exists():
        raise FileNotFoundError(f"SegLab documentation missing: {name}")
    return path
