"""The interface every face dataset offers: a labels table plus image access."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from visage.core.names import CLASSIFICATION_TASKS


class FaceDataset(Dataset, ABC):
    """A face dataset: `labels` holds one row per sample, with integer codes for its classification tasks.

    Subclasses fill `labels` (`sample_id`, `age` in years if labelled, one code column per task,
    plus any metadata) and implement `image`. A task is labelled when the class defines its class
    names (`gender_classes`, `race_classes`, `emotion_classes`); codes index into those names.
    """

    name: str
    labels: pd.DataFrame

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
        return "age" in self.labels

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

    def describe(self) -> dict[str, Any]:
        """Return facts about the dataset worth recording with a run (empty by default)."""
        return {}
