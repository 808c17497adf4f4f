"""`seglab connect` and the read commands on a connected project (docs/sources.md), on chdb.

Each command runs as `main([...])` in this process (one chdb folder per process at a time: each
command opens the folder and closes it), or as a separate process where that is the point
(a folder held by another process, a missing driver, a time zone).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("chdb")

from builders import build_project
from chdb_support import to_chdb
from seglab.cli import main
from seglab.core.engines.source import PASSWORD_ENV, parse_url, password_for
from seglab.core.project import Project

EVENTS = [
    {"user_id": "u1", "event": "login", "timestamp": "2024-03-30T10:00:00Z", "account_id": "acme"},
    {"user_id": "u1", "event": "purchase", "timestamp": "2024-03-30T11:00:00Z", "amount": 30},
    {"user_id": " u2 ", "event": "login", "timestamp": "2024-03-01T10:00:00Z"},
    {"user_id": "u3", "event": "login", "timestamp": "2024-03-31T10:00:00Z"},
]
USERS = [
    {"user_id": "u1", "plan": "pro"},
    {"user_id": "u2", "plan": "free", "account_id": "zeta"},
    {"user_id": "u4", "plan": "pro"},
]
ACCOUNTS = [{"account_id": "acme", "tier": "gold"}, {"account_id": "idle", "tier": "free"}]
LOGIN_7 = {
    "level": "user",
    "conditions": [{"type": "behavior", "event": "login", "window": {"last_days": 7}}],
}
PRO = {"level": "user", "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "pro"}]}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("src")
    local = build_project(tmp / "local.seglab", events=EVENTS, users=USERS, accounts=ACCOUNTS)
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, tmp / "ch")
    return local, tmp / "ch"


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def connect(tmp_path, source, capsys, *extra, name="c.seglab"):
    folder = source[1]
    return run(
        ["connect", tmp_path / name, "--source", f"chdb://{folder}", "--events", "events", *extra, "--json"],
        capsys,
    )


def test_connect_prints_the_contract_json_and_stores_no_rows(tmp_path, source, capsys):
    code, out, err = connect(tmp_path, source, capsys, "--users", "default.users", "--accounts", "accounts")
    assert code == 0, err
    result = json.loads(out)
    assert result == {
        "project": str(tmp_path / "c.seglab"),
        "source": {"kind": "chdb", "url": f"chdb://{source[1]}"},
        "events": {
            "table": "events",
            "user_id": "user_id",
            "timestamp": "timestamp",
            "event": "event",
            "account_id": "account_id",
            "insert_id": None,
            "properties": ["amount"],
            "properties_column": None,
        },
        "users": {
            "table": "default.users",
            "user_id": "user_id",
            "account_id": "account_id",
            "properties": ["plan"],
            "properties_column": None,
        },
        "accounts": {
            "table": "accounts",
            "account_id": "account_id",
            "properties": ["tier"],
            "properties_column": None,
        },
    }
    with Project.open(tmp_path / "c.seglab", readonly=True) as project:
        for table in ("events", "users", "accounts", "event_names", "user_days"):
            assert project.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        props = project.conn.execute("SELECT entity, name, type FROM properties ORDER BY position").fetchall()
    assert props == [("event", "amount", "integer"), ("user", "plan", "text"), ("account", "tier", "text")]


def test_read_commands_equal_the_local_project(tmp_path, source, capsys):
    local = source[0]
    assert connect(tmp_path, source, capsys, "--users", "users", "--accounts", "accounts")[0] == 0
    connected = tmp_path / "c.seglab"
    defs = tmp_path / "d.json"
    for definition in (LOGIN_7, PRO):
        defs.write_text(json.dumps(definition))
        outputs = []
        for project in (local, connected):
            code, out, err = run(["segment", "count", project, "--def", defs, "--json"], capsys)
            assert code == 0, err
            count = json.loads(out)
            count.pop("seconds")
            code, members, err = run(["segment", "members", project, "--def", defs], capsys)
            assert code == 0, err
            outputs.append((count, members))
        assert outputs[0] == outputs[1]
    assert list(csv.reader(io.StringIO(outputs[1][1]))) == [["id"], ["u1"], ["u4"]]

    infos = []
    for project in (local, connected):
        code, out, err = run(["info", project, "--json"], capsys)
        assert code == 0, err
        infos.append(json.loads(out))
    assert infos[1].pop("source") == {"kind": "chdb", "url": f"chdb://{source[1]}"}
    for info in infos:
        info.pop("imports")
    assert infos[0] == infos[1]

    for project in (local, connected):
        assert run(["segment", "save", project, "--name", "Pro", "--def", defs], capsys)[0] == 0
    lists = [
        json.loads(run(["segment", "list", project, "--json"], capsys)[1]) for project in (local, connected)
    ]
    for rows in lists:
        for row in rows:
            row.pop("updated")
    assert lists[0] == lists[1] == [{"name": "Pro", "level": "user", "size": 2}]
    code, out, _ = run(["segment", "count", connected, "--name", "Pro"], capsys)
    assert (code, out) == (0, "2\n")


def test_import_is_refused_and_find_runs(tmp_path, source, capsys):
    assert connect(tmp_path, source, capsys)[0] == 0
    project = tmp_path / "c.seglab"
    before = project.read_bytes()
    csv_file = tmp_path / "e.csv"
    csv_file.write_text("user_id,event,timestamp\nu9,login,2024-03-01T00:00:00Z\n")
    code, _, err = run(["import", project, csv_file], capsys)
    assert code == 2
    assert err == (
        f"seglab: error: c.seglab reads its events from chdb://{source[1]}; import does not apply to a "
        "connected project (nothing was changed)\n"
    )
    assert project.read_bytes() == before
    # find, the last command refused, runs now (reading the source, writing nothing).
    code, out, err = run(["find", project, "u1", "--json"], capsys)
    assert (code, err) == (0, "")
    assert [(m["kind"], m["id"]) for m in json.loads(out)][:1] == [("user", "u1")]
    assert project.read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--events", "nope"], "table 'nope': no such table in database 'default' of the source"),
        (["--events", "events", "--map", "timestamp=nope"], "events has no column 'nope'"),
        (
            ["--events", "events", "--map", "timestamp=account_id"],
            "events.account_id: column type Nullable(String) cannot hold the timestamp",
        ),
        (
            ["--events", "events", "--map", "timestamp=user_id"],
            "events: cannot use as events: no user id column",
        ),
        (["--events", "events", "--map", "accounts.account_id=x"], "there is no --accounts table"),
        (["--events", "events", "--map", "events.colour=x"], "unknown events field 'colour'"),
        (["--events", "other.events"], "no such table in database 'other'"),
    ],
)
def test_connect_refusals_create_no_file(tmp_path, source, capsys, extra, message):
    args = ["connect", tmp_path / "c.seglab", "--source", f"chdb://{source[1]}", *extra]
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.startswith("seglab: error: ") and message in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "c.seglab").exists()


def test_connect_refuses_an_existing_file_and_bad_urls(tmp_path, source, capsys):
    (tmp_path / "c.seglab").write_text("keep")
    code, _, err = connect(tmp_path, source, capsys)
    assert code == 2 and "already exists" in err
    assert (tmp_path / "c.seglab").read_text() == "keep"
    for url, message in [
        ("chdb://relative/path", "three slashes"),
        (f"chdb://{tmp_path}/missing", "no such chdb data folder"),
        ("clickhouse://me:secret@db.example:8123/analytics", "a password in the source URL is refused"),
        ("postgres://me@h/db", "unknown source"),
    ]:
        code, _, err = run(["connect", tmp_path / "n.seglab", "--source", url, "--events", "e"], capsys)
        assert code == 2, url
        assert message in err, err
        assert "secret" not in err
        assert not (tmp_path / "n.seglab").exists()


def test_clickhouse_url_forms_and_passwords(monkeypatch):
    src = parse_url("clickhouse://analyst@db.example/prod")
    assert (src.user, src.host, src.port, src.database, src.secure) == (
        "analyst",
        "db.example",
        8123,
        "prod",
        False,
    )
    assert src.url == "clickhouse://analyst@db.example:8123/prod"
    secure = parse_url("clickhouse://analyst@db.example/prod?secure=true")
    assert secure.port == 8443 and secure.url.endswith("?secure=true")
    assert parse_url("clickhouse://analyst@db.example:9000/prod").port == 9000
    assert secure.keyring_user == "analyst@db.example:8443"
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    assert password_for(src) == "s3cret"
    monkeypatch.delenv(PASSWORD_ENV)
    monkeypatch.setitem(sys.modules, "keyring", None)  # the optional keyring package absent
    assert password_for(src) is None


def test_clickhouse_server_unreachable_is_one_sentence(tmp_path, capsys):
    pytest.importorskip("clickhouse_connect")
    url = "clickhouse://default@127.0.0.1:1/default"
    code, _, err = run(["connect", tmp_path / "c.seglab", "--source", url, "--events", "e"], capsys)
    assert code == 2
    assert err.startswith(f"seglab: error: {url}: cannot connect to the source") and err.count("\n") == 1
    assert not (tmp_path / "c.seglab").exists()


def _cli(args, env=None, prelude=""):
    code = textwrap.dedent(
        f"""
        import sys
        {prelude}
        from seglab.cli import main
        sys.exit(main({[str(a) for a in args]!r}))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env or dict(os.environ)
    )


def test_missing_driver_names_the_extra(tmp_path, source):
    for url, module, extra in [
        (f"chdb://{source[1]}", "chdb", "seglab[chdb]"),
        ("clickhouse://me@h:8123/db", "clickhouse_connect", "seglab[clickhouse]"),
    ]:
        proc = _cli(
            ["connect", tmp_path / "c.seglab", "--source", url, "--events", "events"],
            prelude=f"sys.modules[{module!r}] = None",
        )
        assert proc.returncode == 2
        assert f"pip install '{extra}'" in proc.stderr
        assert proc.stderr.count("\n") == 1


def test_a_folder_held_by_another_process_is_in_use(tmp_path, source, capsys):
    assert connect(tmp_path, source, capsys)[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from chdb import session; s = session.Session({str(source[1])!r}); print('open', flush=True); "
            "import sys; sys.stdin.readline(); s.close()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        before = (tmp_path / "c.seglab").read_bytes()
        code, _, err = run(["info", tmp_path / "c.seglab"], capsys)
        assert code == 2
        assert err == (
            f"seglab: error: chdb://{source[1]}: the chdb data folder is in use by another process; "
            "close it and try again\n"
        )
        assert (tmp_path / "c.seglab").read_bytes() == before
    finally:
        holder.communicate("\n", timeout=60)
    assert run(["info", tmp_path / "c.seglab"], capsys)[0] == 0  # free again


def test_ids_are_trimmed_like_the_importer(tmp_path, source, capsys):
    assert connect(tmp_path, source, capsys, "--users", "users")[0] == 0
    defs = tmp_path / "d.json"
    defs.write_text(json.dumps({"level": "user", "conditions": []}))
    code, out, _ = run(["segment", "members", tmp_path / "c.seglab", "--def", defs], capsys)
    assert code == 0
    assert out.split() == ["id", "u1", "u2", "u3", "u4"]
    assert Path(tmp_path / "c.seglab").exists()


def test_the_core_import_refuses_a_connected_project(tmp_path, source, capsys):
    """The app imports through import_file: a connected project is refused there as well."""
    from seglab.core.errors import ImportFileError
    from seglab.core.importing import import_file

    assert connect(tmp_path, source, capsys)[0] == 0
    csv_file = tmp_path / "e.csv"
    csv_file.write_text("user_id,event,timestamp\nu9,login,2024-03-01T00:00:00Z\n")
    with Project.open(tmp_path / "c.seglab") as project:
        with pytest.raises(ImportFileError, match="reads its events from chdb://"):
            import_file(project, csv_file, kind="events")
        assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
        assert project.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_a_table_gone_from_the_source_is_one_sentence(tmp_path, capsys):
    from chdb import session

    local = build_project(tmp_path / "l.seglab", events=EVENTS)
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, tmp_path / "ch")
    assert connect(tmp_path, (local, tmp_path / "ch"), capsys)[0] == 0
    s = session.Session(str(tmp_path / "ch"))
    s.query("DROP TABLE events")
    s.close()
    defs = tmp_path / "d.json"
    defs.write_text(json.dumps(LOGIN_7))
    for args in (["info", tmp_path / "c.seglab"], ["segment", "count", tmp_path / "c.seglab", "--def", defs]):
        code, out, err = run(args, capsys)
        assert code == 2
        assert err.startswith(f"seglab: error: chdb://{tmp_path / 'ch'}: the source refused a query: ")
        assert "events" in err and err.count("\n") == 1 and "Traceback" not in err
        assert "In scope" not in err and len(err) < 300
        assert out == ""


def test_account_conflicts_equal_the_local_project(tmp_path, capsys):
    at = lambda day, hour=10: f"2024-03-{day:02d}T{hour:02d}:00:00Z"
    events = [
        # u1: the users table says acme; the events say acme, then beta.
        {"user_id": "u1", "event": "login", "timestamp": at(1), "account_id": "acme"},
        {"user_id": "u1", "event": "login", "timestamp": at(2), "account_id": "beta"},
        # u2: the users table says acme; the events only beta.
        {"user_id": "u2", "event": "login", "timestamp": at(3), "account_id": "beta"},
        # u3 (no users row): gamma, then beta, then gamma again (the latest is kept).
        {"user_id": "u3", "event": "login", "timestamp": at(4), "account_id": "gamma"},
        {"user_id": "u3", "event": "login", "timestamp": at(5), "account_id": "beta"},
        {"user_id": "u3", "event": "buy", "timestamp": at(6), "account_id": "gamma"},
        # u4: the same account everywhere; u5: events without an account; u6: no events.
        {"user_id": "u4", "event": "login", "timestamp": at(7), "account_id": "acme"},
        {"user_id": "u4", "event": "login", "timestamp": at(8), "account_id": "acme"},
        {"user_id": "u5", "event": "login", "timestamp": at(9)},
        {"user_id": "é0", "event": "login", "timestamp": at(9), "account_id": "acme"},
        {"user_id": "é0", "event": "login", "timestamp": at(9, 11), "account_id": "Ωmega"},
    ]
    users = [
        {"user_id": "u1", "account_id": "acme"},
        {"user_id": "u2", "account_id": "acme"},
        {"user_id": "u4", "account_id": "acme"},
        {"user_id": "u6", "account_id": "beta"},
    ]
    local = build_project(tmp_path / "local.seglab", events=events, users=users)
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, tmp_path / "ch")
    code, _out, err = connect(
        tmp_path, (local, tmp_path / "ch"), capsys, "--users", "users", "--accounts", "accounts"
    )
    assert code == 0, err
    conflicts = []
    for project in (local, tmp_path / "c.seglab"):
        code, out, err = run(["info", project, "--json"], capsys)
        assert code == 0, err
        conflicts.append(json.loads(out)["account_conflicts"])
    assert conflicts[0] == [
        {"user_id": "u1", "account": "acme", "kept_from": "users file", "accounts": ["acme", "beta"]},
        {"user_id": "u2", "account": "acme", "kept_from": "users file", "accounts": ["acme", "beta"]},
        {"user_id": "u3", "account": "gamma", "kept_from": "latest event", "accounts": ["beta", "gamma"]},
        {"user_id": "é0", "account": "Ωmega", "kept_from": "latest event", "accounts": ["acme", "Ωmega"]},
    ]
    assert conflicts[1] == conflicts[0]


def test_count_sums_equal_the_local_project(tmp_path, capsys):
    # 0.1 ten times: a plain left-to-right sum gives 0.9999999999999999; both give the exact 1.0.
    users = [
        {"user_id": f"u{i}", "account_id": f"a{i % 3}", "score": 0.1, "seats": 2**50 if i == 0 else i}
        for i in range(10)
    ]
    users += [{"user_id": "big", "account_id": "a0", "score": 1e300}, {"user_id": "tiny", "score": 5e-324}]
    users += [{"user_id": "neg", "account_id": "a1", "score": -1e300, "seats": -7}]
    accounts = [{"account_id": f"a{i}", "mrr": [12.5, 0.3, 0.6, 100.0][i]} for i in range(4)]
    events = [
        {"user_id": u["user_id"], "event": "login", "timestamp": f"2024-03-{1 + i:02d}T10:00:00Z"}
        for i, u in enumerate(users)
    ]
    local = build_project(tmp_path / "local.seglab", events=events, users=users, accounts=accounts)
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, tmp_path / "ch")
    code, _out, err = connect(
        tmp_path, (local, tmp_path / "ch"), capsys, "--users", "users", "--accounts", "accounts"
    )
    assert code == 0, err
    connected = tmp_path / "c.seglab"
    sums = ["--sum", "user.score", "--sum", "user.seats", "--sum", "account.mrr"]
    defs = tmp_path / "d.json"
    cases = [
        (
            {"level": "user"},
            {"user.score": 1.0, "user.seats": float(2**50 + 45 - 7), "account.mrr": 13.4},
        ),
        (
            {
                "level": "user",
                "conditions": [{"type": "property", "property": "score", "op": "lt", "value": 1}],
            },
            None,
        ),
        ({"level": "account"}, None),
        (
            {
                "level": "account",
                "conditions": [{"type": "property", "property": "mrr", "op": "lt", "value": 50}],
            },
            None,
        ),
    ]
    for definition, expected in cases:
        defs.write_text(json.dumps(definition))
        outs = []
        for project in (local, connected):
            code, out, err = run(["segment", "count", project, "--def", defs, "--json", *sums], capsys)
            assert code == 0, err
            result = json.loads(out)
            result.pop("seconds")
            outs.append(result)
        assert outs[1] == outs[0]
        if expected is not None:
            assert outs[0]["sums"] == expected
    for bad, message in (("user.nope", "no user property named 'nope'"), ("plan", "write ENTITY.PROPERTY")):
        errors = []
        for project in (local, connected):
            code, _out, err = run(
                ["segment", "count", project, "--def", defs, "--json", "--sum", bad], capsys
            )
            assert code == 2 and message in err
            errors.append(err)
        assert errors[0] == errors[1]
