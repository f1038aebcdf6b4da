"""Paired comparison of two models scored on the same samples: differences (a − b) with paired bootstrap intervals.

Both predictions tables are joined on `sample_id` and put in the same row order, so resample i draws
the same samples for both models (fairlearn's i-th resample, as everywhere in visage); the interval
of a difference is the percentile interval of the per-resample differences. Pairing removes the
sample-to-sample variation both models share, which is why a paired difference can be clearly
non-zero while the two unpaired intervals overlap.

Each difference also gets a paired sign-flip permutation p-value (`p_value`): under the null that
the two models are exchangeable, swapping a's and b's prediction of a sample changes nothing, so
the observed |a − b| is compared with those of `n_perm` random per-sample swaps. Metrics computed
from sums of per-row statistics (MAE, bias, accuracy, macro-F1, ECE, rates) and their gaps are tested;
medians are left to their intervals (p null). Both the interval and the p-value cover the variation
of the test samples only, not that of training seeds: for that, repeat the runs with other seeds.
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
from visage.fairness.statistics import metrics_from_sums

ID = "sample_id"
SCOPE = ("the interval and p-value cover the variation of the test samples (paired over the same faces), "
         "not the variation of training seeds")
BLOCK = 100  # sign-flip permutations held at once


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


def _p_value(observed: float | None, permuted: np.ndarray) -> float | None:
    """Return (1 + #{|permuted| >= |observed|}) / (1 + #defined permutations); None where untestable."""
    defined = permuted[~np.isnan(permuted)]
    if observed is None or not math.isfinite(observed) or len(defined) == 0:
        return None
    threshold = abs(observed) - 1e-9 * max(1.0, abs(observed))
    return float((1 + int((np.abs(defined) >= threshold).sum())) / (1 + len(defined)))


class _SignFlips:
    """Paired sign-flip permutations: per sample, a's and b's per-row statistics swapped with probability 1/2."""

    def __init__(self, est_a: Any, est_b: Any, n_perm: int, seed: int) -> None:
        self.a, self.b = est_a, est_b
        self.delta = est_b.stats - est_a.stats
        self.n_perm = n_perm if tuple(est_a.layout.columns) == tuple(est_b.layout.columns) else 0
        rng = np.random.default_rng(seed)
        self.flips = rng.integers(0, 2, size=(self.n_perm, len(self.delta))).astype(np.float64)

    def metrics(self, row_group: np.ndarray, n_groups: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Return per metric the (n_perm, groups) values of the swapped a and b."""
        sums_a = np.zeros((self.n_perm, n_groups, self.delta.shape[1]))
        sums_b = np.zeros_like(sums_a)
        for g in range(n_groups):
            rows = row_group == g
            base_a, base_b = self.a.stats[rows].sum(axis=0), self.b.stats[rows].sum(axis=0)
            for start in range(0, self.n_perm, BLOCK):
                moved = self.flips[start:start + BLOCK, rows] @ self.delta[rows]
                sums_a[start:start + BLOCK, g] = base_a + moved
                sums_b[start:start + BLOCK, g] = base_b - moved
        with np.errstate(divide="ignore", invalid="ignore"):
            return metrics_from_sums(sums_a, self.a.layout), metrics_from_sums(sums_b, self.b.layout)


def _spread_of(values: dict[str, np.ndarray], compared: np.ndarray, metric: str) -> np.ndarray | None:
    """Return the permuted gap (n_perm,) of `metric` over the compared groups, None where it is not sum-based."""
    if metric.startswith("odds:"):
        tpr, fpr = metric[5:].split("|")
        a, b = _spread_of(values, compared, tpr), _spread_of(values, compared, fpr)
        if a is None or b is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.fmax(a, b)
    return spread(values[metric][:, compared]) if metric in values else None


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

    flips = _SignFlips(est_a, est_b, settings.n_perm, settings.seed)

    def diff(a: GroupValues, b: GroupValues, metric: str, g: int, permuted: tuple[dict, dict] | None) -> dict[str, Any]:
        entry = _entry(float(a.point[metric][g]), float(b.point[metric][g]),
                       a.boot[metric][:, g] - b.boot[metric][:, g], quantiles)
        swapped = None if permuted is None or metric not in permuted[0] else permuted[0][metric][:, g] - permuted[1][metric][:, g]
        entry["p_value"] = _p_value(entry["difference"], swapped) if swapped is not None else None
        return entry

    overall_perm = flips.metrics(np.zeros(len(run), dtype=np.int64), 1) if flips.n_perm else None

    result: dict[str, Any] = {
        "split": None, "n": int(len(run)), "settings": {**settings.describe(), "backend": "vectorised"},
        "metrics": metrics, "warnings": notes, "n_perm": flips.n_perm, "scope": SCOPE,
        "overall": {m: diff(est_a.overall, est_b.overall, m, 0, overall_perm) for m in metrics},
        "by_group": {}, "disparity": {},
    }
    for k, attribute in enumerate(est_a.attributes):
        a, b = est_a.groups[k], est_b.groups[k]
        permuted = flips.metrics(attribute.row_group, len(attribute.groups)) if flips.n_perm else None
        result["by_group"][attribute.name] = {
            name: {"n": int(a.point["n"][g]), **{m: diff(a, b, m, g, permuted) for m in metrics}}
            for g, name in enumerate(attribute.groups)}
        compared = compared_groups(a.point["n"], settings)
        gaps: dict[str, Any] = {"groups_compared": [attribute.groups[i] for i in compared]}
        for key, metric in gap_metrics.items():
            (a_point, a_boot), (b_point, b_boot) = _gaps(a, compared, metric), _gaps(b, compared, metric)
            gaps[key] = _entry(a_point, b_point, a_boot - b_boot, quantiles)
            swapped = None
            if permuted is not None:
                gap_a, gap_b = _spread_of(permuted[0], compared, metric), _spread_of(permuted[1], compared, metric)
                swapped = None if gap_a is None or gap_b is None else gap_a - gap_b
            gaps[key]["p_value"] = _p_value(gaps[key]["difference"], swapped) if swapped is not None else None
        result["disparity"][attribute.name] = gaps
    return json_ready(result)
