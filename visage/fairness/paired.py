"""Paired comparison of two models scored on the same samples: differences (a − b) with paired bootstrap intervals.

Both predictions tables are joined on `sample_id` and put in the same row order, so resample i draws
the same samples for both models (fairlearn's i-th resample, as everywhere in visage); the interval
of a difference is the percentile interval of the per-resample differences. Pairing removes the
sample-to-sample variation both models share, which is why a paired difference can be clearly
non-zero while the two unpaired intervals overlap.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from visage.core.errors import ConfigError
from visage.core.metric_specs import group_metrics
from visage.core.names import INTERSECTION
from visage.fairness.disparity import compared_groups, interval
from visage.fairness.estimates import GroupValues
from visage.fairness.evaluation import estimate, json_ready
from visage.fairness.permutation import spread
from visage.fairness.settings import FairnessSettings

ID = "sample_id"


def align(run: pd.DataFrame, baseline: pd.DataFrame, group_columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return both tables in the same sample order; ConfigError if they were not scored on the same samples."""
    for name, table in (("run", run), ("baseline", baseline)):
        if ID not in table:
            raise ConfigError(f"the {name}'s predictions have no {ID} column to pair samples on")
        if table[ID].duplicated().any():
            raise ConfigError(f"the {name}'s predictions repeat sample ids, e.g. {table[ID][table[ID].duplicated()].iloc[0]}")
    ids_a, ids_b = set(run[ID].astype(str)), set(baseline[ID].astype(str))
    if ids_a != ids_b:
        only_a, only_b = len(ids_a - ids_b), len(ids_b - ids_a)
        raise ConfigError(f"the runs were scored on different samples ({only_a} only in the run, {only_b} only "
                          f"in the baseline, {len(ids_a & ids_b)} shared); compare runs on the same split of the same data")
    run = run.assign(**{ID: run[ID].astype(str)}).reset_index(drop=True)
    baseline = baseline.assign(**{ID: baseline[ID].astype(str)}).set_index(ID).loc[run[ID]].reset_index()
    for column in group_columns:
        if column in run and column in baseline and not (run[column].astype(str) == baseline[column].astype(str)).all():
            raise ConfigError(f"the runs give the same samples different '{column}' groups; compare runs on the same data")
    return run, baseline


def _entry(a: float, b: float, samples: np.ndarray, quantiles: tuple[float, float]) -> dict[str, Any]:
    """Return {run, baseline, difference, ci} of one paired difference (null where either is undefined)."""
    defined = math.isfinite(a) and math.isfinite(b)
    return {"run": a, "baseline": b, "difference": a - b if defined else None,
            "ci": interval(samples, quantiles) if defined else [None, None]}


def _gaps(values: GroupValues, compared: np.ndarray, metric: str) -> tuple[float, np.ndarray]:
    if metric.startswith("odds:"):  # equalized odds: the larger of the TPR and FPR differences
        tpr, fpr = metric[5:].split("|")
        a_point, a_boot = _gaps(values, compared, tpr)
        b_point, b_boot = _gaps(values, compared, fpr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(np.fmax(a_point, b_point)), np.fmax(a_boot, b_boot)
    return float(spread(values.point[metric][compared])), spread(values.boot[metric][:, compared])


def paired_differences(run: pd.DataFrame, baseline: pd.DataFrame, settings: FairnessSettings,
                       class_names: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Return the paired differences (run − baseline) of every overall and per-group metric and every gap.

    Args:
        run: predictions of model a.
        baseline: predictions of model b on the same samples (any row order).
        settings: attributes, resamples, interval level, min_group_size (the vectorised backend is used).
        class_names: class names per task.
    """
    settings = dataclasses.replace(settings, backend="vectorised")
    parts = {p for a in settings.attributes for p in a.split(INTERSECTION)}
    run, baseline = align(run, baseline, sorted(parts))
    est_a, notes = estimate(run, settings, class_names)
    est_b, _ = estimate(baseline, settings, class_names)
    quantiles = settings.quantiles()
    metrics = [m for m in group_metrics(est_a.overall.point) if m in est_b.overall.point]
    gap_metrics = {f"{m}_gap": m for m in metrics}
    for task, label in settings.positive.items():
        if task in est_a.tasks and task in est_b.tasks:
            gap_metrics[f"{task}_demographic_parity_difference"] = f"{task}_selection_rate_{label}"
            gap_metrics[f"{task}_equalized_odds_difference"] = f"odds:{task}_tpr_{label}|{task}_fpr_{label}"

    def diff(a: GroupValues, b: GroupValues, metric: str, g: int) -> dict[str, Any]:
        return _entry(float(a.point[metric][g]), float(b.point[metric][g]),
                      a.boot[metric][:, g] - b.boot[metric][:, g], quantiles)

    result: dict[str, Any] = {
        "split": None, "n": int(len(run)), "settings": {**settings.describe(), "backend": "vectorised"},
        "metrics": metrics, "warnings": notes,
        "overall": {m: diff(est_a.overall, est_b.overall, m, 0) for m in metrics},
        "by_group": {}, "disparity": {},
    }
    for k, attribute in enumerate(est_a.attributes):
        a, b = est_a.groups[k], est_b.groups[k]
        result["by_group"][attribute.name] = {
            name: {"n": int(a.point["n"][g]), **{m: diff(a, b, m, g) for m in metrics}}
            for g, name in enumerate(attribute.groups)}
        compared = compared_groups(a.point["n"], settings)
        gaps: dict[str, Any] = {"groups_compared": [attribute.groups[i] for i in compared]}
        for key, metric in gap_metrics.items():
            (a_point, a_boot), (b_point, b_boot) = _gaps(a, compared, metric), _gaps(b, compared, metric)
            gaps[key] = _entry(a_point, b_point, a_boot - b_boot, quantiles)
        result["disparity"][attribute.name] = gaps
    return json_ready(result)
