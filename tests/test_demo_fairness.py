"""The demo's fairness tab judges gaps as the report does: one family per split, corrected as chosen."""

from __future__ import annotations

import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from visage.demo_app.runs import disparity_table
from visage.demo_app.settings import DemoSettings
from visage.fairness.multiple_testing import family_tests

RESULTS = {"disparity": {
    "race": {"age_mae_gap": 1.2, "age_mae_ratio": 1.5, "gender_acc_gap": 0.04,
             "p_value": {"age_mae_gap": 0.004, "gender_acc_gap": 0.03}},
    "gender": {"age_mae_gap": 0.1, "age_mae_ratio": 1.02, "gender_demographic_parity_difference": 0.5,
               "p_value": {"age_mae_gap": 0.02, "gender_demographic_parity_difference": 0.001}},  # dp over gender holds its own label
}}


@pytest.mark.parametrize(("correction", "method"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_gap_p_values_are_adjusted_over_the_whole_split_as_statsmodels_does(correction: str, method: str) -> None:
    raw = [0.004, 0.03, 0.02]  # race age, race gender acc, gender age; gender dp over gender is not a test
    reference = dict(zip(["race/age_mae_gap", "race/gender_acc_gap", "gender/age_mae_gap"],
                         multipletests(raw, alpha=0.05, method=method)[1]))
    family = family_tests(RESULTS, "gaps", correction, 0.05)
    assert family["families"]["gaps"]["size"] == 3
    for attribute in ("race", "gender"):
        table = disparity_table(RESULTS, attribute, family).set_index("measure")
        for key in ("age_mae_gap", "age_mae_ratio"):  # a ratio shares its gap's test
            assert table.loc[key, f"p ({correction})"] == pytest.approx(reference[f"{attribute}/age_mae_gap"])
    race = disparity_table(RESULTS, "race", family).set_index("measure")
    assert race.loc["gender_acc_gap", f"p ({correction})"] == pytest.approx(reference["race/gender_acc_gap"])
    assert race.loc["gender_acc_gap", "beyond chance"] == (reference["race/gender_acc_gap"] < 0.05)
    gender = disparity_table(RESULTS, "gender", family).set_index("measure")
    assert pd.isna(gender.loc["gender_demographic_parity_difference", "p"])  # not run: it measures accuracy, not bias


def test_the_demo_takes_correction_and_alpha_from_the_statistics_config() -> None:
    settings = DemoSettings(runs=[])
    assert (settings.correction, settings.alpha) == ("holm", 0.05)
