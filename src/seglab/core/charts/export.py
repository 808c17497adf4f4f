"""A chart's CSV, formula-safe."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot be read as formulas by a spreadsheet (OWASP CSV injection).

    A text cell starting with ``= + - @``, tab or carriage return gets a leading
    apostrophe; numbers, booleans and empty cells are left exactly as they are.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


def write_chart_csv(frame: pd.DataFrame, path: str | Path) -> int:
    """Write the data behind a chart (its contract columns) safely; return the row count."""
    csv_safe_frame(frame).to_csv(path, index=False)
    return len(frame)
