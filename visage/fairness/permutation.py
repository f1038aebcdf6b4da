"""Permutation tests of the group labels: is a gap larger than chance gives?

Under the null hypothesis the rows' group labels carry no information, so shuffling them among the
rows of the compared groups (group sizes kept) gives gaps as large as the observed one. The p-value
is (1 + #{permuted gap >= observed gap}) / (1 + n_perm). Tested are the gaps of the metric table's
entries marked `tested` (means of a per-row value: age MAE, bias and CS@5, accuracies), the
demographic parity and equalized odds differences, and for a task whose truth the data lacks the
largest total-variation distance between two groups' predicted-class distributions (an omnibus test
over all classes); medians, macro-F1 and ECE are left to their bootstrap intervals.
Vectorised: a block of permutations gathers the rows' statistics in permuted order and sums each
group's contiguous segment at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from visage.core.metric_specs import max_pairwise_tvd
from visage.fairness.statistics import StatLayout

BLOCK_VALUES = 20_000_000  # permuted statistics held at once (160 MB of float64)


@dataclass(frozen=True)
class Tested:
    """One tested disparity: its JSON key, the statistics it needs and how to compute it from a group's sums."""

    key: str
    columns: tuple[str, ...]                       # the statistics it needs (layout column names)
    disparity: Callable[[Callable[[str], np.ndarray]], np.ndarray]  # col(statistic) (..., groups) -> (...)


def spread(values: np.ndarray) -> np.ndarray:
    """Return max − min over the last axis, NaN where fewer than two values are defined."""
    defined = (~np.isnan(values)).sum(axis=-1)
    filled_high = np.where(np.isnan(values), -np.inf, values).max(axis=-1, initial=-np.inf)
    filled_low = np.where(np.isnan(values), np.inf, values).min(axis=-1, initial=np.inf)
    return np.where(defined >= 2, filled_high - filled_low, np.nan)


def _value(layout: StatLayout, metric: str, task: str, col: Callable[[str], np.ndarray], cls: str | None = None
           ) -> np.ndarray:
    """Return metric `metric` (a per-class kind's value for `cls`) of `task` from sums `col`."""
    s = next(s for s in layout.specs if s.name == metric)
    data = layout.data[task]
    return s.definition.from_sums(lambda name: col(name if name == "n" else f"{task}_{name}"), data, cls)


def tested_disparities(layout: StatLayout, positive: Mapping[str, str]) -> list[Tested]:
    """Return the disparities a permutation test is run for, given the statistics of a table.

    The gap (max − min over groups) of every metric-table entry marked `tested`, the demographic
    parity and equalized odds differences of classifiers with a positive label, and the
    between-groups distance of each predicted task (one omnibus test per task and attribute).
    """
    tests = []
    for s in layout.specs:
        if not s.tested or s.name in layout.unavailable:
            continue
        if s.definition.between:
            of, classes = f"{s.task}_{s.definition.between}", layout.data[s.task].classes
            tests.append(Tested(s.name, tuple(dict.fromkeys(["n", *[f"{s.task}_pred_{c}" for c in classes]])),
                                lambda col, t=s.task, of=of, cs=classes: max_pairwise_tvd(
                                    np.stack([_value(layout, of, t, col, c) for c in cs], axis=-1))))
        elif not s.per_class:
            tests.append(Tested(f"{s.name}_gap", layout.uses[s.name],
                                lambda col, m=s.name, t=s.task: spread(_value(layout, m, t, col))))
    for task, classes in layout.tasks.items():
        label = positive.get(task)
        if label is None or label not in classes:
            continue
        columns = ("n", f"{task}_pred_{label}", f"{task}_tp_{label}", f"{task}_true_{label}")
        rate = lambda col, kind, t=task, c=label: _value(layout, f"{t}_{kind}", t, col, c)  # noqa: E731
        tests.append(Tested(f"{task}_demographic_parity_difference", columns,
                            lambda col, r=rate: spread(r(col, "selection_rate"))))
        tests.append(Tested(f"{task}_equalized_odds_difference", columns,
                            lambda col, r=rate: np.fmax(spread(r(col, "tpr")), spread(r(col, "fpr")))))
    return tests


def permutation_p_values(stats: np.ndarray, layout: StatLayout, row_group: np.ndarray, compared: np.ndarray,
                         observed: Mapping[str, float | None], positive: Mapping[str, str], n_perm: int,
                         seed: int) -> dict[str, float | None]:
    """Return the permutation p-value of each tested disparity over the `compared` groups.

    Args:
        stats: per-row statistics (rows, K) with `layout`.
        row_group: group index of each row.
        compared: indices of the groups compared (the others' rows take no part).
        observed: the observed disparities by key (None where undefined: its p-value is None).
        positive: positive label per task (for parity metrics).
        n_perm: permutations.
        seed: seed of the permutations.
    """
    tests = [t for t in tested_disparities(layout, positive) if observed.get(t.key) is not None]
    result: dict[str, float | None] = {t.key: None for t in tested_disparities(layout, positive)}
    if not tests or n_perm < 1 or len(compared) < 2:
        return result
    rows = np.flatnonzero(np.isin(row_group, compared))
    order = rows[np.argsort(row_group[rows], kind="stable")]
    sizes = np.bincount(np.searchsorted(compared, row_group[order]), minlength=len(compared)).astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    names = sorted({c for t in tests for c in t.columns})
    values = stats[order][:, [layout[c] for c in names]]
    m = len(order)
    block = max(1, min(n_perm, BLOCK_VALUES // max(1, m * len(names))))
    rng = np.random.default_rng(seed)
    exceed = {t.key: 0 for t in tests}
    valid = {t.key: 0 for t in tests}
    for start in range(0, n_perm, block):
        count = min(block, n_perm - start)
        permutations = rng.permuted(np.tile(np.arange(m), (count, 1)), axis=1)
        sums = np.add.reduceat(values[permutations], starts, axis=1)  # (count, groups, columns)
        for test in tests:
            with np.errstate(invalid="ignore"):
                gaps = test.disparity(lambda name, s=sums: s[..., names.index(name)])
            threshold = float(observed[test.key]) - 1e-9 * max(1.0, abs(float(observed[test.key])))
            exceed[test.key] += int((gaps >= threshold).sum())
            valid[test.key] += int((~np.isnan(gaps)).sum())
    for test in tests:
        result[test.key] = (1 + exceed[test.key]) / (1 + valid[test.key])
    return result
