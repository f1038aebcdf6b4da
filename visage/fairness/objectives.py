"""Objectives a sweeper minimises, chosen with `objective=<name>`; each gets the run's results.

`metrics` is the content of metrics.json, `fairness` maps split to its fairness result. Models are
chosen on validation data: an objective on the test split is refused. A metric the metric table marks
higher-is-better (accuracy, macro-F1) enters negated, so every objective is minimised
(`objective.metric=emotion_acc` picks the most accurate emotion model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visage.core.errors import ConfigError
from visage.core.metric_specs import spec

SELECTION_SPLIT = "val"


def _check_split(split: str) -> None:
    if split == "test":
        raise ConfigError("objective split=test: models are chosen on validation data; use split=val "
                          "(test numbers are reported beside, never used to choose)")


def minimised_sign(metric: str) -> float:
    """Return -1 for a metric the table marks higher-is-better, else 1 (errors; names outside the table)."""
    try:
        return -1.0 if spec(metric).direction == "higher" else 1.0
    except KeyError:
        return 1.0


def split_metric(metrics: Mapping[str, Any], fairness: Mapping[str, Any] | None = None, split: str = SELECTION_SPLIT,
                 metric: str = "age_mae") -> float:
    """Return `metrics[split][metric]` to minimise, e.g. the validation age MAE (an accuracy comes negated)."""
    _check_split(split)
    try:
        return minimised_sign(metric) * float(metrics[split][metric])
    except KeyError:
        available = ", ".join(f"{s}.{m}" for s, values in metrics.items() if isinstance(values, Mapping)
                              for m in values if isinstance(values[m], (int, float)))
        raise ConfigError(f"objective metric '{split}.{metric}' was not computed; available: {available}") from None


def error_plus_gap(metrics: Mapping[str, Any], fairness: Mapping[str, Any], split: str = SELECTION_SPLIT,
                   metric: str = "age_mae", attribute: str = "race", weight: float = 1.0) -> float:
    """Return overall error + weight · (worst − best compared group's value) over `attribute`, on `split`.

    A fairness-aware objective that a sweeper minimises, trading overall error against the gap between
    groups; for a higher-is-better metric (accuracy) the overall value enters negated, the gap as it is.
    The gap is over the groups big enough to judge (`min_group_size`); where it is undefined the objective
    fails with its reason.
    """
    overall = split_metric(metrics, None, split, metric)
    try:
        disparity = fairness[split]["disparity"][attribute]
        gap = disparity[f"{metric}_gap"]
    except KeyError:
        raise ConfigError(f"objective needs the {metric} gap over '{attribute}' on split '{split}'; "
                          f"evaluated attributes: {', '.join(fairness.get(split, {}).get('disparity', {}))}") from None
    if gap is None:
        reason = disparity.get("undefined", {}).get(f"{metric}_gap", "undefined")
        raise ConfigError(f"objective: the {metric} gap over '{attribute}' on split '{split}' is undefined: {reason}")
    return overall + weight * float(gap)
