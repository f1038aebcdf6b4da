"""Building the parts of a run from its config: datamodule, module, loggers, callbacks, trainer.

Commands build through these functions and never import another command (as lightning-hydra-template's
`instantiators`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.core.errors import ConfigError
from visage.core.names import AGE
from visage.data.base import DatasetView
from visage.data.build import build_dataset
from visage.data.datamodule import FaceDataModule
from visage.models.module import backbone_specs
from visage.models.pretrained import resolve_source, resolve_weights

log = logging.getLogger(__name__)

DEFAULT_IMAGE_SIZE = 64
IMAGE_SIZE_KEY = "data.image_size"
PRETRAINED_WEIGHTS_KEY = "pretrained_weights"  # in metrics.json and the run spec: the weights' identity, or null


def check_weights(cfg: DictConfig) -> dict[str, Any] | None:
    """Find the pretrained weights of the run's backbone before anything is built; return their identity.

    `backbone.checkpoint_path` (a local file), or with `backbone.pretrained=true` timm's published weights
    from the Hugging Face cache, else the hub (only then is the network reached; `HF_HUB_OFFLINE=1`: never).
    Returns None for a backbone trained from random weights.

    Raises:
        ConfigError: unknown backbone, or weights neither cached nor reachable (one line: the weights, the
            cache, and the two ways out).
    """
    specs = [s for s in backbone_specs(OmegaConf.to_container(cfg.model, resolve=True))
             if s.get("pretrained") or s.get("checkpoint_path")]
    if not specs:
        return None
    identities = [resolve_weights(str(s["name"]), s.get("checkpoint_path")).identity() for s in specs]
    return identities[0]


def choose_image_size(cfg: DictConfig) -> dict[str, Any]:
    """Set `data.image_size` in `cfg` and return the preprocessing the weights ask for.

    With timm's published weights (`backbone.pretrained=true`, no `checkpoint_path`) the input size comes
    from the weights' data config (timm's `resolve_data_config`), unless the user gave `data.image_size`
    (an override of the job, `cfg.job_overrides`): then theirs wins, with a one-line warning where it
    differs. Otherwise the data config's size stays (64 px by default). The weights' interpolation and
    crop are returned for the record (the data side resizes whole aligned faces).
    """
    specs = [s for s in backbone_specs(OmegaConf.to_container(cfg.model, resolve=True))
             if s.get("pretrained") is True and not s.get("checkpoint_path")]
    given = cfg.data.get("image_size")
    size = int(given or DEFAULT_IMAGE_SIZE)
    chosen: dict[str, Any] = {}
    if specs:
        from timm.data import resolve_data_config

        name = str(specs[0]["name"])
        data_config = resolve_data_config(pretrained_cfg=resolve_source(name, allow_network=True).pretrained_cfg)
        weights_size = int(data_config["input_size"][-1])
        chosen = {"weights_input_size": weights_size, "interpolation": data_config.get("interpolation"),
                  "crop_pct": data_config.get("crop_pct"), "crop_mode": data_config.get("crop_mode")}
        user_set = any(o.lstrip("+").split("=", 1)[0] == IMAGE_SIZE_KEY for o in cfg.get("job_overrides") or [])
        if not user_set or given is None:
            size = weights_size
        elif size != weights_size:
            log.warning("data.image_size=%d differs from the %d px input of the weights %s; training at %d px",
                        size, weights_size, name, size)
    with open_dict(cfg):
        cfg.data.image_size = size
    return {"image_size": size, **chosen}


class TaskView(DatasetView):
    """A dataset seen with only some of its tasks (`tasks=[age]`): the others stay labels and group columns.

    Everything but `task_classes` and `has_age` is the dataset's own, so splits, groups and images are unchanged.
    """

    def __init__(self, dataset: Any, tasks: Sequence[str]) -> None:
        super().__init__(dataset)
        available = [*dataset.task_classes, *([AGE] if dataset.has_age else [])]
        unknown = [t for t in tasks if t not in available]
        if unknown or not tasks:
            raise ConfigError(f"tasks={list(tasks)}: data '{dataset.name}' labels {', '.join(available)}; "
                              "choose one or more of them (null: all)")
        self.tasks = tuple(tasks)

    @property
    def task_classes(self) -> dict[str, tuple[str, ...]]:
        """Return the class names of the chosen classification tasks."""
        return {t: c for t, c in self.dataset.task_classes.items() if t in self.tasks}

    @property
    def has_age(self) -> bool:
        """Whether age is among the chosen tasks (and labelled)."""
        return AGE in self.tasks and self.dataset.has_age


def build_datamodule(cfg: DictConfig) -> FaceDataModule:
    """Return the datamodule of `cfg`, its dataset built from `cfg.data` (seen with only `cfg.tasks`, if given)."""
    datamodule = instantiate(cfg.datamodule, dataset=build_dataset(cfg.data))
    if cfg.get("tasks"):
        datamodule.dataset = TaskView(datamodule.dataset, list(cfg.tasks))
    return datamodule


def build_model(model_cfg: DictConfig | Mapping[str, Any], classes: Mapping[str, Sequence[str]],
                has_age: bool) -> pl.LightningModule:
    """Return the LightningModule of a `model` config, with a head per labelled task sized for its classes.

    The module gets its parts (network, backbone, heads, optimiser, ...) as configs and builds them itself
    (`_recursive_=False`), so the hyperparameters it saves in checkpoints are plain values.
    """
    num_classes = {task: len(names) for task, names in classes.items()}
    return instantiate(model_cfg, _recursive_=False, num_classes=num_classes, **({} if has_age else {"age_head": None}))


def build_module(cfg: DictConfig, datamodule: FaceDataModule) -> pl.LightningModule:
    """Return the LightningModule of `cfg` for the dataset of `datamodule`."""
    dataset = datamodule.dataset
    return build_model(cfg.model, dataset.task_classes, dataset.has_age)


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Return the configured Lightning loggers (none for `logger=none`; `logger.<name>=null` drops one)."""
    return [instantiate(spec) for spec in (cfg.get("logger") or {}).values() if spec is not None]


def cpu_has_bf16_units() -> bool:
    """Return whether this CPU multiplies bf16 in hardware (AMX or AVX512-BF16), where bf16 autocast pays.

    Elsewhere oneDNN emulates bf16, which is no faster than 32-bit (and the numbers differ), so it is not chosen.
    """
    checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(check() for check in checks if check is not None)


def trainer_precision(trainer_cfg: DictConfig) -> str | int | None:
    """Return the precision the Trainer gets: `trainer.precision`, or for `null` on CPU the faster one found here.

    `null` on CPU: `bf16-mixed` where `cpu_has_bf16_units()` (~1.5x the training steps per second of
    `32-true` for ResNet-18 at 64 px on a 2-core Xeon with AMX), else `32-true`. Predictions are made in 32-bit
    either way (`FaceAttributeModule.predict_step`), so scores are those of the deployed model.
    """
    precision = trainer_cfg.get("precision")
    if precision is None and trainer_cfg.get("accelerator") == "cpu":
        return "bf16-mixed" if cpu_has_bf16_units() else "32-true"
    return precision  # as set; null off the CPU is Lightning's default (32-true)


def build_trainer(cfg: DictConfig, loggers: Sequence[Any]) -> pl.Trainer:
    """Return the configured Trainer with the run's loggers, callbacks and precision (`trainer_precision`)."""
    return instantiate(cfg.trainer, logger=list(loggers) or False, callbacks=build_callbacks(cfg),
                       precision=trainer_precision(cfg.trainer))


def build_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """Return the configured callbacks (checkpointing, early stopping, ...; `callbacks.<name>=null` drops one)."""
    return [instantiate(spec) for spec in (cfg.get("callbacks") or {}).values() if spec is not None]


def run_spec(cfg: DictConfig, datamodule: FaceDataModule, preprocessing: Mapping[str, Any] | None = None,
             weights: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return what a checkpoint must carry to be used without the original config files or weights.

    The resolved config (no `${hydra:...}` left), the dataset's class names, the preprocessing (square
    RGB uint8 images of `image_size` pixels, channels first; the model normalises them itself; what
    `choose_image_size` chose from the weights) and the identity of the pretrained weights (`check_weights`).
    """
    dataset = datamodule.dataset
    config = OmegaConf.to_container(cfg, resolve=True)
    chosen = {k: v for k, v in (preprocessing or {}).items() if k != "image_size"}
    return {
        "config": config,
        "classes": {task: list(names) for task, names in dataset.task_classes.items()},
        "has_age": dataset.has_age,
        "dataset": {"name": dataset.name, **dataset.describe()},
        "preprocessing": {"image_size": int(cfg.data.get("image_size") or DEFAULT_IMAGE_SIZE), "color": "RGB",
                          "dtype": "uint8", "layout": "NCHW", "resize": "square crop resized",
                          "normalisation": "inside the model", **chosen},
        PRETRAINED_WEIGHTS_KEY: dict(weights) if weights else None,
    }
