"""Markdown: the one table helper every Markdown file of visage is written with, and escaping of data values.

Text from the data (group names, class names, overrides) goes through `escape` before it joins
inline Markdown, so a group called `*A*|B` prints as itself in the Markdown, the HTML and the LaTeX.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

_SPECIAL = re.compile(r"([\\`*\[\]<>|&~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def escape(text: Any) -> str:
    """Return `text` with Markdown's special characters backslash-escaped (intra-word underscores stay)."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), str(text))


def code(text: Any) -> str:
    """Return `text` as an inline code span (taken literally: no escaping inside, a longer fence around backticks)."""
    text = str(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(value: Any) -> str:
    """Return a table cell: integers plainly, small floats with 3 decimals, None/NaN as a dash, text escaped."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return escape(value)


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return a Markdown table of inline-Markdown cells (pipes not yet escaped are escaped, newlines joined)."""
    def fix(text: Any) -> str:
        return _UNESCAPED_PIPE.sub(r"\\|", str(text)).replace("\n", " ")

    lines = ["| " + " | ".join(fix(h) for h in header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(fix(c) for c in row) + " |" for row in rows]


def markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """Return `frame` as a Markdown table (its index as the first column when `index`)."""
    frame = frame.reset_index() if index else frame
    return "\n".join(table_lines([str(c) for c in frame.columns], [[cell(v) for v in row] for row in frame.itertuples(index=False)]))
