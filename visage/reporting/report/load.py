"""Reading what a report is written from: a run directory's files, or a sweep directory of runs.

Only saved files are read (YAML, JSON, Parquet); a file the report cannot do without is a
`ConfigError` naming it, one that is merely absent is `None` and the report says "not computed".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from visage.core.errors import ConfigError
from visage.core.run_files import BEST_CHECKPOINT, CONFIG_FILE, FAILURE_FILE, METRICS_FILE, fairness_path, predictions_path
from visage.reporting.sweep_summary import job_dirs

TRAINING_DISTRIBUTION_FILE = "training_distribution.json"
OVERRIDES_FILE = ".hydra/overrides.yaml"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


@dataclass
class RunFiles:
    """Everything one run directory holds that a report uses."""

    run_dir: Path
    split: str
    select_split: str
    config: dict[str, Any]
    overrides: list[str]
    metrics: dict[str, Any]
    fairness: dict[str, dict[str, Any] | None]
    predictions: pd.DataFrame
    training_distribution: dict[str, Any] | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run's name: its directory's name."""
        return self.run_dir.name

    @property
    def dataset(self) -> str:
        """The dataset's name (from metrics.json, else the config)."""
        return str(self.metrics.get("dataset", {}).get("name") or self.config.get("data", {}).get("name") or "unknown")

    def report_fairness(self) -> dict[str, Any]:
        """Return the fairness result of the reported split (always present once loaded)."""
        return self.fairness[self.split] or {}


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from None


def resolve_references(config: dict[str, Any]) -> dict[str, Any]:
    """Return `config` with `${a.b}` references replaced by the values they point to.

    Only plain references are resolved (Hydra resolvers such as `${hydra:...}` stay as written),
    so the resolved config can be shown without importing Hydra or OmegaConf.
    """

    def lookup(path: str, depth: int) -> Any:
        node: Any = config
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return resolve(node, depth + 1)

    def resolve(node: Any, depth: int = 0) -> Any:
        if depth > 20:
            return node
        if isinstance(node, dict):
            return {k: resolve(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, depth) for v in node]
        if isinstance(node, str) and (match := _REFERENCE.fullmatch(node)):
            found = lookup(match.group(1), depth)
            return node if found is None else found
        if isinstance(node, str) and _REFERENCE.search(node):
            def scalar(m: re.Match) -> str:
                found = lookup(m.group(1), depth)
                return str(found) if isinstance(found, (str, int, float, bool)) else m.group(0)

            return _REFERENCE.sub(scalar, node)
        return node

    return resolve(config)


def load_run(run_dir: str | Path, split: str = "test", select_split: str = "val") -> RunFiles:
    """Load a run directory for a report on `split` (models chosen on `select_split`).

    Raises:
        ConfigError: the directory, its predictions or fairness result of `split` is missing.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run={run_dir} is not a directory; give a run directory (experiments/runs/<run>)")
    predictions = predictions_path(run_dir, split)
    if not predictions.is_file():
        raise ConfigError(f"missing predictions file {predictions}; the run has no predictions for split '{split}' "
                          f"(rebuild them with python -m visage.evaluate run={run_dir})")
    fairness = {s: _read_json(fairness_path(run_dir, s)) for s in dict.fromkeys([select_split, split])}
    if fairness[split] is None:
        raise ConfigError(f"missing fairness file {fairness_path(run_dir, split)}; "
                          f"compute it with python -m visage.evaluate run={run_dir}")
    config_file, overrides_file = run_dir / CONFIG_FILE, run_dir / OVERRIDES_FILE
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else None
    metrics = _read_json(run_dir / METRICS_FILE) or {}
    files = {"config": config_file, "predictions": predictions, "metrics": run_dir / METRICS_FILE,
             "checkpoint": run_dir / BEST_CHECKPOINT}
    return RunFiles(run_dir=run_dir, split=split, select_split=select_split,
                    config=resolve_references(config or {}),
                    overrides=list(overrides if overrides is not None else metrics.get("overrides", [])),
                    metrics=metrics, fairness=fairness, predictions=pd.read_parquet(predictions),
                    training_distribution=_read_json(run_dir / TRAINING_DISTRIBUTION_FILE),
                    files={k: v for k, v in files.items() if v.is_file()})


@dataclass
class JobStatus:
    """One job of a sweep: its directory, overrides, and whether it finished."""

    job_dir: Path
    overrides: list[str]
    status: str           # ok / failed / missing
    error: str = ""

    @property
    def name(self) -> str:
        """The job's name (its directory's name, e.g. "0")."""
        return self.job_dir.name


def sweep_jobs(sweep_dir: str | Path, split: str = "test") -> list[JobStatus]:
    """Return the jobs of a sweep directory in job order.

    Raises:
        ConfigError: `sweep_dir` is not a directory or holds no job.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError(f"sweep={sweep_dir} is not a directory; give a sweep directory (experiments/sweeps/<sweep>)")
    dirs = job_dirs(sweep_dir)
    if not dirs:
        raise ConfigError(f"sweep={sweep_dir} holds no job directory (<job>/{OVERRIDES_FILE})")
    jobs = []
    for job in dirs:
        overrides = yaml.safe_load((job / OVERRIDES_FILE).read_text()) or []
        failure = _read_json(job / FAILURE_FILE)
        if failure is not None:
            jobs.append(JobStatus(job, overrides, "failed", f"{failure.get('type')}: {failure.get('message')}"))
        elif not predictions_path(job, split).is_file() or not fairness_path(job, split).is_file():
            jobs.append(JobStatus(job, overrides, "missing", f"no predictions/fairness for split '{split}'"))
        else:
            jobs.append(JobStatus(job, overrides, "ok"))
    return jobs
