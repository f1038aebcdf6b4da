"""One row per job of a sweep: overrides, status, overall metrics, worst group and gap with CIs, Pareto front.

Models are chosen on validation data: worst groups, gaps and the Pareto front are computed on the
selection split (`val`); the same columns on the report split (`test`, prefixed `test_`) are shown
beside them for the final write-up and never used to choose. Written at the end of every multirun
(`visage.runner.sweep_callback`) and on demand with `python -m visage.summarize sweep=<dir>`; reads
only the jobs' JSON files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visage.core.names import GROUP_COLUMNS
from visage.reporting.markdown import markdown_table
from visage.reporting.summaries.jobs import Job, job_numbers, sweep_jobs


def _interval(bounds: Sequence[float | None] | None) -> str | None:
    return f"[{bounds[0]:.2f}, {bounds[1]:.2f}]" if bounds and all(b is not None for b in bounds) else None


def job_row(job: Job, split: str, attributes: Sequence[str], metric: str, report_split: str | None = "test"
            ) -> dict[str, Any]:
    """Return the summary row of one job: selection-split columns, then report-split ones (prefixed `<split>_`)."""
    row: dict[str, Any] = {"job": job.name, "overrides": " ".join(job.overrides), "status": job.status, "error": job.error}
    if job.status != "ok":
        return row
    splits = [split] + ([report_split] if report_split and report_split != split else [])
    numbers = job_numbers(job, splits, attributes, [metric])
    row["objective"] = numbers["objective"]
    for s in splits:
        row.update({f"{s}_{m}": numbers[s]["overall"].get(m) for m in numbers["headline"]})
    for s in splits:
        if not numbers[s]["fairness"]:
            continue
        prefix = "" if s == split else f"{s}_"
        for attribute, gaps in numbers[s]["gaps"].items():
            g = gaps[metric]
            row.update({f"{prefix}{attribute}_worst": g["worst"], f"{prefix}{attribute}_worst_{metric}": g["worst_value"],
                        f"{prefix}{attribute}_{metric}_gap": g["gap"], f"{prefix}{attribute}_{metric}_gap_ci": _interval(g["gap_ci"]),
                        f"{prefix}{attribute}_{metric}_gap_p": g["gap_p"]})
    return row


def pareto_front(errors: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Return a mask of the points not dominated in (error, gap), both to be minimised."""
    front = np.zeros(len(errors), dtype=bool)
    for i in range(len(errors)):
        if np.isnan(errors[i]) or np.isnan(gaps[i]):
            continue
        dominated = (errors <= errors[i]) & (gaps <= gaps[i]) & ((errors < errors[i]) | (gaps < gaps[i]))
        front[i] = not dominated.any()
    return front


def summarize_sweep(sweep_dir: str | Path, split: str = "val", attributes: Sequence[str] = GROUP_COLUMNS,
                    metric: str = "age_mae", pareto_attribute: str = "race", report_split: str | None = "test"
                    ) -> pd.DataFrame:
    """Write `summary.csv` and `summary.md` into the sweep directory; return the table.

    Args:
        sweep_dir: the sweep directory.
        split: the selection split: worst groups, gaps and the Pareto front are computed on it.
        attributes: attributes whose worst group and gap get columns.
        metric: the metric of those columns and of the Pareto front.
        pareto_attribute: the attribute whose gap is the Pareto front's second objective.
        report_split: shown beside (`<split>_` columns), never used to choose; None for none.
    """
    sweep_dir = Path(sweep_dir)
    rows = [job_row(job, split, attributes, metric, report_split) for job in sweep_jobs(sweep_dir)]
    table = pd.DataFrame(rows)
    if table.empty:
        table = pd.DataFrame(columns=["job", "overrides", "status", "error"])
    error_column, gap_column = f"{split}_{metric}", f"{pareto_attribute}_{metric}_gap"
    if error_column in table and gap_column in table:
        table["pareto"] = pareto_front(table[error_column].astype(float).to_numpy(),
                                       table[gap_column].astype(float).to_numpy())
    table.to_csv(sweep_dir / "summary.csv", index=False)
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    beside = (f" Columns prefixed `{report_split}_` are the `{report_split}` split, shown for the write-up and "
              "never used to choose." if report_split and report_split != split else "")
    lines = [f"# Sweep summary: {sweep_dir.name}", "",
             f"{len(table)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
             f"Worst groups, gaps and `pareto` are on the `{split}` split (models are chosen on it); gaps are "
             f"worst − best group {metric} over groups big enough to judge, with bootstrap CIs and permutation "
             f"p-values. `pareto` marks the jobs no other job beats on both overall `{split}` {metric} and its "
             f"{pareto_attribute} gap.{beside}",
             "", markdown_table(table, index=False), ""]
    (sweep_dir / "summary.md").write_text("\n".join(lines))
    return table
