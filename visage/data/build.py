"""Building a dataset from its `data` config (whose `card` section describes it, for data cards)."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from visage.data.base import FaceDataset

DESCRIPTIVE_KEYS = ("card",)


def build_dataset(spec: DictConfig) -> FaceDataset:
    """Return the dataset of a `data` config; descriptive sections such as `card` are not arguments."""
    kwargs: dict[str, Any] = OmegaConf.to_container(spec, resolve=True)  # type: ignore[assignment]
    for key in DESCRIPTIVE_KEYS:
        kwargs.pop(key, None)
    return instantiate(kwargs)
