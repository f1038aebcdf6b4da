"""Fairness evaluation: values by hand, agreement with fairlearn on the same resamples, planted bias."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, median_absolute_error

from visage.core.errors import ConfigError
from visage.data.synthetic import RACES, SyntheticFaces
from visage.fairness.bootstrap import fairlearn_seeds, resample_indices
from visage.fairness.evaluation import FairnessSettings, evaluate_predictions
from visage.fairness.settings import validate_settings

GENDERS = ("Male", "Female")


def table_from(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (race, gender, age_true, age_pred, gender_pred, gender_prob, race_pred, race_conf)."""
    t = pd.DataFrame(rows, columns=["race", "gender", "age_true", "age_pred", "gender_pred", "gender_prob",
                                    "race_pred", "race_conf"])
    t["gender_true"], t["race_true"] = t["gender"], t["race"]
    t["age_bin"] = np.where(t["age_true"] < 30, "0-29", "30+")
    t["sample_id"] = [f"s{i}" for i in range(len(t))]
    t["race_prob"] = t.pop("race_conf")
    return t


# A: two right, two wrong on race; errors 1, 3, 5, 7. B: one row, all right. C: absent.
HAND = table_from([
    ("A", "Male", 20, 21, "Male", 0.9, "A", 0.8),
    ("A", "Female", 40, 37, "Female", 0.7, "A", 0.6),
    ("A", "Male", 50, 55, "Female", 0.6, "B", 0.9),
    ("A", "Female", 10, 3, "Female", 0.8, "B", 0.7),
    ("B", "Female", 30, 30, "Female", 0.95, "B", 0.55),
])
SETTINGS = FairnessSettings(attributes=("race", "gender", "race*gender"), n_boot=50, seed=1, min_group_size=2,
                            categories={"race": ["A", "B", "C"]})


@pytest.fixture(scope="module")
def hand() -> dict:
    with pytest.warns(UserWarning, match="attribute 'race' has 1 empty group"):
        return evaluate_predictions(HAND, "test", SETTINGS, class_names={"race": ["A", "B", "C"]})


def test_overall_metrics_by_hand(hand: dict) -> None:
    overall = hand["overall"]
    assert hand["n"] == 5
    assert overall["age_mae"] == pytest.approx((1 + 3 + 5 + 7 + 0) / 5)
    assert overall["age_bias"] == pytest.approx((1 - 3 + 5 - 7 + 0) / 5)
    assert overall["age_median_ae"] == pytest.approx(3.0)
    assert overall["gender_acc"] == pytest.approx(4 / 5)
    assert overall["race_acc"] == pytest.approx(3 / 5)
    # race F1: A has tp 2, predicted 2, true 4 -> 4/6; B has tp 1, predicted 3, true 1 -> 2/4; C absent.
    assert overall["race_macro_f1"] == pytest.approx((4 / 6 + 2 / 4) / 2)
    # ECE, 10 bins: gender confidences 0.9 (right), 0.7 (right), 0.6 (wrong), 0.8 (right), 0.95 (right)
    # fall in bins 9, 7, 6, 8, 9: |2-1.85| + |1-.7| + |0-.6| + |1-.8| = 1.25, over 5 rows.
    assert overall["gender_ece"] == pytest.approx(1.25 / 5)


def test_groups_by_hand_including_one_and_empty(hand: dict) -> None:
    a, b, c = (hand["by_group"]["race"][g] for g in ("A", "B", "C"))
    assert (a["n"], a["small"], a["empty"]) == (4, False, False)
    assert a["age_mae"] == pytest.approx(4.0) and a["age_median_ae"] == pytest.approx(4.0)
    assert a["race_acc"] == pytest.approx(0.5) and a["gender_acc"] == pytest.approx(0.75)
    assert (b["n"], b["small"]) == (1, True)
    assert b["age_mae"] == 0.0 and b["race_acc"] == 1.0 and b["gender_acc"] == 1.0
    assert b["ci"]["age_mae"] == [0.0, 0.0]  # a one-row group resamples to itself whenever drawn
    assert (c["n"], c["empty"], c["age_mae"], c["race_acc"]) == (0, True, None, None)
    assert c["ci"]["age_mae"] == [None, None]
    assert a["confusion"]["race"]["A"] == {"A": 2, "B": 2, "C": 0}
    assert "attribute 'race' has 1 empty group(s), reported with n=0: C" in hand["warnings"]


def test_all_wrong_and_all_right_groups_and_gaps(hand: dict) -> None:
    groups = hand["by_group"]["race*gender"]
    assert groups["A*Male"]["race_acc"] == 0.5
    assert groups["A*Female"]["race_acc"] == 0.5
    assert groups["B*Female"]["race_acc"] == 1.0
    assert groups["B*Male"]["empty"] is True
    # B has one row (< min_group_size=2): left out of gaps, so over race only A is compared.
    disparity = hand["disparity"]["race"]
    assert (disparity["groups_compared"], disparity["groups_excluded"]) == (["A"], ["B", "C"])
    assert disparity["age_mae_gap"] is None and disparity["ci"]["age_mae_gap"] == [None, None]
    assert disparity["undefined"]["age_mae_gap"].startswith("age_mae is defined in 1 of the 1 compared group(s)")
    assert "age_mae" not in disparity["worst_group"]
    included = evaluate_predictions(HAND, "test", replace(SETTINGS, small_groups="include"),
                                    class_names={"race": ["A", "B", "C"]})["disparity"]["race"]
    assert included["age_mae_gap"] == pytest.approx(4.0)
    assert included["race_acc_gap"] == pytest.approx(0.5)
    assert included["race_acc_ratio"] == pytest.approx(0.5)
    assert included["worst_group"]["age_mae"] == "A"
    assert included["worst_group"]["race_acc"] == "A"
    lo, hi = included["ci"]["age_mae_gap"]
    assert lo <= hi


def test_gender_parity_matches_fairlearn_on_hand_table() -> None:
    y_true = (HAND["gender_true"] == "Female").astype(int)
    y_pred = (HAND["gender_pred"] == "Female").astype(int)
    disparity = evaluate_predictions(HAND, "test", replace(SETTINGS, min_group_size=1))["disparity"]["race"]
    assert disparity["gender_demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=HAND["race"]))
    assert disparity["gender_demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=HAND["race"]))


def random_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(RACES, n, p=[0.4, 0.2, 0.2, 0.15, 0.05])
    gender = rng.choice(GENDERS, n)
    age = rng.integers(0, 80, n).astype(float)
    t = pd.DataFrame({
        "race": race, "gender": gender, "age_true": age,
        "age_pred": age + rng.normal(0, 4, n) + (race == "Black") * 3,
        "gender_true": gender, "race_true": race,
        "gender_pred": np.where(rng.random(n) < 0.8, gender, rng.choice(GENDERS, n)),
        "race_pred": np.where(rng.random(n) < 0.7, race, rng.choice(RACES, n)),
        "gender_prob": rng.uniform(0.5, 1, n),
    })
    t["age_bin"] = np.where(age < 20, "0-19", np.where(age < 50, "20-49", "50+"))
    for name in RACES:
        t[f"race_prob_{name}"] = rng.dirichlet(np.ones(5), n)[:, 0]
    return t


def test_resamples_are_fairlearns() -> None:
    data = pd.DataFrame({"x": np.arange(37)})
    seed = int(fairlearn_seeds(3, 11)[2])
    expected = data.sample(frac=1, replace=True, random_state=seed, ignore_index=True)["x"].to_numpy()
    assert np.array_equal(resample_indices(37, seed), expected)


@pytest.mark.parametrize("attribute", ["race", "race*gender"])
def test_points_and_intervals_agree_with_fairlearn_metricframe(attribute: str) -> None:
    table = random_table(400, seed=3)
    n_boot, seed = 40, 7
    ours = evaluate_predictions(table, "val", FairnessSettings(attributes=(attribute,), n_boot=n_boot, seed=seed,
                                                               min_group_size=1))
    parts = attribute.split("*")
    sensitive = table[parts[0]] if len(parts) == 1 else table[parts].agg("*".join, axis=1)
    checks = {
        "age_mae": ("age", mean_absolute_error), "age_median_ae": ("age", median_absolute_error),
        "race_acc": ("race", accuracy_score), "gender_acc": ("gender", accuracy_score),
        "race_macro_f1": ("race", lambda t, p: f1_score(t, p, average="macro", zero_division=0)),
    }
    for metric, (target, function) in checks.items():
        mf = MetricFrame(metrics=function, y_true=table[f"{target}_true"], y_pred=table[f"{target}_pred"],
                         sensitive_features=sensitive, n_boot=n_boot, ci_quantiles=[0.025, 0.975],
                         random_state=seed)
        for group, value in mf.by_group.items():
            mine = ours["by_group"][attribute][group]
            assert mine[metric] == pytest.approx(value), (metric, group)
            assert mine["ci"][metric] == pytest.approx([mf.by_group_ci[0][group], mf.by_group_ci[1][group]]), \
                (metric, group)
        assert ours["overall"][metric] == pytest.approx(mf.overall)
        assert ours["overall"]["ci"][metric] == pytest.approx([mf.overall_ci[0], mf.overall_ci[1]])
        assert ours["disparity"][attribute][f"{metric}_gap"] == pytest.approx(mf.difference())


def test_parity_metrics_agree_with_fairlearn_including_one_vs_rest() -> None:
    table = random_table(500, seed=4)
    ours = evaluate_predictions(table, "val", FairnessSettings(attributes=("age_bin",), n_boot=10,
                                                               n_perm=0))["disparity"]
    sensitive = table["age_bin"]
    for task, label, found in [("gender", "Female", ours["age_bin"]),
                               *[("race", r, ours["age_bin"]["race_one_vs_rest"][r]) for r in RACES]]:
        y_true = (table[f"{task}_true"] == label).astype(int)
        y_pred = (table[f"{task}_pred"] == label).astype(int)
        prefix = "gender_" if task == "gender" else ""
        assert found[f"{prefix}demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y_true, y_pred, sensitive_features=sensitive))
        assert found[f"{prefix}demographic_parity_ratio"] == pytest.approx(
            demographic_parity_ratio(y_true, y_pred, sensitive_features=sensitive))
        assert found[f"{prefix}equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y_true, y_pred, sensitive_features=sensitive))


def test_planted_age_noise_makes_that_race_the_worst_with_a_separate_interval() -> None:
    # An oracle model predicts the true (latent) age: every error left is the planted label noise.
    noise = {r: 2.0 for r in RACES} | {"Indian": 9.0}
    data = SyntheticFaces(n_samples=4000, image_size=32, seed=0, planted={"age_noise_std": noise})
    labels = data.labels
    table = pd.DataFrame({
        "race": np.asarray(RACES)[labels["race"]], "gender": np.asarray(GENDERS)[labels["gender"]],
        "age_true": labels["age"].astype(float), "age_pred": labels["age_latent"].astype(float),
    })
    table["age_bin"] = np.where(table["age_true"] < 40, "0-39", "40+")
    result = evaluate_predictions(table, "test", FairnessSettings(n_boot=300, attributes=("race",)))
    assert result["disparity"]["race"]["worst_group"]["age_mae"] == "Indian"
    indian_low = result["by_group"]["race"]["Indian"]["ci"]["age_mae"][0]
    for race in RACES:
        if race != "Indian":
            assert result["by_group"]["race"][race]["ci"]["age_mae"][1] < indian_low, race
    assert result["disparity"]["race"]["ci"]["age_mae_gap"][0] > 3.0


@pytest.mark.parametrize(("settings", "message"), [
    (FairnessSettings(ci=1.5), r"fairness ci=1.5 must be in \(0, 1\)"),
    (FairnessSettings(n_boot=0), "fairness n_boot=0 must be a positive number"),
    (FairnessSettings(positive={"gender": "Woman"}), "positive label 'Woman' for gender is not a class"),
])
def test_bad_settings_are_clear_errors(settings: FairnessSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        evaluate_predictions(random_table(50), "val", settings)


def one_class_groups_table(seed: int = 5) -> pd.DataFrame:
    """Race groups A, B, C with both genders, and D with women only (no true negatives); 2-row cell E."""
    rng = np.random.default_rng(seed)
    rows = []
    for race, n, genders in [("A", 120, GENDERS), ("B", 90, GENDERS), ("C", 60, GENDERS), ("D", 40, ("Female",)),
                             ("E", 2, GENDERS)]:
        gender = rng.choice(genders, n)
        flip = rng.random(n) < {"A": 0.1, "B": 0.25, "C": 0.4, "D": 0.2, "E": 0.5}[race]
        pred = np.where(flip, np.where(gender == "Male", "Female", "Male"), gender)
        age = rng.integers(0, 80, n).astype(float)
        for k in range(n):
            rows.append((race, gender[k], age[k], age[k] + rng.normal(0, 3), pred[k], rng.uniform(0.5, 1), race, 0.9))
    return table_from(rows)


def rate_frame(table: pd.DataFrame, metric, sensitive: pd.Series) -> pd.Series:
    y_true = (table["gender_true"] == "Female").astype(int)
    y_pred = (table["gender_pred"] == "Female").astype(int)
    return MetricFrame(metrics=metric, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive).by_group


def test_rates_without_denominator_are_null_with_reason_and_equal_fairlearn_where_defined() -> None:
    table = one_class_groups_table()
    result = evaluate_predictions(table, "test", FairnessSettings(attributes=("race", "gender", "race*gender"),
                                                                  n_boot=20, n_perm=50, min_group_size=30))
    race = result["by_group"]["race"]
    tpr = rate_frame(table, true_positive_rate, table["race"])
    fpr = rate_frame(table, false_positive_rate, table["race"])
    for group in ("A", "B", "C", "D"):
        assert race[group]["gender_tpr"] == pytest.approx(tpr[group])
    for group in ("A", "B", "C"):
        assert race[group]["gender_fpr"] == pytest.approx(fpr[group])
    # D holds no true negatives: fairlearn says FPR 0.0, visage says undefined.
    assert fpr["D"] == 0.0
    assert race["D"]["gender_fpr"] is None and race["D"]["ci"]["gender_fpr"] == [None, None]
    assert race["D"]["undefined"] == {"gender_fpr": "every row's true gender is Female in this group "
                                                    "(FPR has no denominator)"}
    # Equalized odds over race: E (2 rows) is left out; FPR is compared over A, B, C only.
    disparity = result["disparity"]["race"]
    assert disparity["groups_compared"] == ["A", "B", "C", "D"] and disparity["groups_excluded"] == ["E"]
    tpr_gap = tpr[["A", "B", "C", "D"]].max() - tpr[["A", "B", "C", "D"]].min()
    fpr_gap = fpr[["A", "B", "C"]].max() - fpr[["A", "B", "C"]].min()
    assert disparity["gender_true_positive_rate_difference"] == pytest.approx(tpr_gap)
    assert disparity["gender_false_positive_rate_difference"] == pytest.approx(fpr_gap)
    assert disparity["gender_equalized_odds_difference"] == pytest.approx(max(tpr_gap, fpr_gap))
    # Where every compared group holds both classes, it is fairlearn's value exactly.
    both = table["race"].isin(["A", "B", "C"])
    y_true, y_pred = (table["gender_true"] == "Female").astype(int), (table["gender_pred"] == "Female").astype(int)
    assert max(tpr[["A", "B", "C"]].max() - tpr[["A", "B", "C"]].min(), fpr_gap) == pytest.approx(
        equalized_odds_difference(y_true[both], y_pred[both], sensitive_features=table["race"][both]))


def test_equalized_odds_over_gender_is_null_never_zero() -> None:
    table = one_class_groups_table()
    result = evaluate_predictions(table, "test", FairnessSettings(attributes=("gender",), n_boot=20, n_perm=20))
    male, female = result["by_group"]["gender"]["Male"], result["by_group"]["gender"]["Female"]
    assert male["gender_tpr"] is None and "TPR has no denominator" in male["undefined"]["gender_tpr"]
    assert female["gender_fpr"] is None and "FPR has no denominator" in female["undefined"]["gender_fpr"]
    disparity = result["disparity"]["gender"]
    assert disparity["gender_equalized_odds_difference"] is None
    assert disparity["ci"]["gender_equalized_odds_difference"] == [None, None]
    assert disparity["undefined"]["gender_equalized_odds_difference"].startswith("neither TPR nor FPR")
    assert disparity["p_value"]["gender_equalized_odds_difference"] is None
    y_true, y_pred = (table["gender_true"] == "Female").astype(int), (table["gender_pred"] == "Female").astype(int)
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=table["gender"]) > 0.5  # fairlearn's 0-filled


def test_gap_ignores_a_two_row_cell_unless_small_groups_included() -> None:
    table = one_class_groups_table()
    table.loc[table["race"] == "E", "age_pred"] += 40  # a wildly wrong two-face cell
    settings = FairnessSettings(attributes=("race",), n_boot=30, n_perm=0, min_group_size=30)
    mae = (table["age_pred"] - table["age_true"]).abs().groupby(table["race"]).mean()
    default = evaluate_predictions(table, "test", settings)["disparity"]["race"]
    assert default["age_mae_gap"] == pytest.approx(mae.drop("E").max() - mae.drop("E").min())
    assert default["worst_group"]["age_mae"] != "E" and default["groups_excluded"] == ["E"]
    assert default["ci"]["age_mae_gap"][1] < 5
    included = evaluate_predictions(table, "test", replace(settings, small_groups="include"))["disparity"]["race"]
    assert included["age_mae_gap"] == pytest.approx(mae.max() - mae.min())
    assert included["worst_group"]["age_mae"] == "E" and included["groups_excluded"] == []


def test_permutation_p_value_small_for_a_planted_gap_and_large_for_none() -> None:
    rng = np.random.default_rng(0)
    n = 600
    race = rng.choice(["A", "B", "C"], n)
    age = rng.uniform(0, 80, n)
    base = pd.DataFrame({"race": race, "gender": rng.choice(GENDERS, n), "age_true": age})
    settings = FairnessSettings(attributes=("race",), n_boot=20, n_perm=500, seed=3)
    planted = base.assign(age_pred=age + rng.normal(0, 3, n) * np.where(race == "A", 2.0, 1.0))
    none = base.assign(age_pred=age + rng.normal(0, 3, n))
    p_planted = evaluate_predictions(planted, "t", settings)["disparity"]["race"]["p_value"]["age_mae_gap"]
    p_none = evaluate_predictions(none, "t", settings)["disparity"]["race"]["p_value"]["age_mae_gap"]
    assert p_planted == pytest.approx(1 / 501)
    assert p_none > 0.2


def test_permutation_p_value_by_hand_on_a_tiny_table() -> None:
    # Two groups of two: errors {0, 0} and {4, 4}. Of the 6 ways to split four errors in two pairs, 2
    # give the observed gap 4 (the others gap 0), so the exact p-value is 1/3.
    table = pd.DataFrame({"race": ["A", "A", "B", "B"], "age_true": [10.0] * 4, "age_pred": [10.0, 10.0, 14.0, 14.0]})
    settings = FairnessSettings(attributes=("race",), n_boot=5, n_perm=4000, min_group_size=2)
    p = evaluate_predictions(table, "t", settings)["disparity"]["race"]["p_value"]["age_mae_gap"]
    assert p == pytest.approx(1 / 3, abs=0.03)


def test_fairlearn_backend_gives_the_same_json() -> None:
    table = one_class_groups_table(seed=9)
    table = table[table["race"] != "C"].reset_index(drop=True)
    settings = FairnessSettings(attributes=("race", "gender", "race*gender"), n_boot=8, n_perm=30, seed=2,
                                min_group_size=30, categories={"race": ["A", "B", "C", "D", "E"]})
    with pytest.warns(UserWarning, match="empty group"):
        ours = evaluate_predictions(table, "test", settings)
    with pytest.warns(UserWarning, match="empty group"):
        reference = evaluate_predictions(table, "test", replace(settings, backend="fairlearn"))
    assert reference["settings"].pop("backend") == "fairlearn"
    assert ours["settings"].pop("backend") == "vectorised"
    assert ours["by_group"]["race"]["D"]["gender_fpr"] is None  # undefined rates and small groups are in it
    assert ours["by_group"]["race"]["E"]["small"] is True
    assert _same(reference, ours)


def _same(a, b, path: str = "") -> bool:
    """Recursive equality with float tolerance, naming the first difference."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, set(a) ^ set(b))
        return all(_same(a[k], b[k], f"{path}/{k}") for k in a)
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        return all(_same(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-9), (path, a, b)
        return True
    assert a == b, (path, a, b)
    return True


@pytest.mark.parametrize(("settings", "message"), [
    (FairnessSettings(attributes=("race", "rase")), "unknown fairness attribute 'rase' in 'rase'; available: "),
    (FairnessSettings(attributes=("race*gnder",)), "unknown fairness attribute 'gnder' in 'race*gnder'"),
    (FairnessSettings(backend="sklearn"), "unknown fairness backend 'sklearn'; available: fairlearn, vectorised"),
    (FairnessSettings(small_groups="drop"), "unknown fairness small_groups 'drop'; available: exclude, include"),
    (FairnessSettings(n_perm=-1), "fairness n_perm=-1 must be a number of permutations >= 0"),
    (FairnessSettings(min_group_size=0), "fairness min_group_size=0 must be a positive number of rows"),
    (FairnessSettings(positive={"gendr": "Female"}), "unknown task in fairness positive 'gendr'"),
])
def test_settings_are_validated_before_any_work(settings: FairnessSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")):
        validate_settings(settings)


def test_sensitive_attributes_of_the_data_are_the_default_and_may_be_named() -> None:
    from visage.fairness.settings import default_attributes, settings_from_config, validate_evaluation

    assert default_attributes(["race", "gender", "age_bin"]) == ["race", "gender", "age_bin", "race*gender", "race*age_bin"]
    assert default_attributes([]) == []
    evaluation = {"fairness": {"attributes": None, "n_boot": 10}}
    assert settings_from_config(evaluation, sensitive=["site", "skin_tone"]).attributes == ["site", "skin_tone",
                                                                                           "site*skin_tone"]
    named = {"fairness": {"attributes": ["skin_tone", "race*skin_tone"]}}
    validate_evaluation(named, sensitive=["race", "skin_tone"])
    with pytest.raises(ConfigError, match="unknown fairness attribute 'skin_tone'"):
        validate_evaluation(named)
