"""Per-row sufficient statistics of every metric in the metric table, and the metrics from their sums.

Each metric is a function of sums over the rows of a group (MAE = Σ|e| / n, accuracy = Σcorrect / n,
macro-F1 from per-class TP / predicted / true counts, ...); which statistics and which formula is the
metric's entry in `visage.core.metric_specs`. Sums may carry leading batch axes (bootstrap
resamples, permutations); every function here works elementwise over them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from visage.core.metric_specs import ECE_BINS, MetricSpec, TaskData, metrics_for
from visage.core.tasks import class_names, confidence_of, table_tasks, task_data, tasks_of

__all__ = ["ECE_BINS", "StatLayout", "classification_tasks", "confidence_of", "metrics_from_sums", "row_statistics",
           "table_data"]


@dataclass(frozen=True)
class StatLayout:
    """Which column of the statistics matrix holds which sum, and the metrics computed from them.

    Attributes:
        columns: statistic names (`n`, then `<task>_<statistic>`).
        tasks: classification tasks (truth and prediction) -> class names.
        has_age: the table has age truth and predictions.
        data: every task's columns (`TaskData`), by task.
        specs: the metrics computed, in table order.
        unavailable: metric -> why it is null everywhere (e.g. CS@5 on binned ages).
        uses: metric -> the statistics its value needs (for permutation tests).
    """

    columns: tuple[str, ...]
    tasks: dict[str, tuple[str, ...]]
    has_age: bool
    data: dict[str, TaskData] = field(default_factory=dict)
    specs: tuple[MetricSpec, ...] = ()
    unavailable: dict[str, str] = field(default_factory=dict)
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.columns.index(name)

    @property
    def predicted(self) -> dict[str, tuple[str, ...]]:
        """Return the predicted tasks (no truth) with their classes."""
        return {t: d.classes for t, d in self.data.items() if d.kind == "predicted"}

    def column(self, sums: np.ndarray, task: str) -> callable:
        """Return `col(statistic)` -> the sums of `task`'s statistic (`n` is shared)."""
        return lambda name: sums[..., self[name if name == "n" else f"{task}_{name}"]]


def classification_tasks(table: pd.DataFrame, class_names_: Mapping[str, Sequence[str]] | None = None
                         ) -> dict[str, tuple[str, ...]]:
    """Return the classification tasks (truth and prediction) in `table` with their class names."""
    known = dict(class_names_ or {})
    return {task: class_names(table, task, known.get(task))
            for task, kind in tasks_of(table.columns).items() if kind == "classification"}


def table_data(table: pd.DataFrame, tasks: Mapping[str, Sequence[str]] | None = None,
               class_names_: Mapping[str, Sequence[str]] | None = None) -> dict[str, TaskData]:
    """Return every task's columns: classification tasks with the classes in `tasks`, plus age and predicted tasks."""
    data = table_tasks(table, {**dict(class_names_ or {}), **dict(tasks or {})})
    for task, classes in dict(tasks or {}).items():  # the classes given win over those found
        data[task] = task_data(table, task, "classification", tuple(classes))
    return data


def row_statistics(table: pd.DataFrame, tasks: Mapping[str, Sequence[str]] | None = None,
                   data: Mapping[str, TaskData] | None = None) -> tuple[np.ndarray, StatLayout]:
    """Return the (rows, K) matrix of per-row statistics whose group sums give every metric.

    Args:
        table: the predictions table.
        tasks: classification tasks with their class names (default: found in the table).
        data: every task's columns (default: `table_data(table, tasks)`).
    """
    data = dict(data) if data is not None else table_data(table, tasks)
    columns: dict[str, np.ndarray] = {"n": np.ones(len(table))}
    specs, unavailable, uses = [], {}, {}
    for s in metrics_for({task: d.kind for task, d in data.items()}):
        d = data[s.task]
        if not s.definition.needs(d):  # e.g. ECE of predictions without probabilities: not computed
            continue
        specs.append(s)
        reason = s.definition.unavailable(d)
        if reason is not None:
            unavailable[s.name] = reason
            continue
        names = []
        for name, values in s.definition.statistics(d).items():
            columns.setdefault(f"{s.task}_{name}", values)
            names.append(f"{s.task}_{name}")
        uses[s.name] = ("n", *names)
    classification = {t: d.classes for t, d in data.items() if d.kind == "classification"}
    has_age = "age" in data and data["age"].kind == "regression"
    layout = StatLayout(tuple(columns), classification, has_age, data, tuple(specs), unavailable, uses)
    return np.column_stack(list(columns.values())), layout


def spec_values(s: MetricSpec, col: callable, data: TaskData, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Return the values of one (sum-based) metric: {name: array}, per class for a per-class kind."""
    if s.per_class:
        return {f"{s.name}_{c}": s.definition.from_sums(col, data, c) for c in data.classes}
    return {s.name: s.definition.from_sums(col, data, None)}


def metrics_from_sums(sums: np.ndarray, layout: StatLayout) -> dict[str, np.ndarray]:
    """Return each metric (arrays shaped like `sums` without its last axis) from summed statistics.

    Medians (not sums) and between-group distances (not per group) are not among them; metrics
    unavailable for the table are NaN.
    """
    n = sums[..., layout["n"]]
    metrics: dict[str, np.ndarray] = {"n": n}
    for s in layout.specs:
        d = layout.data[s.task]
        if s.definition.median_of or s.definition.between:
            continue
        if s.name in layout.unavailable:
            names = s.names(d.classes)
            metrics.update({name: np.full(n.shape, np.nan) for name in names})
            continue
        metrics.update(spec_values(s, layout.column(sums, s.task), d, n.shape))
    return metrics
