"""Record the distribution a run actually trained on (after sampling, reweighting or dropping)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch

from visage.core.run_files import write_json
from visage.data.sampling import training_labels


def distribution_table(view: pd.DataFrame, counts: np.ndarray, weights: np.ndarray, by: str) -> dict[str, Any]:
    """Return, per group of `by`: samples available, share of the data, share of what training saw."""
    seen = counts * weights
    frame = pd.DataFrame({"group": view[by].to_numpy(), "available": 1.0, "seen": seen})
    grouped = frame.groupby("group", sort=True)[["available", "seen"]].sum()
    total_available, total_seen = grouped["available"].sum(), max(grouped["seen"].sum(), 1e-12)
    return {str(g): {"available": int(row.available), "data_share": float(row.available / total_available),
                     "trained_share": float(row.seen / total_seen)} for g, row in grouped.iterrows()}


class TrainingDistribution(pl.Callback):
    """Counts which training samples each batch held and writes `training_distribution.json`.

    Groups are those of every `attributes` column (default: the dataset's sensitive attributes). The
    trained share of a group is its share of all samples drawn over the run, each weighted by its
    loss weight (so `reweight` shows its effect too); `data_share` is its share of the training split.
    """

    def __init__(self, output_dir: str, attributes: Sequence[str] | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.attributes = None if attributes is None else tuple(attributes)  # None: the dataset's sensitive attributes
        self.counts: np.ndarray | None = None
        self.loss_weight: np.ndarray | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: dict, batch_idx: int) -> None:
        """Add the batch's sample indices (and loss weights) to the tally."""
        n = len(trainer.datamodule.dataset)
        if self.counts is None:
            self.counts, self.loss_weight = np.zeros(n), np.ones(n)
        index = batch["index"].cpu().numpy()
        np.add.at(self.counts, index, 1.0)
        self.loss_weight[index] = batch["weight"].cpu().numpy() if "weight" in batch else 1.0

    def state_dict(self) -> dict[str, Any]:
        """Return the tally so far (saved in checkpoints, so a resumed run counts the whole run)."""
        if self.counts is None:  # tensors, so checkpoints load with torch.load(weights_only=True)
            return {"counts": None, "loss_weight": None}
        return {"counts": torch.from_numpy(self.counts), "loss_weight": torch.from_numpy(self.loss_weight)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the tally of an interrupted run."""
        counts, loss_weight = state_dict["counts"], state_dict["loss_weight"]
        self.counts = None if counts is None else np.asarray(counts, dtype=np.float64).copy()
        self.loss_weight = None if loss_weight is None else np.asarray(loss_weight, dtype=np.float64).copy()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write the distribution table per attribute (under DDP, the samples every rank drew)."""
        if self.counts is None:
            return
        if trainer.world_size > 1:  # each rank drew its own shard
            total = trainer.strategy.reduce(torch.as_tensor(self.counts), reduce_op="sum")
            self.counts = total.cpu().numpy()
        if not trainer.is_global_zero:
            return
        datamodule = trainer.datamodule
        train = datamodule.split_indices["train"]
        dataset = datamodule.dataset
        view = training_labels(dataset.labels.iloc[train], dataset.task_classes, datamodule.age_bins,
                               dataset.sensitive_attributes)
        attributes = dataset.sensitive_attributes if self.attributes is None else self.attributes
        result = {"sampler": type(datamodule.sampler).__name__, "mode": datamodule.sampler.mode,
                  "samples_drawn": int(self.counts.sum()),
                  **{by: distribution_table(view, self.counts[train], self.loss_weight[train], by)
                     for by in attributes if by in view}}
        write_json(self.output_dir / "training_distribution.json", result)
