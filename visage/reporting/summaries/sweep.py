"""One row per job of a sweep: overrides, status, overall metrics, worst group and gap with CIs, Pareto front.

Models are chosen on validation data: worst groups, gaps and the Pareto front are computed on the
selection split (`val`); the same columns on the report split (`test`, prefixed `test_`) are shown
beside them for the final write-up and never used to choose. Written at the end of every multirun
(`visage.runner.sweep_callback`) and on demand with `python -m visage.summarize sweep=<dir>`; reads
only the jobs' JSON files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from visage.core.metric_specs import primary_metrics
from visage.core.names import GROUP_COLUMNS
from visage.core.run_files import FAILURE_FILE
from visage.reporting.markdown import markdown_table

OVERALL = tuple(primary_metrics())


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Return the job directories of a sweep (those with `.hydra/overrides.yaml`), in job order."""
    jobs = [p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml")]
    return sorted(jobs, key=lambda p: (len(p.parts), int(p.name) if p.name.isdigit() else 0, str(p)))


def _attribute_columns(fairness: dict[str, Any], attributes: Sequence[str], metric: str, prefix: str) -> dict[str, Any]:
    """Return worst group, its value, gap, gap CI and gap p-value per attribute of one fairness result."""
    row: dict[str, Any] = {}
    for attribute in attributes:
        disparity = fairness["disparity"].get(attribute, {})
        low, high = disparity.get("ci", {}).get(f"{metric}_gap", [None, None])
        worst = disparity.get("worst_group", {}).get(metric)
        row[f"{prefix}{attribute}_worst"] = worst
        row[f"{prefix}{attribute}_worst_{metric}"] = fairness["by_group"][attribute][worst][metric] if worst else None
        row[f"{prefix}{attribute}_{metric}_gap"] = disparity.get(f"{metric}_gap")
        row[f"{prefix}{attribute}_{metric}_gap_ci"] = f"[{low:.2f}, {high:.2f}]" if low is not None else None
        row[f"{prefix}{attribute}_{metric}_gap_p"] = disparity.get("p_value", {}).get(f"{metric}_gap")
    return row


def job_row(job: Path, split: str, attributes: Sequence[str], metric: str, report_split: str | None = "test"
            ) -> dict[str, Any]:
    """Return the summary row of one job directory: selection-split columns, then report-split ones."""
    overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
    row: dict[str, Any] = {"job": job.name, "overrides": " ".join(overrides)}
    metrics_file, failure_file = job / "metrics.json", job / FAILURE_FILE
    if failure_file.is_file():
        failure = json.loads(failure_file.read_text())
        return {**row, "status": "failed", "error": f"{failure['type']}: {failure['message']}"}
    if not metrics_file.is_file():
        return {**row, "status": "missing", "error": "no metrics.json (still running, or killed)"}
    metrics = json.loads(metrics_file.read_text())
    row.update({"status": "ok", "error": "", "objective": metrics.get("objective")})
    splits = [split] + ([report_split] if report_split and report_split != split else [])
    for s in splits:
        row.update({f"{s}_{m}": metrics.get(s, {}).get(m) for m in OVERALL})
    for s in splits:
        fairness_file = job / "fairness" / f"{s}.json"
        if fairness_file.is_file():
            prefix = "" if s == split else f"{s}_"
            row.update(_attribute_columns(json.loads(fairness_file.read_text()), attributes, metric, prefix))
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
    rows = [job_row(job, split, attributes, metric, report_split) for job in job_dirs(sweep_dir)]
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
