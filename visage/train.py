"""`python -m visage.train [overrides]`: train, predict and score one configuration (`-m` sweeps).

Prints and returns the configured objective, so Hydra sweepers can optimise it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning.pytorch as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.cli import CONFIG_DIR, remove_fresh_output_dir, run_entry_point
from visage.data.build import build_dataset
from visage.data.datamodule import FaceDataModule
from visage.errors import config_error_in, exit_with_usage_error
from visage.run_files import write_json
from visage.scoring import score_split
from visage.sweep_jobs import clear_failure, finished_objective, record_failure
from visage.tracking import log_results

log = logging.getLogger(__name__)


def build_datamodule(cfg: DictConfig) -> FaceDataModule:
    """Return the datamodule of `cfg`, its dataset built from `cfg.data`."""
    return instantiate(cfg.datamodule, dataset=build_dataset(cfg.data))


def build_module(cfg: DictConfig, datamodule: FaceDataModule) -> pl.LightningModule:
    """Return the LightningModule of `cfg`, with a head per task the dataset labels, sized for its classes."""
    dataset = datamodule.dataset
    num_classes = {task: len(names) for task, names in dataset.task_classes.items()}
    return instantiate(cfg.model, num_classes=num_classes, **({} if dataset.has_age else {"age_head": None}))


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Return the configured Lightning loggers (none for `logger=none`)."""
    return [instantiate(spec) for spec in (cfg.get("logger") or {}).values()]


def build_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """Return the configured callbacks (checkpointing, early stopping, ...)."""
    return [instantiate(spec) for spec in (cfg.get("callbacks") or {}).values()]


def train(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, then predict and score val and test, writing the run files; return (metrics dict, objects dict)."""
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    pl.seed_everything(cfg.seed, workers=True)
    torch.use_deterministic_algorithms(bool(cfg.trainer.get("deterministic", False)), warn_only=True)
    output_dir = Path(cfg.paths.output_dir)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    loggers = build_loggers(cfg)
    trainer: pl.Trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=build_callbacks(cfg))
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    trainer.fit(module, datamodule=datamodule)
    best = getattr(trainer.checkpoint_callback, "best_model_path", "")
    if best:
        module.load_state_dict(torch.load(best, map_location="cpu", weights_only=False)["state_dict"])
        log.info("predicting with the best checkpoint %s", best)

    metrics: dict[str, Any] = {}
    fairness: dict[str, dict[str, Any]] = {}
    for split in cfg.evaluation.splits:
        metrics[split], fairness[split] = score_split(trainer, module, datamodule, split, cfg.evaluation, output_dir)
    dataset = datamodule.dataset
    metrics["dataset"] = {"name": dataset.name, **dataset.describe(),
                          "classes": {task: list(names) for task, names in dataset.task_classes.items()}}
    metrics["overrides"] = list(cfg.get("job_overrides") or [])
    metrics["objective"] = instantiate(cfg.objective)(metrics=metrics, fairness=fairness)
    write_json(output_dir / "metrics.json", metrics)
    log_results(loggers, metrics, fairness)
    return metrics, {"cfg": cfg, "datamodule": datamodule, "module": module, "trainer": trainer, "fairness": fairness}


def finish_wandb() -> None:
    """Close the W&B run of this job, if one is open (each sweep job must finish its own)."""
    if "wandb" in sys.modules:
        import wandb

        if wandb.run is not None:
            wandb.finish()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float:
    """Run `train` for Hydra; return the objective.

    A single run with bad config exits 2 with one line. In a sweep (`-m`) a failing job is recorded
    in its `failure.json` and the sweep goes on; a job that already finished is not run again.
    """
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = list(hydra_cfg.overrides.task)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    with open_dict(cfg):
        cfg.job_overrides = overrides
        if in_sweep:  # read by logger configs: a W&B run per job, named by its overrides, grouped by sweep
            cfg.sweep_group = Path(hydra_cfg.sweep.dir).name
            cfg.sweep_job_name = hydra_cfg.job.override_dirname or None
    if in_sweep and (done := finished_objective(output_dir, overrides)) is not None:
        print(f"already finished, skipped: {' '.join(overrides)} (objective {done:.4f})")
        return done
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
    clear_failure(output_dir)
    print(f"objective: {metrics['objective']:.4f}")
    return metrics["objective"]


if __name__ == "__main__":
    run_entry_point(main, config_name="train")
