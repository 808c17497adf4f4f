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
    # same pseudo-random examples every run, and runs the full budget. Locally it explores
    # (and keeps its database) with a smaller budget, so the suite stays quick. Tests take a
    # share of the budget (tests/hypothesis_budget.py); HYPOTHESIS_PROFILE picks one by name.
    import os

    from hypothesis import settings

    settings.register_profile(
        "ci", max_examples=100, derandomize=True, database=None, print_blob=True, deadline=None
    )
    settings.register_profile("dev", max_examples=40, deadline=None)
    settings.register_profile("thorough", max_examples=400, deadline=None)  # a longer hunt, by hand
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


_hypothesis_profiles()
