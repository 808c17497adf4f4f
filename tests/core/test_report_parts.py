"""The worksheet's parts: SVG helpers, the key-funnel choice, what distinguishes a segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import build_project
from seglab.core.project import Project
from seglab.core.report import svg
from seglab.core.report.distinguish import Trait, event_traits, property_traits, top_traits
from seglab.core.report.keyfunnel import choose_key_funnel
from seglab.core.report.worksheet import compact_json, report_range
from seglab.core.timeutil import DAY_MS

# -- SVG helpers ------------------------------------------------------------------------------


def test_nice_ticks_are_round_and_cover_the_range():
    assert svg.nice_ticks(0, 37) == [0, 10, 20, 30, 40]
    assert svg.nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    ticks = svg.nice_ticks(3, 3)  # a flat line still gets an axis
    assert ticks[0] <= 3 <= ticks[-1] and len(ticks) >= 2


def test_line_chart_escapes_labels_and_breaks_at_gaps():
    out = svg.line_chart(
        ["<a>", "b", "c", "d"], [("<script>x</script>", [1, 2, None, 4]), ("rest & co", [2, 2, 2, 2])],
        title="t <b>",
    )  # fmt: skip
    assert "<script>" not in out and "&lt;script&gt;x&lt;/script&gt;" in out
    assert "&lt;a&gt;" in out and "rest &amp; co" in out and "t &lt;b&gt;" in out
    assert out.count("<polyline") == 2  # the first series' run [1, 2] (4 stands alone) + the second
    assert 'stroke-dasharray="6 4"' in out  # the second series is dashed as well as coloured


def test_line_chart_partial_marker_and_empty_state():
    out = svg.line_chart(["a", "b", "c"], [("s", [0.1, 0.2, 0.3])], title="t", partial_from=2)
    assert "partial" in out
    empty = svg.line_chart([], [("s", [])], title="t")
    assert "no data in this range" in empty


def test_bar_chart_values_and_escaping():
    out = svg.bar_chart(
        ["1. <i>", "2. b"], [("seg", [1.0, 0.5]), ("rest", [1.0, 0.25])], title="f",
        value_format=lambda v: svg.fmt_percent(v, 1), x_max=1.0,
    )  # fmt: skip
    assert "&lt;i&gt;" in out and "<i>" not in out
    for text in ("100.0%", "50.0%", "25.0%"):
        assert f">{text}</text>" in out
    assert svg.OKABE_ITO[0] in out and svg.OKABE_ITO[1] in out


def test_formatting_and_heat_colours():
    assert svg.fmt_number(1234) == "1,234"
    assert svg.fmt_number(None) == "–"
    assert svg.fmt_number(2.5) == "2.50"
    assert svg.fmt_percent(0.4567, 1) == "45.7%"
    assert svg.heat_colour(0.0)[0] == "#ffffff"
    assert svg.heat_colour(None) == ("#ffffff", svg.MUTED)
    dark, text = svg.heat_colour(1.0)
    assert text == "#ffffff" and dark != "#ffffff"
    assert svg.heat_colour(7.0) == svg.heat_colour(1.0)  # clamped


def test_compact_json_keeps_short_objects_on_one_line():
    text = compact_json({"version": 1, "conditions": [{"type": "property", "op": "eq", "value": "x" * 90}]})
    assert text.startswith("{\n  \"version\": 1,")
    assert '"op": "eq"' in text
    short = compact_json({"a": {"b": 1}})
    assert short == '{"a": {"b": 1}}'


def test_report_range_is_thirteen_calendar_weeks():
    as_of = 19_879 * DAY_MS + 5  # 2024-06-05 (a Wednesday)
    first, last = report_range(as_of)
    assert first.isoformat() == "2024-03-11" and first.weekday() == 0
    assert last.isoformat() == "2024-06-05"


# -- the key funnel ----------------------------------------------------------------------------


def _ev(user, event, day, hour=10):
    return {"user_id": user, "event": event, "timestamp": f"2024-05-{day:02d}T{hour:02d}:00:00"}


@pytest.fixture
def paths_project(tmp_path) -> Path:
    events = [
        _ev("a", "signup", 1), _ev("a", "create", 2), _ev("a", "invite", 3), _ev("a", "login", 4),
        _ev("b", "signup", 1), _ev("b", "create", 1, 11), _ev("b", "invite", 5),
        _ev("c", "signup", 2), _ev("c", "login", 3), _ev("c", "create", 4),
        _ev("d", "login", 6), _ev("d", "login", 7),
    ]  # fmt: skip
    users = [
        {"user_id": "a", "plan": "pro"}, {"user_id": "b", "plan": "pro"},
        {"user_id": "c", "plan": "free"}, {"user_id": "d", "plan": "free"},
    ]  # fmt: skip
    return build_project(tmp_path / "paths.seglab", events=events, users=users)


def _range(conn):
    as_of = conn.execute("SELECT max(ts) FROM events").fetchone()[0]
    first, last = report_range(as_of)
    return (first.toordinal() - 719163, last.toordinal() - 719163, as_of)


def test_key_funnel_is_the_most_common_path(paths_project):
    with Project.open(paths_project, readonly=True) as project:
        key = choose_key_funnel(project.conn, *_range(project.conn))
    assert key.steps == ("signup", "create", "invite")
    assert "2 of the 4 users active in the range" in key.reason


def test_a_saved_funnel_chart_wins(paths_project):
    from seglab.core.charts import ChartSpec, save_chart

    with Project.open(paths_project) as project:
        spec = ChartSpec(kind="funnel").with_options(steps=["login", "create"])
        save_chart(project.conn, "Activation <funnel>", spec)
    with Project.open(paths_project, readonly=True) as project:
        key = choose_key_funnel(project.conn, *_range(project.conn))
    assert key.steps == ("login", "create")
    assert "Activation <funnel>" in key.reason


def test_no_events_no_key_funnel(tmp_path):
    with Project.create(tmp_path / "e.seglab") as project:
        assert choose_key_funnel(project.conn, 0, 10, 10 * DAY_MS) is None


# -- what distinguishes a segment ------------------------------------------------------------------


def _keys(conn, ids):
    return {k for k, uid in conn.execute("SELECT user_key, user_id FROM users") if uid in ids}


def test_property_and_event_traits_hand_checked(paths_project):
    with Project.open(paths_project, readonly=True) as project:
        conn = project.conn
        seg, rest = _keys(conn, {"a", "b"}), _keys(conn, {"c", "d"})
        props = {t.label: t for t in property_traits(conn, "user", seg, rest)}
        start, end, as_of = _range(conn)
        events = {t.label: t for t in event_traits(conn, "user", seg, rest, start, end, as_of)}
    assert (props["plan = pro"].segment_share, props["plan = pro"].rest_share) == (1.0, 0.0)
    assert (props["plan = free"].segment_share, props["plan = free"].rest_share) == (0.0, 1.0)
    assert (events["did invite"].segment_share, events["did invite"].rest_share) == (1.0, 0.0)
    assert (events["did login"].segment_share, events["did login"].rest_share) == (0.5, 1.0)
    assert (events["did signup"].segment_share, events["did signup"].rest_share) == (1.0, 0.5)
    top = top_traits(list(props.values()) + list(events.values()), 10)
    assert [t.label for t in top] == ["did invite", "plan = pro", "did create", "did signup"]
    assert top[0].lift is None  # nobody in the rest: "only here"


def test_top_traits_needs_over_representation_and_support():
    traits = [
        Trait("event", "rare", 0.04, 0.0),
        Trait("event", "same", 0.5, 0.5),
        Trait("event", "less", 0.2, 0.6),
        Trait("event", "more", 0.6, 0.2),
        Trait("event", "noise", 0.51, 0.50),  # 1 point more: not a trait
        Trait("event", "common", 0.95, 0.90),  # 5 points, but only 1.06 times
    ]
    assert [t.label for t in top_traits(traits, 5)] == ["more"]
    assert top_traits(traits, 5)[0].lift == pytest.approx(3.0)


def test_the_reproduce_command_parses_back_to_the_same_request():
    import shlex

    from seglab.cli import build_parser
    from seglab.core.report.worksheet import _command

    names = ["-starts with a dash", "a b", "it's <b>", "--segment"]
    command = _command("my project.seglab", names, "2024-01-01T00:00:00.000Z")
    argv = shlex.split(command)
    assert argv[:2] == ["seglab", "report"]
    args = build_parser().parse_args(argv[1:])
    assert args.project == "my project.seglab"
    assert args.segment == names
    assert args.as_of == "2024-01-01T00:00:00.000Z"
