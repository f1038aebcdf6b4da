"""Writing a built report: report.md (figures/*.png), report.html, report.tex (tables/*.tex, figures/*.pdf), report.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visage.core.run_files import write_json
from visage.reporting.report.document import FIGURE_DIR, Block, Figure, Heading, Table
from visage.reporting.report.render_html import to_html
from visage.reporting.report.render_md import to_markdown
from visage.reporting.report.render_tex import TABLE_DIR, table_names, table_tex, to_latex


def write_figures(blocks: list[Block], out_dir: Path) -> list[str]:
    """Write every figure as PNG and PDF under `out_dir/figures/`; return the PNGs' relative paths."""
    written = []
    for block in blocks:
        if isinstance(block, Figure):
            (out_dir / FIGURE_DIR).mkdir(parents=True, exist_ok=True)
            (out_dir / FIGURE_DIR / f"{block.stem}.png").write_bytes(block.image.png)
            (out_dir / FIGURE_DIR / f"{block.stem}.pdf").write_bytes(block.image.pdf)
            written.append(f"{FIGURE_DIR}/{block.stem}.png")
    return written


def write_tables(blocks: list[Block], out_dir: Path) -> list[str]:
    """Write every table as a booktabs `tables/<name>.tex`; return their relative paths."""
    tables = [b for b in blocks if isinstance(b, Table)]
    (out_dir / TABLE_DIR).mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in zip(table_names(blocks), tables):
        (out_dir / TABLE_DIR / f"{name}.tex").write_text(table_tex(table))
        written.append(f"{TABLE_DIR}/{name}.tex")
    return written


def write_report(blocks: list[Block], record: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write report.md, report.html, report.tex, report.json, figures/ and tables/ into `out_dir`; return the reports."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record["figures"] = write_figures(blocks, out_dir)
    record["tables"] = write_tables(blocks, out_dir)
    title = next((b.text for b in blocks if isinstance(b, Heading)), "visage report")
    paths = {kind: out_dir / f"report.{kind}" for kind in ("md", "html", "tex", "json")}
    paths["md"].write_text(to_markdown(blocks))
    paths["html"].write_text(to_html(blocks, title))
    paths["tex"].write_text(to_latex(blocks, title))
    write_json(paths["json"], record)
    return paths
