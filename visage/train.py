"""`python -m visage.train [overrides]`: train, predict and score one configuration (`-m` sweeps).

Prints and returns the configured objective, so Hydra sweepers can optimise it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from visage.core.errors import ConfigError
from visage.core.run_files import LAST_CHECKPOINT, METRICS_FILE, write_json
from visage.fairness.settings import validate_evaluation
from visage.models.checkpoints import load_checkpoint
from visage.models.inference import predict_split
from visage.runner import builders
from visage.runner.cli import run_command
from visage.runner.experiment_logging import log_results
from visage.runner.scoring import score_split
from visage.runner.sweep_jobs import resume_overrides, run_job

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, then predict and score val and test, writing the run files; return (metrics dict, objects dict)."""
    validate_evaluation(cfg.evaluation, sensitive=cfg.data.get("sensitive_attributes"))  # bad settings fail before any build
    weights = builders.check_weights(cfg)  # pretrained weights neither cached nor reachable: one line, before any data
    preprocessing = builders.choose_image_size(cfg)  # the weights' input size unless the user set data.image_size
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    pl.seed_everything(cfg.seed, workers=True)
    torch.use_deterministic_algorithms(bool(cfg.trainer.get("deterministic", False)), warn_only=True)
    output_dir = Path(cfg.paths.output_dir)
    datamodule = builders.build_datamodule(cfg)
    module = builders.build_module(cfg, datamodule)
    module.run_spec = builders.run_spec(cfg, datamodule, preprocessing, weights)
    loggers = builders.build_loggers(cfg)
    trainer = builders.build_trainer(cfg, loggers)
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    # Checkpoints hold tensors and plain containers only (random states included), so resume reads them weights-only.
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_checkpoint(cfg), weights_only=True)
    trainer.strategy.barrier()  # under DDP, rank 0 has written the checkpoints before anyone reads them
    best = getattr(trainer.checkpoint_callback, "best_model_path", "")
    if best:
        module.load_state_dict(load_checkpoint(best)["state_dict"])
        log.info("predicting with the best checkpoint %s", best)
    objects = {"cfg": cfg, "datamodule": datamodule, "module": module, "trainer": trainer}
    if not trainer.is_global_zero:  # ranks > 0 take part in the collective predictions; rank 0 writes the run files
        for split in cfg.evaluation.splits:
            predict_split(trainer, module, datamodule, split, list(cfg.evaluation.age_bins))
        return {}, objects

    metrics: dict[str, Any] = {}
    fairness: dict[str, dict[str, Any]] = {}
    for split in cfg.evaluation.splits:
        metrics[split], fairness[split] = score_split(trainer, module, datamodule, split, cfg.evaluation, output_dir)
    dataset = datamodule.dataset
    metrics["dataset"] = {"name": dataset.name, **dataset.describe(),
                          "classes": {task: list(names) for task, names in dataset.task_classes.items()}}
    metrics["overrides"] = list(cfg.get("job_overrides") or [])
    metrics["precision"] = str(trainer.precision)  # what trained (trainer.precision=null chooses by the CPU)
    metrics[builders.PRETRAINED_WEIGHTS_KEY] = weights  # name, tag, hf_hub_id, file, sha256 of the starting weights (or null)
    metrics["objective"] = instantiate(cfg.objective)(metrics=metrics, fairness=fairness)
    write_json(output_dir / METRICS_FILE, metrics)
    log_results(loggers, metrics, fairness)
    return metrics, {**objects, "fairness": fairness}


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """Return the checkpoint to continue from (`resume=<run dir>`: its `checkpoints/last.ckpt`), if any."""
    if not cfg.get("resume"):
        return None
    checkpoint = Path(cfg.resume) / LAST_CHECKPOINT
    if not checkpoint.is_file():
        raise ConfigError(f"resume={cfg.resume} has no {LAST_CHECKPOINT} to continue from")
    log.info("resuming from %s", checkpoint)
    return str(checkpoint)


def job(cfg: DictConfig) -> float:
    """Run `train` as one Hydra job (see `run_job`); return the objective for sweepers."""
    return run_job(cfg, train)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.train [key=value ...] [-m]`: parse the command line (`visage.runner.cli`) and train."""
    run_command("train", job, argv, rewrite=resume_overrides)


if __name__ == "__main__":
    main()
