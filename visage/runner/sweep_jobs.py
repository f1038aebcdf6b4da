"""The job wrapper every training run goes through (as lightning-hydra-template's `task_wrapper`).

It owns what makes single runs and sweeps robust: a job that already finished is skipped on rerun,
a failing sweep job is recorded in `failure.json` (the sweep goes on), a single run with bad config
exits 2 with one line, and the W&B run is closed exactly once, whatever happened.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict, read_write

from visage.core.errors import ConfigError, config_error_in, exit_with_usage_error
from visage.core.run_files import FAILURE_FILE, LAST_CHECKPOINT, METRICS_FILE, write_json
from visage.runner.cli import remove_fresh_output_dir

log = logging.getLogger(__name__)

RESUME_KEY = "resume"
TrainFn = Callable[[DictConfig], tuple[dict[str, Any], dict[str, Any]]]


def finished_objective(output_dir: Path, overrides: Sequence[str]) -> float | None:
    """Return the objective of a job that already finished with these overrides, else None (resume)."""
    metrics_file = output_dir / METRICS_FILE
    if not metrics_file.is_file():
        return None
    metrics = json.loads(metrics_file.read_text())
    if metrics.get("overrides") != list(overrides):
        return None
    return float(metrics["objective"])


def root_cause(error: BaseException) -> BaseException:
    """Return the innermost cause of `error` (Hydra wraps errors raised while instantiating)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def record_failure(output_dir: Path, error: BaseException) -> float:
    """Write `failure.json` (error type, message, traceback) for a failed job; return NaN as its objective."""
    cause = root_cause(error)
    message = str(cause).strip()
    write_json(output_dir / FAILURE_FILE, {
        "type": type(cause).__name__,
        "message": message.splitlines()[0] if message else "",
        "traceback": "".join(traceback.format_exception(error)),
    })
    return math.nan


def clear_failure(output_dir: Path) -> None:
    """Remove a failure record left by an earlier try of this job."""
    (output_dir / FAILURE_FILE).unlink(missing_ok=True)


def finish_wandb() -> None:
    """Close the W&B run of this job, if one is open (each sweep job must finish its own)."""
    if "wandb" in sys.modules:
        import wandb

        if wandb.run is not None:
            wandb.finish()


def run_job(cfg: DictConfig, train: TrainFn) -> float:
    """Run `train(cfg)` as one Hydra job and return its objective.

    A single run with bad config exits 2 with one line and leaves no run directory. In a sweep (`-m`)
    a failing job is recorded in its `failure.json` (objective NaN) and the sweep goes on; a job that
    already finished is not run again.
    """
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = [o for o in hydra_cfg.overrides.task if not o.startswith(f"{RESUME_KEY}=")]
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    with open_dict(cfg):
        cfg.job_overrides = overrides
        if in_sweep:  # read by logger configs: a W&B run per job, named by its overrides, grouped by sweep
            cfg.sweep_group = Path(hydra_cfg.sweep.dir).name
            cfg.sweep_job_name = hydra_cfg.job.override_dirname or None
    if in_sweep:
        if (done := finished_objective(output_dir, overrides)) is not None:
            print(f"already finished, skipped: {' '.join(overrides)} (objective {done:.4f})")
            return done
        if (output_dir / LAST_CHECKPOINT).is_file():  # a job killed mid-training continues where it stopped
            with open_dict(cfg):
                cfg.resume = str(output_dir)
        _ddp_ranks_rerun_this_job(output_dir, overrides)
    try:
        metrics, _ = train(cfg)
    except Exception as error:
        if in_sweep:
            log.error("job failed (%s): %s", " ".join(overrides), error)
            return record_failure(output_dir, error)
        usage_error = config_error_in(error)
        if usage_error is None:
            raise
        finish_wandb()
        remove_fresh_output_dir(output_dir)
        exit_with_usage_error(usage_error)
    finally:
        finish_wandb()
    if not metrics:  # a DDP rank > 0: rank 0 reports
        return math.nan
    clear_failure(output_dir)
    print(f"objective: {metrics['objective']:.4f}")
    return metrics["objective"]


def _ddp_ranks_rerun_this_job(output_dir: Path, overrides: Sequence[str]) -> None:
    """Make DDP ranks > 0 run this sweep job alone, in its own directory.

    Lightning starts them by re-running `sys.argv` with `hydra.run.dir=<this run dir>`; inside a sweep
    `sys.argv` still holds `-m` and the sweep's lists, so each rank would start a sweep of its own.
    """
    sys.argv = [sys.argv[0], *overrides]
    hydra_cfg = HydraConfig.get()
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        hydra_cfg.run.dir = str(output_dir)


def resume_overrides(overrides: list[str]) -> list[str]:
    """Return the overrides that continue `resume=<run dir>`: that run's own overrides, in its own directory.

    `python -m visage.train resume=<run dir>` re-composes the run's config from its saved
    `.hydra/overrides.yaml` (plus any overrides given beside `resume=`), writes into the same directory
    and continues from `checkpoints/last.ckpt` with the random state saved there. Without `resume=`
    the overrides are returned as they are.

    Raises:
        ConfigError: the directory is not an interrupted visage run.
    """
    resume = [o for o in overrides if o.startswith(f"{RESUME_KEY}=")]
    if not resume:
        return list(overrides)
    run_dir = Path(resume[-1].split("=", 1)[1]).expanduser()
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file() or not (run_dir / LAST_CHECKPOINT).is_file():
        raise ConfigError(f"resume={run_dir} is not an interrupted visage run "
                          f"(needs .hydra/overrides.yaml and {LAST_CHECKPOINT})")
    original = [o for o in yaml.safe_load(saved.read_text()) or [] if not o.startswith(f"{RESUME_KEY}=")]
    extra = [o for o in overrides if not o.startswith(f"{RESUME_KEY}=")]
    run_dir_given = any(o.startswith("hydra.run.dir=") for o in extra)  # a DDP rank is started with its own
    return [*original, *extra, f"{RESUME_KEY}={run_dir}", *([] if run_dir_given else [f"hydra.run.dir={run_dir}"])]
