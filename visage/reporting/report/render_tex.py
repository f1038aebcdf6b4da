"""report.tex and tables/*.tex: the blocks as a standalone LaTeX document, each table also on its own.

Tables are booktabs `tabular`s ready to `\\input` into a paper; inline Markdown becomes LaTeX through
markdown-it-py's tokens (text escaped: `*`, `_`, `%`, `&`, `#`, `$`, braces, and `−`, `×`, `≥`, `·`, `±`
as math, so pdflatex compiles every value the data holds). Figures are included as their PDF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from markdown_it import MarkdownIt

from visage.reporting.report.document import FIGURE_DIR, Block, Bullets, Code, Figure, Heading, Paragraph, Table

TABLE_DIR = "tables"
_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "^": r"\^{}",
            "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
            "|": r"\textbar{}", "*": r"\textasteriskcentered{}",
            "−": r"\ensuremath{-}", "×": r"\ensuremath{\times}", "≥": r"\ensuremath{\geq}", "≤": r"\ensuremath{\leq}",
            "·": r"\ensuremath{\cdot}", "±": r"\ensuremath{\pm}", "→": r"\ensuremath{\rightarrow}", "√": r"\ensuremath{\surd}",
            "≈": r"\ensuremath{\approx}", "★": r"\ensuremath{\star}", "–": "--", "—": "---", "…": r"\ldots{}",
            "’": "'", "‘": "`", "“": "``", "”": "''", "é": r"\'e", "ö": r'\"o', "ü": r'\"u', "ä": r'\"a'}
_SPECIAL = re.compile("|".join(re.escape(c) for c in _ESCAPES))
_SECTIONS = {1: "section*", 2: "section", 3: "subsection", 4: "subsubsection", 5: "paragraph"}

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{textcomp}
\usepackage[margin=2cm]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
"""


def escape(text: str) -> str:
    """Return plain text with LaTeX's special characters (and a few Unicode signs) made printable."""
    escaped = _SPECIAL.sub(lambda m: _ESCAPES[m.group(0)], str(text))
    return "".join(c if ord(c) < 256 else "?" for c in escaped)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def inline(text: str) -> str:
    """Return inline Markdown as LaTeX (bold, italic, code, links as text with their target in code)."""
    out: list[str] = []
    tokens = _markdown().parseInline(str(text))
    for token in (tokens[0].children or []) if tokens else []:
        kind = token.type
        if kind == "text":
            out.append(escape(token.content))
        elif kind == "code_inline":
            out.append(r"\texttt{" + escape(token.content) + "}")
        elif kind in ("strong_open", "em_open"):
            out.append(r"\textbf{" if kind == "strong_open" else r"\emph{")
        elif kind in ("strong_close", "em_close"):
            out.append("}")
        elif kind == "link_close":
            out.append("")
        elif kind in ("softbreak", "hardbreak"):
            out.append(" ")
        elif kind == "link_open":
            out.append("")
    return "".join(out)


def table_tex(table: Table) -> str:
    """Return one table as a booktabs tabular, ready to `\\input`."""
    columns = "l" * len(table.header)
    lines = [r"\begin{tabular}{" + columns + "}", r"\toprule",
             " & ".join(inline(h) for h in table.header) + r" \\", r"\midrule"]
    lines += [" & ".join(inline(c) for c in row) + r" \\" for row in table.rows]
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}", ""])


def table_names(blocks: Sequence[Block]) -> list[str]:
    """Return the file stem under `tables/` of each table, in order (its own name, else `table_<i>`), unique."""
    names, seen = [], set()
    for i, table in enumerate(b for b in blocks if isinstance(b, Table)):
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", table.name) or f"table_{i + 1:02d}"
        while name in seen:
            name += "_"
        seen.add(name)
        names.append(name)
    return names


def _verbatim(text: str) -> str:
    plain = "".join(c if 32 <= ord(c) < 127 or c == "\n" else "?" for c in text).replace(r"\end{verbatim}", "")
    return "\\begin{verbatim}\n" + plain.rstrip("\n") + "\n\\end{verbatim}"


def to_latex(blocks: Sequence[Block], title: str) -> str:
    """Return report.tex: a standalone document that inputs `tables/<name>` and includes `figures/<name>.pdf`."""
    names = iter(table_names(blocks))
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append("\\" + _SECTIONS[min(max(block.level, 1), 5)] + "{" + inline(block.text) + "}")
        elif isinstance(block, Paragraph):
            body.append(inline(block.text))
        elif isinstance(block, Bullets):
            body.append("\\begin{itemize}\n" + "\n".join(r"\item " + inline(i) for i in block.items) + "\n\\end{itemize}")
        elif isinstance(block, Table):
            body.append("{\\small\\centering\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{"
                        "\\input{" + f"{TABLE_DIR}/{next(names)}" + "}}\\par}")
        elif isinstance(block, Figure):
            body.append("{\\centering\\includegraphics[width=\\linewidth,height=0.8\\textheight,keepaspectratio]{"
                        f"{FIGURE_DIR}/{block.stem}.pdf" + "}\\par}\n\\emph{" + inline(block.caption) + "}")
        elif isinstance(block, Code):
            body.append(r"\textbf{" + escape(block.summary) + "}\n" + _verbatim(block.text) if block.summary
                        else _verbatim(block.text))
    return (PREAMBLE + "\\title{" + inline(title) + "}\n\\date{}\n\\begin{document}\n\\maketitle\n"
            + "\n\n".join(body) + "\n\\end{document}\n")
