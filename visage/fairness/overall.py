"""Overall metrics of a predictions table (the run contract's `metrics.json`), from the metric table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from visage.core.age_bins import assign_age_bins
from visage.core.tasks import tasks_of
from visage.fairness.statistics import metrics_from_sums, row_statistics, table_data


def overall_metrics(table: pd.DataFrame, tasks: Mapping[str, str] | Sequence[int] | None = None,
                    age_bins: Sequence[int] | None = None, class_names: Mapping[str, Sequence[str]] | None = None
                    ) -> dict[str, float]:
    """Return n and every per-group metric of the metric table over the whole table, for the table's tasks.

    Args:
        table: the predictions table.
        tasks: task -> kind to score (default: every task the columns label, `visage.core.tasks`).
            (A list of ints here is taken as `age_bins`, the former second argument.)
        age_bins: with them, also the age-bin accuracy (predicted age falls in the true age's bin), the
            metric that compares with datasets labelled in bins.
        class_names: class names per classifier, where known.

    Metrics the table cannot give (CS@5 on binned ages) are left out; where the table knows the true
    latent age (synthetic data), also the age noise floor: the MAE a perfect model gets against these labels.
    """
    if tasks is not None and not isinstance(tasks, Mapping):  # the former signature: overall_metrics(table, age_bins)
        tasks, age_bins = None, tasks
    wanted = dict(tasks) if tasks is not None else tasks_of(table.columns)
    data = {t: d for t, d in table_data(table, class_names_=class_names).items() if t in wanted}
    metrics: dict[str, float] = {"n": int(len(table))}
    if len(table) and data:
        stats, layout = row_statistics(table, data=data)
        values = metrics_from_sums(stats.sum(axis=0), layout)
        medians = {s.name: float(np.median(stats[:, layout[f"{s.task}_{s.definition.median_of}"]]))
                   for s in layout.specs if s.definition.median_of and s.name not in layout.unavailable}
        for s in layout.specs:
            if not s.per_group or s.per_class or s.definition.between or s.name in layout.unavailable:
                continue
            value = medians[s.name] if s.name in medians else float(values[s.name])
            if math.isfinite(value):
                metrics[s.name] = value
    if "age_pred" in table and "age_true" in table and age_bins is not None:
        same = assign_age_bins(table["age_pred"], age_bins) == assign_age_bins(table["age_true"], age_bins)
        metrics["age_bin_acc"] = float(same.mean())
    if "age_latent" in table and "age_true" in table:
        metrics["age_noise_floor"] = float((table["age_latent"] - table["age_true"]).abs().mean())
    return metrics
