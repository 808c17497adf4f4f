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
