"""Experiment logging: final and per-group results to the run's Lightning loggers (W&B, CSV), never images.

(Not to be confused with `visage.inference.face_tracks`, which follows faces across video frames.) The
metrics logged are the metric table's per-group metrics of the tasks each fairness result holds, so an
emotion run logs emotion accuracy, macro-F1 and ECE with their gaps, and a predicted task its shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lightning.pytorch.loggers import Logger, WandbLogger

from visage.core.metric_specs import group_metrics, primary_metrics

GROUP_METRICS = tuple(primary_metrics())  # the default tasks' headline metrics (for callers that name none)


def logged_metrics(fairness: Mapping[str, Any]) -> list[str]:
    """Return the metrics logged per group for a fairness result: its per-group metrics, then prediction shares."""
    overall = fairness.get("overall", {})
    shares = [k for k in overall if "_selection_rate_" in k and k.split("_selection_rate_")[0] in
              {t for t, kind in fairness.get("tasks", {}).items() if kind == "predicted"}]
    return [*group_metrics(overall), *shares]


def gap_keys(fairness: Mapping[str, Any], metrics: Sequence[str]) -> list[str]:
    """Return the disparity keys logged per attribute: each metric's gap, and each predicted task's distance."""
    predicted = [f"{t}_prediction_tvd" for t, kind in fairness.get("tasks", {}).items() if kind == "predicted"]
    return [f"{m}_gap" for m in metrics] + predicted


def group_rows(fairness: Mapping[str, Any], metrics: Sequence[str] | None = None) -> list[list[Any]]:
    """Return one row per (attribute, group): split, attribute, group, n, metric values and CI bounds."""
    metrics = logged_metrics(fairness) if metrics is None else metrics
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


def flat_group_metrics(fairness: Mapping[str, Any], metrics: Sequence[str] | None = None) -> dict[str, float]:
    """Return `fairness/<split>/<attribute>/<group>/<metric>` scalars plus each attribute's gaps."""
    metrics = logged_metrics(fairness) if metrics is None else metrics
    split = fairness["split"]
    flat: dict[str, float] = {}
    for attribute, groups in fairness["by_group"].items():
        for group, values in groups.items():
            for metric in metrics:
                if values.get(metric) is not None:
                    flat[f"fairness/{split}/{attribute}/{group}/{metric}"] = values[metric]
        for key in gap_keys(fairness, metrics):
            gap = fairness["disparity"][attribute].get(key)
            if gap is not None:
                flat[f"fairness/{split}/{attribute}/{key}"] = gap
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
            metrics = list(dict.fromkeys(m for result in fairness.values() for m in logged_metrics(result)))
            rows = [row for result in fairness.values() for row in group_rows(result, metrics)]
            logger.log_table(key="fairness/by_group", columns=group_columns(metrics), data=rows)
            logger.experiment.summary.update(scalars)
