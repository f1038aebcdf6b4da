"""Published splits (`datamodule.split_file=<csv>`): follow a split file instead of drawing one.

The file has the columns of visage's own split files, `sample_id,split`: `sample_id` is the image's
path relative to `data.root` (as the dataset's `sample_id`), `split` one of train, val, test. A file
with train and test only gets its val part drawn from train (stratified, seeded by `split_seed`).
Samples of the data the file does not list are left out of every split; both they and the file's
rows whose sample is not in the data are counted (`SplitFileCounts`), for metrics.json and the data card.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visage.core.errors import ConfigError
from visage.core.names import SPLITS
from visage.data.base import FaceDataset
from visage.data.splits import strata_of, stratified_split

KEY = "datamodule.split_file"
COLUMNS = ("sample_id", "split")


def read_split_file(path: str | Path) -> pd.DataFrame:
    """Return the rows (sample_id, split) of a split file, sample ids as relative POSIX paths.

    Raises:
        ConfigError: if the file is missing or unreadable, lacks a column, lists a sample twice or
            names a split other than train, val and test.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{KEY}={path} is not a file")
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ConfigError(f"{KEY}={path} is not a readable CSV ({str(error).splitlines()[0]})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{KEY}={path} lacks column(s) {', '.join(missing)}; expected sample_id,split")
    table = pd.DataFrame({"sample_id": table["sample_id"].str.strip().str.replace("\\", "/", regex=False)
                          .str.removeprefix("./"), "split": table["split"].str.strip()})
    row = table.index.to_numpy() + 2  # the line in the file (after the header)
    empty = (table["sample_id"] == "").to_numpy()
    if empty.any():
        raise ConfigError(f"{KEY}={path}: line {row[empty][0]} has no sample_id")
    unknown = ~table["split"].isin(SPLITS).to_numpy()
    if unknown.any():
        raise ConfigError(f"{KEY}={path}: unknown split '{table['split'][unknown].iloc[0]}' on line {row[unknown][0]}; "
                          f"available: {', '.join(SPLITS)}")
    twice = table["sample_id"].duplicated(keep=False).to_numpy()
    if twice.any():
        name = table["sample_id"][twice].iloc[0]
        lines = row[(table["sample_id"] == name).to_numpy()]
        raise ConfigError(f"{KEY}={path} lists sample '{name}' more than once (lines {', '.join(map(str, lines))})")
    return table


def check_identities(table: pd.DataFrame, keys: pd.Series | None, path: str | Path) -> None:
    """Raise ConfigError if two files of one face (same identity key) are in different parts of the split."""
    if keys is None:
        return
    parts = pd.DataFrame({"key": keys.to_numpy(), "split": table["split"].to_numpy(),
                          "sample_id": table["sample_id"].to_numpy()})
    spread = parts.groupby("key")["split"].nunique()
    if (spread > 1).any():
        key = spread[spread > 1].index[0]
        files = parts[parts["key"] == key]
        where = ", ".join(f"{s} in {p}" for s, p in zip(files["sample_id"], files["split"]))
        raise ConfigError(f"{KEY}={path} puts one face ('{key}') in two parts ({where}); a face must stay in one part")


def published_split(labels: pd.DataFrame, path: str | Path, *, strata: np.ndarray, val_fraction: float,
                    test_fraction: float, seed: int,
                    identity_keys: Callable[[pd.Series], pd.Series | None] | None = None,
                    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Return the split indices the file at `path` gives the rows of `labels`, and the counts to record.

    Args:
        labels: the dataset's labels (`sample_id` per row).
        path: the split file.
        strata: each row's stratum, used when val is drawn from train.
        val_fraction: the share of the file's train samples drawn into val when the file has no val.
        test_fraction: the configured test share (only checked for range when val is drawn).
        seed: seeds the val draw (`split_seed`).
        identity_keys: maps sample ids to the face each pictures (UTKFace's `face_key`), if the dataset has such keys.

    Returns:
        Sorted indices per split, and counts: file rows, samples used, `samples_not_in_file` (in the data, in
        no split), `file_rows_not_in_data` (listed, but not a sample of the data), `val_drawn`, sizes per split.

    Raises:
        ConfigError: on a malformed file (see `read_split_file`), a face in two parts, a file without train or
            test rows, or a split left empty because none of its samples is in the data.
    """
    table = read_split_file(path)
    check_identities(table, identity_keys(table["sample_id"]) if identity_keys else None, path)
    present = set(table["split"])
    for needed in ("train", "test"):
        if needed not in present:
            raise ConfigError(f"{KEY}={path} has no {needed} rows; a split file needs train and test (val is drawn "
                              "from train when the file has none)")
    ids = labels["sample_id"].astype(str)
    position = pd.Series(np.arange(len(labels)), index=ids.to_numpy())
    listed = table["sample_id"].isin(position.index).to_numpy()
    if not listed.any():
        raise ConfigError(f"none of the {len(table)} samples of {KEY}={path} is in the data; sample ids are paths "
                          f"relative to data.root, as '{ids.iloc[0]}'")
    rows = table[listed]
    split_of = pd.Series(rows["split"].to_numpy(), index=position[rows["sample_id"]].to_numpy()).sort_index()
    indices = {split: split_of.index[split_of.to_numpy() == split].to_numpy() for split in SPLITS}
    val_drawn = "val" not in present
    if val_drawn:
        used = split_of.index.to_numpy()
        drawn = stratified_split(np.asarray(strata)[used], val_fraction, test_fraction, seed,
                                 fixed_test=(split_of.to_numpy() == "test"))
        indices = {split: np.sort(used[drawn[split]]) for split in SPLITS}
    for split in SPLITS:
        if len(indices[split]) == 0:
            raise ConfigError(f"no {split} sample of {KEY}={path} is in the data; sample ids are paths relative to "
                              f"data.root, as '{ids.iloc[0]}'")
    counts = {"file": str(path), "file_rows": len(table), "samples_used": int(listed.sum()),
              "samples_not_in_file": int(len(labels) - listed.sum()),
              "file_rows_not_in_data": int((~listed).sum()), "val_drawn": val_drawn,
              "sizes": {split: len(indices[split]) for split in SPLITS}}
    return indices, counts


def apply_split_file(dataset: FaceDataset, path: str | Path, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                     seed: int = 42) -> dict[str, np.ndarray]:
    """Return the split indices the file gives `dataset`'s samples, recording its counts on the dataset.

    The counts become `dataset.split_file_counts` and the `split_file` entry of `dataset.describe()`, so
    metrics.json (and a data card built from the dataset) carry them. Val, where the file has none, is
    drawn from train stratified by the dataset's strata columns.
    """
    indices, counts = published_split(dataset.labels, path, strata=strata_of(dataset.labels, dataset.strata_columns()),
                                      val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                                      identity_keys=dataset.identity_keys)
    dataset.split_file_counts = counts
    return indices
