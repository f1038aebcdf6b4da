"""The interface every face dataset offers: a labels table plus image access."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

LABEL_COLUMNS = ("sample_id", "age", "gender", "race")




class FaceDataset(Dataset, ABC):
    """A face dataset: `labels` holds one row per sample with integer codes for gender and race.

    Subclasses fill `labels` (columns `LABEL_COLUMNS`, plus any metadata) and implement `image`.
    Class names are the dataset's own; codes index into `gender_classes` and `race_classes`.
    """

    name: str
    gender_classes: tuple[str, ...]
    race_classes: tuple[str, ...]
    labels: pd.DataFrame

    @abstractmethod
    def image(self, index: int) -> torch.Tensor:
        """Return image `index` as a uint8 tensor of shape (3, H, W)."""

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        targets = self._targets()
        return {
            "image": self.image(index),
            "age": targets["age"][index],
            "gender": targets["gender"][index],
            "race": targets["race"][index],
            "index": index,
        }

    def _targets(self) -> dict[str, torch.Tensor]:
        # Per-item pandas access costs more than a training step's share; index tensors instead.
        if getattr(self, "_target_cache", None) is None or len(self._target_cache["age"]) != len(self):
            self._target_cache = {
                "age": torch.as_tensor(np.array(self.labels["age"], dtype=np.float32)),
                "gender": torch.as_tensor(np.array(self.labels["gender"], dtype=np.int64)),
                "race": torch.as_tensor(np.array(self.labels["race"], dtype=np.int64)),
            }
        return self._target_cache

    def describe(self) -> dict[str, Any]:
        """Return facts about the dataset worth recording with a run (empty by default)."""
        return {}
