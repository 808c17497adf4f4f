"""Qt-free fixtures shared by every test."""

from __future__ import annotations

import pytest

from seglab.core.project import Project


@pytest.fixture
def project(tmp_path):
    """A fresh, empty, writable project in a temporary folder."""
    proj = Project.create(tmp_path / "test.seglab")
    yield proj
    proj.close()


def _hypothesis_profiles() -> None:
    # CI must not fail on an example nobody has seen before: there, hypothesis replays the
    # same pseudo-random examples every run. Locally it explores (and keeps its database).
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")


_hypothesis_profiles()
