"""Per-row sufficient statistics, and the metrics computed from their sums.

Each metric is a function of sums over the rows of a group: MAE = Σ|e| / n, accuracy = Σcorrect / n,
macro-F1 from per-class TP / predicted / true counts, ECE = Σ_bins |Σcorrect − Σconfidence| / n,
selection rate, TPR and FPR for demographic parity and equalized odds. Sums may carry leading
batch axes (bootstrap resamples); every function here works elementwise over them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from visage.core.names import CLASSIFICATION_TASKS

ECE_BINS = 10


@dataclass(frozen=True)
class StatLayout:
    """Which column of the statistics matrix holds which sum."""

    columns: tuple[str, ...]
    tasks: dict[str, tuple[str, ...]]  # classification task -> its class names
    has_age: bool

    def __getitem__(self, name: str) -> int:
        return self.columns.index(name)


def classification_tasks(table: pd.DataFrame, class_names: dict[str, Sequence[str]] | None = None
                         ) -> dict[str, tuple[str, ...]]:
    """Return the classification tasks in `table` with their class names (race from its prob columns)."""
    class_names = dict(class_names or {})
    tasks: dict[str, tuple[str, ...]] = {}
    for task in CLASSIFICATION_TASKS:
        if f"{task}_pred" not in table or f"{task}_true" not in table:
            continue
        prob_columns = [c[len(task) + 6:] for c in table.columns if c.startswith(f"{task}_prob_")]
        seen = sorted(set(table[f"{task}_true"].astype(str)) | set(table[f"{task}_pred"].astype(str)))
        names = list(class_names.get(task) or prob_columns or seen)
        tasks[task] = tuple(names + [s for s in seen if s not in names])
    return tasks


def confidence_of(table: pd.DataFrame, task: str) -> np.ndarray | None:
    """Return the classifier's confidence per row: its largest class probability (or `<task>_prob`), if saved."""
    prob_columns = [c for c in table.columns if c.startswith(f"{task}_prob_")]
    if prob_columns:
        return table[prob_columns].to_numpy(dtype=np.float64).max(axis=1)
    if f"{task}_prob" in table:
        return table[f"{task}_prob"].to_numpy(dtype=np.float64)
    return None


def row_statistics(table: pd.DataFrame, tasks: dict[str, tuple[str, ...]]) -> tuple[np.ndarray, StatLayout]:
    """Return the (rows, K) matrix of per-row statistics whose group sums give every metric."""
    columns: dict[str, np.ndarray] = {"n": np.ones(len(table))}
    has_age = "age_pred" in table and "age_true" in table
    if has_age:
        error = table["age_pred"].to_numpy(np.float64) - table["age_true"].to_numpy(np.float64)
        columns["abs_err"], columns["signed_err"] = np.abs(error), error
    for task, names in tasks.items():
        true = table[f"{task}_true"].astype(str).to_numpy()
        pred = table[f"{task}_pred"].astype(str).to_numpy()
        correct = (true == pred).astype(np.float64)
        columns[f"{task}_correct"] = correct
        for name in names:
            columns[f"{task}_tp_{name}"] = ((pred == name) & (true == name)).astype(np.float64)
            columns[f"{task}_pred_{name}"] = (pred == name).astype(np.float64)
            columns[f"{task}_true_{name}"] = (true == name).astype(np.float64)
        confidence = confidence_of(table, task)
        if confidence is None:  # predictions without probabilities (e.g. an audited API): no ECE
            continue
        bins = np.clip((confidence * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
        for b in range(ECE_BINS):
            inside = (bins == b).astype(np.float64)
            columns[f"{task}_bin{b}_conf"] = inside * confidence
            columns[f"{task}_bin{b}_correct"] = inside * correct
    layout = StatLayout(tuple(columns), tasks, has_age)
    return np.column_stack(list(columns.values())), layout


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def metrics_from_sums(sums: np.ndarray, layout: StatLayout) -> dict[str, np.ndarray]:
    """Return each metric (arrays shaped like `sums` without its last axis) from summed statistics."""
    col = lambda name: sums[..., layout[name]]  # noqa: E731
    n = col("n")
    metrics: dict[str, np.ndarray] = {"n": n}
    if layout.has_age:
        metrics["age_mae"] = _ratio(col("abs_err"), n)
        metrics["age_bias"] = _ratio(col("signed_err"), n)
    for task, names in layout.tasks.items():
        metrics[f"{task}_acc"] = _ratio(col(f"{task}_correct"), n)
        f1 = np.stack([_ratio(2 * col(f"{task}_tp_{c}"), col(f"{task}_pred_{c}") + col(f"{task}_true_{c}"))
                       for c in names])
        # sklearn's macro-F1 averages over the classes present in y_true or y_pred, hence nanmean.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            metrics[f"{task}_macro_f1"] = np.nanmean(f1, axis=0)
        if f"{task}_bin0_conf" in layout.columns:
            gaps = sum(np.abs(col(f"{task}_bin{b}_correct") - col(f"{task}_bin{b}_conf")) for b in range(ECE_BINS))
            metrics[f"{task}_ece"] = _ratio(gaps, n)
        for c in names:
            tp, pred, true = col(f"{task}_tp_{c}"), col(f"{task}_pred_{c}"), col(f"{task}_true_{c}")
            metrics[f"{task}_selection_rate_{c}"] = _ratio(pred, n)
            metrics[f"{task}_tpr_{c}"] = _ratio(tp, true)
            metrics[f"{task}_fpr_{c}"] = _ratio(pred - tp, n - true)
    return metrics

