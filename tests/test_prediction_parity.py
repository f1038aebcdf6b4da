"""Tasks whose truth the data lacks are scored by what the model predicts per group (prediction parity)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visage.core.metric_specs import max_pairwise_tvd
from visage.fairness.evaluation import FairnessSettings, evaluate_predictions

EMOTIONS = ("Angry", "Happy", "Sad", "Neutral")


def emotion_table(angry: dict[str, float], n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Faces of races A, B, C with true ages and gender, an emotion model's predictions and no emotion truth."""
    rng = np.random.default_rng(seed)
    rows = []
    for race, share in angry.items():
        rest = (1 - share) / (len(EMOTIONS) - 1)
        pred = rng.choice(EMOTIONS, n, p=[share, rest, rest, rest])
        for k in range(n):
            rows.append({"race": race, "gender": rng.choice(["Male", "Female"]), "emotion_pred": pred[k]})
    table = pd.DataFrame(rows)
    probs = rng.dirichlet(np.ones(len(EMOTIONS)), len(table))
    for k, emotion in enumerate(EMOTIONS):
        table[f"emotion_prob_{emotion}"] = probs[:, k]
    table["age_true"] = rng.integers(1, 80, len(table)).astype(float)
    table["age_pred"] = table["age_true"] + rng.normal(0, 4, len(table))
    return table


SETTINGS = FairnessSettings(attributes=("race", "gender", "race*gender"), n_boot=40, n_perm=400, seed=5)


def test_total_variation_distance_by_hand() -> None:
    shares = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [np.nan, np.nan, np.nan]])
    # A vs B: ½(|.3| + |.2| + |.5|) = 0.5; C has no rows and takes no part.
    assert max_pairwise_tvd(shares) == pytest.approx(0.5)
    assert np.isnan(max_pairwise_tvd(shares[:1]))


def test_a_predictor_calling_one_group_angry_twice_as_often_is_found() -> None:
    table = emotion_table({"A": 0.30, "B": 0.15, "C": 0.15})
    result = evaluate_predictions(table, "utkface-test", SETTINGS)
    assert result["tasks"] == {"age": "regression", "emotion": "predicted"}
    shares = pd.crosstab(table["race"], table["emotion_pred"], normalize="index")
    for race in "ABC":
        entry = result["by_group"]["race"][race]
        for emotion in EMOTIONS:
            assert entry[f"emotion_selection_rate_{emotion}"] == pytest.approx(shares.loc[race, emotion])
        low, high = entry["ci"]["emotion_selection_rate_Angry"]
        assert low < shares.loc[race, "Angry"] < high
    disparity = result["disparity"]["race"]
    tvd = max(0.5 * (shares.loc[a] - shares.loc[b]).abs().sum() for a in "ABC" for b in "ABC")
    assert disparity["emotion_prediction_tvd"] == pytest.approx(tvd)
    angry = shares["Angry"]
    assert disparity["emotion_selection_rate_Angry_gap"] == pytest.approx(angry.max() - angry.min())
    assert disparity["emotion_selection_rate_Angry_ratio"] == pytest.approx(angry.min() / angry.max())
    assert disparity["p_value"]["emotion_prediction_tvd"] < 0.01
    assert "emotion_selection_rate_Angry_gap" not in disparity["p_value"]  # per-class values are descriptive
    assert disparity["p_value"]["age_mae_gap"] > 0.01  # age errors were not planted
    assert "emotion_acc" not in result["overall"] and "confusion" in result["by_group"]["race"]["A"]
    assert result["by_group"]["race"]["A"]["confusion"] == {}


def test_a_predictor_that_treats_groups_alike_is_not_flagged() -> None:
    table = emotion_table({"A": 0.2, "B": 0.2, "C": 0.2}, seed=2)
    result = evaluate_predictions(table, "utkface-test", SETTINGS)
    p_values = [result["disparity"][a]["p_value"]["emotion_prediction_tvd"] for a in ("race", "gender", "race*gender")]
    assert min(p_values) > 0.05, p_values
    # Over many such tables the test holds its level: p < 0.05 in at most 5% + 2 standard errors of them.
    p_values = []
    for seed in range(60):
        table = emotion_table({"A": 0.2, "B": 0.2, "C": 0.2}, n=100, seed=100 + seed)
        settings = FairnessSettings(attributes=("race",), n_boot=1, n_perm=200, seed=seed)
        p_values.append(evaluate_predictions(table, "t", settings)["disparity"]["race"]["p_value"]["emotion_prediction_tvd"])
    share = np.mean(np.array(p_values) < 0.05)
    assert share <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 60), share


def test_a_share_of_zero_makes_its_ratio_null_with_a_reason() -> None:
    table = emotion_table({"A": 0.3, "B": 0.3}, n=120, seed=2)
    table.loc[(table["race"] == "B") & (table["emotion_pred"] == "Sad"), "emotion_pred"] = "Happy"
    disparity = evaluate_predictions(table, "t", FairnessSettings(attributes=("race",), n_boot=10, n_perm=50)
                                     )["disparity"]["race"]
    share_a = (table.loc[table["race"] == "A", "emotion_pred"] == "Sad").mean()
    assert disparity["emotion_selection_rate_Sad_gap"] == pytest.approx(share_a)
    assert disparity["emotion_selection_rate_Sad_ratio"] is None
    assert "never predicted Sad" in disparity["undefined"]["emotion_selection_rate_Sad_ratio"]


def test_a_table_without_sensitive_attribute_says_so() -> None:
    table = emotion_table({"A": 0.3}, n=50).drop(columns=["race", "gender"])
    result = evaluate_predictions(table, "t", FairnessSettings(attributes=None, n_boot=10, n_perm=10))
    assert result["by_group"] == {} and result["disparity"] == {} and result["no_sensitive_attribute"] is True
    assert any("no sensitive attribute" in w for w in result["warnings"])
    assert result["overall"]["emotion_selection_rate_Angry"] == pytest.approx((table["emotion_pred"] == "Angry").mean())
