"""Predict a split, score it, and write its run files (predictions, fairness JSON)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from hydra.utils import instantiate
from omegaconf import DictConfig

from visage.age_bins import age_bin_labels
from visage.data.datamodule import FaceDataModule
from visage.fairness.evaluation import FairnessSettings, evaluate_predictions
from visage.fairness.overall import overall_metrics
from visage.models.inference import predict_split
from visage.run_files import fairness_path, predictions_path, write_json, write_table


def fairness_settings(evaluation: DictConfig, classes: Mapping[str, Sequence[str]]) -> FairnessSettings:
    """Return the configured fairness settings, with the dataset's own class names as group categories."""
    settings: FairnessSettings = instantiate(evaluation.fairness)
    categories = {**{task: list(names) for task, names in classes.items()},
                  "age_bin": age_bin_labels(list(evaluation.age_bins))}
    return dataclasses.replace(settings, categories={**categories, **dict(settings.categories)})


def score_split(trainer: pl.Trainer, module: pl.LightningModule, datamodule: FaceDataModule, split: str,
                evaluation: DictConfig, run_dir: Path, name: str | None = None) -> tuple[dict, dict[str, Any]]:
    """Predict `split`, write `predictions/<name>.parquet` and `fairness/<name>.json`; return (overall, fairness)."""
    name = name or split
    table = predict_split(trainer, module, datamodule, split, list(evaluation.age_bins))
    write_table(predictions_path(run_dir, name), table)
    dataset = datamodule.dataset
    classes = dataset.task_classes
    fairness = evaluate_predictions(table, name, fairness_settings(evaluation, classes), class_names=classes)
    write_json(fairness_path(run_dir, name), fairness)
    return overall_metrics(table, list(evaluation.age_bins)), fairness
