"""Predict a split, score it, and write its run files (predictions, fairness JSON); overall metrics from the metric table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Subset

from visage.core.names import GROUP_COLUMNS
from visage.core.run_files import fairness_path, predictions_path, write_json, write_table
from visage.data.base import DatasetView, FaceDataset
from visage.data.datamodule import FaceDataModule
from visage.fairness.evaluation import evaluate_predictions
from visage.fairness.overall import overall_metrics
from visage.fairness.settings import FairnessSettings, settings_from_config, validate_settings
from visage.models.inference import predict_split, predictions_table


def fairness_settings(evaluation: DictConfig, classes: Mapping[str, Sequence[str]],
                      sensitive: Sequence[str] | None = None) -> FairnessSettings:
    """Return the configured fairness settings, with the dataset's own class names as group categories.

    With `evaluation.fairness.attributes: null`, the dataset's sensitive attributes (and the first one's
    intersection with each other) are studied.
    """
    settings = settings_from_config(evaluation, classes, sensitive)
    validate_settings(settings, columns=[*GROUP_COLUMNS, *(sensitive or ())], classes=classes)  # the data's own columns too
    return settings


def score_table(table: pd.DataFrame, name: str, evaluation: DictConfig, run_dir: Path,
                classes: Mapping[str, Sequence[str]], sensitive: Sequence[str] | None) -> tuple[dict, dict[str, Any]]:
    """Write `predictions/<name>.parquet` and `fairness/<name>.json` of a predictions table; return (overall, fairness)."""
    write_table(predictions_path(run_dir, name), table)
    fairness = evaluate_predictions(table, name, fairness_settings(evaluation, classes, sensitive), class_names=classes)
    write_json(fairness_path(run_dir, name), fairness)
    return overall_metrics(table, dict(fairness["tasks"]), list(evaluation.age_bins), classes), fairness


def score_split(trainer: pl.Trainer, module: pl.LightningModule, datamodule: FaceDataModule, split: str,
                evaluation: DictConfig, run_dir: Path, name: str | None = None) -> tuple[dict, dict[str, Any]]:
    """Predict `split`, write `predictions/<name>.parquet` and `fairness/<name>.json`; return (overall, fairness)."""
    table = predict_split(trainer, module, datamodule, split, list(evaluation.age_bins))
    dataset = datamodule.dataset
    return score_table(table, name or split, evaluation, run_dir, dataset.task_classes,
                       getattr(dataset, "sensitive_attributes", None))


class AsTrained(DatasetView):
    """Another dataset's faces as a run's model saw its training faces; only the tasks both label have a truth.

    A model trained on FER2013 (48 px grayscale, resized) sees every face at 48 px in gray, resized to
    the run's image size. Tasks the run predicts but the data does not label are scored by what the
    model predicts (`predicted_columns`); the data's own labels stay group columns.
    """

    def __init__(self, dataset: FaceDataset, run_classes: Mapping[str, Sequence[str]], run_has_age: bool,
                 look: Mapping[str, Any] | None, image_size: int) -> None:
        super().__init__(dataset)
        self.look, self.image_size = dict(look or {}), int(image_size)
        self.task_classes = {t: tuple(c) for t, c in dataset.task_classes.items()
                             if [str(x) for x in run_classes.get(t, ())] == [str(x) for x in c]}
        self.has_age = dataset.has_age and run_has_age

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.dataset[index])
        item["image"] = self.as_trained(item["image"])
        return item

    def as_trained(self, image: torch.Tensor) -> torch.Tensor:
        """Return a (3, H, W) uint8 face as the run's training data looked: its colour, its native side, then resized."""
        pixels = np.ascontiguousarray(image.permute(1, 2, 0).numpy())
        if self.look.get("color") == "gray":  # three equal channels, as FER2013's repeated gray
            pixels = np.repeat(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        side = int(self.look.get("side") or 0)
        if side:
            pixels = cv2.resize(pixels, (side, side), interpolation=cv2.INTER_AREA)
        if pixels.shape[0] != self.image_size or pixels.shape[1] != self.image_size:
            pixels = cv2.resize(pixels, (self.image_size, self.image_size), interpolation=cv2.INTER_LINEAR)
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def predicted_columns(table: pd.DataFrame, outputs: Mapping[str, np.ndarray], order: np.ndarray,
                      classes: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Add `<task>_pred`, `<task>_prob` and `<task>_prob_<class>` of tasks predicted without a truth in the data."""
    for task, names in classes.items():
        names = np.asarray([str(n) for n in names])
        prob = outputs[task][order]
        table[f"{task}_pred"] = names[prob.argmax(axis=1)]
        table[f"{task}_prob"] = prob.max(axis=1)
        for k, name in enumerate(names):
            table[f"{task}_prob_{name}"] = prob[:, k]
    return table


def group_columns(table: pd.DataFrame, dataset: FaceDataset, indices: np.ndarray, age_bins: Sequence[int]) -> pd.DataFrame:
    """Set one column per sensitive attribute of `dataset` to its group names (`FaceDataset.group_labels`)."""
    groups = dataset.group_labels(indices, list(age_bins))
    for column in groups:
        table[column] = groups[column].to_numpy()
    return table


def predict_as_trained(trainer: pl.Trainer, module: pl.LightningModule, datamodule: FaceDataModule, split: str,
                       view: AsTrained, run_classes: Mapping[str, Sequence[str]], age_bins: Sequence[int]) -> pd.DataFrame:
    """Return the predictions table of another dataset's `split`, its faces seen as the run's training faces were."""
    indices = datamodule.split_indices[split]
    loader = DataLoader(Subset(view, indices), batch_size=datamodule.batch_size, shuffle=False)
    batches = trainer.predict(module, dataloaders=loader)
    outputs = {key: torch.cat([b[key] for b in batches]).cpu() for key in batches[0]}
    outputs = {key: (v.float() if v.is_floating_point() else v).numpy() for key, v in outputs.items()}
    table = predictions_table(view, indices, outputs, list(age_bins))
    order = np.argsort(outputs["index"])
    position = np.searchsorted(outputs["index"][order], indices)
    extra = {t: c for t, c in run_classes.items() if t not in view.task_classes}
    table = predicted_columns(table, {t: outputs[t][order] for t in extra}, position, extra)
    return group_columns(table, view.dataset, indices, age_bins)
