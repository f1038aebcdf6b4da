"""Predict a split, score it, and write its run files (predictions, fairness JSON)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from omegaconf import DictConfig

from visage.core.run_files import fairness_path, predictions_path, write_json, write_table
from visage.data.datamodule import FaceDataModule
from visage.fairness.evaluation import evaluate_predictions
from visage.fairness.overall import overall_metrics
from visage.fairness.settings import FairnessSettings, settings_from_config, validate_settings
from visage.models.inference import predict_split


def fairness_settings(evaluation: DictConfig, classes: Mapping[str, Sequence[str]]) -> FairnessSettings:
    """Return the configured fairness settings, with the dataset's own class names as group categories."""
    settings = settings_from_config(evaluation, classes)
    validate_settings(settings, classes=classes)
    return settings


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
