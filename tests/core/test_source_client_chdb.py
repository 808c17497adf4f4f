"""A source client once closed: a clear error, never a driver's AttributeError."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from seglab.core.engines.source import SourceError, open_client, parse_url


def test_a_closed_chdb_client_says_so(tmp_path):
    folder = tmp_path / "ch"
    folder.mkdir()
    client = open_client(parse_url(f"chdb://{folder}"))
    assert client.query("SELECT 1") == [[1]]
    client.close()
    client.close()  # closing twice is harmless
    with pytest.raises(SourceError, match="the source is closed"):
        client.query("SELECT 1")
    with pytest.raises(SourceError, match="the source is closed"):
        client.execute("SELECT 1")
