"""`compare.md`: the paired differences of `paired.paired_differences` as Markdown tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from visage.core.metric_specs import PRIMARY


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _cells(entry: Mapping[str, Any]) -> list[str]:
    low, high = entry["ci"]
    excludes_zero = low is not None and (low > 0 or high < 0)
    interval = "—" if low is None else f"[{low:.3f}, {high:.3f}]"
    return [_number(entry["run"]), _number(entry["baseline"]),
            ("**" + _number(entry["difference"]) + "**") if excludes_zero else _number(entry["difference"]), interval]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def paired_markdown(result: Mapping[str, Any], run: str, baseline: str) -> str:
    """Return `compare.md`: overall metrics, gaps per attribute, headline metrics per group."""
    level = round(100 * result["settings"]["ci"])
    head = ["run (a)", "baseline (b)", "a − b", f"{level}% paired CI"]
    lines = [f"# Paired comparison: {run} − {baseline}", "",
             f"Split `{result['split']}`, {result['n']} samples scored by both runs. Differences are a − b; "
             f"intervals are paired bootstrap percentiles ({result['settings']['n_boot']} resamples, the same "
             "samples for both runs). **Bold**: the interval excludes 0.", "", "## Overall", ""]
    lines += _table(["metric", *head], [[m, *_cells(e)] for m, e in result["overall"].items()])
    lines += ["## Gaps (worst − best compared group)", ""]
    rows = [[attribute, key, *_cells(entry)] for attribute, gaps in result["disparity"].items()
            for key, entry in gaps.items() if key != "groups_compared"]
    lines += _table(["attribute", "gap", *head], rows)
    headline = [m for m in result["metrics"] if m in PRIMARY.values()]
    lines += ["## Per group", ""]
    rows = [[attribute, group, str(values["n"]), m, *_cells(values[m])]
            for attribute, groups in result["by_group"].items() for group, values in groups.items()
            if values["n"] > 0 for m in headline]
    lines += _table(["attribute", "group", "n", "metric", *head], rows)
    return "\n".join(lines)
