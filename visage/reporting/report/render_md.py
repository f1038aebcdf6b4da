"""report.md: the blocks as Markdown, figures referenced as `figures/<name>.png`."""

from __future__ import annotations

from collections.abc import Sequence

from visage.reporting.markdown import table_lines
from visage.reporting.report.document import FIGURE_DIR, Block, Bullets, Figure, Heading, Paragraph, Table


def block_markdown(block: Block) -> list[str]:
    """Return the Markdown lines of one block (no trailing blank line)."""
    if isinstance(block, Heading):
        return ["#" * block.level + " " + block.text]
    if isinstance(block, Paragraph):
        return [block.text]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Table):
        return table_lines(block.header, block.rows)
    if isinstance(block, Figure):
        return [f"![{block.caption}]({FIGURE_DIR}/{block.stem}.png)", "", f"*{block.caption}*"]
    fence = ["```", block.text.rstrip("\n"), "```"]
    return [f"<details><summary>{block.summary}</summary>", "", *fence, "", "</details>"] if block.summary else fence


def to_markdown(blocks: Sequence[Block]) -> str:
    """Return the Markdown text of `blocks`."""
    return "\n".join(line for block in blocks for line in [*block_markdown(block), ""])
