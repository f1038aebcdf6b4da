"""Sending final and per-group results to the run's Lightning loggers (W&B, CSV), never images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lightning.pytorch.loggers import Logger, WandbLogger

from visage.core.metric_specs import primary_metrics

GROUP_METRICS = tuple(primary_metrics())


def group_rows(fairness: Mapping[str, Any], metrics: Sequence[str] = GROUP_METRICS) -> list[list[Any]]:
    """Return one row per (attribute, group): split, attribute, group, n, metric values and CI bounds."""
    rows = []
    for attribute, groups in fairness["by_group"].items():
        for group, values in groups.items():
            row = [fairness["split"], attribute, group, values["n"]]
            for metric in metrics:
                low, high = values.get("ci", {}).get(metric, [None, None])
                row += [values.get(metric), low, high]
            rows.append(row)
    return rows


def group_columns(metrics: Sequence[str] = GROUP_METRICS) -> list[str]:
    """Return the column names of `group_rows`."""
    return ["split", "attribute", "group", "n"] + [f"{m}{s}" for m in metrics for s in ("", "_ci_low", "_ci_high")]


def flat_group_metrics(fairness: Mapping[str, Any], metrics: Sequence[str] = GROUP_METRICS) -> dict[str, float]:
    """Return `fairness/<split>/<attribute>/<group>/<metric>` scalars plus each attribute's gaps."""
    split = fairness["split"]
    flat: dict[str, float] = {}
    for attribute, groups in fairness["by_group"].items():
        for group, values in groups.items():
            for metric in metrics:
                if values.get(metric) is not None:
                    flat[f"fairness/{split}/{attribute}/{group}/{metric}"] = values[metric]
        for metric in metrics:
            gap = fairness["disparity"][attribute].get(f"{metric}_gap")
            if gap is not None:
                flat[f"fairness/{split}/{attribute}/{metric}_gap"] = gap
    return flat


def log_results(loggers: Sequence[Logger], metrics: Mapping[str, Any], fairness: Mapping[str, Mapping[str, Any]]) -> None:
    """Log overall metrics, per-group metrics and gaps; on W&B also a per-group table and the summary."""
    scalars = {f"final/{split}/{k}": v for split, values in metrics.items() if isinstance(values, Mapping)
               for k, v in values.items() if isinstance(v, (int, float))}
    for result in fairness.values():
        scalars.update(flat_group_metrics(result))
    for logger in loggers:
        logger.log_metrics(scalars)
        logger.save()  # the fit has ended, so nothing else would flush buffered loggers (CSV)
        if isinstance(logger, WandbLogger):
            rows = [row for result in fairness.values() for row in group_rows(result)]
            logger.log_table(key="fairness/by_group", columns=group_columns(), data=rows)
            logger.experiment.summary.update(scalars)
