"""LightningDataModule over any FaceDataset: stratified splits, augmentation, loaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import albumentations as A
import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from visage.core.errors import ConfigError, unknown_choice
from visage.core.names import SPLITS
from visage.data.base import FaceDataset
from visage.data.sampling import Sampler, training_labels
from visage.data.split_file import apply_split_file
from visage.data.splits import load_or_create_split


class AugmentedSubset(Dataset):
    """The samples `indices` of a dataset, with an albumentations transform applied to each image."""

    def __init__(self, dataset: FaceDataset, indices: np.ndarray, transform: A.BasicTransform | None,
                 loss_weights: np.ndarray | None = None) -> None:
        self.dataset = dataset
        self.indices = indices
        self.transform = transform
        self.loss_weights = None if loss_weights is None else torch.as_tensor(loss_weights, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> dict[str, Any]:
        item = self.dataset[int(self.indices[position])]
        item["weight"] = self.loss_weights[position] if self.loss_weights is not None else torch.tensor(1.0)
        if self.transform is not None:
            hwc = item["image"].permute(1, 2, 0).numpy()
            out = self.transform(image=hwc)["image"]
            item["image"] = torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)
        return item


def _transforms(transform: A.BasicTransform | None) -> list[Any]:
    """Return `transform` and every transform nested in it, in a fixed order.

    Only children with their own random state count: `ColorJitter.transforms`, say, holds plain functions.
    """
    if transform is None:
        return []
    children = [c for c in getattr(transform, "transforms", []) if hasattr(c, "random_generator")]
    return [transform, *[t for child in children for t in _transforms(child)]]


def _augmentation_states(transform: A.BasicTransform | None) -> list[tuple[Any, Any]]:
    """Return the (NumPy, Python) random states of every albumentations transform in `transform`."""
    return [(t.random_generator.bit_generator.state, t.py_random.getstate()) for t in _transforms(transform)]


def _restore_augmentation_states(transform: A.BasicTransform | None, states: list[tuple[Any, Any]]) -> None:
    """Set the random states `_augmentation_states` returned back into `transform` and its children."""
    for t, (numpy_state, python_state) in zip(_transforms(transform), states):
        t.random_generator.bit_generator.state = numpy_state
        t.py_random.setstate(python_state)


def _is_identity(transform: A.BasicTransform | None) -> bool:
    return transform is None or (isinstance(transform, A.Compose) and len(transform.transforms) == 0)


class FaceDataModule(LightningDataModule):
    """Splits a FaceDataset stratified by its sensitive attributes (else its task labels); serves uint8 image batches.

    With `split_dir`, the split is written there once as a CSV of sample ids and reused afterwards.
    With `split_file` (a published split, see `split_file.py`), that file's split is followed instead;
    its counts (`split_file_counts`, also in the dataset's `describe()`) go into metrics.json.
    `split_seed` fixes the split (and a subset sampler's drops); `train_seed` the weighted draws of
    training batches (the run's `seed`; defaults to `split_seed`).

    Images stay uint8; the model normalises them, so the data side knows nothing of backbones.
    """

    def __init__(self, dataset: FaceDataset, batch_size: int = 64, num_workers: int = 0,
                 val_fraction: float = 0.15, test_fraction: float = 0.15, split_seed: int = 0,
                 augmentation: A.BasicTransform | None = None, pin_memory: bool = False,
                 split_dir: str | None = None, sampler: Sampler | None = None,
                 age_bins: Sequence[int] = (0, 3, 10, 20, 30, 40, 50, 60, 70),
                 train_seed: int | None = None, split_file: str | None = None) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.augmentation = None if _is_identity(augmentation) else augmentation
        if split_file:
            self.split_indices = apply_split_file(dataset, split_file, val_fraction=val_fraction,
                                                  test_fraction=test_fraction, seed=split_seed)
        else:
            self.split_indices = load_or_create_split(dataset.labels, val_fraction, test_fraction, split_seed,
                                                      split_dir, dataset.name, dataset.strata_columns())
        self.split_file_counts: dict[str, Any] | None = dataset.split_file_counts if split_file else None
        self.sampler = sampler or Sampler()
        self.age_bins = list(age_bins)
        self.seed = split_seed
        draw_seed = split_seed if train_seed is None else train_seed
        self.generator = torch.Generator().manual_seed(draw_seed)  # weighted draws; saved for resume
        train = self.split_indices["train"]
        view = training_labels(dataset.labels.iloc[train], dataset.task_classes, age_bins, dataset.sensitive_attributes)
        weights = self.sampler.weights(view, np.random.default_rng(split_seed))
        if self.sampler.mode == "subset":
            self.split_indices["train"], weights = train[weights > 0], weights[weights > 0]
        self.train_weights = weights / weights.mean()

    def group_ids(self, by: str) -> tuple[np.ndarray, list[str]]:
        """Return every dataset sample's group under `by` and the names of the training split's groups.

        Args:
            by: a label column (`race`, `gender`, `age_bin`, ... as samplers see them, or any other column
                of the dataset's labels) or several joined by `*` (`race*age_bin`).

        Returns:
            The group index of each row of `dataset.labels` (-1 where its group has no training sample)
            and the group names, sorted.
        """
        labels = self.dataset.labels
        view = training_labels(labels, self.dataset.task_classes, self.age_bins)
        for column in labels.columns.difference(view.columns):
            view[column] = labels[column].to_numpy()
        columns = by.split("*")
        for column in columns:
            if column not in view:
                raise unknown_choice(f"group column in '{by}'", column, view.columns)
        keys = view[columns].astype(str).agg("*".join, axis=1).to_numpy()
        names = sorted(set(keys[self.split_indices["train"]]))
        lookup = {name: i for i, name in enumerate(names)}
        return np.array([lookup.get(key, -1) for key in keys], dtype=np.int64), names

    def subset(self, split: str, augment: bool = False) -> AugmentedSubset:
        """Return the samples of `split` (`train`, `val` or `test`), augmented if asked."""
        reweight = split == "train" and self.sampler.mode == "reweight"
        return AugmentedSubset(self.dataset, self.split_indices[split], self.augmentation if augment else None,
                               self.train_weights if reweight else None)

    def _loader(self, split: str, shuffle: bool, augment: bool, sampler: Any = None) -> DataLoader:
        return DataLoader(self.subset(split, augment), batch_size=self.batch_size, shuffle=shuffle,
                          sampler=sampler, num_workers=self.num_workers, pin_memory=self.pin_memory,
                          persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        """Return the augmented training loader: shuffled, or drawn by the sampler's weights."""
        if self.sampler.mode != "sample" or self.sampler.is_uniform:
            return self._loader("train", shuffle=True, augment=True)
        draw = WeightedRandomSampler(torch.as_tensor(self.train_weights, dtype=torch.double),
                                     num_samples=len(self.train_weights), replacement=True, generator=self.generator)
        return self._loader("train", shuffle=False, augment=True, sampler=draw)

    def state_dict(self) -> dict[str, Any]:
        """Return the random state of the training draws (sampler, augmentation); Lightning saves it in checkpoints."""
        return {"sampler_generator": self.generator.get_state(), "augmentation": _augmentation_states(self.augmentation)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the random state of the training draws (resume)."""
        self.generator.set_state(state_dict["sampler_generator"])
        _restore_augmentation_states(self.augmentation, state_dict["augmentation"])

    def val_dataloader(self) -> DataLoader:
        """Return the validation loader."""
        return self._loader("val", shuffle=False, augment=False)

    def test_dataloader(self) -> DataLoader:
        """Return the test loader."""
        return self._loader("test", shuffle=False, augment=False)

    def loader(self, split: str) -> DataLoader:
        """Return an unshuffled, unaugmented loader over any split (for predictions)."""
        if split not in SPLITS:
            raise ConfigError(f"unknown split '{split}'; available: {', '.join(SPLITS)}")
        return self._loader(split, shuffle=False, augment=False)
