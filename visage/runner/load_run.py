"""`load_run(run_dir)`: the one way every command opens a trained run (config, class names, module)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.core.errors import ConfigError
from visage.core.run_files import BEST_CHECKPOINT, CONFIG_FILE, METRICS_FILE
from visage.models.module import RUN_SPEC_KEY
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
    run_dir = Path(run).expanduser()
    metrics_file, checkpoint_file = run_dir / METRICS_FILE, run_dir / BEST_CHECKPOINT
    if not metrics_file.is_file() or not ((run_dir / CONFIG_FILE).is_file() or checkpoint_file.is_file()):
        raise ConfigError(f"run={run} is not a finished visage run (needs {CONFIG_FILE} and {METRICS_FILE})")
    metrics = json.loads(metrics_file.read_text())
    if module and not checkpoint_file.is_file():
        raise ConfigError(f"run={run} has no {BEST_CHECKPOINT} to predict with")
    checkpoint = None
    if module or not (run_dir / CONFIG_FILE).is_file():
        checkpoint = torch.load(checkpoint_file, map_location="cpu", weights_only=False)
    spec = (checkpoint or {}).get(RUN_SPEC_KEY) or _spec_from_files(run_dir, metrics)
    config = OmegaConf.create(spec["config"])
    loaded = LoadedRun(run_dir, config, {k: list(v) for k, v in spec["classes"].items()}, bool(spec["has_age"]),
                       metrics, dict(spec.get("preprocessing", {})), dict(spec.get("dataset", {})))
    if module:
        model_cfg = OmegaConf.to_container(config.model, resolve=True)
        for backbone in _backbone_nodes(model_cfg):
            backbone.update(pretrained=False, checkpoint_path=None)  # the checkpoint holds the weights
        loaded.module = build_model(model_cfg, loaded.classes, loaded.has_age)
        loaded.module.load_state_dict(checkpoint["state_dict"])
        loaded.module.eval()
    return loaded


def _backbone_nodes(node: Any) -> list[dict[str, Any]]:
    """Return every backbone spec (a dict with `pretrained`) inside a model config."""
    if isinstance(node, dict):
        own = [node] if "pretrained" in node and "_target_" in node else []
        return own + [b for value in node.values() for b in _backbone_nodes(value)]
    return []
