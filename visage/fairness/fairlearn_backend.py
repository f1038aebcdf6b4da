"""The fairlearn backend (`evaluation.fairness.backend=fairlearn`): every value from fairlearn's MetricFrame.

For users who want the reference implementation. Each attribute gets one `MetricFrame` on the table
and one on each bootstrap resample that `MetricFrame(n_boot, random_state=seed)` itself draws
(`DataFrame.sample(frac=1, replace=True, random_state=<i-th seed>)`), so per-resample group values are
available for gaps over the compared groups. Metrics are the reference functions of the metric table (sklearn's and fairlearn's own);
the rates are fairlearn's `selection_rate`, `true_positive_rate` and `false_positive_rate`, except that
a rate with no denominator is NaN (fairlearn returns 0 there). It returns the same `Estimates` as the
vectorised backend, so the JSON written from it has the same shape and, within float rounding, the
same numbers; it is much slower (minutes for 1,000 resamples of a few thousand rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from visage.fairness.bootstrap import fairlearn_seeds, resample_indices
from visage.fairness.estimates import Estimates, GroupValues
from visage.fairness.groups import CellIndex
from visage.fairness.statistics import StatLayout, row_statistics

Metric = Callable[[np.ndarray, np.ndarray], float]


def metric_functions(layout: StatLayout) -> dict[str, Metric]:
    """Return MetricFrame metrics over row positions: each gets the positions of a group's rows as y_true.

    Every metric of the table's tasks is its metric-table entry's reference function (sklearn's or
    fairlearn's); metrics unavailable for the table (e.g. CS@5 on binned ages) are NaN.
    """
    functions: dict[str, Metric] = {"n": lambda rows, _: float(len(rows))}
    for s in layout.specs:
        if s.definition.between:  # a distance between groups, not a value per group
            continue
        data = layout.data[s.task]
        reference = s.definition.reference
        if s.name in layout.unavailable:
            reference = lambda d, rows, c: float("nan")  # noqa: E731
        for name, cls in ([(f"{s.name}_{c}", c) for c in data.classes] if s.per_class else [(s.name, None)]):
            functions[name] = lambda rows, _, f=reference, d=data, c=cls: float(f(d, np.asarray(rows, np.int64), c))
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
    stats, layout = row_statistics(table, dict(tasks))
    functions = metric_functions(layout)
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
    return Estimates(dict(layout.tasks), layout.has_age, index.attributes, values[0], values[1:], stats, layout)
