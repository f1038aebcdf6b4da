"""The seed part of a sweep report: training noise (spread across seeds) beside sampling noise (bootstrap).

Read from the sweep's `summary_by_config.csv` (written by `visage.reporting.summaries.seeds` when the sweep
ends, or by `python -m visage.summarize`). Shown only where some configuration ran with two seeds or more.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visage.reporting.report.document import Block, Heading, Paragraph, Table
from visage.reporting.report.format import number

BY_CONFIG_FILE = "summary_by_config.csv"


def seed_record(sweep_dir: Path, sweep: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return per configuration: seeds, mean ± SD and t-interval across seeds, and the jobs' mean bootstrap CI width."""
    path = sweep_dir / BY_CONFIG_FILE
    if not path.is_file():
        return None
    table = pd.read_csv(path)
    if table.empty or table["n_seeds"].max() < 2:
        return None
    metric, attribute, select = sweep["metric"], sweep["attribute"], sweep["select_split"]
    rows = []
    for _, row in table.iterrows():
        jobs = [str(j) for j in str(row["jobs"]).split()] if isinstance(row["jobs"], str) else [str(row["jobs"])]
        widths = {key: _mean_width(sweep, jobs, key) for key in (metric, f"{attribute}_{metric}_gap")}
        rows.append({"config": row["config"], "n_seeds": int(row["n_seeds"]),
                     **{key: {stat: _value(row, f"{select}_{key}_{stat}") for stat in ("mean", "sd", "ci_low", "ci_high")}
                        | {"bootstrap_ci_width": widths[key]} for key in widths}})
    return {"split": select, "metric": metric, "attribute": attribute, "configs": rows}


def _value(row: pd.Series, column: str) -> float | None:
    value = row.get(column)
    return float(value) if value is not None and np.isfinite(value) else None


def _mean_width(sweep: Mapping[str, Any], jobs: list[str], key: str) -> float | None:
    """Mean width of the jobs' own bootstrap intervals of `key` on the selection split (sampling noise)."""
    widths = []
    for job in jobs:
        values = (sweep["jobs"].get(job) or {}).get(sweep["select_split"]) or {}
        ci = values.get(f"{key}_ci")
        if ci and all(v is not None for v in ci):
            widths.append(ci[1] - ci[0])
    return float(np.mean(widths)) if widths else None


def seed_blocks(record: Mapping[str, Any] | None) -> list[Block]:
    """The section comparing training noise across seeds with each job's sampling noise."""
    if not record:
        return []
    metric, attribute, split = record["metric"], record["attribute"], record["split"]
    rows = []
    for config in record["configs"]:
        cells = [f"`{config['config']}`", str(config["n_seeds"])]
        for key in (metric, f"{attribute}_{metric}_gap"):
            v = config[key]
            cells += [f"{number(v['mean'], key)} ± {number(v['sd'], key)} [{number(v['ci_low'], key)}, "
                      f"{number(v['ci_high'], key)}]", number(v["bootstrap_ci_width"], key)]
        rows.append(cells)
    return [Heading(3, "Seeds: training noise beside sampling noise"),
            Paragraph(f"Each configuration repeated with different `seed`s (training randomness only: same data, same "
                      f"split). Mean ± SD across seeds with a 95% t-interval of the mean, on `{split}`; beside it the "
                      "mean width of the jobs' own bootstrap intervals (sampling noise of the evaluation set). A "
                      "difference between configurations smaller than the seed spread is training noise, not a finding."),
            Table(["configuration", "seeds", f"{metric} mean ± SD [CI]", "bootstrap CI width",
                   f"{attribute} gap mean ± SD [CI]", "bootstrap CI width"], rows,
                  name="seeds", caption="Seed spread beside sampling noise")]
