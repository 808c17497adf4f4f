"""A chart's CSV and clipboard text, through the one formula-safe writer (seglab.core.csvout)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def write_chart_csv(
    frame: pd.DataFrame, path: str | Path, *, protect: Sequence[str | Path] = (), raw: bool = False
) -> int:
    """Write the data behind a chart as its analysis' CSV (seglab.core.csvout, formula-safe unless
    ``raw``) by the safe-output rules (seglab.core.output); return the row count."""
    from seglab.core import csvout
    from seglab.core.output import open_output

    with open_output(path, protect=protect) as fh:
        return csvout.write_frame(fh, frame, raw=raw)


def chart_tsv(frame: pd.DataFrame) -> str:
    """The chart's data as tab-separated text for the clipboard (formula-safe, like the CSV)."""
    from seglab.core import csvout

    buffer = io.StringIO()
    csvout.write_frame(buffer, frame, dialect="excel-tab")
    return buffer.getvalue()
