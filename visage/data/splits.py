"""Train/val/test splits stratified by group, so every split holds every cell of the sensitive attributes (race×gender)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from visage.core.errors import ConfigError
from visage.core.names import AGE, SPLITS
from visage.core.run_files import _atomic_write


def _merge_rare(strata: np.ndarray, minimum: int) -> np.ndarray:
    """Return `strata` with every stratum of fewer than `minimum` members pooled into one.

    scikit-learn cannot stratify a stratum smaller than the number of parts; when the pool itself is
    still too small, the next smallest strata join it until it is big enough (or holds everything).
    """
    values, counts = np.unique(strata, return_counts=True)
    pooled, size = set(), 0
    for k in np.argsort(counts, kind="stable"):
        if counts[k] >= minimum and not 0 < size < minimum:
            break
        pooled.add(values[k])
        size += int(counts[k])
    if len(pooled) < 2:
        return strata
    return np.array(["__rare__" if s in pooled else s for s in strata], dtype=object)


def _can_stratify(strata: np.ndarray, held_out: int) -> bool:
    groups, counts = np.unique(strata, return_counts=True)
    return bool(counts.min() >= 2 and len(groups) <= min(held_out, len(strata) - held_out))


def _split(indices: np.ndarray, size: float, strata: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (kept, held out) indices, stratified when every stratum can reach both parts, else at random."""
    held_out = int(np.ceil(size * len(indices)))
    stratify = strata if _can_stratify(strata, held_out) else None
    if stratify is None:
        warnings.warn(f"{len(indices)} samples are too few to stratify {len(set(strata))} groups into a "
                      f"{size:.0%} split; splitting at random", stacklevel=3)
    return train_test_split(indices, test_size=size, random_state=seed, stratify=stratify)


def _split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Return the (train, val, test) sizes `stratified_split` gives `n` samples (as scikit-learn rounds)."""
    held = int(np.ceil((val_fraction + test_fraction) * n))
    test = int(np.ceil(test_fraction / (val_fraction + test_fraction) * held))
    return n - held, held - test, test


def minimum_samples(val_fraction: float, test_fraction: float) -> int:
    """Return the fewest samples that give every split (train, val, test) at least one sample."""
    n = 3
    while min(_split_sizes(n, val_fraction, test_fraction)) < 1:
        n += 1
    return n


def _check_enough(n: int, val_fraction: float, test_fraction: float, fixed_test: bool) -> None:
    need = 2 if fixed_test else minimum_samples(val_fraction, test_fraction)
    while fixed_test and not 0 < np.ceil(val_fraction * need) < need:
        need += 1
    if n < need:
        where = "outside the dataset's fixed test split " if fixed_test else ""
        parts = "train and val" if fixed_test else "train, val and test"
        raise ConfigError(f"{n} samples {where}are too few to split into {parts} (val_fraction={val_fraction}, "
                          f"test_fraction={test_fraction}); at least {need} are needed")


def _warn_pooled(strata: np.ndarray, minimum: int) -> None:
    values, counts = np.unique(strata, return_counts=True)
    rare = values[counts < minimum].tolist()
    if rare:
        names = ", ".join(rare[:5]) + (", ..." if len(rare) > 5 else "")
        warnings.warn(f"{len(rare)} of {len(values)} groups have too few samples to stratify on their own ({names}); "
                      "they are pooled with the smallest groups, so their split shares may differ", stacklevel=3)


def stratified_split(strata: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                     fixed_test: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Return sorted sample indices per split, stratified by the `strata` label of each sample.

    Strata too small to reach every split are pooled (with a warning); where even that cannot
    stratify, the split is made at random (with a warning). Samples marked in `fixed_test` (a
    dataset's official test set) form the test split; the others are split into train and val.

    Raises:
        ConfigError: if the fractions are out of range, or there are too few samples for every
            split to get one (the message says how many are needed).
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"split fractions val={val_fraction}, test={test_fraction} must be in (0, 1) and sum below 1"
        )
    strata = np.asarray(strata).astype(str)
    if fixed_test is not None and fixed_test.any():
        rest = np.flatnonzero(~fixed_test)
        _check_enough(len(rest), val_fraction, test_fraction, fixed_test=True)
        _warn_pooled(strata[rest], minimum=2)
        rest_strata = _merge_rare(strata[rest], minimum=2)
        train, val = _split(rest, val_fraction, rest_strata, seed)
        return {"train": np.sort(train), "val": np.sort(val), "test": np.flatnonzero(fixed_test)}
    n = len(strata)
    _check_enough(n, val_fraction, test_fraction, fixed_test=False)
    indices = np.arange(n)
    _warn_pooled(strata, minimum=3)
    merged = _merge_rare(strata, minimum=3)
    held_out = val_fraction + test_fraction
    train, rest = _split(indices, held_out, _merge_rare(merged, 2), seed)
    val, test = _split(rest, test_fraction / held_out, _merge_rare(merged[rest], 2), seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


NOT_STRATA = ("sample_id", "path", "split", AGE)


def strata_columns(labels: pd.DataFrame, strata: Sequence[str] | None = None) -> list[str]:
    """Return the label columns splits are stratified by: `strata` (a dataset's `strata_columns()`), else every
    integer-coded label column (the task codes) but age."""
    if strata is not None:
        return [c for c in strata if c in labels]
    return [c for c in labels.columns if c not in NOT_STRATA and pd.api.types.is_integer_dtype(labels[c])]


def strata_of(labels: pd.DataFrame, strata: Sequence[str] | None = None) -> np.ndarray:
    """Return each row's stratum: its values in the strata columns joined by `*` (one stratum if there are none)."""
    columns = strata_columns(labels, strata)
    if not columns:
        return np.full(len(labels), "all", dtype=object)
    return labels[columns].astype(str).agg("*".join, axis=1).to_numpy()


def split_file_name(labels: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int, name: str,
                    strata: Sequence[str] | None = None) -> str:
    """Return a file name that identifies this dataset content and these split settings."""
    content = pd.util.hash_pandas_object(labels[["sample_id", *strata_columns(labels, strata)]], index=False).to_numpy()
    digest = hashlib.sha1(content.tobytes()).hexdigest()[:12]
    return f"{name}-{digest}-val{val_fraction}-test{test_fraction}-seed{seed}.csv"


def load_or_create_split(labels: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int,
                         split_dir: str | Path | None, name: str, strata: Sequence[str] | None = None
                         ) -> dict[str, np.ndarray]:
    """Return split indices, read from the split file in `split_dir` if one exists, else made and written there.

    The split is stratified by the `strata` columns (see `strata_columns`).

    The file (sample_id, split) is written once, so every run of a sweep sees the same split. Jobs
    that create it at the same time each write their own temporary file and rename it into place
    (the same content, as the split is seeded), so none fails and no half file is ever read.
    """
    path = Path(split_dir) / split_file_name(labels, val_fraction, test_fraction, seed, name, strata) if split_dir else None
    if path is not None and path.is_file():
        saved = pd.read_csv(path, dtype={"sample_id": str})
        position = pd.Series(np.arange(len(labels)), index=labels["sample_id"].astype(str))
        if len(saved) != len(labels) or not saved["sample_id"].isin(position.index).all():
            raise ConfigError(f"split file {path} does not match the dataset's samples; delete it to re-split")
        return {split: np.sort(position[saved.loc[saved["split"] == split, "sample_id"]].to_numpy())
                for split in SPLITS}
    if "split" in labels and labels["split"].isin(SPLITS).all() and set(labels["split"]) == set(SPLITS):
        # the dataset fixes every sample's split (with train and test only, val is drawn from train below)
        indices = {split: np.flatnonzero((labels["split"] == split).to_numpy()) for split in SPLITS}
    else:
        fixed = (labels["split"] == "test").to_numpy() if "split" in labels else None
        indices = stratified_split(strata_of(labels, strata), val_fraction, test_fraction, seed, fixed)
    if path is not None:
        column = np.empty(len(labels), dtype=object)
        for split, rows in indices.items():
            column[rows] = split
        table = pd.DataFrame({"sample_id": labels["sample_id"].astype(str), "split": column})
        _atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))  # a unique temporary name per writer
    return indices
