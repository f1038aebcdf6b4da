"""The inference settings' defaults as Python reads them: from `conf/inference/*.yaml`, where each is written once.

Functions that take a limit or a setting default to None and look it up here, so a default is never
repeated in code. Renamed keys of the command configs (`max_pixels` -> `limits.max_pixels`, ...) are read
through `deprecated_key`, which warns once and keeps the old key working.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from omegaconf import DictConfig, OmegaConf

PARTS = ("default", "age_interval", "uploads", "gradcam")  # conf/inference/<part>.yaml


@functools.cache
def inference_defaults() -> DictConfig:
    """Return every inference default (limits, crop, batch size, age intervals, Grad-CAM), read-only.

    Only the values of `conf/inference/` (not the detector, which is its own config group).
    """
    from visage.runner.cli import CONFIG_DIR

    parts = [OmegaConf.load(CONFIG_DIR / "inference" / f"{part}.yaml") for part in PARTS]
    merged = OmegaConf.merge(*parts)
    merged.pop("defaults", None)
    OmegaConf.set_readonly(merged, True)
    return merged


def default_detector() -> dict[str, Any]:
    """Return the config of the default detector (the `/detector` choice in conf/inference/default.yaml's defaults)."""
    from visage.runner.cli import CONFIG_DIR

    entries = OmegaConf.load(CONFIG_DIR / "inference" / "default.yaml").get("defaults", [])
    choice = next(entry["/detector"] for entry in entries if isinstance(entry, DictConfig) and "/detector" in entry)
    return OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "detector" / f"{choice}.yaml"), resolve=True)


def default(key: str) -> Any:
    """Return the default of dotted `key`, e.g. `default("limits.max_pixels")` -> 40000000."""
    value = OmegaConf.select(inference_defaults(), key, throw_on_missing=True)
    if value is None:
        raise KeyError(f"no inference default '{key}' in conf/inference/")
    return value


def deprecated_key(cfg: DictConfig, old: str, new: str) -> Any:
    """Return `cfg`'s value of `new`, or of the renamed `old` key when it is set (with a FutureWarning, shown to users)."""
    value = OmegaConf.select(cfg, old)
    if value is None:
        return OmegaConf.select(cfg, new)
    warnings.warn(f"{old}= is deprecated; use {new}= (it means the same)", FutureWarning, stacklevel=2)
    return value
