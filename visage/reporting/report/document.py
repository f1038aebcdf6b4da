"""A report as a list of blocks: the document built from the numbers, before any renderer sees it.

Text in blocks is inline Markdown (**bold**, *italic*, `code`, [text](target)); values from the data
are escaped where they join it (`visage.reporting.markdown.escape`). Renderers: `render_md` (report.md),
`render_html` (one self-contained report.html) and `render_tex` (report.tex and tables/*.tex), so every
format says exactly what the others say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

FIGURE_DIR = "figures"


@dataclass
class Heading:
    """A section heading (level 1-5)."""

    level: int
    text: str

    @property
    def anchor(self) -> str:
        """The heading's anchor id (lower case, dashes)."""
        return re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


@dataclass
class Paragraph:
    """Running text with inline Markdown."""

    text: str


@dataclass
class Bullets:
    """A bulleted list of inline-Markdown items."""

    items: Sequence[str]


@dataclass
class Table:
    """A table: a header row and rows of inline-Markdown cells; `name` files it as `tables/<name>.tex`."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    name: str = ""
    caption: str = ""


@dataclass
class Image:
    """One figure rendered twice: PNG (Markdown, HTML) and PDF (LaTeX)."""

    png: bytes
    pdf: bytes


@dataclass
class Figure:
    """A figure: a file stem under `figures/` (`<stem>.png` and `<stem>.pdf`), a caption and its image."""

    name: str
    caption: str
    image: Image

    @property
    def stem(self) -> str:
        """The file name without its extension."""
        return self.name.rsplit(".", 1)[0]


@dataclass
class Code:
    """A preformatted block; with a `summary` it is folded in the HTML."""

    text: str
    summary: str = ""


Block = Heading | Paragraph | Bullets | Table | Figure | Code
