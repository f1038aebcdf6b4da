"""Train/val/test splits stratified by group, so every split holds every race×gender cell."""

from __future__ import annotations

import numpy as np
import hashlib
import warnings
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from visage.errors import ConfigError

SPLITS = ("train", "val", "test")


def _merge_rare(strata: np.ndarray, minimum: int) -> np.ndarray:
    # sklearn cannot stratify a cell with fewer members than splits; pool such cells together.
    values, counts = np.unique(strata, return_counts=True)
    rare = set(values[counts < minimum].tolist())
    return np.array(["__rare__" if s in rare else s for s in strata], dtype=object)


def _split(indices: np.ndarray, size: float, strata: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (kept, held out) indices, stratified when every stratum can reach both parts."""
    held_out = int(np.ceil(size * len(indices)))
    stratify = strata if len(set(strata)) <= min(held_out, len(indices) - held_out) else None
    if stratify is None:
        warnings.warn(f"{len(indices)} samples are too few to stratify {len(set(strata))} groups into a "
                      f"{size:.0%} split; splitting at random", stacklevel=3)
    return train_test_split(indices, test_size=size, random_state=seed, stratify=stratify)


def stratified_split(strata: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                     fixed_test: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Return sorted sample indices per split, stratified by the `strata` label of each sample.

    Samples marked in `fixed_test` (a dataset's official test set) form the test split; the others
    are split into train and val.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"split fractions val={val_fraction}, test={test_fraction} must be in (0, 1) and sum below 1"
        )
    if fixed_test is not None and fixed_test.any():
        rest = np.flatnonzero(~fixed_test)
        rest_strata = _merge_rare(np.asarray(strata)[rest].astype(str), minimum=2)
        train, val = _split(rest, val_fraction, rest_strata, seed)
        return {"train": np.sort(train), "val": np.sort(val), "test": np.flatnonzero(fixed_test)}
    n = len(strata)
    indices = np.arange(n)
    strata = _merge_rare(np.asarray(strata).astype(str), minimum=3)
    held_out = val_fraction + test_fraction
    train, rest = _split(indices, held_out, _merge_rare(strata, 2), seed)
    val, test = _split(rest, test_fraction / held_out, _merge_rare(strata[rest], 2), seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def strata_columns(labels: pd.DataFrame) -> list[str]:
    """Return the label columns splits are stratified by: race and gender, else the tasks present."""
    preferred = [c for c in ("race", "gender") if c in labels]
    return preferred or [c for c in ("emotion",) if c in labels]


def split_file_name(labels: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int, name: str) -> str:
    """Return a file name that identifies this dataset content and these split settings."""
    content = pd.util.hash_pandas_object(labels[["sample_id", *strata_columns(labels)]], index=False).to_numpy()
    digest = hashlib.sha1(content.tobytes()).hexdigest()[:12]
    return f"{name}-{digest}-val{val_fraction}-test{test_fraction}-seed{seed}.csv"


def load_or_create_split(labels: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int,
                         split_dir: str | Path | None, name: str) -> dict[str, np.ndarray]:
    """Return split indices, read from the split file in `split_dir` if one exists, else made and written there.

    The file (sample_id, split) is written once, so every run of a sweep sees the same split.
    """
    path = Path(split_dir) / split_file_name(labels, val_fraction, test_fraction, seed, name) if split_dir else None
    if path is not None and path.is_file():
        saved = pd.read_csv(path, dtype={"sample_id": str})
        position = pd.Series(np.arange(len(labels)), index=labels["sample_id"].astype(str))
        if len(saved) != len(labels) or not saved["sample_id"].isin(position.index).all():
            raise ConfigError(f"split file {path} does not match the dataset's samples; delete it to re-split")
        return {split: np.sort(position[saved.loc[saved["split"] == split, "sample_id"]].to_numpy())
                for split in SPLITS}
    if "split" in labels and labels["split"].isin(SPLITS).all():  # the dataset fixes every sample's split
        indices = {split: np.flatnonzero((labels["split"] == split).to_numpy()) for split in SPLITS}
    else:
        strata = labels[strata_columns(labels)].astype(str).agg("*".join, axis=1).to_numpy()
        fixed = (labels["split"] == "test").to_numpy() if "split" in labels else None
        indices = stratified_split(strata, val_fraction, test_fraction, seed, fixed)
    if path is not None:
        column = np.empty(len(labels), dtype=object)
        for split, rows in indices.items():
            column[rows] = split
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pd.DataFrame({"sample_id": labels["sample_id"].astype(str), "split": column}).to_csv(tmp, index=False)
        tmp.replace(path)
    return indices
