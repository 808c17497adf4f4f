"""The worksheet's parts: SVG helpers, the key-funnel choice, what distinguishes a segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import build_project
from seglab.core.project import Project
from seglab.core.report import svg
from seglab.core.report.distinguish import traits_from_frame
from seglab.core.report.keyfunnel import choose_key_funnel
from seglab.core.report.worksheet import compact_json, report_range
from seglab.core.timeutil import DAY_MS

# -- SVG helpers ------------------------------------------------------------------------------


def test_nice_ticks_are_round_and_cover_the_range():
    assert svg.nice_ticks(0, 37) == [0, 10, 20, 30, 40]
    assert svg.nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    assert svg.nice_ticks(0, 1, integer=True) == [0, 1]  # counts: no "0.25 users"
    assert svg.nice_ticks(0, 0, integer=True) == [0, 1]
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
    assert svg.PALETTE[0] in out and svg.PALETTE[1] in out  # by position when no colours are given


def test_formatting_and_heat_colours():
    assert svg.fmt_number(1234) == "1,234"
    assert svg.fmt_number(None) == "–"
    assert svg.fmt_number(2.5) == "2.50"
    assert svg.fmt_percent(0.4567, 1) == "45.7%"
    assert svg.heat_colour(0.0)[0] == "#ffffff"
    assert svg.heat_colour(None) == ("#ffffff", svg.MUTED)
    dark, text = svg.heat_colour(1.0)
    assert dark != "#ffffff" and text == svg.INK
    assert _contrast(dark, text) >= 4.5  # WCAG AA for the darkest cell
    assert svg.heat_colour(7.0) == svg.heat_colour(1.0)  # clamped


def _contrast(a: str, b: str) -> float:
    def lum(hex_colour: str) -> float:
        chans = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_compact_json_keeps_short_objects_on_one_line():
    text = compact_json({"version": 1, "conditions": [{"type": "property", "op": "eq", "value": "x" * 90}]})
    assert text.startswith('{\n  "version": 1,')
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
        {**_ev("a", "signup", 1), "source": "ad"}, _ev("a", "create", 2), _ev("a", "invite", 3),
        _ev("a", "login", 4),
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
    assert key.within_days == 14 and key.step_labels() == ["login", "create"]


def test_a_saved_funnel_charts_window_and_filters_are_kept(paths_project):
    from seglab.core.charts import ChartSpec, save_chart
    from seglab.core.report.worksheet import gather
    from seglab.core.segments import save_segment

    steps = [{"event": "signup", "where": [{"property": "source", "op": "eq", "value": "ad"}]}, "create"]
    with Project.open(paths_project) as project:
        save_chart(project.conn, "Ads", ChartSpec(kind="funnel").with_options(steps=steps, within_days=30))
        save_segment(project.conn, "All", {"version": 1, "level": "user", "match": "all", "conditions": []})
    with Project.open(paths_project, readonly=True) as project:
        key = choose_key_funnel(project.conn, *_range(project.conn))
        assert key.within_days == 30 and key.step_labels() == ["signup (filtered)", "create"]
        (section,) = gather(project.conn, None).sections
    assert section.funnel.within_days == 30
    assert [r["seg_entered"] for r in section.funnel.table] == [1, 1]  # only user a signed up from an ad


def _sequence_segment(steps, where=None):
    return {"version": 1, "level": "user", "match": "all", "conditions": [
        {"type": "group", "match": "any", "conditions": [
            {"type": "sequence", "within_days": 7,
             "steps": [{"event": e, **({"where": where} if where and i == 0 else {})}
                       for i, e in enumerate(steps)]},
        ]},
    ]}  # fmt: skip


def test_a_saved_segments_sequence_comes_next(paths_project):
    from seglab.core.charts import ChartSpec, save_chart
    from seglab.core.segments import save_segment

    with Project.open(paths_project) as project:
        save_segment(project.conn, "A filtered one", _sequence_segment(
            ["signup", "login"], where=[{"property": "source", "op": "eq", "value": "ad"}]))  # fmt: skip
        save_segment(project.conn, "B activated", _sequence_segment(["create", "invite"]))
        save_segment(project.conn, "C other", _sequence_segment(["signup", "login"]))
    with Project.open(paths_project, readonly=True) as project:
        conn = project.conn
        key = choose_key_funnel(conn, *_range(conn))
        assert key.steps == ("create", "invite")  # the filtered sequence is skipped; then by name
        assert "“B activated”" in key.reason
        key = choose_key_funnel(conn, *_range(conn), segments=["C other"])
        assert key.steps == ("signup", "login")  # the worksheet's own segments first
    with Project.open(paths_project) as project:
        save_chart(project.conn, "Mine", ChartSpec(kind="funnel").with_options(steps=["login", "create"]))
    with Project.open(paths_project, readonly=True) as project:
        assert choose_key_funnel(project.conn, *_range(project.conn)).steps == ("login", "create")


def test_no_events_no_key_funnel(tmp_path):
    with Project.create(tmp_path / "e.seglab") as project:
        assert choose_key_funnel(project.conn, 0, 10, 10 * DAY_MS) is None


# -- what distinguishes a segment ------------------------------------------------------------------


def _distinguish_frame(rows):
    import pandas as pd

    from seglab.core.analyses import DISTINGUISH_COLUMNS

    return pd.DataFrame([("segment", *r) for r in rows], columns=DISTINGUISH_COLUMNS)


def test_traits_keep_only_clear_significant_over_representation():
    frame = _distinguish_frame([
        # kind, name, value, segment_value, rest_value, difference, effect_size, p_value
        ("property", "plan", "pro", 0.9, 0.1, 0.8, 1.8, 1e-9),
        ("event", "invite", "", 0.6, 0.0, 0.6, 1.7, 1e-6),
        ("numeric", "seats", "", 12.0, 4.0, 8.0, 0.9, 1e-4),
        ("property", "plan", "free", 0.1, 0.9, -0.8, -1.8, 1e-9),  # less common: not a trait
        ("event", "rare", "", 0.04, 0.0, 0.04, 0.4, 0.01),  # too few members have it
        ("event", "noise", "", 0.51, 0.50, 0.01, 0.02, 0.8),  # 1 point: not a trait
        ("event", "common", "", 0.95, 0.90, 0.05, 0.2, 0.01),  # only 1.06 times
        ("event", "lucky", "", 0.5, 0.3, 0.2, 0.4, 0.2),  # not significant
        ("numeric", "age", "", 30.0, 30.5, -0.5, -0.05, 0.6),  # no effect
    ])  # fmt: skip
    traits = traits_from_frame(frame, 4)
    assert [t.label for t in traits] == ["plan = pro", "average seats", "did invite"]
    assert traits[0].lift == pytest.approx(9.0)
    assert traits[2].lift is None  # nobody in the rest: "only here"
    assert not traits[1].is_share and traits[1].lift == pytest.approx(3.0)
    assert [t.label for t in traits_from_frame(frame, 1)] == ["plan = pro", "did invite"]


def test_a_lower_numeric_mean_is_a_trait_too():
    frame = _distinguish_frame([("numeric", "tickets", "", 1.0, 5.0, -4.0, -1.2, 1e-5)])
    (trait,) = traits_from_frame(frame, 4)
    assert trait.label == "average tickets" and trait.lift == pytest.approx(0.2)


def test_what_distinguishes_on_a_project(tmp_path):
    from seglab.core.report.worksheet import gather
    from seglab.core.segments import save_segment

    users = [{"user_id": f"u{i}", "plan": "pro" if i < 20 else "free"} for i in range(40)]
    events = [_ev(f"u{i}", "login", 6) for i in range(40)]
    events += [_ev(f"u{i}", "invite", 7) for i in range(20)]
    path = build_project(tmp_path / "d.seglab", events=events, users=users)
    with Project.open(path) as project:
        save_segment(
            project.conn,
            "Pro",
            {
                "version": 1,
                "level": "user",
                "match": "all",
                "conditions": [
                    {"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}
                ],
            },
        )
    with Project.open(path, readonly=True) as project:
        (section,) = gather(project.conn, None).sections
    labels = {t.label: t for t in section.distinctions}
    assert set(labels) == {"plan = pro", "did invite"}
    assert (labels["plan = pro"].segment_value, labels["plan = pro"].rest_value) == (1.0, 0.0)
    assert (labels["did invite"].segment_value, labels["did invite"].rest_value) == (1.0, 0.0)


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


def test_many_segments_overlap_as_pairs():
    from seglab.core.report.worksheet import MAX_MATRIX, OverlapMatrix, _overlaps

    sets = {f"s{i}": ("user", set(range(i, i + 10))) for i in range(MAX_MATRIX + 2)}
    (m,) = _overlaps(sets)
    assert not m.as_matrix
    pairs = m.top_pairs(3)
    assert [(p["a"], p["b"], p["both"]) for p in pairs] == [("s0", "s1", 9), ("s1", "s2", 9), ("s2", "s3", 9)]
    assert pairs[0]["share_a"] == pytest.approx(0.9)
    assert OverlapMatrix("user", ["a", "b"], [1, 1], [[1, 0], [0, 1]]).as_matrix


def test_render_with_notes_and_a_pairs_table():
    from seglab.core.report.render import render
    from seglab.core.report.worksheet import Header, SegmentSection, Worksheet, _overlaps

    header = Header(
        project="p", version="0", generated="now", as_of=None, as_of_source="latest event",
        first_event=None, last_event=None, range_from=None, range_to=None,
        counts={"events": 0, "users": 0, "accounts": 0, "event_names": 0}, segments_given=False,
        command="seglab report p.seglab --out worksheet.html",
    )  # fmt: skip
    names = [f"<s{i}>" for i in range(10)]
    sections = [
        SegmentSection(anchor=f"segment-{i}", name=n, level="user", description="d", definition_json="{}",
                       size=1, universe=2, share=0.5, rest_size=1, notes={"funnel": "because <reasons>"})
        for i, n in enumerate(names)
    ]  # fmt: skip
    sections[0].size = 0
    overlaps = _overlaps({n: ("user", {i, i + 1}) for i, n in enumerate(names)})
    html = render(Worksheet(header, sections, overlaps, None))
    assert "pairs sharing the most members" in html
    assert html.count("Nobody is in this segment at the as-of time") == 1
    assert "Key funnel: because &lt;reasons&gt;." in html
    assert "What distinguishes it: not available." in html
    assert "<s1>" not in html and "&lt;s1&gt;" in html


def test_worksheet_breaks_each_segment_down_by_the_account_property_with_most_values_under_10(tmp_path):
    from seglab.core.report.worksheet import breakdown_property, gather
    from seglab.core.segments import save_segment

    accounts = [
        {
            "account_id": f"a{i}",
            "tier": ["gold", "silver", "bronze"][i % 3],
            "region": f"r{i % 5}",
            "ident": f"x{i}",
        }
        for i in range(12)
    ]  # tier: 3 values, region: 5, ident: 12 (too many)
    users = [
        {"user_id": f"u{i}", "account_id": f"a{i % 12}", "plan": "pro" if i % 4 == 0 else "free"}
        for i in range(24)
    ]
    events = [{"user_id": f"u{i}", "event": "login", "timestamp": "2024-03-04T10:00:00Z"} for i in range(24)]
    path = build_project(tmp_path / "w.seglab", events=events, users=users, accounts=accounts)
    with Project.open(Path(path)) as project:
        conn = project.conn
        assert breakdown_property(conn) == "region"
        pro = {"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}
        save_segment(conn, "Pro", {"version": 1, "level": "user", "match": "all", "conditions": [pro]})
        section = gather(conn, ["Pro"]).sections[0]
    # Pro users are u0, u4, ..., u20: accounts a0, a4, a8, a0, a4, a8 → regions r0, r4, r3.
    rows = {value: (n, share) for value, n, share, _rest in section.breakdown.rows}
    assert section.breakdown.property == "region"
    assert rows == {
        "r0": (2, pytest.approx(1 / 3)),
        "r3": (2, pytest.approx(1 / 3)),
        "r4": (2, pytest.approx(1 / 3)),
    }
    assert [r[0] for r in section.breakdown.rows] == ["r0", "r3", "r4"]  # ties: smaller value first
