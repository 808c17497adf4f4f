"""The one entry point for analyses on a connected project (``seglab.core.engines.analyses``):
``seglab chart run`` / ``run_chart`` and ``seglab analyze`` give, on a chdb source, exactly what
they give on the local project of the same rows: every chart kind, --vs-rest, --unit account and
event filters (``event[where ...]``)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("chdb")

from test_engine_clickhouse_trend import rich  # noqa: F401  (the fixture: local and connected)

from seglab.cli import main
from seglab.core.charts import load_chart, run_chart, save_chart
from seglab.core.charts.spec import ChartSpec
from seglab.core.project import Project
from seglab.core.segments import save_segment


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def same_output(projects, args, capsys) -> str:
    outputs = []
    for project in projects:
        code, out, err = run([args[0], args[1], project, *args[2:]], capsys)
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    return outputs[0][0]


CHARTS = {
    "trend users": ChartSpec(kind="trend", interval="week", last_days=None, date_from="2024-01-01"),
    "trend purchases of segments": ChartSpec(
        kind="trend",
        segments=("Buyers", "Logged in lately"),
        interval="month",
        last_days=None,
        date_from="2024-01-01",
        options=(("event", "purchase"), ("measure", "count")),
    ),
    "funnel": ChartSpec(
        kind="funnel",
        last_days=None,
        date_from="2024-01-01",
        options=(("steps", ["signup", "create_report", "purchase[amount>=50]"]),),
    ),
    "retention vs rest": ChartSpec(
        kind="retention",
        segments=("Buyers",),
        vs_rest=True,
        interval="week",
        last_days=None,
        date_from="2024-01-01",
        options=(("periods", 4),),
    ),
    "distribution of accounts": ChartSpec(
        kind="distribution", unit="account", last_days=None, date_from="2024-01-01"
    ),
    "top events": ChartSpec(
        kind="top_events", segments=("Pro or free",), last_days=None, date_from="2024-01-01"
    ),
    "stickiness": ChartSpec(kind="stickiness", interval="week", last_days=None, date_from="2024-02-01"),
    "lifecycle": ChartSpec(kind="lifecycle", segments=("Big accounts",), interval="week", last_days=30),
    "overlap": ChartSpec(kind="overlap", segments=("Buyers", "Logged in lately", "Pro or free")),
    "distinguishes": ChartSpec(
        kind="distinguishes", segments=("Buyers",), last_days=None, date_from="2024-01-01"
    ),
    "size vs rest": ChartSpec(
        kind="segment_size",
        segments=("Buyers",),
        vs_rest=True,
        interval="month",
        last_days=None,
        date_from="2024-01-01",
    ),
}


@pytest.fixture(scope="module")
def charted(rich):  # noqa: F811
    for path in rich:
        with Project.open(path) as project:
            for name, spec in CHARTS.items():
                save_chart(project.conn, name, spec, overwrite=True)
    return rich


@pytest.mark.parametrize("name", list(CHARTS))
def test_run_chart_on_a_connected_project_is_the_local_frame(charted, name):
    frames = []
    for path in charted:
        with Project.open(path, readonly=True) as project:
            frames.append(run_chart(project.conn, load_chart(project.conn, name)))
    local, connected = frames
    assert len(local) > 0
    pd.testing.assert_frame_equal(connected, local)
    for key in ("as_of_ms", "kind", "series", "stats", "jaccard"):
        assert connected.attrs.get(key) == local.attrs.get(key), key


@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_run_command_on_a_connected_project(charted, capsys, name):
    out = same_output(charted, ["chart", "run", "--name", name], capsys)
    assert len(out.splitlines()) > 1


def test_chart_list_on_a_connected_project(charted, capsys):
    assert "overlap" in same_output(charted, ["chart", "list", "--json"], capsys)


F = ["--from", "2024-01-01"]
T = ["analyze", "trend"]
M = ["--interval", "month"]
MARCH = ["--from", "2024-03-01"]
SIZE = ["analyze", "size"]
ANALYZE = [
    ["analyze", "trend", "--segment", "Buyers", "--vs-rest", "--interval", "week", *F],
    ["analyze", "funnel", "--steps", "login,purchase", "--segment", "Buyers", "--vs-rest", *F],
    ["analyze", "retention", "--unit", "account", "--from", "2024-01-01", "--periods", "3"],
    ["analyze", "distribution", "--unit", "account", "--from", "2024-01-01", "--stats"],
    ["analyze", "top-events", "--segment", "Logged in lately", "--vs-rest", *F],
    ["analyze", "stickiness", "--unit", "account", *F],
    ["analyze", "lifecycle", "--segment", "Big accounts", "--vs-rest", "--from", "2024-02-01"],
    ["analyze", "overlap", "--segment", "Buyers", "--segment", "Pro or free", "--vs-rest"],
    ["analyze", "size", "--segment", "Big accounts", "--vs-rest", "--interval", "month", *F],
    # value measures, the previous period, breakdowns
    *[[*T, "--event", "purchase", "--measure", m, "--of", "amount", *M, *F]
      for m in ("sum", "avg", "min", "max", "median")],
    [*T, "--measure", "median", "--of", "amount", "--segment", "Big accounts", "--interval", "week", *F],
    [*T, "--measure", "avg", "--of", "amount", "--compare", "previous", *MARCH],
    [*T, "--measure", "users", "--compare", "previous", "--interval", "week", *MARCH],
    [*T, "--by", "user.plan", "--measure", "users", *M, *F],
    [*T, "--by", "account.tier", "--by-limit", "1", "--measure", "accounts", *M, *F],
    [*T, "--by", "user.plan", "--compare", "previous", "--segment", "Buyers", *MARCH],
    [*T, "--by", "event.amount", "--event", "purchase", *M, *F],
    [*T, "--by", "event.amount", "--by-limit", "1", "--measure", "accounts", "--segment", "Big accounts", *F],
    [*T, "--by", "event.amount", "--measure", "max", "--of", "amount", "--compare", "previous", *MARCH],
    [*SIZE, "--segment", "Buyers", "--by", "user.plan", "--by-limit", "2", *M, *F],
    [*SIZE, "--segment", "Big accounts", "--vs-rest", "--by", "account.tier", *M, *F],
    ["analyze", "funnel", "--steps", "signup,create_report", "--by", "account.tier", *F],
    ["analyze", "retention", "--by", "user.plan", "--by-limit", "1", "--segment", "Buyers", *F],
    ["analyze", "distribution", "--by", "account.seats", "--unit", "account", *F],
    ["analyze", "distribution", "--by", "user.age", "--stats", *F],
    ["analyze", "stickiness", "--by", "user.score", "--event", "login", *F],
    ["analyze", "stickiness", "--by", "user.beta", *F],
    ["analyze", "lifecycle", "--by", "user.signup_date", "--interval", "month", *F],
    ["analyze", "lifecycle", "--by", "account.tier", "--segment", "Big accounts", "--vs-rest", *F],
    # what distinguishes a segment
    ["analyze", "distinguish", "--segment", "Buyers", *F],
    ["analyze", "distinguish", "--segment", "Big accounts", "--segment", "Logged in lately", "--vs-rest", *F],
    ["analyze", "distinguish", "--segment", "Pro or free", "--limit", "4", "--max-values", "2", *MARCH],
    # event filters, compiled by the segment compiler's operator table
    ["analyze", "trend", "--event", "purchase[amount>=50]", "--measure", "users", *F],
    ["analyze", "trend", "--event", "purchase[amount!=40]", "--interval", "month", *F],
    ["analyze", "funnel", "--steps", "signup,purchase[amount<100; amount>10]", *F],
    ["analyze", "retention", "--start-event", "purchase[amount>0]", "--return-event", "login", *F],
    ["analyze", "distribution", "--event", "*[amount>=40]", *F],
    ["analyze", "stickiness", "--event", "login[amount=1]", *F],
    ["analyze", "lifecycle", "--event", "purchase[amount>=40]", "--interval", "month", *F],
]  # fmt: skip


@pytest.mark.parametrize("args", ANALYZE, ids=lambda a: " ".join(a[1:4]))
def test_analyze_options_on_a_connected_project(rich, capsys, args):  # noqa: F811
    assert len(same_output(rich, args, capsys).splitlines()) > 1


@pytest.mark.parametrize(
    "event, message",
    [
        ("purchase[nosuch>1]", "no event property named 'nosuch'"),
        ("purchase[amount~x]", "operator 'contains' does not apply to the integer property 'amount'"),
        ("purchase[amount>=abc]", "event 'purchase' filter[0]"),
    ],
)
def test_a_wrong_event_filter_is_the_local_sentence(rich, capsys, event, message):  # noqa: F811
    errors = []
    for project in rich:
        code, out, err = run(["analyze", "trend", project, "--event", event], capsys)
        assert code == 2 and out == ""
        errors.append(err)
    assert errors[0] == errors[1]
    assert message in errors[0] and "Traceback" not in errors[0]


@pytest.fixture(scope="module")
def reals(tmp_path_factory):
    """Generated purchases with real prices (many digits, tiny and huge, missing), both ways."""
    import random

    from builders import build_project
    from chdb_support import connect_to

    rng = random.Random(18)
    prices = [0.1, 0.2, 0.3, 1e-9, 123456.789, 3.3333333333, 1e15, 2.5, -0.7, None]
    events = [
        {
            "user_id": f"u{rng.randrange(25)}",
            "event": rng.choice(["purchase", "refund"]),
            "timestamp": f"2024-0{rng.randrange(1, 4)}-{rng.randrange(1, 29):02d}"
            f"T{rng.randrange(24):02d}:00:00Z",
            "price": rng.choice(prices),
        }
        for _ in range(400)
    ]
    scores = [0.1, 1e-9, 123.456, 2.5, None, 1e10, -3.75, 7.0]
    users = [
        {"user_id": f"u{i}", "tier": rng.choice(["a", "b", "c", ""]), "score": rng.choice(scores)}
        for i in range(25)
    ]
    tmp = tmp_path_factory.mktemp("reals")
    local = build_project(tmp / "local.seglab", events=events, users=users)
    with Project.open(local) as project:
        connect_to(project.conn, tmp / "ch", tmp / "connected.seglab")
    tiers = {
        "level": "user",
        "conditions": [{"type": "property", "property": "tier", "op": "in", "value": ["a", "b"]}],
    }
    for path in (local, tmp / "connected.seglab"):
        with Project.open(path) as project:
            save_segment(project.conn, "Tier a or b", tiers)
    return local, tmp / "connected.seglab"


@pytest.mark.parametrize("measure", ["sum", "avg", "min", "max", "median"])
@pytest.mark.parametrize("interval", ["day", "month"])
def test_value_measures_of_a_real_property_are_the_local_numbers(reals, capsys, measure, interval):
    out = same_output(
        reals,
        [*T, "--event", "purchase", "--measure", measure, "--of", "price", "--interval", interval, *F],
        capsys,
    )
    assert len(out.splitlines()) > 3


def test_value_measure_broken_down_and_compared(reals, capsys):
    args = [*T, "--measure", "sum", "--of", "price", "--by", "user.tier", "--compare", "previous", *MARCH]
    out = same_output(reals, args, capsys)
    assert "(none)" in out and "(previous period)" in out


def test_distinguish_numeric_properties_with_reals_are_the_local_numbers(reals, capsys):
    out = same_output(reals, ["analyze", "distinguish", "--segment", "Tier a or b", "--vs-rest", *F], capsys)
    assert "numeric,score" in out and "numeric,score,,," not in out
