"""A report as a list of blocks, rendered once as Markdown and once as one self-contained HTML file.

Both renderings come from the same blocks, so the HTML says exactly what the Markdown says. Figures
are PNG bytes: written beside `report.md` and embedded as base64 in `report.html`, which links to
nothing outside itself (only `#section` anchors), so it opens offline and sends no request.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FIGURE_DIR = "figures"


@dataclass
class Heading:
    """A section heading (level 1-4)."""

    level: int
    text: str

    @property
    def anchor(self) -> str:
        """The heading's anchor id (lower case, dashes)."""
        return re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


@dataclass
class Paragraph:
    """Running text with inline Markdown (**bold**, *italic*, `code`, [text](target))."""

    text: str


@dataclass
class Bullets:
    """A bulleted list of inline-Markdown items."""

    items: Sequence[str]


@dataclass
class Table:
    """A table: a header row and rows of inline-Markdown cells."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass
class Figure:
    """A figure: PNG bytes, a file name under `figures/` and a caption."""

    name: str
    caption: str
    png: bytes


@dataclass
class Code:
    """A preformatted block; with a `summary` it is folded in the HTML."""

    text: str
    summary: str = ""


Block = Heading | Paragraph | Bullets | Table | Figure | Code


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """Return the Markdown text of `blocks` (figures referenced as `figures/<name>`)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [block.text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Table):
            out += ["| " + " | ".join(_md_cell(h) for h in block.header) + " |",
                    "| " + " | ".join("---" for _ in block.header) + " |"]
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows] + [""]
        elif isinstance(block, Figure):
            out += [f"![{block.caption}]({FIGURE_DIR}/{block.name})", "", f"*{block.caption}*", ""]
        elif isinstance(block, Code):
            out += ([f"<details><summary>{block.summary}</summary>", ""] if block.summary else [])
            out += ["```", block.text.rstrip("\n"), "```", ""]
            out += (["</details>", ""] if block.summary else [])
    return "\n".join(out)


def inline_html(text: str) -> str:
    """Return inline Markdown as HTML; links become their text plus the target as code, never an href."""
    escaped = html.escape(str(text), quote=False)
    escaped = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (<code>\2</code>)", escaped)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", escaped)


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1.5em;color:#1d232a;line-height:1.5}
h1{border-bottom:2px solid #345;padding-bottom:.3em}h2{border-bottom:1px solid #ccd;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.86em;display:block;overflow-x:auto}
th,td{border:1px solid #ccd;padding:.25em .55em;text-align:left;vertical-align:top}th{background:#eef1f5}
tr:nth-child(even) td{background:#f8f9fb}code{background:#f1f3f5;padding:0 .25em;border-radius:3px;font-size:.9em}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.8em}figure{margin:1.2em 0}
figure img{max-width:100%;border:1px solid #e3e6ea}figcaption{font-size:.88em;color:#4a5561}
nav{background:#f6f8fa;padding:.5em 1em;border-radius:4px;font-size:.9em}nav a{color:#245;text-decoration:none}
"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """Return one self-contained HTML page of `blocks` (figures as base64 PNG, CSS inline)."""
    toc = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{block.anchor}">{inline_html(block.text)}</h{block.level}>')
            if block.level == 1 and toc:
                links = " · ".join(f'<a href="#{h.anchor}">{html.escape(h.text)}</a>' for h in toc)
                body.append(f"<nav>{links}</nav>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{inline_html(h)}</th>" for h in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            body.append(f'<figure><img alt="{html.escape(block.caption)}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{inline_html(block.caption)}</figcaption></figure>")
        elif isinstance(block, Code):
            pre = f"<pre>{html.escape(block.text)}</pre>"
            body.append(f"<details><summary>{html.escape(block.summary)}</summary>{pre}</details>" if block.summary else pre)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_figures(blocks: Sequence[Block], out_dir: Path) -> list[str]:
    """Write every figure's PNG under `out_dir/figures/`; return their relative paths."""
    written = []
    for block in blocks:
        if isinstance(block, Figure):
            path = out_dir / FIGURE_DIR / block.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(block.png)
            written.append(f"{FIGURE_DIR}/{block.name}")
    return written
