"""Disparities of one attribute: gaps, ratios, worst groups and parity metrics over the groups big enough to judge.

Only groups with at least `min_group_size` rows are compared (all non-empty groups with
`small_groups="include"`); the others are listed in `groups_excluded`. A disparity needs a value in
at least two compared groups: otherwise it is null, with its reason in `undefined`, never 0.

Equalized odds follows fairlearn (the larger of the TPR and FPR differences), with one difference:
a group with no true positives has no TPR (and one with no true negatives no FPR), so it takes no
part in that rate's difference, where fairlearn counts its rate as 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from visage.core.metric_specs import max_pairwise_tvd, spec
from visage.fairness.estimates import GroupValues
from visage.fairness.groups import Attribute
from visage.fairness.permutation import spread
from visage.fairness.settings import FairnessSettings

PARITY = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
          "true_positive_rate_difference", "false_positive_rate_difference")


def compared_groups(counts: np.ndarray, settings: FairnessSettings) -> np.ndarray:
    """Return the indices of the groups that gaps, ratios and worst groups are computed over."""
    floor = 1 if settings.small_groups == "include" else settings.min_group_size
    return np.flatnonzero(counts >= max(1, floor))


def interval(samples: np.ndarray, quantiles: tuple[float, float]) -> list[float | None]:
    """Return the lower/upper quantiles over the resample axis (first), ignoring resamples where it is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bounds = np.nanquantile(samples, q=list(quantiles), axis=0)
    return [float(b) if math.isfinite(float(b)) else None for b in np.atleast_1d(bounds)]


def ratio(values: np.ndarray) -> np.ndarray:
    """Return min / max over the last axis, NaN where fewer than two values are defined or the max is 0."""
    defined = (~np.isnan(values)).sum(axis=-1)
    high = np.where(np.isnan(values), -np.inf, values).max(axis=-1, initial=-np.inf)
    low = np.where(np.isnan(values), np.inf, values).min(axis=-1, initial=np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((defined >= 2) & (high > 0), low / np.where(high > 0, high, 1), np.nan)


class _Writer:
    """Collects one attribute's disparities, their intervals and the reasons of undefined ones."""

    def __init__(self, values: GroupValues, compared: np.ndarray, excluded: Sequence[str],
                 settings: FairnessSettings, quantiles: tuple[float, float],
                 unavailable: Mapping[str, str] | None = None) -> None:
        self.values, self.compared, self.quantiles = values, compared, quantiles
        self.unavailable = dict(unavailable or {})
        self.note = (f"; {len(excluded)} group(s) below min_group_size={settings.min_group_size} left out"
                     if excluded else "")

    def point(self, metric: str) -> np.ndarray:
        return self.values.point[metric][self.compared]

    def boot(self, metric: str) -> np.ndarray:
        return self.values.boot[metric][:, self.compared]

    def why(self, metric: str, what: str = "a gap") -> str:
        if metric in self.unavailable:
            return self.unavailable[metric]
        defined = int((~np.isnan(self.point(metric))).sum())
        return (f"{metric} is defined in {defined} of the {len(self.compared)} compared group(s); "
                f"{what} needs two{self.note}")

    def put(self, out: dict[str, Any], key: str, point: float, samples: np.ndarray, reason: str) -> None:
        """Set `out[key]` and its interval, or null with `reason` where undefined."""
        if math.isfinite(point):
            out[key] = float(point)
            out["ci"][key] = interval(samples, self.quantiles)
        else:
            out[key] = None
            out["ci"][key] = [None, None]
            out["undefined"][key] = reason


def attribute_disparity(attribute: Attribute, values: GroupValues, tasks: Mapping[str, Sequence[str]],
                        headline: Sequence[str], settings: FairnessSettings, quantiles: tuple[float, float],
                        predicted: Mapping[str, Sequence[str]] | None = None,
                        unavailable: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the `disparity[<attribute>]` entry of the fairness JSON (without p-values).

    Args:
        attribute: the attribute and its groups.
        values: point and bootstrap values of every metric over its groups.
        tasks: classification tasks with their class names.
        headline: the per-group metrics whose gaps are reported.
        settings: min_group_size, small_groups and positive labels.
        quantiles: interval quantiles.
        predicted: tasks whose truth the table lacks, with their classes (scored by prediction shares).
        unavailable: metric -> why it is null for this table.
    """
    compared = compared_groups(values.point["n"], settings)
    names = np.asarray(attribute.groups, dtype=object)
    excluded = [str(g) for i, g in enumerate(attribute.groups) if i not in set(compared.tolist())]
    out: dict[str, Any] = {"groups_compared": [str(g) for g in names[compared]], "groups_excluded": excluded,
                           "worst_group": {}, "ci": {}, "p_value": {}, "undefined": {}}
    writer = _Writer(values, compared, excluded, settings, quantiles, unavailable)
    for metric in headline:
        point = writer.point(metric)
        writer.put(out, f"{metric}_gap", float(spread(point)), spread(writer.boot(metric)), writer.why(metric))
        metric_spec = spec(metric)
        if metric_spec.has_ratio:  # a ratio of signed errors means nothing
            reason = writer.why(metric, "a ratio") if np.isnan(spread(point)) else f"the best group's {metric} is 0"
            writer.put(out, f"{metric}_ratio", float(ratio(point)), ratio(writer.boot(metric)), reason)
        if not np.isnan(spread(point)) and metric_spec.direction != "none":
            scores = np.round(np.abs(point) if metric_spec.direction == "zero" else point, 12)  # ties: first group
            worst = np.nanargmax(scores) if metric_spec.lower_is_better else np.nanargmin(scores)
            out["worst_group"][metric] = str(names[compared][int(worst)])
    for task, classes in tasks.items():
        # fairlearn's parity metrics are binary: a task with a positive label is scored on it,
        # a multi-class task one-vs-rest for each class.
        if task in settings.positive:
            one = _parity(writer, task, settings.positive[task])
            for key in PARITY:
                out[f"{task}_{key}"] = one[key]
                out["ci"][f"{task}_{key}"] = one["ci"][key]
                if key in one["undefined"]:
                    out["undefined"][f"{task}_{key}"] = one["undefined"][key]
        else:
            out[f"{task}_one_vs_rest"] = {label: _parity(writer, task, label) for label in classes}
    for task, classes in (predicted or {}).items():
        _prediction_parity(writer, out, task, tuple(classes))
    return out


def _prediction_parity(writer: _Writer, out: dict[str, Any], task: str, classes: tuple[str, ...]) -> None:
    """Add the prediction-parity disparities of a task whose truth the table lacks.

    `<task>_prediction_tvd`: the largest total-variation distance between two compared groups'
    predicted-class distributions (½ Σ_c |share_g,c − share_h,c|), the one tested value per task;
    `<task>_selection_rate_<class>_gap` / `_ratio`: descriptive per-class differences and ratios
    (a ratio is null where a compared group is never predicted the class).
    """
    shares = [f"{task}_selection_rate_{c}" for c in classes]
    point = np.stack([writer.point(m) for m in shares], axis=-1)
    boot = np.stack([writer.boot(m) for m in shares], axis=-1)
    writer.put(out, f"{task}_prediction_tvd", float(max_pairwise_tvd(point)), max_pairwise_tvd(boot),
               writer.why(shares[0], "a distance between groups"))
    for metric, cls in zip(shares, classes):
        values = writer.point(metric)
        writer.put(out, f"{metric}_gap", float(spread(values)), spread(writer.boot(metric)), writer.why(metric))
        if np.isnan(spread(values)):
            reason, value = writer.why(metric, "a ratio"), float("nan")
        elif np.nanmin(values) <= 0:
            reason, value = f"a compared group is never predicted {cls}: a ratio of shares with 0 says nothing", float("nan")
        else:
            reason, value = "", float(ratio(values))
        writer.put(out, f"{metric}_ratio", value, ratio(writer.boot(metric)), reason)


def _parity(writer: _Writer, task: str, label: str) -> dict[str, Any]:
    """Return demographic parity and equalized odds of `task` with `label` as the positive class."""
    out: dict[str, Any] = {"ci": {}, "undefined": {}}
    selection, tpr, fpr = (f"{task}_{kind}_{label}" for kind in ("selection_rate", "tpr", "fpr"))
    writer.put(out, "demographic_parity_difference", float(spread(writer.point(selection))),
               spread(writer.boot(selection)), writer.why(selection))
    reason = writer.why(selection, "a ratio") if np.isnan(spread(writer.point(selection))) else \
        f"no compared group is predicted {label}"
    writer.put(out, "demographic_parity_ratio", float(ratio(writer.point(selection))),
               ratio(writer.boot(selection)), reason)
    tpr_gap, fpr_gap = spread(writer.point(tpr)), spread(writer.point(fpr))
    writer.put(out, "true_positive_rate_difference", float(tpr_gap), spread(writer.boot(tpr)),
               writer.why(tpr) + f" (TPR needs rows of true {label})")
    writer.put(out, "false_positive_rate_difference", float(fpr_gap), spread(writer.boot(fpr)),
               writer.why(fpr) + f" (FPR needs rows whose true {task} is not {label})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        odds = np.fmax(tpr_gap, fpr_gap)
        odds_boot = np.fmax(spread(writer.boot(tpr)), spread(writer.boot(fpr)))
    writer.put(out, "equalized_odds_difference", float(odds), odds_boot,
               f"neither TPR nor FPR of {task}={label} is defined in two compared groups "
               f"(each group holds only one true class, or too few groups{writer.note})")
    return out
