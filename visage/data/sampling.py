"""Resampling and reweighting of the training split (`sampler=<name>`).

Every sampler gives each training sample a weight; `mode` decides what the weight does:

- `sample`: draw each epoch's batches with probability ∝ weight (with replacement), so the expected
  share of a group in training is Σ weights of its samples / Σ all weights;
- `reweight`: keep the data as it is and multiply each sample's loss by its weight (mean 1), so the
  group shares are unchanged but the loss sees the same effective distribution as `sample`;
- `subset`: drop the samples whose weight is 0 and train on the rest as usual.

The distribution a run actually trained on is recorded by `TrainingDistribution` (`distribution.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from visage.core.age_bins import assign_age_bins
from visage.core.errors import ConfigError, unknown_choice

Mode = Literal["sample", "reweight", "subset"]
MODES = ("sample", "reweight", "subset")


class Sampler:
    """Uniform weights: every sample counts once (`sampler=none`)."""

    def __init__(self, mode: Mode = "sample") -> None:
        if mode not in MODES:
            raise unknown_choice("sampler.mode", mode, MODES)
        self.mode = mode

    def weights(self, labels: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Return one non-negative weight per row of `labels` (`training_labels`: tasks, age, age_bin, group columns)."""
        return np.ones(len(labels))

    @property
    def is_uniform(self) -> bool:
        """Whether the sampler leaves training as it is."""
        return type(self) is Sampler


def _inverse_frequency(keys: pd.Series) -> np.ndarray:
    counts = keys.map(keys.value_counts())
    return (1.0 / counts).to_numpy(dtype=np.float64)


class InverseFrequency(Sampler):
    """Weight ∝ 1 / size of the sample's cell over `by` (e.g. age_bin, or race and age_bin).

    In `sample` mode every non-empty cell is then drawn equally often.
    """

    def __init__(self, by: Sequence[str], mode: Mode = "sample") -> None:
        super().__init__(mode)
        self.by = list(by)

    def weights(self, labels: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Return 1 / (size of the sample's cell)."""
        for column in self.by:
            if column not in labels:
                raise unknown_choice("sampler.by column", column, labels.columns)
        keys = labels[self.by].astype(str).agg("*".join, axis=1)
        return _inverse_frequency(keys)


class OversampleGroup(Sampler):
    """Weight `factor` for the samples of one group (e.g. race=Others), 1 for the rest."""

    def __init__(self, group: Mapping[str, str], factor: float = 3.0, mode: Mode = "sample") -> None:
        super().__init__(mode)
        if factor <= 0:
            raise ConfigError(f"sampler.factor={factor} must be positive")
        self.group, self.factor = dict(group), factor

    def weights(self, labels: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Return `factor` for members of the group, else 1."""
        member = np.ones(len(labels), dtype=bool)
        for column, value in self.group.items():
            if column not in labels:
                raise unknown_choice("sampler.group column", column, labels.columns)
            if value not in set(labels[column].astype(str)):
                raise unknown_choice(f"sampler.group.{column}", value, sorted(set(labels[column].astype(str))))
            member &= labels[column].astype(str).to_numpy() == value
        return np.where(member, self.factor, 1.0)


class DropAgeRange(Sampler):
    """Drop a random `fraction` of the samples with age in [`above`, `below`) (Face Facts: 30% under 4)."""

    def __init__(self, fraction: float, below: float | None = None, above: float | None = None,
                 mode: Mode = "subset") -> None:
        super().__init__(mode)
        if not 0 <= fraction <= 1:
            raise ConfigError(f"sampler.fraction={fraction} must be in [0, 1]")
        if below is None and above is None:
            raise ConfigError("sampler=drop_age_range needs sampler.below and/or sampler.above (ages)")
        self.fraction, self.below, self.above = fraction, below, above

    def weights(self, labels: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Return 0 for the dropped samples, 1 for the rest."""
        age = labels["age"].to_numpy(dtype=float)
        inside = np.ones(len(labels), dtype=bool)
        if self.below is not None:
            inside &= age < self.below
        if self.above is not None:
            inside &= age >= self.above
        candidates = np.flatnonzero(inside)
        dropped = rng.choice(candidates, size=int(round(self.fraction * len(candidates))), replace=False)
        weights = np.ones(len(labels))
        weights[dropped] = 0.0
        return weights


def training_labels(labels: pd.DataFrame, classes: Mapping[str, Sequence[str]], age_bins: Sequence[int],
                    extra: Sequence[str] = ()) -> pd.DataFrame:
    """Return the labels samplers weigh: class names per task, age with its age_bin where labelled, and the
    `extra` label columns (a dataset's sensitive attributes that are not tasks, e.g. `skin_tone`) as text."""
    view = pd.DataFrame({task: np.asarray(names)[labels[task].to_numpy()] for task, names in classes.items()},
                        index=range(len(labels)))
    if "age" in labels:
        view["age"] = labels["age"].to_numpy(dtype=float)
        view["age_bin"] = assign_age_bins(view["age"].to_numpy(), age_bins).astype(str)
    for column in extra:
        if column in labels and column not in view:
            view[column] = labels[column].astype(str).to_numpy()
    return view
