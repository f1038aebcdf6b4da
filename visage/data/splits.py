"""Train/val/test splits stratified by group, so every split holds every race×gender cell."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from visage.errors import ConfigError

SPLITS = ("train", "val", "test")


def _merge_rare(strata: np.ndarray, minimum: int) -> np.ndarray:
    # sklearn cannot stratify a cell with fewer members than splits; pool such cells together.
    values, counts = np.unique(strata, return_counts=True)
    rare = set(values[counts < minimum].tolist())
    return np.array(["__rare__" if s in rare else s for s in strata], dtype=object)


def stratified_split(strata: np.ndarray, val_fraction: float, test_fraction: float,
                     seed: int) -> dict[str, np.ndarray]:
    """Return sorted sample indices per split, stratified by the `strata` label of each sample."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"split fractions val={val_fraction}, test={test_fraction} must be in (0, 1) and sum below 1"
        )
    n = len(strata)
    indices = np.arange(n)
    strata = _merge_rare(np.asarray(strata).astype(str), minimum=3)
    held_out = val_fraction + test_fraction
    train, rest = train_test_split(indices, test_size=held_out, random_state=seed,
                                   stratify=_merge_rare(strata, 2))
    rest_strata = _merge_rare(strata[rest], 2)
    val, test = train_test_split(rest, test_size=test_fraction / held_out, random_state=seed,
                                 stratify=rest_strata if len(set(rest_strata)) > 1 else None)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}
