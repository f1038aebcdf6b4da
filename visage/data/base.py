"""The interface every face dataset offers: a labels table plus image access."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from visage.core.age_bins import assign_age_bins
from visage.core.errors import ConfigError
from visage.core.names import AGE, CLASSIFICATION_TASKS, INTERSECTION

AGE_BIN = "age_bin"  # the sensitive attribute derived from a sample's age (bins of `evaluation.age_bins`)
PREDICTION_SUFFIX = "_pred"


def check_attribute_names(names: Sequence[str], key: str = "data.sensitive_attributes") -> tuple[str, ...]:
    """Return `names` as a tuple, or raise ConfigError if one is not a plain column name or repeats.

    A name may not hold `*` (it joins attributes into intersections) nor end in `_pred` (the
    predictions table's column of a task's predicted class).
    """
    if isinstance(names, str):
        raise ConfigError(f"{key}={names} must be a list, e.g. [{names}]")
    names = tuple(str(n) for n in names)
    for name in names:
        if not name or INTERSECTION in name or name.endswith(PREDICTION_SUFFIX):
            raise ConfigError(f"{key} holds '{name}': a sensitive attribute is one column name, without "
                              f"'{INTERSECTION}' (intersections are built from the list) and not ending in "
                              f"'{PREDICTION_SUFFIX}'")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{key} lists {', '.join(repeated)} more than once")
    return names


class FaceDataset(Dataset, ABC):
    """A face dataset: `labels` holds one row per sample, with integer codes for its classification tasks.

    Subclasses fill `labels` (`sample_id`, `age` in years if labelled, one code column per task,
    plus any metadata) and implement `image`. A task is labelled when the class defines its class
    names (`gender_classes`, `race_classes`, `emotion_classes`, or its own `task_classes`); codes
    index into those names. `sensitive_attributes` names the group columns fairness is studied by
    (each a task, a label column, or `age_bin`); the `data` config sets them (`set_sensitive_attributes`).
    """

    name: str
    labels: pd.DataFrame
    sensitive_attributes: tuple[str, ...] = ()
    split_file_counts: dict[str, Any] | None = None  # set by the datamodule when a published split file is used

    @abstractmethod
    def image(self, index: int) -> torch.Tensor:
        """Return image `index` as a uint8 tensor of shape (3, H, W)."""

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def task_classes(self) -> dict[str, tuple[str, ...]]:
        """Return the class names of each classification task this dataset labels.

        (Not named `classes`: cloudpickle, which submitit uses to ship jobs, would then try to pickle
        the unrelated `torch.classes` module for any function that reads `.classes`.)
        """
        return {task: tuple(getattr(self, f"{task}_classes")) for task in CLASSIFICATION_TASKS
                if hasattr(self, f"{task}_classes")}

    @property
    def has_age(self) -> bool:
        """Whether samples carry an age label (years)."""
        return AGE in self.labels

    def set_sensitive_attributes(self, names: Sequence[str] | None) -> None:
        """Set the group columns (the `data` config's `sensitive_attributes`), each a task, a label column or `age_bin`.

        Raises:
            ConfigError: if a name is malformed (see `check_attribute_names`) or the data has no such column.
        """
        names = check_attribute_names(names or ())
        available = {*self.task_classes, *self.labels.columns, *([AGE_BIN] if self.has_age else [])}
        available -= {"sample_id", "path", "split", AGE}
        for name in names:
            if name not in available:
                raise ConfigError(f"data.sensitive_attributes holds '{name}', which data '{self.name}' does not "
                                  f"label; available: {', '.join(sorted(available))}")
        self.sensitive_attributes = names

    def group_labels(self, indices: np.ndarray, age_bins: Sequence[int]) -> pd.DataFrame:
        """Return each sample's group (as text) under every sensitive attribute, for the rows `indices`."""
        labels = self.labels.iloc[indices]
        classes = self.task_classes
        columns: dict[str, np.ndarray] = {}
        for name in self.sensitive_attributes:
            if name in classes:
                columns[name] = np.asarray(classes[name], dtype=object)[labels[name].to_numpy()]
            elif name == AGE_BIN and name not in labels:
                columns[name] = assign_age_bins(labels[AGE].to_numpy(dtype=float), age_bins).astype(str)
            else:
                columns[name] = labels[name].astype(str).to_numpy()
        return pd.DataFrame(columns, index=range(len(labels)))

    def strata_columns(self) -> list[str]:
        """Return the label columns splits are stratified by: the sensitive attributes labelled per row, else the tasks."""
        present = [name for name in self.sensitive_attributes if name in self.labels]
        return present or [task for task in self.task_classes if task in self.labels]

    def identity_keys(self, sample_ids: pd.Series) -> pd.Series | None:
        """Return the key naming each sample's person or face across copies (None: every sample is its own)."""
        return None

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = {name: values[index] for name, values in self._targets().items()}
        return {"image": self.image(index), **item, "index": index}

    def _targets(self) -> dict[str, torch.Tensor]:
        # Per-item pandas access costs more than a training step's share; index tensors instead.
        if getattr(self, "_target_cache", None) is None or len(next(iter(self._target_cache.values()))) != len(self):
            cache = {task: torch.as_tensor(np.array(self.labels[task], dtype=np.int64)) for task in self.task_classes}
            if self.has_age:
                cache["age"] = torch.as_tensor(np.array(self.labels["age"], dtype=np.float32))
            self._target_cache = cache
        return self._target_cache

    def index_facts(self) -> dict[str, Any]:
        """Return facts about how the dataset was indexed (counts, skips), empty by default."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Return facts about the dataset worth recording with a run: its index facts and any split file's counts."""
        facts = self.index_facts()
        if self.split_file_counts is not None:
            facts["split_file"] = dict(self.split_file_counts)
        return facts


class DatasetView(Dataset):
    """A dataset seen through a wrapper: what the view does not set is the wrapped dataset's own.

    Subclasses override what they see differently (`task_classes`, `has_age`, `__getitem__`, ...).
    """

    def __init__(self, dataset: FaceDataset) -> None:
        self.dataset = dataset

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not yet set (unpickling in a loader worker)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.dataset[index]
