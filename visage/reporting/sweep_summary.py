"""One row per job of a sweep: overrides, status, overall metrics, worst group and gap with CIs, Pareto front.

Written at the end of every multirun (the Hydra callback below) and on demand with
`python -m visage.summarize sweep=<dir>`; reads only the jobs' JSON files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from visage.reporting.markdown import markdown_table

FAILURE_FILE = "failure.json"
OVERALL = ("age_mae", "gender_acc", "race_acc")


def _job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml")]
    return sorted(jobs, key=lambda p: (len(p.parts), int(p.name) if p.name.isdigit() else 0, str(p)))


def job_row(job: Path, split: str, attributes: Sequence[str], metric: str) -> dict[str, Any]:
    """Return the summary row of one job directory."""
    overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
    row: dict[str, Any] = {"job": job.name, "overrides": " ".join(overrides)}
    metrics_file, fairness_file, failure_file = job / "metrics.json", job / "fairness" / f"{split}.json", job / FAILURE_FILE
    if failure_file.is_file():
        failure = json.loads(failure_file.read_text())
        return {**row, "status": "failed", "error": f"{failure['type']}: {failure['message']}"}
    if not metrics_file.is_file():
        return {**row, "status": "missing", "error": "no metrics.json (still running, or killed)"}
    metrics = json.loads(metrics_file.read_text())
    row.update({"status": "ok", "error": "", "objective": metrics.get("objective")})
    row.update({f"{split}_{m}": metrics.get(split, {}).get(m) for m in OVERALL})
    if fairness_file.is_file():
        fairness = json.loads(fairness_file.read_text())
        for attribute in attributes:
            disparity = fairness["disparity"].get(attribute, {})
            low, high = disparity.get("ci", {}).get(f"{metric}_gap", [None, None])
            worst = disparity.get("worst_group", {}).get(metric)
            row[f"{attribute}_worst"] = worst
            row[f"{attribute}_worst_{metric}"] = fairness["by_group"][attribute][worst][metric] if worst else None
            row[f"{attribute}_{metric}_gap"] = disparity.get(f"{metric}_gap")
            row[f"{attribute}_{metric}_gap_ci"] = f"[{low:.2f}, {high:.2f}]" if low is not None else None
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


def summarize_sweep(sweep_dir: str | Path, split: str = "test", attributes: Sequence[str] = ("race", "gender", "age_bin"),
                    metric: str = "age_mae", pareto_attribute: str = "race") -> pd.DataFrame:
    """Write `summary.csv` and `summary.md` into the sweep directory; return the table."""
    sweep_dir = Path(sweep_dir)
    rows = [job_row(job, split, attributes, metric) for job in _job_dirs(sweep_dir)]
    table = pd.DataFrame(rows)
    if table.empty:
        table = pd.DataFrame(columns=["job", "overrides", "status", "error"])
    error_column, gap_column = f"{split}_{metric}", f"{pareto_attribute}_{metric}_gap"
    if error_column in table and gap_column in table:
        table["pareto"] = pareto_front(table[error_column].astype(float).to_numpy(),
                                       table[gap_column].astype(float).to_numpy())
    table.to_csv(sweep_dir / "summary.csv", index=False)
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    lines = [f"# Sweep summary: {sweep_dir.name}", "",
             f"{len(table)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
             f"Metrics on the `{split}` split; gaps are worst − best group {metric} with bootstrap CIs. "
             f"`pareto` marks the jobs no other job beats on both overall {metric} and its {pareto_attribute} gap.",
             "", markdown_table(table, index=False), ""]
    (sweep_dir / "summary.md").write_text("\n".join(lines))
    return table


class SweepSummaryCallback(Callback):
    """Hydra callback: writes the sweep summary when a multirun ends."""

    def __init__(self, split: str = "test", attributes: Sequence[str] = ("race", "gender", "age_bin"),
                 metric: str = "age_mae") -> None:
        self.split, self.attributes, self.metric = split, list(attributes), metric

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise the sweep directory of this multirun."""
        path = Path(config.hydra.sweep.dir)
        if path.is_dir():
            table = summarize_sweep(path, self.split, self.attributes, self.metric)
            print(f"sweep summary ({len(table)} jobs): {path / 'summary.md'}")
