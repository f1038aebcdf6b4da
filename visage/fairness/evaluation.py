"""From a predictions table to the fairness result (`fairness/<split>.json` of the run contract).

Values per group come from one of two backends with the same output (`Estimates`): the vectorised
path (cell sums over fairlearn's own resamples, `estimates.py`), or fairlearn's MetricFrame
(`fairlearn_backend.py`, `evaluation.fairness.backend=fairlearn`). Everything after that is shared:
per-group entries with undefined values named, disparities over the groups big enough to judge
(`disparity.py`) and permutation p-values of the gaps (`permutation.py`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from visage.core.errors import ConfigError
from visage.core.names import GROUP_COLUMNS, INTERSECTION
from visage.fairness.disparity import attribute_disparity, compared_groups, interval
from visage.fairness.estimates import Estimates, GroupValues, vectorised_estimates
from visage.fairness.groups import Attribute, build_cells, warn_empty_groups
from visage.fairness.multiple_testing import enough_permutations, holds_own_label, own_label_reason, permutations_for
from visage.fairness.permutation import permutation_p_values, tested_disparities
from visage.fairness.settings import FairnessSettings, default_attributes, validate_settings
from visage.fairness.statistics import classification_tasks

__all__ = ["FairnessSettings", "evaluate_predictions", "estimate", "json_ready"]

RATES = ("selection_rate", "tpr", "fpr")
NO_ATTRIBUTE = ("no sensitive attribute: the table has no group column to compare (by_group and disparity are "
                "empty; name one with evaluation.fairness.attributes=[<column>, ...])")


def json_ready(value: Any) -> Any:
    """Return `value` with NaN/inf as None and numpy scalars as Python numbers (valid JSON)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def estimate(table: pd.DataFrame, settings: FairnessSettings,
             class_names: Mapping[str, Sequence[str]] | None = None) -> tuple[Estimates, list[str]]:
    """Validate `settings` against `table` and return its estimates, with warnings about left-out attributes.

    Attributes naming a contract grouping column the table lacks (race on an emotion-only dataset) are
    left out with a warning; any other unknown column is a ConfigError. `settings.attributes=None`
    means the contract's grouping columns the table has, and the first one's intersection with each
    other (`default_attributes`). A table with no sensitive attribute gets overall values only, and a
    note saying so.
    """
    if len(table) == 0:
        raise ConfigError("the predictions table is empty")
    tasks = classification_tasks(table, class_names)
    if settings.attributes is None:
        settings = dataclasses.replace(settings, attributes=default_attributes([c for c in GROUP_COLUMNS if c in table]))
    validate_settings(settings, columns=sorted(set(GROUP_COLUMNS) | set(map(str, table.columns))), classes=tasks)
    attributes = [a for a in settings.attributes if all(part in table for part in a.split(INTERSECTION))]
    notes = [f"attribute '{a}' left out: the table has no column {', '.join(p for p in a.split(INTERSECTION) if p not in table)}"
             for a in settings.attributes if a not in attributes]
    if not attributes:
        notes.append(NO_ATTRIBUTE)
    index = build_cells(table, attributes, settings.categories)
    if settings.backend == "fairlearn":
        from visage.fairness.fairlearn_backend import fairlearn_estimates  # fairlearn is only imported when asked

        return fairlearn_estimates(table, tasks, index, settings.n_boot, settings.seed), notes
    return vectorised_estimates(table, tasks, index, settings.n_boot, settings.seed), notes


def evaluate_predictions(table: pd.DataFrame, split: str, settings: FairnessSettings | None = None,
                         class_names: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Return the fairness result of one split: overall, by_group and disparity, each with intervals.

    Every per-group value and every gap has a bootstrap interval; groups smaller than `min_group_size`
    are flagged `small` and (by default) left out of gaps, groups with no rows are reported `empty`
    with a warning, and every undefined value is null with its reason. The permutation tests are one
    family (`multiple_testing`): n_perm is raised with the family's size so that the smallest
    attainable p-value times that size stays well below 0.05 (`settings.n_perm_used`), and parity
    tests of a classifier over an attribute holding its own label are not run (`not_tested`).
    """
    settings = settings or FairnessSettings()
    if len(table) == 0:
        raise ConfigError(f"the predictions table of split '{split}' is empty")
    estimates, notes = estimate(table, settings, class_names)
    quantiles = settings.quantiles()
    layout = estimates.layout
    headline = headline_metrics(estimates)
    rates = _rate_names(estimates, settings)
    shares = {m: m for m in _share_names(estimates)}
    overall = estimates.overall
    shown = [*headline, *shares]
    result: dict[str, Any] = {
        "split": split, "n": int(len(table)),
        "settings": {**settings.describe(), "attributes": [a.name for a in estimates.attributes]},
        "tasks": {task: data.kind for task, data in layout.data.items()},
        "overall": {**{m: overall.point[m][0] for m in shown},
                    "ci": {m: interval(overall.boot[m][:, 0], quantiles) for m in shown},
                    "undefined": {m: layout.unavailable[m] for m in shown if m in layout.unavailable}},
        "by_group": {}, "disparity": {}, "warnings": list(notes),
    }
    if not estimates.attributes:
        result["no_sensitive_attribute"] = True
    observed_by_attribute = []
    for k, attribute in enumerate(estimates.attributes):
        values = estimates.groups[k]
        message = warn_empty_groups(attribute, values.point["n"])
        if message:
            result["warnings"].append(message)
        result["by_group"][attribute.name] = _by_group(table, estimates, attribute, values, headline,
                                                       {**rates, **shares}, settings, quantiles)
        disparity = attribute_disparity(attribute, values, estimates.tasks, headline, settings, quantiles,
                                        estimates.predicted, layout.unavailable)
        observed = {key: disparity.get(key) for key in disparity if not isinstance(disparity[key], (dict, list))}
        not_tested = {key: own_label_reason(key, attribute.name) for key in observed if holds_own_label(key, attribute.name)}
        if not_tested:  # a classifier's parity over its own label measures accuracy: not run, not counted
            disparity["not_tested"] = not_tested
        observed_by_attribute.append({key: v for key, v in observed.items() if key not in not_tested})
        result["disparity"][attribute.name] = disparity
    tested = {t.key for t in tested_disparities(layout, settings.positive)}
    size = sum(1 for observed in observed_by_attribute for key, v in observed.items() if key in tested and v is not None)
    n_perm = permutations_for(size, settings.n_perm)
    result["settings"]["n_perm_used"] = n_perm
    result["settings"]["family_size"] = size
    warning = enough_permutations(size, n_perm)
    if warning:
        result["warnings"].append(warning)
    for k, attribute in enumerate(estimates.attributes):
        values, disparity = estimates.groups[k], result["disparity"][attribute.name]
        disparity["p_value"] = permutation_p_values(
            estimates.stats, estimates.layout, attribute.row_group, compared_groups(values.point["n"], settings),
            observed_by_attribute[k], settings.positive, n_perm, settings.seed + k) if settings.n_perm else {}
    return json_ready(result)


def headline_metrics(estimates: Estimates) -> list[str]:
    """Return the metrics reported per group with their gaps: the table's per-group entries, one value per task."""
    return [s.name for s in estimates.layout.specs if s.per_group and not s.per_class and not s.definition.between]


def _share_names(estimates: Estimates) -> list[str]:
    """Return the per-class prediction shares of the predicted tasks (`<task>_selection_rate_<class>`)."""
    return [name for s in estimates.layout.specs if s.per_group and s.per_class
            for name in s.names(estimates.layout.data[s.task].classes)]


def _rate_names(estimates: Estimates, settings: FairnessSettings) -> dict[str, str]:
    """Return {by_group key: metric} of the rates behind parity metrics (tasks with a positive label)."""
    return {f"{task}_{rate}": f"{task}_{rate}_{settings.positive[task]}"
            for task in estimates.tasks if task in settings.positive for rate in RATES}


def _reason(metric: str, n: int, settings: FairnessSettings, unavailable: Mapping[str, str]) -> str:
    """Return why `metric` has no value in a group of `n` rows."""
    if metric in unavailable:
        return unavailable[metric]
    if n == 0:
        return "no rows in this group"
    task, _, rate = metric.partition("_")
    label = settings.positive.get(task)
    if rate == "tpr":
        return f"no row of true {task} {label} in this group (TPR has no denominator)"
    if rate == "fpr":
        return f"every row's true {task} is {label} in this group (FPR has no denominator)"
    return "no denominator in this group"


def _by_group(table: pd.DataFrame, estimates: Estimates, attribute: Attribute, values: GroupValues,
              headline: Sequence[str], rates: Mapping[str, str], settings: FairnessSettings,
              quantiles: tuple[float, float]) -> dict[str, Any]:
    """Return {group: {n, small, empty, metrics..., ci, undefined, confusion}} for one attribute."""
    out = {}
    shown = {**{m: m for m in headline}, **rates}
    for g, name in enumerate(attribute.groups):
        n = int(values.point["n"][g])
        entry: dict[str, Any] = {"n": n, "small": 0 < n < settings.min_group_size, "empty": n == 0}
        entry.update({key: values.point[metric][g] for key, metric in shown.items()})
        entry["ci"] = {key: interval(values.boot[metric][:, g], quantiles) for key, metric in shown.items()}
        entry["undefined"] = {key: _reason(key, n, settings, estimates.layout.unavailable) for key, metric in shown.items()
                              if np.isnan(values.point[metric][g])}
        entry["confusion"] = _confusions(table, estimates.tasks, attribute.row_group == g)
        out[name] = entry
    return out


def _confusions(table: pd.DataFrame, tasks: Mapping[str, Sequence[str]], rows: np.ndarray) -> dict[str, Any]:
    """Return per-task confusion counts {true: {pred: n}} of the selected rows."""
    out = {}
    for task, names in tasks.items():
        names = [str(c) for c in names]
        lookup = {name: i for i, name in enumerate(names)}
        true = np.array([lookup.get(v, -1) for v in table[f"{task}_true"].astype(str).to_numpy()[rows]], np.int64)
        pred = np.array([lookup.get(v, -1) for v in table[f"{task}_pred"].astype(str).to_numpy()[rows]], np.int64)
        known = (true >= 0) & (pred >= 0)
        counts = np.bincount(true[known] * len(names) + pred[known], minlength=len(names) ** 2).reshape(len(names), -1)
        out[task] = {t: {p: int(counts[i, j]) for j, p in enumerate(names)} for i, t in enumerate(names)}
    return out
