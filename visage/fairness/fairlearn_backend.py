"""The fairlearn backend (`evaluation.fairness.backend=fairlearn`): every value from fairlearn's MetricFrame.

For users who want the reference implementation. Each attribute gets one `MetricFrame` on the table
and one on each bootstrap resample that `MetricFrame(n_boot, random_state=seed)` itself draws
(`DataFrame.sample(frac=1, replace=True, random_state=<i-th seed>)`), so per-resample group values are
available for gaps over the compared groups. Metrics are sklearn's and fairlearn's own functions;
the rates are fairlearn's `selection_rate`, `true_positive_rate` and `false_positive_rate`, except that
a rate with no denominator is NaN (fairlearn returns 0 there). It returns the same `Estimates` as the
vectorised backend, so the JSON written from it has the same shape and, within float rounding, the
same numbers; it is much slower (minutes for 1,000 resamples of a few thousand rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, median_absolute_error

from visage.fairness.bootstrap import fairlearn_seeds, resample_indices
from visage.fairness.estimates import Estimates, GroupValues
from visage.fairness.groups import CellIndex
from visage.fairness.statistics import ECE_BINS, confidence_of, row_statistics

Metric = Callable[[np.ndarray, np.ndarray], float]


def _ece(correct: np.ndarray, confidence: np.ndarray) -> float:
    bins = np.clip((confidence * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
    gaps = sum(abs(correct[bins == b].sum() - confidence[bins == b].sum()) for b in range(ECE_BINS))
    return float(gaps / len(correct))


def _rate(function: Metric, y_true: np.ndarray, y_pred: np.ndarray, needs: int) -> float:
    """Return fairlearn's rate on binary labels, NaN where no row has the true label `needs` (no denominator)."""
    if not (y_true == needs).any():
        return float("nan")
    return float(function(y_true, y_pred, pos_label=1))


def metric_functions(table: pd.DataFrame, tasks: Mapping[str, tuple[str, ...]]) -> dict[str, Metric]:
    """Return MetricFrame metrics over row positions: each gets the positions of a group's rows as y_true."""
    functions: dict[str, Metric] = {"n": lambda rows, _: float(len(rows))}
    if "age_pred" in table and "age_true" in table:
        age_true, age_pred = table["age_true"].to_numpy(np.float64), table["age_pred"].to_numpy(np.float64)
        functions["age_mae"] = lambda rows, _: mean_absolute_error(age_true[rows], age_pred[rows])
        functions["age_bias"] = lambda rows, _: float(np.mean(age_pred[rows] - age_true[rows]))
        functions["age_median_ae"] = lambda rows, _: median_absolute_error(age_true[rows], age_pred[rows])
    for task, names in tasks.items():
        true = table[f"{task}_true"].astype(str).to_numpy()
        pred = table[f"{task}_pred"].astype(str).to_numpy()
        functions[f"{task}_acc"] = lambda rows, _, t=true, p=pred: accuracy_score(t[rows], p[rows])
        functions[f"{task}_macro_f1"] = lambda rows, _, t=true, p=pred: f1_score(
            t[rows], p[rows], average="macro", zero_division=0)
        confidence = confidence_of(table, task)
        if confidence is not None:
            correct = (true == pred).astype(np.float64)
            functions[f"{task}_ece"] = lambda rows, _, c=correct, q=confidence: _ece(c[rows], q[rows])
        for name in names:
            t, p = (true == name).astype(int), (pred == name).astype(int)
            functions[f"{task}_selection_rate_{name}"] = lambda rows, _, t=t, p=p: float(
                selection_rate(t[rows], p[rows], pos_label=1))
            functions[f"{task}_tpr_{name}"] = lambda rows, _, t=t, p=p: _rate(true_positive_rate, t[rows], p[rows], 1)
            functions[f"{task}_fpr_{name}"] = lambda rows, _, t=t, p=p: _rate(false_positive_rate, t[rows], p[rows], 0)
    return functions


def _by_group(functions: dict[str, Metric], rows: np.ndarray, features: np.ndarray,
              groups: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Return metric -> (groups,) values of MetricFrame over `rows` (groups without rows are NaN)."""
    frame = MetricFrame(metrics=functions, y_true=rows, y_pred=rows, sensitive_features=features)
    by_group = frame.by_group.reindex(list(groups))
    values = {name: by_group[name].to_numpy(np.float64) for name in functions}
    values["n"] = np.nan_to_num(values["n"])  # a group with no rows has n = 0, as in the vectorised backend
    return values


def fairlearn_estimates(table: pd.DataFrame, tasks: Mapping[str, tuple[str, ...]], index: CellIndex,
                        n_boot: int, seed: int) -> Estimates:
    """Return the same `Estimates` as `vectorised_estimates`, computed with fairlearn's MetricFrame."""
    functions = metric_functions(table, tasks)
    n = len(table)
    resamples = [resample_indices(n, int(s)) for s in fairlearn_seeds(n_boot, seed)]
    everyone = ("all",)
    groupings = [(np.full(n, "all", dtype=object), everyone)]
    groupings += [(np.asarray(a.groups, dtype=object)[a.row_group], a.groups) for a in index.attributes]
    values = []
    for features, groups in groupings:
        point = _by_group(functions, np.arange(n), features, groups)
        samples = [_by_group(functions, rows, features[rows], groups) for rows in resamples]
        boot = {name: np.stack([s[name] for s in samples]) for name in functions}
        values.append(GroupValues(point, boot))
    stats, layout = row_statistics(table, dict(tasks))
    return Estimates(dict(tasks), layout.has_age, index.attributes, values[0], values[1:], stats, layout)
