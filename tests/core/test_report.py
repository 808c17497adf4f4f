"""The worksheet (seglab.core.report) on real project files built through the importer."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from builders import build_project
from seglab import __version__
from seglab.core.errors import UserError
from seglab.core.project import Project
from seglab.core.report import build_report, write_report
from seglab.core.report.worksheet import gather
from seglab.core.segments.engine import count, member_keys
from seglab.core.segments.store import get_saved, save_segment

HOSTILE = "<script>alert('x')</script> & \"co\""
HOSTILE_VALUE = "</pre><img src=x onerror=alert(1)>"
END = dt.datetime(2024, 6, 5, 18, 0, tzinfo=dt.UTC)


def _user_segment(conditions):
    return {"version": 1, "level": "user", "match": "all", "conditions": conditions}


def make_demo_like(path: Path, n_users: int = 48, seed: int = 7) -> Path:
    """A small B2B-ish project: signups, projects, invites, daily logins, exports; four segments."""
    rnd = random.Random(seed)
    accounts = [{"account_id": f"acc{i}", "industry": rnd.choice(["retail", "saas"])} for i in range(6)]
    users, events = [], []
    for i in range(n_users):
        uid = f"u{i:03d}"
        plan = rnd.choice(["free", "free", "pro", "enterprise"])
        country = HOSTILE_VALUE if i % 11 == 0 else rnd.choice(["DE", "US", "US"])
        users.append({"user_id": uid, "account_id": f"acc{i % 6}", "plan": plan, "country": country})
        start = END - dt.timedelta(days=rnd.randint(1, 110), hours=rnd.randint(0, 23))
        t = start
        events.append({"user_id": uid, "event": "signup", "timestamp": t.isoformat()})
        activity = {"free": 0.25, "pro": 0.55, "enterprise": 0.7}[plan]
        if rnd.random() < 0.8:
            t += dt.timedelta(hours=rnd.randint(1, 48))
            events.append({"user_id": uid, "event": "create_project", "timestamp": t.isoformat()})
        day = start
        while day < END - dt.timedelta(days=1):
            day += dt.timedelta(days=1)
            if rnd.random() < activity:
                events.append({"user_id": uid, "event": "login", "timestamp": day.isoformat()})
                if rnd.random() < activity / 2:
                    stamp = (day + dt.timedelta(minutes=5)).isoformat()
                    events.append({"user_id": uid, "event": "export_report", "timestamp": stamp})
    build_project(path, events=events, users=users, accounts=accounts)
    with Project.open(path) as project:
        conn = project.conn
        save_segment(conn, "Power users", _user_segment([
            {"type": "behavior", "event": "login", "compare": {"op": "gte", "value": 12},
             "window": {"last_days": 30}},
        ]))  # fmt: skip
        save_segment(conn, "Paying", _user_segment([
            {"type": "property", "entity": "user", "property": "plan", "op": "in",
             "value": ["pro", "enterprise"]},
        ]))  # fmt: skip
        save_segment(conn, HOSTILE, _user_segment([
            {"type": "property", "entity": "user", "property": "country", "op": "eq", "value": HOSTILE_VALUE},
        ]))  # fmt: skip
        save_segment(conn, "Retail accounts", {
            "version": 1, "level": "account", "match": "all", "conditions": [
                {"type": "property", "entity": "account", "property": "industry", "op": "eq",
                 "value": "retail"},
            ]})  # fmt: skip
        save_segment(conn, "Busy accounts", {
            "version": 1, "level": "account", "match": "all", "conditions": [
                {"type": "users", "compare": {"op": "gte", "value": 3},
                 "match": _user_segment([{"type": "behavior", "event": "login",
                                          "compare": {"op": "gte", "value": 5},
                                          "window": {"last_days": 30}}])},
            ]})  # fmt: skip
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_like(tmp_path_factory.mktemp("report") / "demo.seglab")


@pytest.fixture(scope="module")
def html(demo) -> str:
    return build_report(demo, None)


class _Collect(HTMLParser):
    """Every start tag and its attributes, and the text, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    p.close()
    return p


# -- sections and numbers ----------------------------------------------------------------------


def test_every_saved_segment_has_every_section(html):
    for heading in ("Definition", "Size over time", "Activity", "Key funnel", "Retention",
                    "What distinguishes it"):  # fmt: skip
        assert html.count(f"<h3>{heading}</h3>") == 5, heading
    assert "Overlap between the segments" in html
    assert html.count('<section class="segment"') == 5
    assert html.count("<caption>At a glance</caption>") == 5
    text = " ".join(parse(html).text)
    for name in ("Power users", "Paying", "Busy accounts", "Retail accounts", HOSTILE):
        assert name in text
    # Charts were drawn (not "not available") for the parts the analyses provide.
    assert "Size over time: " not in text
    assert "Activity: " not in text
    assert "Key funnel: " not in text
    assert "Retention: " not in text


def test_header_makes_the_numbers_reproducible(demo, html):
    with Project.open(demo, readonly=True) as project:
        info = project.info()
    text = " ".join(parse(html).text)
    assert f"SegLab {__version__}" in text
    assert info["as_of"] in text
    assert "demo" in text  # the project name
    assert "2024-03-11 to 2024-06-05" in text  # 13 calendar weeks up to as-of, Monday first
    assert "seglab report demo.seglab --out worksheet.html --as-of " + info["as_of"] in text


def test_sizes_and_shares_match_segment_count(demo):
    with Project.open(demo, readonly=True) as project:
        conn = project.conn
        ws = gather(conn, None)
        users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        for section in ws.sections:
            seg = get_saved(conn, section.name)
            assert section.size == count(conn, seg.definition)
            assert section.level == seg.level
            if section.level == "user":
                assert section.universe == users
            assert section.size + section.rest_size == section.universe
            assert section.share == pytest.approx(section.size / section.universe)
    assert [s.name for s in ws.sections] == sorted(s.name for s in ws.sections)


def test_sizes_are_printed(demo, html):
    with Project.open(demo, readonly=True) as project:
        for name in ("Power users", "Paying"):
            n = count(project.conn, get_saved(project.conn, name).definition)
            assert f'<div class="value">{n:,}</div>' in html


def test_size_over_time_ends_at_the_current_size(demo):
    with Project.open(demo, readonly=True) as project:
        ws = gather(project.conn, ["Power users"])
    sot = ws.sections[0].size_over_time
    assert sot is not None and len(sot.x) == 13
    assert sot.segment[-1] == ws.sections[0].size
    assert sot.x[0] == "2024-03-11" and dt.date.fromisoformat(sot.x[0]).weekday() == 0


def test_funnel_and_retention_match_the_analyses(demo):
    from seglab.core.analyses.common import SeriesSpec
    from seglab.core.analyses.funnel import FunnelRequest, run_funnel

    with Project.open(demo, readonly=True) as project:
        conn = project.conn
        ws = gather(conn, ["Paying"])
        section = ws.sections[0]
        keys = tuple(member_keys(conn, get_saved(conn, "Paying").definition))
        rest = tuple(k for (k,) in conn.execute("SELECT user_key FROM users") if k not in set(keys))
        frame = run_funnel(
            conn,
            FunnelRequest(
                steps=tuple(ws.key_funnel.steps), within_days=14,
                series=(SeriesSpec("a", "user", keys), SeriesSpec("b", "user", rest)),
                as_of_ms=conn.execute("SELECT max(ts) FROM events").fetchone()[0],
                date_from=dt.date(2024, 3, 11), date_to=dt.date(2024, 6, 5),
            ),
        )  # fmt: skip
    assert [r["seg_entered"] for r in section.funnel.table] == list(frame[frame.segment == "a"].entered)
    assert [r["rest_entered"] for r in section.funnel.table] == list(frame[frame.segment == "b"].entered)
    assert section.retention is not None
    assert section.retention.segment_curve[0] == pytest.approx(1.0)  # period 0: the cohort itself
    assert all(c["size"] > 0 for c in section.retention.cohorts)


def test_overlap_counts_are_intersections(demo):
    with Project.open(demo, readonly=True) as project:
        conn = project.conn
        ws = gather(conn, ["Power users", "Paying", "Busy accounts"])
        power = set(member_keys(conn, get_saved(conn, "Power users").definition))
        paying = set(member_keys(conn, get_saved(conn, "Paying").definition))
        both = gather(conn, ["Busy accounts", "Retail accounts"])
        busy = set(member_keys(conn, get_saved(conn, "Busy accounts").definition))
        retail = set(member_keys(conn, get_saved(conn, "Retail accounts").definition))
    assert len(ws.overlaps) == 1  # the one account segment has nothing to overlap with
    m = ws.overlaps[0]
    assert m.level == "user" and m.names == ["Power users", "Paying"]
    assert m.cells == [[len(power), len(power & paying)], [len(power & paying), len(paying)]]
    (m,) = both.overlaps
    assert m.level == "account" and m.names == ["Busy accounts", "Retail accounts"]
    assert m.cells[0][1] == m.cells[1][0] == len(busy & retail)
    assert 0 < len(retail) < 6  # an account segment with a rest


def test_chosen_segments_only_in_the_given_order(demo):
    html = build_report(demo, ["Paying", "Power users", "Paying"])
    assert html.count('<section class="segment"') == 2
    assert html.index('id="segment-1-title">Paying<') < html.index('id="segment-2-title">Power users<')
    assert "Busy accounts" not in html
    assert "--segment Paying --segment &#39;Power users&#39;" in html


def test_unknown_segment_is_a_user_error(demo):
    with pytest.raises(UserError, match="no saved segment named 'Nope'"):
        build_report(demo, ["Power users", "Nope"])


def test_explicit_as_of(demo):
    as_of = int(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC).timestamp() * 1000)
    html = build_report(demo, ["Power users"], as_of)
    assert "2024-05-01T12:00:00.000Z" in html
    assert "given on the command line" in html
    with Project.open(demo, readonly=True) as project:
        n = count(project.conn, get_saved(project.conn, "Power users").definition, as_of)
    assert f'<div class="value">{n:,}</div>' in html


# -- safety: escaping and self-containment ----------------------------------------------------


def test_hostile_names_and_values_are_text(html):
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    parsed = parse(html)
    assert not [t for t, _ in parsed.tags if t in ("script", "img", "iframe", "object", "embed", "link")]
    assert not [a for _, attrs in parsed.tags for a in attrs if a.startswith("on")]
    text = "".join(parsed.text)
    assert HOSTILE in text  # shown, as text, in the heading, tables and chart labels
    assert HOSTILE_VALUE in text  # in the definition JSON
    assert "&lt;script&gt;" in html


def test_self_contained_no_urls(html):
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "//" not in re.sub(r"<pre.*?</pre>", "", lowered, flags=re.S).replace("<!--", "")
    for pattern in ("<link", "<script", "@import", "url(", "<iframe"):
        assert pattern not in lowered, pattern
    parsed = parse(html)
    for tag, attrs in parsed.tags:
        assert "src" not in attrs and "xlink:href" not in attrs, tag
        assert attrs.get("href", "#").startswith("#"), (tag, attrs)
    assert ("meta", {"charset": "utf-8"}) in parsed.tags
    assert sum(1 for t, _ in parsed.tags if t == "svg") >= 5 * 4


def test_print_css_breaks_a_page_per_segment(html):
    assert "@media print" in html
    assert re.search(r"section\.segment[^{]*\{[^}]*break-before:\s*page", html)


# -- inputs and edge cases ----------------------------------------------------------------------


def test_connection_project_and_path_give_the_same_numbers(demo):
    by_path = build_report(demo, ["Paying"])
    with Project.open(demo, readonly=True) as project:
        by_project = build_report(project, ["Paying"])
        by_conn = build_report(project.conn, ["Paying"])
    strip = lambda h: re.sub(r"on \d{4}-\d\d-\d\dT[\d:]+Z", "", h)
    assert strip(by_path) == strip(by_project) == strip(by_conn)


def test_reading_leaves_the_project_file_unchanged(demo, tmp_path):
    before = hashlib.sha256(demo.read_bytes()).hexdigest()
    out = write_report(tmp_path / "w.html", demo, ["Paying"])
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert hashlib.sha256(demo.read_bytes()).hexdigest() == before


def test_write_report_into_a_missing_folder_is_a_user_error(demo, tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        write_report(tmp_path / "nope" / "w.html", demo, ["Paying"])


def test_empty_project_renders_with_a_note(tmp_path):
    with Project.create(tmp_path / "empty.seglab"):
        pass
    html = build_report(tmp_path / "empty.seglab", None)
    assert "no saved segments" in html
    assert "no events yet" in html
    assert '<section class="segment"' not in html


def test_a_segment_of_everyone_has_no_rest(tmp_path):
    path = build_project(
        tmp_path / "p.seglab",
        events=[
            {"user_id": u, "event": e, "timestamp": f"2024-05-{d:02d}T10:00:00"}
            for u in ("a", "b", "c") for d, e in ((6, "open"), (7, "save"), (14, "open"))
        ],
    )  # fmt: skip
    with Project.open(path) as project:
        save_segment(project.conn, "Everyone", _user_segment([]))
    with Project.open(path, readonly=True) as project:
        ws = gather(project.conn, None)
    s = ws.sections[0]
    assert (s.size, s.rest_size, s.share) == (3, 0, 1.0)
    html = build_report(path, None)
    assert "Overlap needs at least two segments" in html


def test_a_saved_segment_that_cannot_be_evaluated_never_hides_the_others(tmp_path):
    import json
    import sqlite3

    path = build_project(
        tmp_path / "p.seglab", events=[{"user_id": "a", "event": "open", "timestamp": "2024-05-06T10:00:00"}]
    )
    stale = _user_segment(
        [{"type": "property", "entity": "user", "property": "gone", "op": "eq", "value": "x"}]
    )
    deep = '{"conditions":[' + '{"type":"group","conditions":[' * 40 + "]}" * 40 + "]}"
    fine = _user_segment([{"type": "behavior", "event": "open"}])
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO segments(name, level, definition, created, updated) VALUES (?, 'user', ?, '', '')",
            [("Stale", json.dumps(stale)), ("Deep", deep), ("Fine", json.dumps(fine))],
        )
    conn.close()
    html = build_report(path, None)
    assert re.search(r"segment “Stale” cannot be evaluated and is left out: .*gone", html)
    assert re.search(r"segment “Deep” cannot be evaluated and is left out: .*nest too deeply", html)
    with Project.open(path, readonly=True) as project:
        ws = gather(project.conn, None)
    assert [s.name for s in ws.sections] == ["Fine"]
    assert ws.sections[0].size == 1


def test_cancel_stops_the_worksheet(demo):
    from seglab.core.errors import Cancelled
    from seglab.core.progress import CancelToken

    seen = []
    token = CancelToken(lambda done, total, text: seen.append(text))
    token.cancel()
    with pytest.raises(Cancelled):
        build_report(demo, None, progress=token)


def test_a_pinned_as_of_is_used_and_said(demo, tmp_path):
    import shutil

    copy = tmp_path / "pinned.seglab"
    shutil.copy(demo, copy)
    pin = int(dt.datetime(2024, 5, 15, tzinfo=dt.UTC).timestamp() * 1000)
    with Project.open(copy) as project:
        project.set_as_of_pin(pin)
    html = build_report(copy, ["Paying"])
    assert "2024-05-15T00:00:00.000Z" in html and "pinned in the project" in html
    assert "2024-02-19 to 2024-05-15" in html  # 13 weeks up to the pin


def test_each_segment_keeps_its_app_colour_and_the_rest_is_grey(demo, html):
    from seglab.core.palette import PALETTE, REST_COLOR, color_of_saved, series_colors

    with Project.open(demo, readonly=True) as project:
        colours = {name: color_of_saved(project.conn, name) for name in ("Power users", "Paying")}
        ids = dict(project.conn.execute("SELECT name, segment_id FROM segments").fetchall())
    assert colours["Power users"] != colours["Paying"]
    # The app's charts give a segment the same colour (series_colors, by segment id).
    assert series_colors([("Paying", ids["Paying"], "segment")]) == [colours["Paying"]]
    sections = re.split(r'<section class="segment"', html)[1:]
    for name, colour in colours.items():
        section = next(s for s in sections if f">{name}<" in s)
        assert f"--seg: {colour}" in section
        assert f'stroke="{colour}"' in section  # its lines
        assert f'stroke="{REST_COLOR}"' in section  # the rest: grey, never a segment colour
        others = set(PALETTE) - {colour}
        assert not any(f'stroke="{c}"' in section for c in others)
