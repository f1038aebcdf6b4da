"""Building the parts of a run from its config: datamodule, module, loggers, callbacks, trainer.

Commands build through these functions and never import another command (as lightning-hydra-template's
`instantiators`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from visage.data.build import build_dataset
from visage.data.datamodule import FaceDataModule


def build_datamodule(cfg: DictConfig) -> FaceDataModule:
    """Return the datamodule of `cfg`, its dataset built from `cfg.data`."""
    return instantiate(cfg.datamodule, dataset=build_dataset(cfg.data))


def build_model(model_cfg: DictConfig | Mapping[str, Any], classes: Mapping[str, Sequence[str]],
                has_age: bool) -> pl.LightningModule:
    """Return the LightningModule of a `model` config, with a head per labelled task sized for its classes."""
    num_classes = {task: len(names) for task, names in classes.items()}
    return instantiate(model_cfg, num_classes=num_classes, **({} if has_age else {"age_head": None}))


def build_module(cfg: DictConfig, datamodule: FaceDataModule) -> pl.LightningModule:
    """Return the LightningModule of `cfg` for the dataset of `datamodule`."""
    dataset = datamodule.dataset
    return build_model(cfg.model, dataset.task_classes, dataset.has_age)


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Return the configured Lightning loggers (none for `logger=none`; `logger.<name>=null` drops one)."""
    return [instantiate(spec) for spec in (cfg.get("logger") or {}).values() if spec is not None]


def build_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """Return the configured callbacks (checkpointing, early stopping, ...; `callbacks.<name>=null` drops one)."""
    return [instantiate(spec) for spec in (cfg.get("callbacks") or {}).values() if spec is not None]


def run_spec(cfg: DictConfig, datamodule: FaceDataModule) -> dict[str, Any]:
    """Return what a checkpoint must carry to be used without the original config files or weights.

    The resolved config (no `${hydra:...}` left), the dataset's class names and the preprocessing:
    square RGB uint8 images of `image_size` pixels, channels first; the model normalises them itself.
    """
    dataset = datamodule.dataset
    config = OmegaConf.to_container(cfg, resolve=True)
    return {
        "config": config,
        "classes": {task: list(names) for task, names in dataset.task_classes.items()},
        "has_age": dataset.has_age,
        "dataset": {"name": dataset.name, **dataset.describe()},
        "preprocessing": {"image_size": int(cfg.data.get("image_size") or 64), "color": "RGB", "dtype": "uint8",
                          "layout": "NCHW", "resize": "square crop resized", "normalisation": "inside the model"},
    }
