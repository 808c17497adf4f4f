"""docs/examples/segments.ipynb runs on a fresh demo project, and its numbers equal the command line's."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from seglab.cli import main

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "segments.ipynb"

# Run in the notebook's kernel after its own cells: its frames as JSON for the comparison.
DUMP = """
import json as _json
def _rows(frame):
    out = []
    for row in frame.astype(object).itertuples(index=False):
        out.append([None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                    else v.isoformat() if hasattr(v, "isoformat") else v for v in row])
    return {"columns": list(frame.columns), "rows": out}
import pandas as pd
print(_json.dumps({"power_users": power_users, "trend": _rows(trend), "funnel": _rows(funnel),
                   "retention": _rows(retention)}))
"""


def cli(capsys, *argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 0
    return capsys.readouterr().out


def same_cell(cell: str, value) -> bool:
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, int):
        return cell == str(value)
    if isinstance(value, float):
        return cell != "" and float(cell) == value
    if "T" in value and value[:4].isdigit() and value.endswith("+00:00"):
        return pd.Timestamp(value) == pd.Timestamp(cell, tz="UTC" if "T" not in cell else None)
    return cell == value


def assert_same(frame: dict, csv_text: str) -> None:
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert frame["columns"] == rows[0]
    assert len(frame["rows"]) == len(rows) - 1 > 0
    for got, want in zip(frame["rows"], rows[1:]):
        for column, value, cell in zip(rows[0], got, want):
            assert same_cell(cell, value), (column, cell, value)


def test_notebook_runs_and_matches_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns without it
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        check = nbformat.v4.new_code_cell(DUMP)
        nb.cells.append(check)
        client.execute_cell(check, len(nb.cells) - 1)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    numbers = json.loads(check.outputs[0]["text"])

    demo = tmp_path / "demo.seglab"  # written by the notebook's first cell
    assert demo.exists()
    count = json.loads(cli(capsys, "segment", "count", demo, "--name", "Power users", "--json"))["count"]
    assert numbers["power_users"] == count
    assert_same(
        numbers["trend"],
        cli(capsys, "analyze", "trend", demo, "--segment", "Power users", "--segment", "Churned users",
            "--event", "login", "--measure", "users", "--interval", "week"),
    )  # fmt: skip
    assert_same(
        numbers["funnel"],
        cli(capsys, "analyze", "funnel", demo, "--steps", "signup,create_report,share_report",
            "--segment", "Power users", "--vs-rest"),
    )  # fmt: skip
    retention = cli(capsys, "analyze", "retention", demo, "--interval", "week", "--periods", "4")
    assert_same(numbers["retention"], retention)

    # The ad-hoc definition's two counts, as the notebook displays them.
    cell = next(c for c in nb.cells if c.cell_type == "code" and "logged_in_last_week =" in c.source)
    shown = cell.outputs[0]["data"]["text/plain"]
    definition = tmp_path / "def.json"
    login = {"type": "behavior", "event": "login", "window": {"last_days": 7}}
    definition.write_text(json.dumps({"level": "user", "conditions": [login]}))
    now = json.loads(cli(capsys, "segment", "count", demo, "--def", definition, "--json"))["count"]
    then = json.loads(
        cli(capsys, "segment", "count", demo, "--def", definition, "--as-of", "2024-05-31", "--json")
    )["count"]
    assert ast.literal_eval(shown) == (now, then)
