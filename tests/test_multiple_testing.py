"""Multiple testing: Holm and BH equal statsmodels, families leave out tests that cannot show bias, and
"beyond chance" under holm holds its level over many tables where nothing differs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from visage.core.errors import ConfigError
from visage.fairness.evaluation import FairnessSettings, evaluate_predictions
from visage.fairness.multiple_testing import adjust, family_tests, permutations_for, validate_correction

ALPHA = 0.05


@pytest.mark.parametrize(("method", "reference"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_values_equal_statsmodels(method: str, reference: str) -> None:
    rng = np.random.default_rng(0)
    for size in (1, 2, 7, 30):
        p = np.round(rng.uniform(0, 0.2, size), 3)  # rounding makes ties
        expected = multipletests(p, alpha=ALPHA, method=reference)[1]
        assert adjust(list(p), method) == pytest.approx(list(expected))
    # None (a test that could not be run) stays None and does not count in the family's size.
    with_none = [0.01, None, 0.04, 0.03]
    expected = multipletests([0.01, 0.04, 0.03], method=reference)[1]
    adjusted = adjust(with_none, method)
    assert adjusted[1] is None and [adjusted[0], adjusted[2], adjusted[3]] == pytest.approx(list(expected))
    assert adjust([0.2, None], "none") == [0.2, None]


@pytest.mark.parametrize(("correction", "alpha", "message"), [
    ("bonferroni", 0.05, "unknown correction 'bonferroni'; available: bh, holm, none"),
    ("holm", 1.5, r"alpha=1.5 must be in \(0, 1\)"),
    ("holm", 0, r"alpha=0 must be in \(0, 1\)"),
])
def test_bad_correction_or_alpha_is_one_line(correction: str, alpha: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_correction(correction, alpha)


def test_permutations_grow_with_the_family() -> None:
    assert permutations_for(3, 1000) == 1000  # 3 / 1001 is well below 0.05
    n = permutations_for(31, 1000)
    assert 31 / (n + 1) <= ALPHA / 5 < 31 / n


def null_table(n: int, seed: int, planted: float = 0.0) -> pd.DataFrame:
    """Age, gender and race predictions whose errors do not depend on any group (plus `planted` years for race C)."""
    rng = np.random.default_rng(seed)
    race, gender = rng.choice(["A", "B", "C"], n), rng.choice(["Male", "Female"], n)
    age = rng.integers(1, 80, n).astype(float)
    return pd.DataFrame({
        "race": race, "gender": gender, "race_true": race, "gender_true": gender, "age_true": age,
        "age_pred": age + rng.normal(0, 4, n) + np.where(race == "C", planted, 0.0),
        "race_pred": np.where(rng.random(n) < 0.7, race, rng.choice(["A", "B", "C"], n)),
        "gender_pred": np.where(rng.random(n) < 0.85, gender, np.where(gender == "Male", "Female", "Male")),
    })


SETTINGS = FairnessSettings(attributes=("race", "gender", "race*gender"), n_boot=1, n_perm=100, min_group_size=20)


def test_family_leaves_out_parity_over_the_classifiers_own_label_and_counts_the_rest() -> None:
    result = evaluate_predictions(null_table(300, 0), "val", SETTINGS)
    family = family_tests(result, correction="holm", alpha=ALPHA)
    ids = [t["id"] for t in family["tests"]]
    assert "gaps/race/gender_demographic_parity_difference" in ids
    assert not [i for i in ids if "gender" in i.split("/")[1] and "demographic_parity" in i]
    assert result["disparity"]["race*gender"]["p_value"]["gender_demographic_parity_difference"] is None
    assert "own label" in result["disparity"]["gender"]["not_tested"]["gender_demographic_parity_difference"]
    assert not [t for t in family["tests"] if t["metric"].endswith("_ratio")]  # ratios share their gap's test
    size = family["families"]["gaps"]["size"]
    assert size == len(ids) == result["settings"]["family_size"] == 3 * 7 - 2 * 2
    assert size / (result["settings"]["n_perm_used"] + 1) <= ALPHA / 5
    raw = [t["p_value"] for t in family["tests"]]
    assert [t["p_adjusted"] for t in family["tests"]] == pytest.approx(list(multipletests(raw, method="holm")[1]))
    assert all(t["beyond_chance"] == (t["p_adjusted"] < ALPHA) for t in family["tests"])


@pytest.mark.parametrize("tables", [60, pytest.param(400, marks=pytest.mark.slow)])
def test_no_planted_difference_is_beyond_chance_at_most_alpha_of_the_time_under_holm(tables: int) -> None:
    any_holm, any_raw = 0, 0
    for seed in range(tables):
        family = family_tests(evaluate_predictions(null_table(240, 1000 + seed), "val", SETTINGS), alpha=ALPHA)
        any_holm += any(t["beyond_chance"] for t in family["tests"])
        any_raw += any(t["p_value"] is not None and t["p_value"] < ALPHA for t in family["tests"])
    share, raw = any_holm / tables, any_raw / tables
    assert share <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / tables), (share, raw)
    assert raw > share  # judged one by one, the same tables show findings far more often
    planted = family_tests(evaluate_predictions(null_table(240, 7, planted=4.0), "val", SETTINGS), alpha=ALPHA)
    found = {t["id"] for t in planted["tests"] if t["beyond_chance"]}
    assert "gaps/race/age_bias_gap" in found  # C's faces are estimated 4 years older: beyond chance after holm
