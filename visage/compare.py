"""`python -m visage.compare run=<a> baseline=<b> [out=<dir>]` (or `sweep_dir=<dir> baseline=<job>`): paired differences.

Reads only the runs' saved files (no torch): `predictions/<split>.parquet`, `.hydra/config.yaml` and
`metrics.json`; writes `compare.json` and `compare.md` (see `visage.fairness.paired`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from visage.core.errors import ConfigError
from visage.core.run_files import CONFIG_FILE, METRICS_FILE, predictions_path, write_json
from visage.fairness.multiple_testing import validate_correction
from visage.fairness.paired import paired_differences
from visage.fairness.settings import settings_from_config
from visage.reporting.comparison import paired_markdown, paired_tests
from visage.reporting.summaries.jobs import job_dirs
from visage.runner.cli import run_command


def read_predictions(run_dir: Path, split: str) -> pd.DataFrame:
    """Return the saved predictions of `split`; ConfigError naming the run if there are none."""
    path = predictions_path(run_dir, split)
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no predictions for split '{split}' ({path} is missing)")
    return pd.read_parquet(path)


def run_settings(run_dir: Path, overrides: DictConfig) -> tuple[Any, dict[str, list[str]]]:
    """Return the fairness settings of a run (with `overrides` applied) and its class names."""
    if not (run_dir / CONFIG_FILE).is_file() or not (run_dir / METRICS_FILE).is_file():
        raise ConfigError(f"run={run_dir} is not a finished visage run (needs {CONFIG_FILE} and {METRICS_FILE})")
    run_cfg = OmegaConf.load(run_dir / CONFIG_FILE)
    evaluation = run_cfg.evaluation
    sensitive = OmegaConf.select(run_cfg, "data.sensitive_attributes")  # the run's data decides its default groups
    set_values = {k: v for k, v in OmegaConf.to_container(overrides.evaluation.fairness).items() if v is not None}
    evaluation.fairness = OmegaConf.merge(evaluation.fairness, set_values)
    classes = json.loads((run_dir / METRICS_FILE).read_text()).get("dataset", {}).get("classes", {})
    return settings_from_config(evaluation, classes, None if sensitive is None else list(sensitive)), classes


def compare_runs(run_dir: Path, baseline_dir: Path, cfg: DictConfig, out: Path | None = None) -> Path:
    """Write compare.json and compare.md of run − baseline; return the output directory."""
    for path, key in ((run_dir, "run"), (baseline_dir, "baseline")):
        if not path.is_dir():
            raise ConfigError(f"{key}={path} is not a directory")
    settings, classes = run_settings(run_dir, cfg)
    run_settings(baseline_dir, cfg)  # the baseline must be a finished run too
    result = paired_differences(read_predictions(run_dir, cfg.split), read_predictions(baseline_dir, cfg.split),
                                settings, class_names=classes)
    correction, alpha = str(cfg.get("correction", "holm")), float(cfg.get("alpha", 0.05))
    validate_correction(correction, alpha)
    result = {"run": run_dir.name, "baseline": baseline_dir.name, **result, "split": cfg.split}
    result.update(paired_tests(result, correction, alpha))
    out = out or run_dir / "compare" / baseline_dir.name
    write_json(out / "compare.json", result)
    (out / "compare.md").write_text(paired_markdown(result, run_dir.name, baseline_dir.name) + "\n")
    return out


def baseline_job(jobs: list[Path], baseline: str) -> Path:
    """Return the job named `baseline`, else the job at index `baseline`; ConfigError listing the jobs."""
    by_name = {p.name: p for p in jobs}
    if str(baseline) in by_name:
        return by_name[str(baseline)]
    if str(baseline).lstrip("-").isdigit() and -len(jobs) <= int(baseline) < len(jobs):
        return jobs[int(baseline)]
    raise ConfigError(f"unknown baseline job '{baseline}'; available: {', '.join(by_name) or 'none'}")


def run(cfg: DictConfig) -> None:
    """Compare a run (or every job of a sweep) with a baseline on the same samples."""
    if (cfg.run is None) == (cfg.sweep_dir is None):
        raise ConfigError("give exactly one of run=<run dir> or sweep_dir=<sweep dir>, with baseline=")
    if cfg.baseline is None:
        raise ConfigError("missing value for baseline; set it on the command line, e.g. baseline=<run dir>")
    if cfg.run is not None:
        out = compare_runs(Path(cfg.run), Path(str(cfg.baseline)), cfg, Path(cfg.out) if cfg.out else None)
        print(f"wrote {out / 'compare.json'} and compare.md")
        return
    sweep_dir = Path(cfg.sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError(f"sweep_dir={cfg.sweep_dir} is not a directory")
    jobs = job_dirs(sweep_dir)
    baseline = baseline_job(jobs, str(cfg.baseline))
    for job in jobs:
        if job != baseline and predictions_path(job, cfg.split).is_file():
            out = compare_runs(job, baseline, cfg, Path(cfg.out) / job.name if cfg.out else None)
            print(f"wrote {out / 'compare.json'} and compare.md")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.compare [key=value ...]`: parse the command line (`visage.runner.cli`) and compare."""
    run_command("compare", run, argv)


if __name__ == "__main__":
    main()
