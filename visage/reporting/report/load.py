"""Reading what a report is written from: a run directory's files, or a sweep directory of runs.

Only saved files are read (YAML, JSON, Parquet); a file the report cannot do without is a
`ConfigError` naming it, one that is merely absent is `None` and the report says "not computed".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from visage.core.errors import ConfigError
from visage.core.run_files import BEST_CHECKPOINT, CONFIG_FILE, METRICS_FILE, fairness_path, predictions_path
from visage.core.saved_run import TRAINING_DISTRIBUTION_FILE, finished_run, read_config, read_json, read_overrides


@dataclass
class RunFiles:
    """Everything one run directory (or, for an audit, one predictions file) holds that a report uses.

    `run_dir` is None for an audit: there is no training run, so its config, metrics and training
    distribution are empty and the sections that need them are left out.
    """

    run_dir: Path | None
    split: str
    select_split: str
    config: dict[str, Any]
    overrides: list[str]
    metrics: dict[str, Any]
    fairness: dict[str, dict[str, Any] | None]
    predictions: pd.DataFrame
    training_distribution: dict[str, Any] | None = None
    files: dict[str, Path] = field(default_factory=dict)
    source_name: str = ""
    about: str | None = None   # an audit's model description (Markdown), where one was supplied

    @property
    def name(self) -> str:
        """The run's name: its directory's name (an audit's: its predictions file's stem)."""
        return self.source_name or (self.run_dir.name if self.run_dir else "audit")

    @property
    def root(self) -> Path:
        """The directory file paths in the report are relative to (the run, or the predictions file's folder)."""
        return self.run_dir if self.run_dir is not None else self.files["predictions"].parent

    @property
    def is_audit(self) -> bool:
        """True for a report of a predictions file alone (no training run)."""
        return self.run_dir is None

    @property
    def dataset(self) -> str:
        """The dataset's name (from metrics.json, else the config)."""
        return str(self.metrics.get("dataset", {}).get("name") or self.config.get("data", {}).get("name") or "unknown")

    def report_fairness(self) -> dict[str, Any]:
        """Return the fairness result of the reported split (always present once loaded)."""
        return self.fairness[self.split] or {}


def load_run(run_dir: str | Path, split: str = "test", select_split: str = "val") -> RunFiles:
    """Load a run directory for a report on `split` (models chosen on `select_split`).

    Raises:
        ConfigError: the directory is not a finished run, or its predictions or fairness result of `split` is missing.
    """
    run_dir, metrics = finished_run(run_dir)
    predictions = predictions_path(run_dir, split)
    if not predictions.is_file():
        raise ConfigError(f"missing predictions file {predictions}; the run has no predictions for split '{split}' "
                          f"(rebuild them with python -m visage.evaluate run={run_dir})")
    fairness = {s: read_json(fairness_path(run_dir, s)) for s in dict.fromkeys([select_split, split])}
    if fairness[split] is None:
        raise ConfigError(f"missing fairness file {fairness_path(run_dir, split)}; "
                          f"compute it with python -m visage.evaluate run={run_dir}")
    overrides = read_overrides(run_dir)
    files = {"config": run_dir / CONFIG_FILE, "predictions": predictions, "metrics": run_dir / METRICS_FILE,
             "checkpoint": run_dir / BEST_CHECKPOINT}
    files.update({f"fairness_{s}": fairness_path(run_dir, s) for s in fairness})
    files["training_distribution"] = run_dir / TRAINING_DISTRIBUTION_FILE
    return RunFiles(run_dir=run_dir, split=split, select_split=select_split, config=read_config(run_dir),
                    overrides=list(overrides if overrides is not None else metrics.get("overrides", [])),
                    metrics=metrics, fairness=fairness, predictions=pd.read_parquet(predictions),
                    training_distribution=read_json(run_dir / TRAINING_DISTRIBUTION_FILE),
                    files={k: v for k, v in files.items() if v.is_file()})
