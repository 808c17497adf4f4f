"""`seglab --version`, `new`, `info` and exit codes, run as a real process."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from seglab import __version__


def seglab(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "seglab", *map(str, args)], capture_output=True, text=True, input=stdin
    )


def test_version():
    out = seglab("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"seglab {__version__}"


def test_new_then_info_json_prints_zero_counts(tmp_path):
    path = tmp_path / "x.seglab"
    assert seglab("new", path).returncode == 0
    out = seglab("info", path, "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    for key in ("events", "users", "accounts", "event_names", "properties"):
        assert info[key] == 0
    assert info["first_event"] is None and info["last_event"] is None and info["as_of"] is None


def test_info_plain_text(tmp_path):
    path = tmp_path / "x.seglab"
    seglab("new", path)
    out = seglab("info", path)
    assert out.returncode == 0
    assert "events" in out.stdout and "as of" in out.stdout


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"id,name\n1,a\n", "not a SegLab project"),
        (b"\x89PNG\r\n\x1a\n" + bytes(300), "not a SegLab project"),
    ],
)
def test_info_refusals_exit_2_one_line_file_untouched(tmp_path, content, message):
    path = tmp_path / "bad.seglab"
    path.write_bytes(content)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = seglab("info", path)
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_missing_project_and_bad_arguments_exit_2(tmp_path):
    out = seglab("info", tmp_path / "nope.seglab")
    assert out.returncode == 2 and "no such project file" in out.stderr
    out = seglab("info")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    out = seglab("info", tmp_path / "nope.seglab", "--bogus")
    assert out.returncode == 2


def test_new_refuses_existing(tmp_path):
    path = tmp_path / "x.seglab"
    path.write_text("data")
    out = seglab("new", path)
    assert out.returncode == 2 and "already exists" in out.stderr
    assert path.read_text() == "data"
