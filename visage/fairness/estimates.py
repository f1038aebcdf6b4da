"""Every metric per group, as a point value and over bootstrap resamples: the vectorised backend.

The result (`Estimates`) is what the fairness JSON is written from; the fairlearn backend
(`fairlearn_backend.py`) produces the same structure with fairlearn's MetricFrame, so both backends
share every step after it (gaps, undefined values, permutation tests, JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from visage.core.metric_specs import MetricSpec
from visage.fairness.bootstrap import bootstrap_sums
from visage.fairness.groups import Attribute, CellIndex
from visage.fairness.statistics import StatLayout, metrics_from_sums, row_statistics


@dataclass
class GroupValues:
    """Metric values over the groups of one grouping (the whole table is a grouping with one group).

    Attributes:
        point: metric name -> (groups,) values on the table itself (NaN where undefined).
        boot: metric name -> (n_boot, groups) values on each bootstrap resample (NaN where undefined).
    """

    point: dict[str, np.ndarray]
    boot: dict[str, np.ndarray]


@dataclass
class Estimates:
    """Point and bootstrap values of every metric, overall and for each attribute's groups."""

    tasks: dict[str, tuple[str, ...]]   # classification tasks (truth and prediction) -> class names
    has_age: bool
    attributes: tuple[Attribute, ...]
    overall: GroupValues
    groups: list[GroupValues]   # one per attribute, in the order of `attributes`
    stats: np.ndarray           # per-row statistics (rows, K), for permutation tests
    layout: StatLayout

    @property
    def predicted(self) -> dict[str, tuple[str, ...]]:
        """Return the predicted tasks (a classifier whose truth the table lacks) with their classes."""
        return self.layout.predicted


def median_specs(layout: StatLayout) -> list[MetricSpec]:
    """Return the metrics that are medians of a per-row statistic (not sums), computed for the table."""
    return [s for s in layout.specs if s.definition.median_of and s.name not in layout.unavailable]


def vectorised_estimates(table: pd.DataFrame, tasks: Mapping[str, tuple[str, ...]], index: CellIndex,
                         n_boot: int, seed: int) -> Estimates:
    """Return the estimates of `table` from per-cell sums and fairlearn's resamples (see `bootstrap.py`).

    Args:
        table: the predictions table.
        tasks: classification tasks with their class names.
        index: the table's cells and attributes (`groups.build_cells`).
        n_boot: bootstrap resamples.
        seed: fairlearn's `random_state`: resample i is the one `MetricFrame(n_boot, random_state=seed)` draws.
    """
    stats, layout = row_statistics(table, dict(tasks))
    groupings: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(len(table), np.int64), np.ones((index.n_cells, 1)))]
    groupings += [(a.row_group, a.membership) for a in index.attributes]
    medians = median_specs(layout)
    median_values = [stats[:, layout[f"{s.task}_{s.definition.median_of}"]] for s in medians]
    boot_sums, first_medians = bootstrap_sums(stats, index.row_cell, index.n_cells, n_boot, seed,
                                              median_values[0] if medians else None, groupings if medians else ())
    boot_medians = [first_medians] + [
        bootstrap_sums(stats[:, :1], index.row_cell, index.n_cells, n_boot, seed, values, groupings)[1]
        for values in median_values[1:]]
    cell_sums = np.zeros((index.n_cells, stats.shape[1]))
    np.add.at(cell_sums, index.row_cell, stats)

    def values(k: int) -> GroupValues:
        row_group, membership = groupings[k]
        point = metrics_from_sums(membership.T @ cell_sums, layout)
        boot = metrics_from_sums(np.einsum("bck,cg->bgk", boot_sums, membership), layout)
        for s, column, per_grouping in zip(medians, median_values, boot_medians):
            point[s.name] = pd.Series(column).groupby(row_group).median().reindex(range(membership.shape[1])).to_numpy()
            boot[s.name] = per_grouping[k]
        for s in layout.specs:  # a median the table cannot give (e.g. on binned truth): NaN
            if s.definition.median_of and s.name in layout.unavailable:
                point[s.name] = np.full(membership.shape[1], np.nan)
                boot[s.name] = np.full((n_boot, membership.shape[1]), np.nan)
        return GroupValues(point, boot)

    return Estimates(dict(layout.tasks), layout.has_age, index.attributes, values(0),
                     [values(k) for k in range(1, len(groupings))], stats, layout)


def names_of(attribute: Attribute, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Return the group name of each row (of `rows`, default all) for one attribute."""
    groups = np.asarray(attribute.groups, dtype=object)
    return groups[attribute.row_group if rows is None else attribute.row_group[rows]]
