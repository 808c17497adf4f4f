"""The Python API (docs/api.md): its numbers equal the command line's, with the contract's dtypes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import seglab
from seglab.cli import main
from seglab.core.demo import build_demo

POWER = "Power users"
CHURNED = "Churned users"
AT_RISK = "Accounts at risk"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return Path(build_demo(tmp_path_factory.mktemp("api") / "demo.seglab"))


@pytest.fixture
def demo_copy(demo, tmp_path) -> Path:
    target = tmp_path / "copy.seglab"
    target.write_bytes(demo.read_bytes())
    return target


def cli(capsys, *argv: str) -> str:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def cli_error(capsys, *argv: str) -> str:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("seglab: error: ")
    return err.removeprefix("seglab: error: ")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the contract's dtypes, written out here so that a change in the API shows up --------------

STR = pd.Series(["x"]).dtype  # pandas' default dtype for text
DATE = "datetime64[ms, UTC]"
DTYPES = {
    "segment": STR, "group": STR, "event": STR, "region": STR, "kind": STR, "name": STR, "status": STR,
    "segment_a": STR, "segment_b": STR, "period_start": DATE, "cohort_start": DATE, "evaluated_at": DATE,
    "step": "Int64", "entered": "Int64", "cohort_size": "Int64", "period": "Int64", "retained": "Int64",
    "units": "Int64", "rest_units": "Int64", "days": "Int64", "size": "Int64", "intersection": "Int64",
    "union": "Int64", "bin_low": "Int64", "bin_high": "Int64", "complete": "boolean",
    "conversion_from_start": "float64", "conversion_from_previous": "float64",
    "median_seconds_from_previous": "float64", "rate": "float64", "share": "float64",
    "rest_share": "float64", "lift": "float64", "mean": "float64", "median": "float64", "p75": "float64",
    "p90": "float64", "p99": "float64", "segment_value": "float64", "rest_value": "float64",
    "difference": "float64", "effect_size": "float64", "p_value": "float64", "jaccard": "float64",
}  # fmt: skip


def parse_cell(text: str, dtype):
    """A CLI CSV cell read with a column's dtype, independently of the API's own parsing."""
    if text == "":
        return None
    dtype = str(dtype)
    if dtype == "Int64":
        return int(text)
    if dtype == "float64":
        return float(text)
    if dtype == "boolean":
        assert text in ("true", "false")
        return text == "true"
    if dtype.startswith("datetime64"):
        return pd.Timestamp(text).tz_localize("UTC") if "T" not in text else pd.Timestamp(text)
    return text


def api_value(value):
    if value is pd.NA or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value
    if hasattr(value, "item"):
        return value.item()
    return value


def assert_same_table(frame: pd.DataFrame, csv_text: str, expected_dtypes: dict) -> None:
    rows = list(csv.reader(io.StringIO(csv_text)))
    header, body = rows[0], rows[1:]
    assert list(frame.columns) == header
    assert len(frame) == len(body)
    assert body, "the comparison needs rows"
    for column in header:
        want = expected_dtypes[column]
        assert frame[column].dtype == want, (column, frame[column].dtype, want)
    for i, row in enumerate(body):
        for column, cell in zip(header, row):
            got = api_value(frame[column].iloc[i])
            assert got == parse_cell(cell, frame[column].dtype), (i, column, cell, got)


# -- analyses ---------------------------------------------------------------------------------

WHOLE = {"value": "Int64"}
ANALYSES = [
    ("trend", {"segments": [POWER], "event": "login", "measure": "users", "interval": "week"}, WHOLE),
    ("trend", {"measure": "per_user"}, {"value": "float64"}),
    ("trend", {"measure": "accounts", "from_": "2024-05-01", "to": dt.date(2024, 5, 31)}, WHOLE),
    ("funnel", {"steps": ["signup", "create_report", "share_report"], "segments": [POWER, CHURNED]}, {}),
    ("funnel", {"steps": "signup,create_report", "within_days": 3, "vs_rest": True, "segment": POWER}, {}),
    ("retention", {"interval": "week", "periods": 4, "segments": [AT_RISK]}, {}),
    ("retention", {"start_event": "signup", "return_event": "login", "as_of": "2024-06-15"}, {}),
    ("distribution", {"event": "login"}, {}),
    ("distribution", {"stats": True, "segments": [POWER]}, {"max": "Int64"}),
    ("top-events", {"segments": [POWER], "limit": 5}, {}),
    ("top_events", {}, {}),
    ("stickiness", {"interval": "month"}, {}),
    ("lifecycle", {"segments": [POWER], "date_from": dt.date(2024, 4, 1)}, {}),
    ("overlap", {"segments": [POWER, CHURNED]}, {"segments": "Int64"}),
    ("overlap", {"segments": [POWER, CHURNED], "pairs": True}, {}),
    ("distinguish", {"segments": [POWER], "limit": 10}, {"value": STR}),
    ("size", {"segments": [POWER, AT_RISK], "interval": "month"}, {}),
]  # fmt: skip


def cli_argv(kind: str, project: Path, options: dict) -> list[str]:
    """The command line a user would type for the same request (written out by hand here)."""
    argv = ["analyze", kind.replace("_", "-"), str(project)]
    for key, value in options.items():
        if key in ("segments", "segment"):
            for name in [value] if isinstance(value, str) else value:
                argv += ["--segment", name]
        elif value is True:
            argv.append("--" + key.replace("_", "-"))
        else:
            flag = {"from_": "--from", "date_from": "--from", "to": "--to"}.get(
                key, "--" + key.replace("_", "-")
            )
            text = ",".join(value) if isinstance(value, list) else str(value)
            argv += [flag, text]
    return argv


@pytest.mark.parametrize(
    ("kind", "options", "extra"), ANALYSES, ids=lambda x: x if isinstance(x, str) else ""
)
def test_analysis_equals_the_command_line(demo, capsys, kind, options, extra):
    with seglab.open(demo) as p:
        frame = p.analyze(kind, **options)
    text = cli(capsys, *cli_argv(kind, demo, options))
    assert_same_table(frame, text, {**DTYPES, **extra})


def test_analysis_values_parse_like_the_contract_example(demo):
    with seglab.open(demo) as p:
        frame = p.analyze("trend", interval="week", from_="2024-04-01", to="2024-04-30")
    assert frame["period_start"].iloc[0] == pd.Timestamp("2024-04-01 00:00:00+00:00")
    assert str(frame["period_start"].dtype) == DATE


def test_unknown_option_or_value_raises_the_command_lines_sentence(demo, capsys):
    with seglab.open(demo) as p:
        with pytest.raises(seglab.SeglabError) as unknown:
            p.analyze("trend", colour="red")
        with pytest.raises(seglab.SeglabError) as bad_value:
            p.analyze("trend", measure="bogus")
        with pytest.raises(seglab.SeglabError) as bad_kind:
            p.analyze("pie")
        with pytest.raises(seglab.SeglabError) as no_segment:
            p.analyze("trend", segments=["Nobody"])
    assert str(unknown.value) == cli_error(capsys, "analyze", "trend", demo, "--colour=red")
    assert str(bad_value.value) == cli_error(capsys, "analyze", "trend", demo, "--measure", "bogus")
    assert str(bad_kind.value) == cli_error(capsys, "analyze", "pie", demo)
    assert str(no_segment.value) == cli_error(capsys, "analyze", "trend", demo, "--segment", "Nobody")


def test_analyze_refuses_options_that_write_files(demo, tmp_path):
    with seglab.open(demo) as p, pytest.raises(seglab.SeglabError, match="to_csv"):
        p.analyze("trend", out=str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()


# -- segments, counts, members ----------------------------------------------------------------


def test_info_and_segments_equal_the_command_line(demo, capsys):
    with seglab.open(demo) as p:
        info = p.info()
        segments = p.segments()
        earlier = p.segments(as_of="2024-05-01")
    assert info == json.loads(cli(capsys, "info", demo, "--json"))
    listed = json.loads(cli(capsys, "segment", "list", demo, "--json"))
    assert list(segments.columns) == ["name", "level", "size", "updated"]
    assert [str(segments[c].dtype) for c in segments.columns] == [str(STR), str(STR), "Int64", DATE]
    assert segments["name"].tolist() == [r["name"] for r in listed]
    assert segments["level"].tolist() == [r["level"] for r in listed]
    assert segments["size"].tolist() == [r["size"] for r in listed]
    assert segments["updated"].tolist() == [pd.Timestamp(r["updated"]) for r in listed]
    listed_then = json.loads(cli(capsys, "segment", "list", demo, "--as-of", "2024-05-01", "--json"))
    assert earlier["size"].tolist() == [r["size"] for r in listed_then]
    assert earlier["size"].tolist() != segments["size"].tolist()


@pytest.mark.parametrize("name", [POWER, AT_RISK, CHURNED])
def test_count_and_members_equal_the_command_line(demo, capsys, name):
    with seglab.open(demo) as p:
        n = p.count(name)
        members = p.members(name)
        ids_only = p.members(name, properties=False)
        level = p.segment(name).level
    assert n == json.loads(cli(capsys, "segment", "count", demo, "--name", name, "--json"))["count"]
    ids = cli(capsys, "segment", "members", demo, "--name", name).splitlines()
    assert ids[0] == "id"
    assert members["id"].tolist() == ids[1:]
    assert len(members) == n
    assert list(ids_only.columns) == ["id"]
    assert ids_only["id"].tolist() == ids[1:]
    with seglab.open(demo) as p:
        names = [r[0] for r in p._conn().execute(
            "SELECT name FROM properties WHERE entity = ? ORDER BY position", (level,)
        )]  # fmt: skip
    assert list(members.columns) == ["id", *names]


def test_member_properties_have_their_types_and_values(demo):
    with seglab.open(demo) as p:
        accounts = p.members(AT_RISK)
        users = p.members(POWER)
        conn = p._conn()
        first = accounts["id"].iloc[0]
        column = conn.execute(
            "SELECT column_name FROM properties WHERE entity = 'account' AND name = 'mrr'"
        ).fetchone()[0]
        mrr = conn.execute(f'SELECT "{column}" FROM accounts WHERE account_id = ?', (first,)).fetchone()[0]
    assert accounts["seats"].dtype == "Int64"
    assert accounts["mrr"].dtype == "float64"
    assert accounts["mrr"].iloc[0] == mrr
    assert users["signup_date"].dtype == DATE
    assert users["plan"].dtype == STR
    assert users["signup_date"].notna().all()


def test_definition_forms_and_as_of_forms_agree(demo, capsys, tmp_path):
    definition = {
        "version": 1,
        "level": "user",
        "match": "all",
        "conditions": [{"type": "behavior", "event": "login", "window": {"last_days": 14}}],
    }
    file = tmp_path / "def.json"
    file.write_text(json.dumps(definition))
    with seglab.open(demo) as p:
        counts = {p.count(definition), p.count(json.dumps(definition)), p.count(file)}
        at = {
            p.count(definition, as_of="2024-05-01T12:00:00Z"),
            p.count(definition, as_of=dt.datetime(2024, 5, 1, 12)),
            p.count(definition, as_of=pd.Timestamp("2024-05-01 12:00", tz="UTC")),
        }
        day_end = p.count(definition, as_of=dt.date(2024, 5, 1))
    assert counts == {json.loads(cli(capsys, "segment", "count", demo, "--def", file, "--json"))["count"]}
    cli_at = cli(capsys, "segment", "count", demo, "--def", file, "--as-of", "2024-05-01T12:00:00Z", "--json")
    assert at == {json.loads(cli_at)["count"]}
    cli_day = cli(capsys, "segment", "count", demo, "--def", file, "--as-of", "2024-05-01", "--json")
    assert day_end == json.loads(cli_day)["count"]


def test_errors_are_the_command_lines_sentences(demo, capsys, tmp_path):
    bad = {
        "version": 1,
        "level": "user",
        "conditions": [{"type": "behavior", "event": "login", "n": "x"}],
    }
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(bad))
    with seglab.open(demo) as p:
        with pytest.raises(seglab.SegmentError) as unknown:
            p.count("Nobody")
        with pytest.raises(seglab.SegmentError) as invalid:
            p.count(file)
    assert str(unknown.value) == cli_error(capsys, "segment", "count", demo, "--name", "Nobody")
    assert str(invalid.value) == cli_error(capsys, "segment", "count", demo, "--def", file)


# -- writing, locking, closing ----------------------------------------------------------------

PRO = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}


def test_read_only_project_refuses_to_save_and_writes_nothing(demo_copy):
    before = digest(demo_copy)
    with seglab.open(demo_copy) as p:
        with pytest.raises(seglab.ReadOnlyError, match="read-only"):
            p.save_segment("Pro", PRO)
        assert isinstance(p.count(PRO), int)
    assert digest(demo_copy) == before
    with seglab.open(demo_copy) as p:
        assert "Pro" not in p.segments()["name"].tolist()


def test_save_segment_with_write_holds_the_lock(demo_copy, capsys):
    with seglab.open(demo_copy, write=True) as p:
        p.save_segment("Pro", PRO)
        with pytest.raises(seglab.ProjectLockedError):
            seglab.open(demo_copy, write=True)
        with seglab.open(demo_copy) as reader:  # readers are not blocked
            assert reader.count("Pro") == p.count(PRO)
        file = demo_copy.with_name("pro.json")
        file.write_text(json.dumps(PRO))
        assert "is open in another" in cli_error(
            capsys, "segment", "save", demo_copy, "--name", "X", "--def", file
        )
    listed = json.loads(cli(capsys, "segment", "list", demo_copy, "--json"))
    assert {"Pro"} <= {r["name"] for r in listed}
    with seglab.open(demo_copy, write=True) as p:  # the lock was released on close
        p.save_segment("Pro", json.dumps(PRO))


def test_calls_on_a_closed_project_raise(demo):
    p = seglab.open(demo)
    p.close()
    p.close()  # closing twice is harmless
    for call in (p.info, p.segments, lambda: p.count(POWER), lambda: p.members(POWER),
                 lambda: p.analyze("trend"), lambda: p.save_segment("x", PRO)):  # fmt: skip
        with pytest.raises(seglab.SeglabError, match="closed"):
            call()
    assert "closed" in p._repr_html_()


def test_new_and_import_files_equal_the_command_line(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text(
        "Customer,event,timestamp\nu1,login,2024-01-01T10:00:00Z\nu2,login,2024-01-02T10:00:00Z\n"
        ",login,2024-01-03T10:00:00Z\n"
    )
    users = tmp_path / "people.csv"
    users.write_text("Customer,plan\nu1,pro\nu2,free\n")
    with seglab.new(tmp_path / "api.seglab") as p:
        assert not p.readonly
        assert p.info()["events"] == 0
    with pytest.raises(seglab.SeglabError, match="already exists"):
        seglab.new(tmp_path / "api.seglab")
    reports = seglab.import_files(
        tmp_path / "api.seglab", events, users, kind=None, mapping={"user_id": "Customer"}
    )
    cli(capsys, "new", tmp_path / "cli.seglab")
    lines = cli(
        capsys, "import", tmp_path / "cli.seglab", events, users, "--map", "user_id=Customer", "--json"
    )
    expected = [json.loads(line) for line in lines.splitlines()]
    assert [{**r, "seconds": 0} for r in reports] == [{**r, "seconds": 0} for r in expected]
    assert [r["kind"] for r in reports] == ["users", "events"]  # users before events, as the CLI
    assert reports[1]["rows_rejected"] == 1
    with seglab.open(tmp_path / "api.seglab") as p:
        assert p.info()["users"] == 2
    with pytest.raises(seglab.SeglabError) as refused:
        seglab.import_files(tmp_path / "api.seglab", events)
    assert str(refused.value) == cli_error(capsys, "import", tmp_path / "api.seglab", events)


def test_connect_refuses_a_bad_source_with_the_cli_sentence(tmp_path, capsys):
    """seglab.connect runs seglab connect's checks (more in test_api_connected.py, with chdb)."""
    with pytest.raises(seglab.SeglabError) as refused:
        seglab.connect(tmp_path / "c.seglab", source="postgres://me@h/db", events="events")
    assert not (tmp_path / "c.seglab").exists()
    assert str(refused.value) == cli_error(
        capsys, "connect", tmp_path / "c.seglab", "--source", "postgres://me@h/db", "--events", "events"
    )


def test_errors_are_exported_and_rooted_in_the_core():
    from seglab.core import errors

    assert seglab.SeglabError is errors.SegLabError is seglab.SegLabError
    for cls in (seglab.ReadOnlyError, seglab.ProjectLockedError, seglab.SegmentError):
        assert issubclass(cls, seglab.SeglabError)


def test_html_display(demo):
    with seglab.open(demo) as p:
        page = p._repr_html_()
        card = p.segment(POWER)._repr_html_()
        size = p.count(POWER)
    assert "demo.seglab" in page and "Power users" in page and "210,404" in page
    assert f"{size:,} users" in card and "Power users" in card


def test_import_seglab_loads_no_qt_and_no_pandas():
    code = (
        "import sys, seglab; seglab.open; "
        "heavy = [m for m in sys.modules "
        "if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'pandas')]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_api_loads_no_qt_while_it_works(demo):
    code = (
        "import sys, seglab\n"
        f"with seglab.open({str(demo)!r}) as p:\n"
        "    p.count('Power users'); p.members('Power users'); p.analyze('funnel', steps='signup,login')\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_exports_have_docstrings():
    for name in seglab.__all__:
        if name == "__version__":
            continue
        obj = getattr(seglab, name)
        assert (obj.__doc__ or "").strip(), name
    for name in ("info", "segments", "segment", "count", "members", "save_segment", "analyze", "close"):
        assert (getattr(seglab.Project, name).__doc__ or "").strip(), name
    assert (Path(seglab.__file__).parent / "py.typed").exists()
