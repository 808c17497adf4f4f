"""`seglab report`, run as a real process: output file, exit codes, one-line errors, read-only."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from builders import build_project
from seglab.core.project import Project
from seglab.core.segments import save_segment


def seglab(*args):
    return subprocess.run([sys.executable, "-m", "seglab", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def project_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_cli")
    events = [
        {"user_id": u, "event": e, "timestamp": f"2024-05-{d:02d}T{h:02d}:00:00"}
        for u, h in (("a", 9), ("b", 10), ("c", 11))
        for d, e in ((6, "signup"), (6, "create"), (8, "invite"), (14, "login"))
    ] + [{"user_id": "d", "event": "login", "timestamp": "2024-05-20T08:00:00"}]
    users = [{"user_id": u, "plan": p} for u, p in (("a", "pro"), ("b", "pro"), ("c", "free"), ("d", "free"))]
    path = build_project(folder / "shop.seglab", events=events, users=users)
    with Project.open(path) as proj:
        for name, value in (("Pro", "pro"), ("Free <b>", "free")):
            save_segment(proj.conn, name, {
                "version": 1, "level": "user", "match": "all",
                "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq",
                                "value": value}],
            })  # fmt: skip
    return path


def test_report_writes_the_worksheet(project_file, tmp_path):
    out = tmp_path / "w.html"
    before = hashlib.sha256(project_file.read_bytes()).hexdigest()
    r = seglab("report", project_file, "--out", out)
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<section class="segment"') == 2  # every saved segment by default
    assert "Free &lt;b&gt;" in html and "Free <b>" not in html
    assert "http://" not in html and "https://" not in html
    assert hashlib.sha256(project_file.read_bytes()).hexdigest() == before  # opened read-only


def test_segments_and_as_of(project_file, tmp_path):
    out = tmp_path / "w.html"
    r = seglab("report", project_file, "--out", out, "--segment", "Pro", "--as-of", "2024-05-10")
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="segment"') == 1
    assert "2024-05-10T23:59:59.999Z" in html  # a bare date means the end of that day


def test_works_while_the_app_has_the_project_open(project_file, tmp_path):
    with Project.open(project_file):  # holds the writer lock, like the desktop app
        r = seglab("report", project_file, "--out", tmp_path / "w.html", "--segment", "Pro")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--segment", "Nope"], "no saved segment named 'Nope'"),
        (["--as-of", "yesterday"], "as-of 'yesterday' is not an ISO date"),
        ([], None),  # --out missing: filled below
    ],
)
def test_wrong_requests_exit_2_with_one_line(project_file, tmp_path, args, message):
    if message is None:
        r = seglab("report", project_file)
        message = "--out"
    else:
        r = seglab("report", project_file, "--out", tmp_path / "w.html", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "w.html").exists()


def test_missing_project_and_missing_folder_exit_2(project_file, tmp_path):
    r = seglab("report", tmp_path / "none.seglab", "--out", tmp_path / "w.html")
    assert r.returncode == 2 and "no such project file" in r.stderr
    r = seglab("report", project_file, "--out", tmp_path / "no" / "w.html")
    assert r.returncode == 2 and "no such folder" in r.stderr
    r = seglab("report", project_file, "--out", tmp_path)
    assert r.returncode == 2 and "is a folder" in r.stderr


@pytest.mark.slow
def test_report_on_the_demo_project(tmp_path):
    import json
    import re

    demo = tmp_path / "demo.seglab"
    assert seglab("demo", demo).returncode == 0
    listed = seglab("segment", "list", demo, "--json")
    assert listed.returncode == 0, listed.stderr
    segments = json.loads(listed.stdout)
    assert len(segments) >= 2
    out = tmp_path / "worksheet.html"
    r = seglab("report", demo, "--out", out)
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="segment"') == len(segments)
    for seg in segments:  # the sizes the worksheet prints are `seglab segment list`'s
        name = seg["name"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        pattern = rf">{re.escape(name)}</a></td><td>{seg['level']}</td>\s*<td class=\"num\">([\d,]+)<"
        row = re.search(pattern, html)
        assert row and int(row.group(1).replace(",", "")) == seg["size"], seg
    assert "http://" not in html and "https://" not in html
    assert "Overlap between the segments" in html and "not available" not in html
