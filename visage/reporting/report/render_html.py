"""report.html: one self-contained page rendered by markdown-it-py (CommonMark + tables) into a Jinja2 template.

Every block's Markdown goes through markdown-it-py with raw HTML off, so text from the data is escaped
as the Markdown says; figures are embedded as base64 PNG and links become their text plus the target
as code, so the page links to nothing outside itself (only `#section` anchors) and opens offline.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from jinja2 import Environment, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from visage.reporting.report.document import Block, Code, Figure, Heading
from visage.reporting.report.render_md import block_markdown

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
.summary{background:#f3f7fb;border-left:4px solid #1f5f8b;padding:.4em 1em}
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title><style>{{ style }}</style></head><body>
{% for part in parts %}{{ part }}
{% endfor %}</body></html>
"""

HEADING = '<h{{ level }} id="{{ anchor }}">{{ text }}</h{{ level }}>'
NAV = '<nav>{% for h in toc %}{% if not loop.first %} · {% endif %}<a href="#{{ h.anchor }}">{{ h.text }}</a>{% endfor %}</nav>'
FIGURE = '<figure><img alt="{{ alt }}" src="data:image/png;base64,{{ data }}"><figcaption>{{ caption }}</figcaption></figure>'
CODE = ("{% if summary %}<details><summary>{{ summary }}</summary><pre>{{ text }}</pre></details>"
        "{% else %}<pre>{{ text }}</pre>{% endif %}")


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.add_render_rule("link_open", lambda self, tokens, idx, options, env: "")
    md.add_render_rule("link_close", lambda self, tokens, idx, options, env: _link_target(tokens, idx))
    return md


def _link_target(tokens: list, idx: int) -> str:
    """Close a link as its target in code: the page keeps the reference but links nowhere."""
    opening = next(t for t in reversed(tokens[:idx]) if t.type == "link_open")
    escaped = Markup.escape(opening.attrGet("href") or "")
    return f" (<code>{escaped}</code>)"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def inline_html(text: str) -> Markup:
    """Return inline Markdown as safe HTML."""
    return Markup(_markdown().renderInline(str(text)))


def block_html(block: Block, toc: Sequence[Heading]) -> Markup:
    """Return the HTML of one block."""
    env = _environment()
    if isinstance(block, Heading):
        html = env.from_string(HEADING).render(level=block.level, anchor=block.anchor, text=inline_html(block.text))
        if block.level == 1 and toc:
            html += env.from_string(NAV).render(toc=[{"anchor": h.anchor, "text": inline_html(h.text)} for h in toc])
        return Markup(html)
    if isinstance(block, Figure):
        return Markup(env.from_string(FIGURE).render(alt=block.caption, caption=inline_html(block.caption),
                                                     data=base64.b64encode(block.image.png).decode("ascii")))
    if isinstance(block, Code):
        return Markup(env.from_string(CODE).render(summary=block.summary, text=block.text))
    return Markup(_markdown().render("\n".join(block_markdown(block))))


def to_html(blocks: Sequence[Block], title: str) -> str:
    """Return one self-contained HTML page of `blocks` (figures as base64 PNG, CSS inline)."""
    toc = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    parts = [block_html(block, toc) for block in blocks]
    return _environment().from_string(PAGE).render(title=title, style=Markup(STYLE), parts=parts)
