"""The Python API on a connected project (docs/api.md, docs/sources.md): the same numbers as the
command line, which counts in the source, and ``seglab.connect`` as ``seglab connect``."""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import pytest

pytest.importorskip("chdb")

import seglab
from builders import build_project
from chdb_support import connect_to, to_chdb
from seglab.cli import main
from seglab.core.project import Project

EVENTS = [
    {"user_id": "u1", "event": "signup", "timestamp": "2024-03-02T09:00:00Z", "account_id": "acme"},
    {"user_id": "u1", "event": "login", "timestamp": "2024-03-30T10:00:00Z", "account_id": "acme"},
    {"user_id": "u1", "event": "purchase", "timestamp": "2024-03-30T11:00:00Z", "amount": 30},
    {"user_id": "u2", "event": "signup", "timestamp": "2024-03-01T08:00:00Z"},
    {"user_id": "u2", "event": "login", "timestamp": "2024-03-01T10:00:00Z"},
    {"user_id": "u3", "event": "login", "timestamp": "2024-03-31T10:00:00Z"},
    {"user_id": "u3", "event": "purchase", "timestamp": "2024-03-31T12:00:00Z", "amount": 12},
]
USERS = [
    {"user_id": "u1", "plan": "pro", "seats": 3, "joined": "2023-01-05T00:00:00Z"},
    {"user_id": "u2", "plan": "free", "account_id": "zeta", "seats": 1},
    {"user_id": "u4", "plan": "pro", "joined": "2022-06-01T12:00:00Z"},
]
ACCOUNTS = [{"account_id": "acme", "tier": "gold"}, {"account_id": "idle", "tier": "free"}]
LOGIN_7 = {
    "level": "user",
    "conditions": [{"type": "behavior", "event": "login", "window": {"last_days": 7}}],
}
PRO = {"level": "user", "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "pro"}]}


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """(local, connected): the same rows imported, and kept in a chdb folder."""
    tmp = tmp_path_factory.mktemp("apiconn")
    local = build_project(tmp / "local.seglab", events=EVENTS, users=USERS, accounts=ACCOUNTS)
    with Project.open(local, readonly=True) as project:
        connected = connect_to(project.conn, tmp / "ch", tmp / "c.seglab")
    for path in (local, connected):
        with seglab.open(path, write=True) as p:
            p.save_segment("Pro", PRO)
            p.save_segment("Recent", LOGIN_7)
    return local, connected


def cli(args, capsys) -> str:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_info_count_members_segments_equal_the_cli(projects, capsys, tmp_path):
    _local, connected = projects
    with seglab.open(connected) as p:
        assert p.info() == json.loads(cli(["info", connected, "--json"], capsys))
        assert p.info()["events"] == len(EVENTS)  # counted in the source, not the empty local table
        definition = tmp_path / "d.json"
        for seg in (LOGIN_7, PRO, "Pro", "Recent"):
            if isinstance(seg, dict):
                definition.write_text(json.dumps(seg))
                which = ["--def", definition]
            else:
                which = ["--name", seg]
            expected = json.loads(cli(["segment", "count", connected, *which, "--json"], capsys))["count"]
            assert p.count(seg) == expected > 0
            assert p.segment(seg).size == expected
            ids = [
                row[0]
                for row in csv.reader(io.StringIO(cli(["segment", "members", connected, *which], capsys)))
            ]
            assert p.members(seg, properties=False)["id"].tolist() == ids[1:]
        rows = json.loads(cli(["segment", "list", connected, "--json"], capsys))
        frame = p.segments()
        assert frame["name"].tolist() == [r["name"] for r in rows] == ["Pro", "Recent"]
        assert frame["size"].tolist() == [r["size"] for r in rows] == [2, 2]


def test_members_properties_equal_the_local_project(projects):
    local, connected = projects
    frames = []
    for path in projects:
        with seglab.open(path) as p:
            frames.append(p.members("Pro"))
    assert frames[1].columns.tolist() == ["id", "plan", "seats", "joined"]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[1]["seats"].tolist()[0] == 3
    assert frames[1]["joined"].tolist()[1] == pd.Timestamp("2022-06-01T12:00:00Z")
    gold = {
        "level": "account",
        "conditions": [{"type": "property", "property": "tier", "op": "eq", "value": "gold"}],
    }
    accounts = []
    for path in (local, connected):
        with seglab.open(path) as p:
            accounts.append(p.members(gold))
            assert "chdb://" in p._repr_html_() or path == local
    assert accounts[1].columns.tolist() == ["id", "tier"] and accounts[1]["id"].tolist() == ["acme"]
    pd.testing.assert_frame_equal(accounts[0], accounts[1])


@pytest.mark.parametrize(
    "kind, options, argv",
    [
        ("trend", {"event": "login", "interval": "week"}, ["--event", "login", "--interval", "week"]),
        (
            "funnel",
            {"steps": ["signup", "login", "purchase"], "segments": ["Pro", "Recent"]},
            ["--steps", "signup,login,purchase", "--segment", "Pro", "--segment", "Recent"],
        ),
    ],
)
def test_analyses_equal_the_cli_and_the_local_project(projects, capsys, kind, options, argv):
    local, connected = projects
    frames = []
    for path in (local, connected):
        with seglab.open(path) as p:
            frames.append(p.analyze(kind, **options))
    cells = list(csv.reader(io.StringIO(cli(["analyze", kind, connected, *argv], capsys))))
    frame = frames[1]
    assert frame.columns.tolist() == cells[0]
    assert len(frame) == len(cells) - 1 > 0
    for row, expected in zip(frame.itertuples(index=False), cells[1:], strict=True):
        for value, text in zip(row, expected, strict=True):
            if text == "":
                assert pd.isna(value)
            elif isinstance(value, float):
                assert math.isclose(value, float(text), rel_tol=1e-9)
            elif isinstance(value, pd.Timestamp):
                stamp = pd.Timestamp(text)
                assert value == (stamp if stamp.tzinfo else stamp.tz_localize("UTC"))
            else:
                assert str(value).lower() == text.lower()
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_save_segment_needs_write_on_a_connected_project(projects):
    _local, connected = projects
    with seglab.open(connected) as p, pytest.raises(seglab.ReadOnlyError):
        p.save_segment("Other", PRO)


def test_connect_creates_a_connected_project(tmp_path, projects, capsys):
    local, _connected = projects
    folder = tmp_path / "ch"
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, folder)
    path = tmp_path / "api.seglab"
    with seglab.connect(
        path, source=f"chdb://{folder}", events="events", users="users", mapping={"users.account_id": None}
    ) as p:
        assert p.readonly
        info = p.info()
        assert info["source"] == {"kind": "chdb", "url": f"chdb://{folder}"}
        assert info["events"] == len(EVENTS)
        assert p.count(PRO) == 2
    # The same project as the command line makes with the same options.
    out = cli(
        [
            *("connect", tmp_path / "cli.seglab", "--source", f"chdb://{folder}", "--events", "events"),
            *("--users", "users", "--map", "users.account_id=", "--json"),
        ],
        capsys,
    )
    made = json.loads(out)
    with Project.open(path, readonly=True) as project:
        stored = json.loads(project.conn.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()[0])
    assert stored["users"] == made["users"] and stored["users"]["account_id"] is None
    assert stored["events"] == made["events"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"source": "clickhouse://me:secret@db.example:8123/analytics", "events": "e"},
            "a password in the source URL is refused",
        ),
        ({"source": "postgres://me@h/db", "events": "e"}, "unknown source"),
        ({"events": "e"}, "the following arguments are required: --source"),
    ],
)
def test_connect_refuses_as_the_cli_does(tmp_path, capsys, kwargs, message):
    path = tmp_path / "n.seglab"
    with pytest.raises(seglab.SeglabError) as caught:
        seglab.connect(path, **kwargs)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)
    assert not path.exists()
    argv = ["connect", path]
    if "source" in kwargs:
        argv += ["--source", kwargs["source"]]
    assert main([str(a) for a in [*argv, "--events", "e"]]) == 2
    assert capsys.readouterr().err == f"seglab: error: {caught.value}\n"


def test_what_the_cli_refuses_on_a_connected_project_is_refused_alike(projects, capsys, tmp_path):
    local, connected = projects
    frames = []
    for path in (local, connected):  # what distinguishes a segment runs in the source too
        with seglab.open(path) as p:
            frames.append(p.analyze("distinguish", segment="Pro"))
    assert len(frames[0]) > 0
    assert frames[0].equals(frames[1])
    events = tmp_path / "e.csv"
    events.write_text("user_id,event,timestamp\nu9,login,2024-03-31T00:00:00Z\n")
    with pytest.raises(seglab.SeglabError, match="import does not apply to a connected project"):
        seglab.import_files(connected, events)
    with seglab.open(connected) as p:
        assert p.info()["events"] == len(EVENTS)
