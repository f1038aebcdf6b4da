"""Markdown tables from pandas frames."""

from __future__ import annotations

from typing import Any

import pandas as pd


def cell(value: Any) -> str:
    """Return a table cell: integers plainly, small floats with 3 decimals, None/NaN as a dash."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """Return `frame` as a Markdown table (its index as the first column when `index`)."""
    frame = frame.reset_index() if index else frame
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
