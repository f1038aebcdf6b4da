"""Objectives a sweeper minimises, chosen with `objective=<name>`; each gets the run's results.

`metrics` is the content of metrics.json, `fairness` maps split to its fairness result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visage.errors import ConfigError


def split_metric(metrics: Mapping[str, Any], fairness: Mapping[str, Any] | None = None, split: str = "val",
                 metric: str = "age_mae") -> float:
    """Return `metrics[split][metric]`, e.g. the validation age MAE."""
    try:
        return float(metrics[split][metric])
    except KeyError:
        available = ", ".join(f"{s}.{m}" for s, values in metrics.items() if isinstance(values, Mapping)
                              for m in values if isinstance(values[m], (int, float)))
        raise ConfigError(f"objective metric '{split}.{metric}' was not computed; available: {available}") from None


def error_plus_gap(metrics: Mapping[str, Any], fairness: Mapping[str, Any], split: str = "val",
                   metric: str = "age_mae", attribute: str = "race", weight: float = 1.0) -> float:
    """Return overall error + weight · (worst − best group error) over `attribute`, on `split`.

    For error metrics (lower is better) such as age_mae: a fairness-aware objective that a sweeper
    minimises, trading overall error against the gap between groups.
    """
    overall = split_metric(metrics, None, split, metric)
    try:
        gap = fairness[split]["disparity"][attribute][f"{metric}_gap"]
    except KeyError:
        raise ConfigError(f"objective needs the {metric} gap over '{attribute}' on split '{split}'; "
                          f"evaluated attributes: {', '.join(fairness.get(split, {}).get('disparity', {}))}") from None
    return overall + weight * float(gap)
