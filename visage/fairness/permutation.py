"""Permutation tests of the group labels: is a gap larger than chance gives?

Under the null hypothesis the rows' group labels carry no information, so shuffling them among the
rows of the compared groups (group sizes kept) gives gaps as large as the observed one. The p-value
is (1 + #{permuted gap >= observed gap}) / (1 + n_perm). Tested are the gaps of metrics that are
means of a per-row value (age MAE and bias, accuracies), the demographic parity difference and the
equalized odds difference; medians, macro-F1 and ECE are left to their bootstrap intervals.
Vectorised: a block of permutations gathers the rows' statistics in permuted order and sums each
group's contiguous segment at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from visage.fairness.statistics import StatLayout

BLOCK_VALUES = 20_000_000  # permuted statistics held at once (160 MB of float64)


@dataclass(frozen=True)
class Tested:
    """One tested disparity: its JSON key and how to compute it from a group's sums."""

    key: str
    kind: str               # "mean", "selection" or "odds"
    columns: tuple[str, ...]  # the statistics it needs


def tested_disparities(layout: StatLayout, positive: Mapping[str, str]) -> list[Tested]:
    """Return the disparities a permutation test is run for, given the statistics of a table."""
    tests = []
    if layout.has_age:
        tests += [Tested("age_mae_gap", "mean", ("abs_err",)), Tested("age_bias_gap", "mean", ("signed_err",))]
    for task in layout.tasks:
        tests.append(Tested(f"{task}_acc_gap", "mean", (f"{task}_correct",)))
        label = positive.get(task)
        if label is not None and label in layout.tasks[task]:
            pred, tp, true = f"{task}_pred_{label}", f"{task}_tp_{label}", f"{task}_true_{label}"
            tests.append(Tested(f"{task}_demographic_parity_difference", "selection", (pred,)))
            tests.append(Tested(f"{task}_equalized_odds_difference", "odds", (pred, tp, true)))
    return tests


def spread(values: np.ndarray) -> np.ndarray:
    """Return max − min over the last axis, NaN where fewer than two values are defined."""
    defined = (~np.isnan(values)).sum(axis=-1)
    filled_high = np.where(np.isnan(values), -np.inf, values).max(axis=-1, initial=-np.inf)
    filled_low = np.where(np.isnan(values), np.inf, values).min(axis=-1, initial=np.inf)
    return np.where(defined >= 2, filled_high - filled_low, np.nan)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _gaps(test: Tested, sums: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Return the disparity of each permutation from group sums (perms, groups, len(columns))."""
    if test.kind in ("mean", "selection"):
        return spread(_divide(sums[..., 0], sizes))
    pred, tp, true = sums[..., 0], sums[..., 1], sums[..., 2]
    return np.fmax(spread(_divide(tp, true)), spread(_divide(pred - tp, sizes - true)))


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
            gaps = _gaps(test, sums[..., [names.index(c) for c in test.columns]], sizes)
            threshold = float(observed[test.key]) - 1e-9 * max(1.0, abs(float(observed[test.key])))
            exceed[test.key] += int((gaps >= threshold).sum())
            valid[test.key] += int((~np.isnan(gaps)).sum())
    for test in tests:
        result[test.key] = (1 + exceed[test.key]) / (1 + valid[test.key])
    return result
