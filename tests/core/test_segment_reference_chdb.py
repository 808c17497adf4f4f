"""The random-definition comparison of test_segment_reference.py with chdb as the third engine:
the same data set, copied into a chdb folder (MergeTree tables) and connected, must give the
members of the independent pandas/Python reference, as SQLite and DuckDB do."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from hypothesis import HealthCheck, example, given, settings
from test_segment_reference import (
    ACCOUNT_ROWS,
    DEEP,
    EVENT_ROWS,
    LATEST,
    LONE,
    LONE_ACCOUNT,
    USER_ROWS,
    Reference,
    T,
    definitions,
)

from builders import build_project
from chdb_support import connect_to
from seglab.core.engines.base import open_engine
from seglab.core.project import Project
from seglab.core.segments import load_definition

# Half the SQLite/DuckDB run's examples: a chdb query costs ~50 ms (ClickHouse plans each one),
# and CI must stay well under 20 minutes.
CHDB_EXAMPLES = 50


@pytest.fixture(scope="module")
def chdb_engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("refch")
    path = build_project(tmp / "ref.seglab", events=EVENT_ROWS, users=USER_ROWS, accounts=ACCOUNT_ROWS)
    with Project.open(path, readonly=True) as local:
        connect_to(local.conn, tmp / "ch", tmp / "connected.seglab")
    project = Project.open(tmp / "connected.seglab", readonly=True)
    engine = open_engine(project.conn)
    refs = {t: Reference(EVENT_ROWS, USER_ROWS, ACCOUNT_ROWS, t) for t in (T, LATEST)}
    yield engine, refs
    engine.close()
    project.close()


def _agree(chdb_engine, definition, t):
    engine, refs = chdb_engine
    seg = load_definition(definition)
    expected = sorted(refs[t].definition(definition))
    assert engine.member_ids(seg, t) == expected
    assert engine.count(seg, t) == len(expected)


def test_the_same_universe(chdb_engine):
    engine, refs = chdb_engine
    assert engine.member_ids(load_definition({"level": "user"}), T) == refs[T].user_ids
    assert engine.member_ids(load_definition({"level": "account"}), T) == refs[T].account_ids


@settings(
    max_examples=CHDB_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(definition=definitions())
@example(definition=DEEP)
def test_chdb_and_reference_agree(chdb_engine, definition):
    _agree(chdb_engine, definition, T)


@settings(
    max_examples=CHDB_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(definition=definitions())
def test_chdb_agrees_at_the_latest_event(chdb_engine, definition):
    _agree(chdb_engine, definition, LATEST)


@pytest.mark.parametrize("t", ["T", "LATEST"])
@pytest.mark.parametrize(
    "level, condition", [("user", c) for c in LONE] + [("account", c) for c in LONE_ACCOUNT]
)
def test_lone_conditions_on_chdb(chdb_engine, level, condition, t):
    definition = {"version": 1, "level": level, "conditions": [condition]}
    _agree(chdb_engine, definition, {"T": T, "LATEST": LATEST}[t])
