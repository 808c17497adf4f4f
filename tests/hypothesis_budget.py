"""Hypothesis budgets that follow the loaded profile (tests/conftest.py)."""

from __future__ import annotations


def examples(share: float) -> int:
    """A test's number of examples: ``share`` of the profile's ``max_examples``, so one profile
    makes a local run quick ("dev") and CI thorough ("ci"). Cheap properties take a larger share."""
    from hypothesis import settings

    return max(5, round(settings.default.max_examples * share))
