"""``seglab find`` on a connected project (docs/sources.md): the people's text read from a chdb
source into an in-memory index gives what ``find`` gives on the local project of the same rows.

The rows are in id order, so the local keys (import order) and the connected ones (id order)
agree and even ties in rank list alike."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("chdb")

from builders import build_project
from chdb_support import connect_to
from seglab.cli import main
from seglab.core.project import Project

ACCOUNTS = [
    {"account_id": "acc-1", "company": "Acme GmbH", "domain": "acme.com", "seats": 12},
    {"account_id": "acc-2", "company": "Globex Corporation", "domain": "globex.io", "seats": 3},
    {"account_id": "acc-3", "company": "Initech", "domain": "", "seats": 7},
]
USERS = [
    {"user_id": "u-01", "account_id": "acc-1", "name": "Ann-Marie Lee", "email": "ann@acme.com", "age": 31},
    {"user_id": "u-02", "account_id": "acc-1", "name": "Bob Lee", "email": "bob@acme.com", "age": 40},
    {"user_id": "u-03", "account_id": "acc-2", "name": "Annette Smith", "email": "annette@globex.io"},
    {"user_id": "u-04", "account_id": "acc-3", "name": "", "email": "peter@initech.com", "age": 29},
    {"user_id": "u-05", "account_id": "acc-3", "name": "Zoë Acme", "email": ""},
]
EVENTS = [
    {"user_id": u["user_id"], "event": "login", "timestamp": f"2024-03-0{i}T10:00:00Z"}
    for i, u in enumerate(USERS, 1)
] + [{"user_id": "u-06", "event": "login", "timestamp": "2024-03-09T10:00:00Z"}]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("find")
    local = build_project(tmp / "local.seglab", events=EVENTS, users=USERS, accounts=ACCOUNTS)
    with Project.open(local) as project:
        connect_to(project.conn, tmp / "ch", tmp / "connected.seglab")
    return local, tmp / "connected.seglab"


QUERIES = [
    ["u-03"],  # an id
    ["acc-2"],  # an account id
    ["ann@ac"],  # an e-mail prefix
    ["ann lee"],  # two words
    ["acme"],  # a company name, a domain, e-mails and a user's name
    ["Globex Corp"],
    ["zoe"],  # accents folded
    ["lee", "--limit", "1"],
    ["acme", "--limit", "2", "--json"],
    ["ann", "--json"],
    ["u-06"],  # a user known from events only
    ["nobody"],  # no match
]


@pytest.mark.parametrize("query", QUERIES, ids=[" ".join(q) for q in QUERIES])
def test_find_gives_the_local_output(projects, query, capsys):
    outputs = []
    for project in projects:
        code = main(["find", str(project), *query])
        out, err = capsys.readouterr()
        assert code == 0, err
        outputs.append((out, err))
    assert outputs[0] == outputs[1]
    if query[0] == "nobody":
        assert outputs[0][0] == ""
    else:
        assert outputs[0][0]


def test_find_results_are_the_expected_people(projects, capsys):
    assert main(["find", str(projects[1]), "acme", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {(m["kind"], m["id"]) for m in found} == {
        ("account", "acc-1"),
        ("user", "u-01"),
        ("user", "u-02"),
        ("user", "u-05"),
    }
    assert found[0] == {"kind": "account", "id": "acc-1", "label": "Acme GmbH", "matched": "company"}


def test_find_refuses_nothing_to_search_on_a_connected_project(projects, capsys):
    assert main(["find", str(projects[1]), "--", "-!"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seglab: error: nothing to search for") and "Traceback" not in err
