"""Turn a trained module's outputs on a split into the predictions table of the run contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from lightning.pytorch import LightningModule, Trainer

from visage.core.age_bins import assign_age_bins
from visage.data.base import FaceDataset
from visage.data.datamodule import FaceDataModule


def predictions_table(dataset: FaceDataset, indices: np.ndarray, outputs: dict[str, np.ndarray],
                      age_bins: list[int]) -> pd.DataFrame:
    """Return one row per sample: true and predicted labels (class names), probabilities, groups.

    For each classification task: `<task>_true`, `<task>_pred`, `<task>_prob` (the probability of
    the predicted label, as in the prediction JSON) and `<task>_prob_<class>` for every class.
    Group columns `race`, `gender` and `age_bin` hold the true groups where the dataset labels them.
    Extra label columns of the dataset (e.g. the synthetic set's latent age) are kept.
    """
    labels = dataset.labels.iloc[indices].reset_index(drop=True)
    order = np.argsort(outputs["index"])
    if not np.array_equal(outputs["index"][order], np.sort(indices)):
        raise RuntimeError("predictions do not cover the split's samples exactly")
    position = np.searchsorted(outputs["index"][order], indices)
    table = pd.DataFrame({"sample_id": labels["sample_id"].astype(str)})
    if dataset.has_age:
        table["age_true"] = labels["age"].astype(float)
        table["age_pred"] = outputs["age"][order][position].astype(float)
    for task, names in dataset.task_classes.items():
        names = np.asarray(names)
        prob = outputs[task][order][position]
        table[f"{task}_true"] = names[labels[task].to_numpy()]
        table[f"{task}_pred"] = names[prob.argmax(axis=1)]
        table[f"{task}_prob"] = prob.max(axis=1)
        for k, name in enumerate(names):
            table[f"{task}_prob_{name}"] = prob[:, k]
    for column in ("race", "gender"):
        if column in dataset.task_classes:
            table[column] = table[f"{column}_true"]
    if dataset.has_age:
        table["age_bin"] = assign_age_bins(table["age_true"].to_numpy(), age_bins).astype(str)
    used = {"sample_id", "age", *dataset.task_classes}
    for column in labels.columns:
        if column not in used:
            table[column] = labels[column].to_numpy()
    for column, groups in dataset.group_labels(indices, age_bins).items():  # one column per sensitive attribute
        table[column] = groups.to_numpy()
    return table


def _gather(outputs: dict[str, np.ndarray], trainer: Trainer) -> dict[str, np.ndarray]:
    """Return every rank's outputs, each sample once (DDP shards samples and pads with repeats)."""
    if trainer.world_size <= 1:
        return outputs
    shards: list[dict[str, np.ndarray] | None] = [None] * trainer.world_size
    torch.distributed.all_gather_object(shards, outputs)
    merged = {key: np.concatenate([shard[key] for shard in shards]) for key in outputs}
    _, first = np.unique(merged["index"], return_index=True)
    return {key: values[first] for key, values in merged.items()}


def predict_split(trainer: Trainer, module: LightningModule, datamodule: FaceDataModule, split: str,
                  age_bins: list[int]) -> pd.DataFrame:
    """Return the predictions table of `split`, computed with `trainer.predict` (on every rank under DDP)."""
    batches = trainer.predict(module, dataloaders=datamodule.loader(split))
    # Mixed precision may hand back bf16/fp16 tensors, which numpy cannot hold.
    outputs = {key: torch.cat([b[key] for b in batches]).cpu() for key in batches[0]}
    outputs = {key: (v.float() if v.is_floating_point() else v).numpy() for key, v in outputs.items()}
    return predictions_table(datamodule.dataset, datamodule.split_indices[split], _gather(outputs, trainer), age_bins)
