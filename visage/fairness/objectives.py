"""Objectives a sweeper minimises or maximises, chosen with `objective=<name>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visage.errors import ConfigError


def split_metric(metrics: Mapping[str, Mapping[str, Any]], split: str = "val", metric: str = "age_mae") -> float:
    """Return `metrics[split][metric]`, e.g. the validation age MAE."""
    try:
        return float(metrics[split][metric])
    except KeyError:
        available = ", ".join(f"{s}.{m}" for s, values in metrics.items() if isinstance(values, Mapping)
                              for m in values)
        raise ConfigError(f"objective metric '{split}.{metric}' was not computed; available: {available}") from None
