"""The age interval: the run's own validation errors, per predicted-age bin, as an empirical range.

For a face predicted at age `a`, the interval is `[a + q_lo, a + q_hi]` where `q_lo`, `q_hi` are the
`(1 - coverage) / 2` and `(1 + coverage) / 2` quantiles of the residuals `age_true - age_pred` of the
run's validation samples whose *predicted* age fell in the same bin (bins of `evaluation.age_bins`).
So with coverage 0.8, about 8 in 10 validation faces predicted in that bin had a true age inside
their interval. Bins with fewer than `min_count` validation samples use the residuals of all of them.
It describes the model's error on its own validation data, not on other populations or photos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visage.core.age_bins import age_bin_labels
from visage.core.errors import ConfigError
from visage.core.run_files import predictions_path


@dataclass
class AgeIntervals:
    """Residual quantiles per predicted-age bin (see the module docstring for the meaning)."""

    coverage: float
    edges: list[int]
    offsets: list[list[float]]  # per bin: [q_lo, q_hi] of age_true - age_pred
    counts: list[int]           # validation samples behind each bin's quantiles (pooled ones: all)
    source: str = "predictions/val.parquet"

    @classmethod
    def from_residuals(cls, predicted: np.ndarray, true: np.ndarray, edges: list[int], *, coverage: float = 0.8,
                       min_count: int = 20) -> AgeIntervals:
        """Return the intervals from validation predictions and true ages."""
        if not 0.0 < coverage < 1.0:
            raise ConfigError(f"age_interval.coverage={coverage} must lie between 0 and 1")
        residuals = np.asarray(true, dtype=float) - np.asarray(predicted, dtype=float)
        if residuals.size == 0:
            raise ConfigError("no validation predictions to derive age intervals from")
        levels = [(1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0]
        pooled = np.quantile(residuals, levels).tolist()
        index = _bin_index(np.asarray(predicted, dtype=float), edges)
        offsets, counts = [], []
        for k in range(len(edges)):
            mine = residuals[index == k]
            enough = mine.size >= min_count
            offsets.append(np.quantile(mine, levels).tolist() if enough else pooled)
            counts.append(int(mine.size) if enough else int(residuals.size))
        return cls(float(coverage), [int(e) for e in edges], offsets, counts)

    @classmethod
    def from_run(cls, run_dir: str | Path, edges: list[int], **kwargs: Any) -> AgeIntervals | None:
        """Return the intervals from `predictions/val.parquet` of a run, or None if it has no age predictions."""
        path = predictions_path(run_dir, "val")
        if not path.is_file():
            return None
        table = pd.read_parquet(path, columns=None)
        if not {"age_true", "age_pred"} <= set(table.columns):
            return None
        return cls.from_residuals(table["age_pred"].to_numpy(), table["age_true"].to_numpy(), edges, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgeIntervals:
        """Return intervals saved with `to_dict` (e.g. in an exported model's model.json)."""
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, with bin names for readers."""
        return {**asdict(self), "bins": age_bin_labels(self.edges)}

    def interval(self, estimate: float) -> list[float]:
        """Return `[low, high]` years around a predicted age (never below 0)."""
        low, high = self.offsets[int(_bin_index(np.array([estimate]), self.edges)[0])]
        return [max(0.0, estimate + low), max(0.0, estimate + high)]


def _bin_index(ages: np.ndarray, edges: list[int]) -> np.ndarray:
    return np.clip(np.searchsorted(np.asarray(edges), ages, side="right") - 1, 0, len(edges) - 1)
