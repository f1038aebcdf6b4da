"""Multiple testing: every p-value a report judges by belongs to a family, and "beyond chance" holds for the family.

A fairness result holds one permutation test per tested gap and attribute (`p_value` of each
`disparity[<attribute>]`): with 5 attributes and a few headline metrics that is 20-30 tests, and
judged one by one at p < 0.05 most reports of groups that differ in nothing would still show a
"finding". Here the tests of one family (`gaps`: the gap and parity tests of the reported split) are
adjusted together:

- `holm` (default): Holm's step-down method controls the family-wise error rate (the chance of any
  false finding) under any dependence between the tests;
- `bh`: Benjamini-Hochberg controls the false-discovery rate (the expected share of false findings
  among the findings), valid for independent or positively dependent tests (as gaps of related
  metrics over the same rows are);
- `none`: raw p-values (for comparison only).

Ratios share their gap's test (they are not tests of their own). Tests that cannot show bias are not
counted: a classifier's parity over an attribute holding its own label (demographic parity of the
gender classifier across `gender` or `race*gender` measures its accuracy, not a bias). The adjusted
values equal statsmodels' `multipletests(method="holm" | "fdr_bh")`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from visage.core.errors import ConfigError, unknown_choice
from visage.core.names import INTERSECTION

CORRECTIONS = ("holm", "bh", "none")
DEFAULT_CORRECTION = "holm"
DEFAULT_ALPHA = 0.05
PARITY_SUFFIXES = ("_demographic_parity_difference", "_equalized_odds_difference", "_prediction_tvd")
PRECISION = 5  # "well below alpha": the smallest attainable p times the family's size stays <= alpha / PRECISION
MAX_PERMUTATIONS = 20_000


def validate_correction(correction: str, alpha: float) -> None:
    """Raise ConfigError (one line) for an unknown correction or an alpha outside (0, 1)."""
    if correction not in CORRECTIONS:
        raise unknown_choice("correction", correction, CORRECTIONS)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ConfigError(f"alpha={alpha} must be in (0, 1), e.g. 0.05")


def adjust(p_values: Sequence[float | None], method: str = DEFAULT_CORRECTION) -> list[float | None]:
    """Return the adjusted p-values of one family (None stays None and does not count in its size).

    Args:
        p_values: raw p-values, None where a test was not possible.
        method: "holm" (family-wise error rate), "bh" (false-discovery rate) or "none".
    """
    if method not in CORRECTIONS:
        raise unknown_choice("correction", method, CORRECTIONS)
    positions = [i for i, p in enumerate(p_values) if p is not None and math.isfinite(float(p))]
    out: list[float | None] = [None] * len(p_values)
    if not positions:
        return out
    p = np.array([float(p_values[i]) for i in positions])
    m = len(p)
    if method == "none":
        adjusted = p
    elif method == "holm":
        order = np.argsort(p, kind="mergesort")
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(stepped, 1.0)
    else:  # Benjamini-Hochberg
        order = np.argsort(p, kind="mergesort")[::-1]
        stepped = np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order])
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(stepped, 1.0)
    for i, value in zip(positions, adjusted):
        out[i] = float(value)
    return out


def holds_own_label(key: str, attribute: str) -> bool:
    """Return True for a parity test of a classifier over an attribute that holds its own label (no test of bias)."""
    for suffix in PARITY_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)] in attribute.split(INTERSECTION)
    return False


def own_label_reason(key: str, attribute: str) -> str:
    """Return why a parity test over an attribute holding the classifier's own label is not run."""
    task = next(key[: -len(s)] for s in PARITY_SUFFIXES if key.endswith(s))
    return (f"not tested: '{attribute}' holds the {task} classifier's own label, so its predictions differ "
            f"between these groups whenever it is accurate (parity here measures accuracy, not bias)")


def permutations_for(size: int, n_perm: int, alpha: float = DEFAULT_ALPHA) -> int:
    """Return the permutations a family of `size` tests needs: 1 / (n_perm + 1) · size <= alpha / PRECISION.

    Never fewer than `n_perm`, never more than MAX_PERMUTATIONS (then `enough_permutations` says so).
    """
    if n_perm < 1 or size < 1:
        return n_perm
    needed = math.ceil(PRECISION * size / alpha) - 1
    return int(min(max(n_perm, needed), max(n_perm, MAX_PERMUTATIONS)))


def enough_permutations(size: int, n_perm: int, alpha: float = DEFAULT_ALPHA) -> str | None:
    """Return a warning where the smallest attainable p-value times the family's size is not well below alpha."""
    if size < 1 or n_perm < 1:
        return None
    floor = size / (n_perm + 1)
    if floor <= alpha / PRECISION:
        return None
    return (f"with n_perm={n_perm}, the smallest attainable p-value times the {size} tests of the family is "
            f"{floor:.3g}, not well below alpha={alpha:g}: a real gap may not reach 'beyond chance'; raise n_perm")


def family_tests(fairness: Mapping[str, Any], family: str = "gaps", correction: str = DEFAULT_CORRECTION,
                 alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """Return the tests of a fairness result as one family, with raw and adjusted p-values.

    Returns:
        `{"families": {family: {correction, alpha, size}}, "tests": [{id, family, attribute, metric,
        value, p_value, p_adjusted, beyond_chance}]}`: one test per permutation-tested disparity
        (`metric` is its fairness-JSON key, e.g. `age_mae_gap`; ratios share it), in the order of the
        JSON; `size` counts the tests with a p-value; `beyond_chance` is `p_adjusted < alpha` (null
        where p is null). Parity tests over an attribute holding the classifier's own label are left out.
    """
    validate_correction(correction, alpha)
    tests = []
    for attribute, disparity in fairness.get("disparity", {}).items():
        for key, p in (disparity.get("p_value") or {}).items():
            if holds_own_label(key, attribute):
                continue
            value = disparity.get(key)
            tests.append({"id": f"{family}/{attribute}/{key}", "family": family, "attribute": attribute, "metric": key,
                          "value": value if isinstance(value, (int, float)) else None,
                          "p_value": None if p is None else float(p)})
    adjusted = adjust([t["p_value"] for t in tests], correction)
    for test, p in zip(tests, adjusted):
        test["p_adjusted"] = p
        test["beyond_chance"] = None if p is None else bool(p < alpha)
    size = sum(t["p_value"] is not None for t in tests)
    return {"families": {family: {"correction": correction, "alpha": float(alpha), "size": size}}, "tests": tests}


def ratio_test(key: str) -> str:
    """Return the test a disparity key is judged by: a ratio shares its gap's (`x_ratio` -> `x_gap`)."""
    return f"{key[: -len('_ratio')]}_gap" if key.endswith("_ratio") else key
