"""Turn a trained module's outputs on a split into the predictions table of the run contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from lightning.pytorch import LightningModule, Trainer

from visage.age_bins import assign_age_bins
from visage.data.base import FaceDataset
from visage.data.datamodule import FaceDataModule

GROUP_COLUMNS = ("race", "gender", "age_bin")


def predictions_table(dataset: FaceDataset, indices: np.ndarray, outputs: dict[str, np.ndarray],
                      age_bins: list[int]) -> pd.DataFrame:
    """Return one row per sample: true and predicted labels (class names), probabilities, groups.

    `gender_prob` is the probability of the predicted gender label, as in the prediction JSON;
    `race_prob_<name>` holds the full race distribution. Extra label columns of the dataset
    (e.g. the synthetic set's latent age) are kept.
    """
    labels = dataset.labels.iloc[indices].reset_index(drop=True)
    order = np.argsort(outputs["index"])
    if not np.array_equal(outputs["index"][order], np.sort(indices)):
        raise RuntimeError("predictions do not cover the split's samples exactly")
    position = np.searchsorted(outputs["index"][order], indices)
    gender_names = np.asarray(dataset.gender_classes)
    race_names = np.asarray(dataset.race_classes)
    table = pd.DataFrame({"sample_id": labels["sample_id"].astype(str)})
    table["age_true"] = labels["age"].astype(float)
    table["age_pred"] = outputs["age"][order][position].astype(float)
    gender_prob = outputs["gender"][order][position]
    table["gender_true"] = gender_names[labels["gender"].to_numpy()]
    table["gender_pred"] = gender_names[gender_prob.argmax(axis=1)]
    table["gender_prob"] = gender_prob.max(axis=1)
    race_prob = outputs["race"][order][position]
    table["race_true"] = race_names[labels["race"].to_numpy()]
    table["race_pred"] = race_names[race_prob.argmax(axis=1)]
    for k, name in enumerate(race_names):
        table[f"race_prob_{name}"] = race_prob[:, k]
    table["race"] = table["race_true"]
    table["gender"] = table["gender_true"]
    table["age_bin"] = assign_age_bins(table["age_true"].to_numpy(), age_bins).astype(str)
    extra = [c for c in labels.columns if c not in {"sample_id", "age", "gender", "race"}]
    for column in extra:
        table[column] = labels[column].to_numpy()
    return table


def predict_split(trainer: Trainer, module: LightningModule, datamodule: FaceDataModule, split: str,
                  age_bins: list[int]) -> pd.DataFrame:
    """Return the predictions table of `split`, computed with `trainer.predict`."""
    batches = trainer.predict(module, dataloaders=datamodule.loader(split))
    outputs = {key: torch.cat([b[key] for b in batches]).cpu().numpy() for key in batches[0]}
    return predictions_table(datamodule.dataset, datamodule.split_indices[split], outputs, age_bins)
