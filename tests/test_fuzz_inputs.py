"""Fuzz: mutated segment definitions and mutated CSV bytes, thrown at the core and the CLI.

Whatever the input, the core raises only :class:`UserError` (a sentence) or answers (and then
a count agrees with its member list), and the CLI exits 0 or 2 with one line on stderr, never
1 with "internal error" or a traceback (issue 14; docs/cli.md "Exit codes"). Budgets come from
the hypothesis profile (tests/conftest.py): "ci" replays the same examples every run.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import build_project
from seglab.cli import main
from seglab.core.errors import UserError
from seglab.core.importing import import_file
from seglab.core.project import Project
from seglab.core.segments import count, load_definition, member_ids, validate
from seglab.core.timeutil import parse_as_of

T = parse_as_of("2024-03-31")
FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    path = build_project(
        folder / "p.seglab",
        accounts=[{"account_id": f"a{i}", "tier": ["gold", "free"][i % 2], "seats": i * 3} for i in range(4)],
        users=[
            {
                "user_id": f"u{i}",
                "account_id": f"a{i % 4}",
                "plan": ["pro", "free"][i % 2],
                "signup": "2024-01-05",
            }
            for i in range(12)
        ],
        events=[
            {
                "user_id": f"u{i % 12}",
                "event": ["login", "buy", "signup"][i % 3],
                "amount": i,
                "timestamp": f"2024-03-{1 + i % 28:02d}T1{i % 10}:00:00Z",
            }
            for i in range(90)
        ],
    )
    with Project.open(path) as project:
        from seglab.core.segments import save_segment

        save_segment(project.conn, "Pro", load_definition(BASES[0]))
        save_segment(project.conn, "Gold", load_definition(BASES[3]))
    return path


BASES = [
    {
        "level": "user",
        "match": "all",
        "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "pro"}],
    },
    {
        "level": "user",
        "match": "any",
        "conditions": [
            {
                "type": "behavior",
                "event": "buy",
                "where": [{"property": "amount", "op": "in", "value": [1, 4, 7]}],
                "measure": {"fn": "sum", "property": "amount"},
                "compare": {"op": "between", "value": [1, 50]},
                "window": {"last_days": 30},
            },
            {
                "type": "group",
                "match": "all",
                "negate": True,
                "conditions": [
                    {"type": "first_seen", "event": "*", "window": {"since": "2024-03-10"}},
                    {
                        "type": "property",
                        "entity": "account",
                        "property": "tier",
                        "op": "not_in",
                        "value": ["gold"],
                    },
                ],
            },
            {"type": "sequence", "steps": [{"event": "signup"}, {"event": "buy"}], "within_days": 7},
            {"type": "segment", "segment": "Pro"},
        ],
    },
    {
        "level": "user",
        "conditions": [
            {"type": "property", "property": "signup", "op": "within_last_days", "value": 90},
            {"type": "last_seen", "event": "login", "window": {"between": ["2024-03-01", "2024-03-20"]}},
            {
                "type": "behavior",
                "event": "*",
                "measure": {"fn": "distinct_weeks"},
                "compare": {"op": "gte", "value": 2},
            },
        ],
    },
    {
        "level": "account",
        "conditions": [
            {"type": "property", "entity": "account", "property": "seats", "op": "gt", "value": 2}
        ],
    },
    {
        "level": "account",
        "match": "any",
        "conditions": [
            {
                "type": "users",
                "compare": {"op": "gte", "value": 0.5},
                "share": True,
                "match": {
                    "level": "user",
                    "conditions": [{"type": "property", "property": "plan", "op": "eq", "value": "pro"}],
                },
            },
            {"type": "behavior", "event": "login", "per": "users", "compare": {"op": "gte", "value": 2}},
            {"type": "segment", "segment": "Gold"},
        ],
    },
]

HOSTILE = st.one_of(
    st.sampled_from(
        [
            float("nan"),
            float("inf"),
            -float("inf"),
            10**30,
            -(10**19),
            2**63,
            1e300,
            9.3e18,
            -0.0,
            "\ud800",
            "\udfff",
            "",
            " ",
            "0",
            "1e999",
            "nan",
            "2024-02-30",
            "9999-99-99",
            [],
            {},
            None,
            True,
            False,
            ["eq"],
            {"op": "eq"},
            [[1]],
            "x" * 3000,
            "'; DROP TABLE users; --",
            "*",
            "group",
            "in",
            "between",
            "user",
            "account",
        ]
    ),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=4),
)


def _nodes(obj, parent=None, key=None):
    yield parent, key, obj
    if isinstance(obj, dict):
        for k in list(obj):
            yield from _nodes(obj[k], obj, k)
    elif isinstance(obj, list):
        for i in range(len(obj)):
            yield from _nodes(obj[i], obj, i)


def _deep(condition: dict, depth: int) -> dict:
    for _ in range(depth):
        condition = {"type": "group", "match": "any", "negate": True, "conditions": [condition]}
    return condition


@st.composite
def mutated_definitions(draw):
    obj = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        nodes = list(_nodes(obj))
        parent, key, node = nodes[draw(st.integers(0, len(nodes) - 1))]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "deep", "many", "list"]))
        if parent is None:
            if action == "replace":
                obj = draw(HOSTILE)
            continue
        if action == "replace":
            parent[key] = draw(HOSTILE)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(["op", "value", "type", "negate", "conditions", "window", "zz"]))] = (
                draw(HOSTILE)
            )
        # Big shapes are markers, expanded by _expand() in the test: hypothesis prints examples.
        elif action == "deep" and isinstance(node, dict):
            parent[key] = {"@deep": draw(st.sampled_from([2, 31, 33, 95, 310])), "of": node}
        elif action == "many" and isinstance(node, list):
            node.append({"@repeat": draw(st.sampled_from([5, 499, 600]))})
        elif action == "list":
            parent[key] = {"@list": draw(st.sampled_from([1, 2, 100_001])), "of": node}
    return obj


def _expand(obj):
    """The definition the markers of :func:`mutated_definitions` stand for."""
    if isinstance(obj, dict):
        marker = {k: v for k, v in obj.items() if k.startswith("@") and type(v) is int and "of" in obj}
        if "@deep" in marker:
            return _deep(_expand(obj["of"]), marker["@deep"])
        if "@list" in marker:
            inner = _expand(obj["of"])
            # Long lists of scalars (the in/not_in limit); a container only a few times, as a
            # file of 100,001 copies of a big object would be gigabytes.
            times = marker["@list"] if not isinstance(inner, dict | list) else min(marker["@list"], 3)
            return [inner] * times
        return {k: _expand(v) for k, v in obj.items()}
    if isinstance(obj, list):
        out = []
        for item in obj:
            if isinstance(item, dict) and type(item.get("@repeat")) is int:
                out.extend([out[0] if out else {"type": "behavior", "event": "*"}] * item["@repeat"])
            else:
                out.append(_expand(item))
        return out
    return obj


@st.composite
def mutated_json_text(draw) -> bytes:
    data = bytearray(json.dumps(draw(st.sampled_from(BASES))).encode())
    alphabet = [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b",",
        b":",
        b"9" * 25,
        b"e999",
        b"NaN",
        b"-Infinity",
        b"\\ud800",
        b"\\",
        b"\xff",
        b"\xed\xa0\x80",
        b"\x00",
        b" ",
        b"null",
        b"[" * 2000,
    ]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            data[at:at] = draw(st.sampled_from(alphabet))
        else:
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def _evaluate(conn, obj) -> None:
    """The core's answer: a sentence, or a count that agrees with the member list."""
    try:
        seg = load_definition(obj)
        validate(conn, seg)
        n = count(conn, seg, T)
        ids = member_ids(conn, seg, T)
    except UserError:
        return
    assert n == len(ids)


@FIXTURES
@given(obj=mutated_definitions())
def test_mutated_definitions_in_the_core(project_path, obj):
    with Project.open(project_path, readonly=True) as project:
        _evaluate(project.conn, _expand(obj))


@FIXTURES
@given(text=mutated_json_text())
def test_mutated_definition_text_in_the_core(project_path, text):
    with Project.open(project_path, readonly=True) as project:
        _evaluate(project.conn, text)
        _evaluate(project.conn, text.decode("utf-8", "surrogateescape"))


def _cli(args: list, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def _assert_no_internal_error(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "internal error" not in err and "Traceback" not in err, err
    if code == 2:
        assert err.startswith("seglab: error: ") and err.count("\n") == 1, err


@FIXTURES
@given(obj=mutated_definitions(), text=mutated_json_text())
def test_mutated_definitions_through_the_cli(project_path, tmp_path_factory, obj, text):
    folder = tmp_path_factory.mktemp("def")
    file = folder / "def.json"
    try:
        file.write_text(json.dumps(_expand(obj), allow_nan=True), encoding="utf-8", errors="surrogatepass")
    except ValueError:
        return
    for args in (
        ["segment", "count", project_path, "--def", file, "--json"],
        ["segment", "save", project_path, "--name", "fuzzed", "--def", file],
    ):
        _assert_no_internal_error(*_cli(args)[::2])
    code, _, err = _cli(["segment", "count", project_path, "--def", "-"], stdin=text)
    _assert_no_internal_error(code, err)
    code, out, err = _cli(["segment", "list", project_path, "--json"])
    assert code == 0, err
    assert {"Pro", "Gold"} <= {row["name"] for row in json.loads(out)}


GOOD_EVENTS = (
    "user_id,event,timestamp,account_id,amount,city\n"
    + "".join(
        f"josé{i % 7},e{i % 3},2024-03-{1 + i % 28:02d}T10:00:{i % 60:02d}Z,a{i % 3},{i}.5,café\n"
        for i in range(40)
    )
).encode()
GOOD_USERS = (
    "user_id,plan,account_id,signup\n"
    + "".join(f"u{i},pro,a{i % 2},2024-01-0{1 + i % 9}\n" for i in range(20))
).encode()
CSV_BYTES = [
    *(
        b",",
        b";",
        b'"',
        b'""',
        b"\n",
        b"\r",
        b"\r\n",
        b"\x00",
        b"\xff",
        b"\xc3",
        b"\xa9",
        b"\xef\xbb\xbf",
        b"\t",
    ),
    *(b"=cmd()", b"9" * 30, b"1e999", b"2024-13-45", b"\\", b"a" * 5000, b",c" * 2100),
]


@st.composite
def mutated_csv(draw) -> bytes:
    data = bytearray(draw(st.sampled_from([GOOD_EVENTS, GOOD_USERS])))
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "insert", "delete", "truncate", "header"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(CSV_BYTES))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "truncate":
            del data[at:]
        else:
            header_end = data.find(b"\n")
            data[header_end:header_end] = draw(
                st.sampled_from([b",city", b",user_id", b"," + b"h" * 1200, b",c" * 2100])
            )
    return bytes(data)


@FIXTURES
@given(data=mutated_csv(), kind=st.sampled_from([None, "events", "users"]), strict=st.booleans())
def test_mutated_csv_through_the_core_and_the_cli(tmp_path_factory, data, kind, strict):
    folder = tmp_path_factory.mktemp("csv")
    file = folder / "data.csv"
    file.write_bytes(data)
    with Project.create(folder / "core.seglab") as project:
        try:
            report = import_file(project, file, kind=kind, strict=strict, rejects_dir=folder)
        except UserError:
            report = None
        if report is not None:
            assert report.rows_imported + report.rows_rejected + report.duplicates_skipped <= max(
                report.rows_read, 1
            )
    cli = folder / "cli.seglab"
    Project.create(cli).close()
    args = (
        ["import", cli, file, "--json"]
        + (["--kind", kind] if kind else [])
        + (["--strict"] if strict else [])
    )
    code, _, err = _cli(args)
    _assert_no_internal_error(code, err)
    code, out, err = _cli(["info", cli, "--json"])
    assert code == 0, err
    info = json.loads(out)
    _assert_no_internal_error(*_cli(["segment", "list", cli])[::2])
    assert info["events"] >= 0
