"""The jobs of a sweep: where they are, whether each finished, and the one row of numbers each gives.

Every sweep view (summary.csv, summary_by_config.csv, the sweep report, `visage.compare sweep=`) reads
jobs through `sweep_jobs` and their numbers through `job_numbers`, so a job's status and values are
computed in one place. Reads only the jobs' JSON files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visage.core.errors import ConfigError
from visage.core.metric_specs import primary_metrics
from visage.core.run_files import FAILURE_FILE, METRICS_FILE, fairness_path, predictions_path
from visage.core.saved_run import OVERRIDES_FILE, read_json, read_overrides


@dataclass
class Job:
    """One job of a sweep: its directory, overrides, and whether it finished (`ok`, `failed` or `missing`)."""

    job_dir: Path
    overrides: list[str]
    status: str
    error: str = ""

    @property
    def name(self) -> str:
        """The job's name (its directory's name, e.g. "0")."""
        return self.job_dir.name


def job_dirs(sweep_dir: str | Path) -> list[Path]:
    """Return the job directories of a sweep (those with `.hydra/overrides.yaml`), in job order."""
    jobs = [p.parent.parent for p in Path(sweep_dir).glob(f"**/{OVERRIDES_FILE}")]
    return sorted(jobs, key=lambda p: (len(p.parts), int(p.name) if p.name.isdigit() else 0, str(p)))


def job_status(job_dir: Path, split: str | None = None) -> Job:
    """Return one job's status: failed (failure.json), missing (no metrics, or no predictions of `split`), else ok."""
    overrides = read_overrides(job_dir) or []
    failure = read_json(job_dir / FAILURE_FILE)
    if failure is not None:
        return Job(job_dir, overrides, "failed", f"{failure.get('type')}: {failure.get('message')}")
    if not (job_dir / METRICS_FILE).is_file():
        return Job(job_dir, overrides, "missing", "no metrics.json (still running, or killed)")
    if split is not None and not (predictions_path(job_dir, split).is_file() and fairness_path(job_dir, split).is_file()):
        return Job(job_dir, overrides, "missing", f"no predictions/fairness for split '{split}'")
    return Job(job_dir, overrides, "ok")


def sweep_jobs(sweep_dir: str | Path, split: str | None = None, *, required: bool = False) -> list[Job]:
    """Return the jobs of a sweep directory in job order, each with its status.

    Raises:
        ConfigError: with `required`, `sweep_dir` is not a directory or holds no job.
    """
    sweep_dir = Path(sweep_dir)
    if required and not sweep_dir.is_dir():
        raise ConfigError(f"sweep_dir={sweep_dir} is not a directory; give a sweep directory (experiments/sweeps/<sweep>)")
    jobs = [job_status(job, split) for job in job_dirs(sweep_dir)]
    if required and not jobs:
        raise ConfigError(f"sweep_dir={sweep_dir} holds no job directory (<job>/{OVERRIDES_FILE})")
    return jobs


def tasks_in(metrics: Mapping[str, Any]) -> list[str]:
    """Return the tasks a run has, from its metrics.json: age where an age error was scored, then its classifiers."""
    scored = {k for split in ("val", "test") for k in (metrics.get(split) or {})}
    classes = (metrics.get("dataset") or {}).get("classes") or {}
    return (["age"] if "age_mae" in scored else []) + [t for t in classes if t != "age"]


def headline_metrics(metrics: Mapping[str, Any]) -> list[str]:
    """Return the headline metric of each task of a run (age_mae, <task>_acc)."""
    return primary_metrics({task: "regression" if task == "age" else "classification" for task in tasks_in(metrics)})


def gap_numbers(fairness: Mapping[str, Any], attribute: str, metric: str) -> dict[str, Any]:
    """Return the worst group of `attribute` on `metric`, its value, and the gap with interval and p-value."""
    disparity = (fairness.get("disparity") or {}).get(attribute) or {}
    worst = (disparity.get("worst_group") or {}).get(metric)
    groups = (fairness.get("by_group") or {}).get(attribute) or {}
    return {"worst": worst, "worst_value": (groups.get(worst) or {}).get(metric) if worst is not None else None,
            "gap": disparity.get(f"{metric}_gap"), "gap_ci": (disparity.get("ci") or {}).get(f"{metric}_gap"),
            "gap_p": (disparity.get("p_value") or {}).get(f"{metric}_gap")}


def job_numbers(job: Job, splits: Sequence[str], attributes: Sequence[str] | None, metrics: Sequence[str] | None = None
                ) -> dict[str, Any]:
    """Return the numbers of one finished job, per split: overall headline values with intervals, gaps per attribute.

    Args:
        job: the job (its status must be ok).
        splits: the splits to read.
        attributes: attributes whose worst group and gap are read (None: every attribute of the fairness file).
        metrics: metrics whose worst group and gap are read (None: every metric the fairness file names a worst
            group for).

    Returns:
        `{"objective", "headline", split: {"overall": {m: value}, "ci": {m: [lo, hi]},
        "gaps": {attribute: {metric: gap_numbers(...)}}}}`.
    """
    scores = read_json(job.job_dir / METRICS_FILE) or {}
    headline = headline_metrics(scores)
    result: dict[str, Any] = {"objective": scores.get("objective"), "headline": headline}
    for split in splits:
        fairness = read_json(fairness_path(job.job_dir, split)) or {}
        overall = fairness.get("overall") or {}
        saved = scores.get(split) or {}
        values = {m: saved.get(m, overall.get(m)) for m in dict.fromkeys([*headline, *(k for k in saved if k != "n")])}
        shown = list(attributes) if attributes is not None else list(fairness.get("by_group") or {})
        result[split] = {"overall": values, "ci": {m: (overall.get("ci") or {}).get(m) for m in headline},
                         "fairness": bool(fairness),
                         "gaps": {a: {m: gap_numbers(fairness, a, m) for m in (metrics or _worst_metrics(fairness, a))}
                                  for a in shown}}
    return result


def _worst_metrics(fairness: Mapping[str, Any], attribute: str) -> list[str]:
    return list(((fairness.get("disparity") or {}).get(attribute) or {}).get("worst_group") or {})
