"""`load_run(run_dir)`: the one way every command opens a trained run (config, class names, module)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.core.errors import ConfigError
from visage.core.run_files import BEST_CHECKPOINT, CONFIG_FILE
from visage.core.saved_run import finished_run
from visage.models.checkpoints import load_checkpoint
from visage.models.module import RUN_SPEC_KEY, backbone_specs, standalone
from visage.runner.builders import build_model


@dataclass
class LoadedRun:
    """A trained run: its directory, resolved config, class names, metrics and (if loaded) module."""

    run_dir: Path
    config: DictConfig
    classes: dict[str, list[str]]
    has_age: bool
    metrics: dict[str, Any]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    module: pl.LightningModule | None = None

    @property
    def image_size(self) -> int:
        """Side of the square uint8 RGB images the model takes."""
        return int(self.preprocessing.get("image_size") or self.config.data.image_size)


def _spec_from_files(run_dir: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    """Return a run spec for a run whose checkpoint carries none (written before checkpoints did)."""
    config = OmegaConf.load(run_dir / CONFIG_FILE)
    with open_dict(config):
        config.paths.output_dir = str(run_dir)
    dataset = metrics.get("dataset", {})
    classes = dataset.get("classes", {})
    return {"config": OmegaConf.to_container(config, resolve=True), "classes": classes,
            "has_age": "age_mae" in metrics.get("test", metrics.get("val", {})), "dataset": dataset,
            "preprocessing": {"image_size": int(config.data.get("image_size") or 64)}}


def load_run(run: str | Path, *, module: bool = True) -> LoadedRun:
    """Return the run at `run`; with `module`, its trained module from `checkpoints/best.ckpt` in eval mode.

    Needs neither Hydra's `${hydra:...}` resolvers nor the pretrained-weights file the run started
    from: the checkpoint carries the resolved config, class names and preprocessing.

    Raises:
        ConfigError: `run` is not a finished visage run, or lacks its checkpoint (one line for the user).
    """
    run_dir, metrics = finished_run(run)  # the torch-free half, shared with the report and compare
    checkpoint_file = run_dir / BEST_CHECKPOINT
    if module and not checkpoint_file.is_file():
        raise ConfigError(f"run={run} has no {BEST_CHECKPOINT} to predict with")
    checkpoint = None
    if module or not (run_dir / CONFIG_FILE).is_file():
        checkpoint = load_checkpoint(checkpoint_file)
    spec = (checkpoint or {}).get(RUN_SPEC_KEY) or _spec_from_files(run_dir, metrics)
    config = OmegaConf.create(spec["config"])
    loaded = LoadedRun(run_dir, config, {k: list(v) for k, v in spec["classes"].items()}, bool(spec["has_age"]),
                       metrics, dict(spec.get("preprocessing", {})), dict(spec.get("dataset", {})))
    if module:
        loaded.module = _module_of(checkpoint, loaded)
        loaded.module.load_state_dict(checkpoint["state_dict"])
        loaded.module.eval()
    return loaded


def _module_of(checkpoint: dict[str, Any], run: LoadedRun) -> pl.LightningModule:
    """Return the untrained module of a checkpoint: from its saved hyperparameters (as `load_from_checkpoint`
    does), or for a checkpoint that has none (written before they were saved) from the run's model config.

    Neither fetches pretrained weights: the backbone is rebuilt with `pretrained=false`.
    """
    hparams = checkpoint.get("hyper_parameters")
    if hparams:
        return get_class(run.config.model._target_)(**standalone(dict(hparams)))
    model_cfg = OmegaConf.to_container(run.config.model, resolve=True)
    for backbone in backbone_specs(model_cfg):
        backbone.update(pretrained=False, checkpoint_path=None)  # the checkpoint holds the weights
    return build_model(model_cfg, run.classes, run.has_age)
