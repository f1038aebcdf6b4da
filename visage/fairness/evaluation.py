"""From a predictions table to the fairness result (`fairness/<split>.json` of the run contract).

Point estimates and bootstrap intervals come from one vectorised path (cell sums, `bootstrap.py`)
that draws fairlearn's own resamples. fairlearn's `MetricFrame(n_boot=...)` and its parity functions
are the reference the tests hold this path to, value for value; they are not called here because
at a million rows fairlearn 0.15 needs minutes for the point estimates alone.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visage.errors import ConfigError
from visage.fairness.bootstrap import bootstrap_sums
from visage.fairness.groups import Attribute, build_cells, warn_empty_groups
from visage.fairness.statistics import classification_tasks, metrics_from_sums, row_statistics

DEFAULT_ATTRIBUTES = ("race", "gender", "age_bin", "race*gender", "race*age_bin")
LOWER_IS_BETTER = ("age_mae", "age_median_ae", "gender_ece", "race_ece", "emotion_ece")


@dataclass
class FairnessSettings:
    """How to evaluate: attributes, bootstrap size and level, minimum group size, positive labels."""

    attributes: Sequence[str] = DEFAULT_ATTRIBUTES
    n_boot: int = 1000
    ci: float = 0.95
    seed: int = 0
    min_group_size: int = 30
    positive: Mapping[str, str] = field(default_factory=lambda: {"gender": "Female"})
    categories: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def quantiles(self) -> tuple[float, float]:
        """Return the lower and upper quantile of the confidence interval."""
        if not 0 < self.ci < 1:
            raise ConfigError(f"fairness ci={self.ci} must be in (0, 1), e.g. 0.95")
        if self.n_boot < 1:
            raise ConfigError(f"fairness n_boot={self.n_boot} must be a positive number of resamples")
        return (1 - self.ci) / 2, 1 - (1 - self.ci) / 2


def json_ready(value: Any) -> Any:
    """Return `value` with NaN/inf as None and numpy scalars as Python numbers (valid JSON)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def _interval(samples: np.ndarray, quantiles: tuple[float, float]) -> np.ndarray:
    """Return lower/upper quantiles over the resample axis (first), ignoring resamples where it is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(samples, q=list(quantiles), axis=0)


def _spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (max − min, min / max) over the last axis, ignoring empty groups (NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        high, low = np.nanmax(values, axis=-1), np.nanmin(values, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return high - low, np.where(high > 0, low / high, np.nan)


def _headline(metrics: Sequence[str]) -> list[str]:
    """Return the metrics reported per group (not the per-class rates behind the parity metrics)."""
    return [m for m in metrics if m == "age_bias" or m in LOWER_IS_BETTER or m.endswith(("_acc", "_macro_f1"))]


class _Estimates:
    """Point values and bootstrap samples of every metric, over the groups of one attribute."""

    def __init__(self, point: dict[str, np.ndarray], boot: dict[str, np.ndarray]) -> None:
        self.point, self.boot = point, boot

    def gap(self, metric: str) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Return the point gap and ratio, and their bootstrap samples."""
        gap, ratio = _spread(self.point[metric])
        boot_gap, boot_ratio = _spread(self.boot[metric])
        return float(gap), float(ratio), boot_gap, boot_ratio


def evaluate_predictions(table: pd.DataFrame, split: str, settings: FairnessSettings | None = None,
                         class_names: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Return the fairness result of one split: overall, by_group and disparity, each with CIs.

    Every per-group value and every gap has a bootstrap interval; groups smaller than
    `min_group_size` are flagged `small`, groups with no rows are reported `empty` with a warning.
    """
    settings = settings or FairnessSettings()
    quantiles = settings.quantiles()
    if len(table) == 0:
        raise ConfigError(f"the predictions table of split '{split}' is empty")
    tasks = classification_tasks(table, class_names)
    for task, label in settings.positive.items():
        if task in tasks and label not in tasks[task]:
            raise ConfigError(f"positive label '{label}' for {task} is not a class; classes: {', '.join(tasks[task])}")
    stats, layout = row_statistics(table, tasks)
    # Attributes whose columns the table lacks (e.g. race on an emotion-only dataset) are left out.
    attributes = [a for a in settings.attributes if all(part in table for part in a.split("*"))]
    index = build_cells(table, attributes, settings.categories)
    groupings = [(np.zeros(len(table), np.int64), np.ones((index.n_cells, 1)))]
    groupings += [(a.row_group, a.membership) for a in index.attributes]
    abs_err = (table["age_pred"] - table["age_true"]).abs().to_numpy(np.float64) if layout.has_age else None
    boot_sums, boot_medians = bootstrap_sums(stats, index.row_cell, index.n_cells, settings.n_boot, settings.seed,
                                             abs_err, groupings if layout.has_age else ())
    cell_sums = np.zeros((index.n_cells, stats.shape[1]))
    np.add.at(cell_sums, index.row_cell, stats)

    def estimates(k: int) -> _Estimates:
        row_group, membership = groupings[k]
        point = metrics_from_sums(membership.T @ cell_sums, layout)
        boot = metrics_from_sums(np.einsum("bck,cg->bgk", boot_sums, membership), layout)
        if abs_err is not None:
            medians = pd.Series(abs_err).groupby(row_group).median()
            point["age_median_ae"] = medians.reindex(range(membership.shape[1])).to_numpy()
            boot["age_median_ae"] = boot_medians[k]
        return _Estimates(point, boot)

    overall = estimates(0)
    headline = _headline(list(overall.point))
    result: dict[str, Any] = {
        "split": split, "n": int(len(table)),
        "settings": {"attributes": attributes, "n_boot": settings.n_boot, "ci": settings.ci,
                     "seed": settings.seed, "min_group_size": settings.min_group_size,
                     "positive": dict(settings.positive)},
        "overall": {**{m: overall.point[m][0] for m in headline},
                    "ci": {m: _interval(overall.boot[m][:, 0], quantiles) for m in headline}},
        "by_group": {}, "disparity": {}, "warnings": [],
    }
    for k, attribute in enumerate(index.attributes, start=1):
        groups = estimates(k)
        message = warn_empty_groups(attribute, groups.point["n"])
        if message:
            result["warnings"].append(message)
        result["by_group"][attribute.name] = _by_group(table, tasks, attribute, groups, headline, settings, quantiles)
        result["disparity"][attribute.name] = _disparity(tasks, attribute, groups, headline, settings, quantiles)
    return json_ready(result)


def _by_group(table: pd.DataFrame, tasks: Mapping[str, Sequence[str]], attribute: Attribute, groups: _Estimates,
              headline: Sequence[str], settings: FairnessSettings, quantiles: tuple[float, float]) -> dict[str, Any]:
    """Return {group: {n, small, empty, metrics..., ci, confusion}} for one attribute."""
    out = {}
    for g, name in enumerate(attribute.groups):
        n = int(groups.point["n"][g])
        entry: dict[str, Any] = {"n": n, "small": 0 < n < settings.min_group_size, "empty": n == 0}
        entry.update({m: groups.point[m][g] for m in headline})
        entry["ci"] = {m: _interval(groups.boot[m][:, g], quantiles) for m in headline}
        entry["confusion"] = _confusions(table, tasks, attribute.row_group == g)
        out[name] = entry
    return out


def _confusions(table: pd.DataFrame, tasks: Mapping[str, Sequence[str]], rows: np.ndarray) -> dict[str, Any]:
    """Return per-task confusion counts {true: {pred: n}} of the selected rows."""
    part = table[rows]
    out = {}
    for task, names in tasks.items():
        matrix = pd.crosstab(part[f"{task}_true"].astype(str), part[f"{task}_pred"].astype(str))
        matrix = matrix.reindex(index=list(names), columns=list(names), fill_value=0)
        out[task] = {t: {p: int(matrix.loc[t, p]) for p in names} for t in names}
    return out


def _disparity(tasks: Mapping[str, Sequence[str]], attribute: Attribute, groups: _Estimates,
               headline: Sequence[str], settings: FairnessSettings, quantiles: tuple[float, float]) -> dict[str, Any]:
    """Return gaps (max−min), ratios (min/max), worst groups and parity metrics for one attribute, with CIs."""
    out: dict[str, Any] = {"worst_group": {}, "ci": {}}
    for metric in headline:
        gap, ratio, boot_gap, boot_ratio = groups.gap(metric)
        out[f"{metric}_gap"] = gap
        out["ci"][f"{metric}_gap"] = _interval(boot_gap, quantiles)
        if metric != "age_bias":  # a ratio of signed errors means nothing
            out[f"{metric}_ratio"] = ratio
            out["ci"][f"{metric}_ratio"] = _interval(boot_ratio, quantiles)
        scores = np.abs(groups.point[metric]) if metric == "age_bias" else groups.point[metric]
        if not np.isnan(scores).all():
            worst = np.nanargmin(scores) if metric.endswith(("_acc", "_macro_f1")) else np.nanargmax(scores)
            out["worst_group"][metric] = attribute.groups[int(worst)]
    for task, names in tasks.items():
        # fairlearn's parity metrics are binary: a task with a positive label is scored on it,
        # a multi-class task one-vs-rest for each class.
        labels = [settings.positive[task]] if task in settings.positive else list(names)
        parity = {}
        for label in labels:
            _, _, dp_gap, dp_ratio = groups.gap(f"{task}_selection_rate_{label}")
            point_gap, point_ratio = _spread(groups.point[f"{task}_selection_rate_{label}"])
            eo, eo_boot = _equalized_odds(groups, task, label)
            parity[label] = {
                "demographic_parity_difference": float(point_gap), "demographic_parity_ratio": float(point_ratio),
                "equalized_odds_difference": eo,
                "ci": {"demographic_parity_difference": _interval(dp_gap, quantiles),
                       "demographic_parity_ratio": _interval(dp_ratio, quantiles),
                       "equalized_odds_difference": _interval(eo_boot, quantiles)},
            }
        if task in settings.positive:
            values = parity[settings.positive[task]]
            for key in ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference"):
                out[f"{task}_{key}"] = values[key]
                out["ci"][f"{task}_{key}"] = values["ci"][key]
        else:
            out[f"{task}_one_vs_rest"] = parity
    return out


def _equalized_odds(groups: _Estimates, task: str, label: str) -> tuple[float, np.ndarray]:
    """Return fairlearn's worst-case equalized odds difference (larger of the TPR and FPR gaps) and samples."""
    tpr, fpr = f"{task}_tpr_{label}", f"{task}_fpr_{label}"
    point = float(np.fmax(_spread(groups.point[tpr])[0], _spread(groups.point[fpr])[0]))
    boot = np.fmax(_spread(groups.boot[tpr])[0], _spread(groups.boot[fpr])[0])
    return point, boot
