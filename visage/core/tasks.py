"""Tasks are what the data labels: found from a predictions table's columns (numpy and pandas only).

A task `t` is scored where the table has `t_pred`: with `t_true` beside it, age is a regression and
any other task a classification; without `t_true`, a classifier is a *predicted* task, scored by the
shares of what it predicts per group (parity of predictions, not errors). A classifier's classes are
its `t_prob_<class>` columns (in that order), else the dataset's class names, then any other value
seen. Where the true ages are bin centres (the table carries `age_bin_label`, as FairFace's does),
metrics that need exact ages say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from visage.core.metric_specs import TaskData, default_task_kind
from visage.core.names import AGE

BINNED_TRUTH_SUFFIX = "_bin_label"  # `age_bin_label`: the truth is a bin (its centre is `age_true`)


def tasks_of(columns: Iterable[str], *, truth: bool | None = None) -> dict[str, str]:
    """Return {task: "regression" | "classification" | "predicted"} from table column names, in column order.

    Args:
        columns: the table's columns.
        truth: True keeps only tasks with a truth, False only predicted tasks; None all.
    """
    names = [str(c) for c in columns]
    present = set(names)
    tasks: dict[str, str] = {}
    for column in names:
        if not column.endswith("_pred"):
            continue
        task = column[: -len("_pred")]
        if f"{task}_true" in present:
            tasks[task] = default_task_kind(task)
        elif task != AGE and default_task_kind(task) == "classification":
            tasks[task] = "predicted"
    if truth is not None:
        tasks = {t: k for t, k in tasks.items() if (k != "predicted") == truth}
    return tasks


def truths_without_prediction(columns: Iterable[str]) -> list[str]:
    """Return the tasks with a `<task>_true` column but no `<task>_pred` (nothing to score them on)."""
    present = {str(c) for c in columns}
    return [c[: -len("_true")] for c in map(str, columns) if c.endswith("_true") and f"{c[:-5]}_pred" not in present]


def prob_classes(columns: Iterable[str], task: str) -> list[str]:
    """Return the classes named by `<task>_prob_<class>` columns, in column order."""
    prefix = f"{task}_prob_"
    return [str(c)[len(prefix):] for c in columns if str(c).startswith(prefix)]


def class_names(table: pd.DataFrame, task: str, known: Sequence[str] | None = None) -> tuple[str, ...]:
    """Return the classes of a classifier: the dataset's (or its probability columns'), then any value seen."""
    seen_columns = [f"{task}_true", f"{task}_pred"]
    seen = sorted(set().union(*[set(table[c].astype(str)) for c in seen_columns if c in table]))
    names = [str(c) for c in (known or prob_classes(table.columns, task) or seen)]
    return tuple(names + [s for s in seen if s not in names])


def confidence_of(table: pd.DataFrame, task: str) -> np.ndarray | None:
    """Return the classifier's confidence per row: its largest class probability (or `<task>_prob`), if saved."""
    prob_columns = [f"{task}_prob_{c}" for c in prob_classes(table.columns, task)]
    if prob_columns:
        return table[prob_columns].to_numpy(dtype=np.float64).max(axis=1)
    if f"{task}_prob" in table:
        return table[f"{task}_prob"].to_numpy(dtype=np.float64)
    return None


def task_data(table: pd.DataFrame, task: str, kind: str, classes: Sequence[str] = ()) -> TaskData:
    """Return the columns of `task` in `table` as the metric table's statistics read them."""
    if kind == "regression":
        return TaskData(task, "regression", table[f"{task}_pred"].to_numpy(np.float64),
                        table[f"{task}_true"].to_numpy(np.float64),
                        binned_truth=f"{task}{BINNED_TRUTH_SUFFIX}" in table)
    true = table[f"{task}_true"].astype(str).to_numpy() if kind == "classification" else None
    return TaskData(task, kind, table[f"{task}_pred"].astype(str).to_numpy(), true, tuple(classes),
                    confidence_of(table, task) if kind == "classification" else None)


def table_tasks(table: pd.DataFrame, known_classes: Mapping[str, Sequence[str]] | None = None
                ) -> dict[str, TaskData]:
    """Return every task of `table` with its columns (classes from `known_classes` where given)."""
    known = dict(known_classes or {})
    return {task: task_data(table, task, kind, class_names(table, task, known.get(task)) if kind != "regression" else ())
            for task, kind in tasks_of(table.columns).items()}
