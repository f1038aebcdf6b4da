"""The metric table: one entry per metric computes it in both backends; age_cs5 as the proof."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.test_fairness import _same, one_class_groups_table, random_table
from visage.core.metric_specs import format_value, gap_spec, group_metrics, metrics_for, primary_metrics, spec
from visage.core.tasks import tasks_of
from visage.fairness.evaluation import FairnessSettings, evaluate_predictions
from visage.fairness.overall import overall_metrics


def test_specs_are_found_for_any_task_and_say_unit_and_format() -> None:
    cs5 = spec("age_cs5")
    assert (cs5.task, cs5.kind, cs5.unit, cs5.direction, cs5.has_ratio, cs5.tested) == ("age", "cs5", "share", "higher",
                                                                                         True, True)
    assert not cs5.lower_is_better and spec("age_mae").unit == "years"
    assert spec("emotion_acc").task == "emotion" and spec("skin_tone_macro_f1").task == "skin_tone"
    assert gap_spec("age_cs5_gap") == (cs5, "gap") and gap_spec("skin_tone_acc_ratio")[1] == "ratio"
    assert gap_spec("emotion_prediction_tvd")[0].kind == "prediction_tvd"
    assert gap_spec("gender_demographic_parity_ratio") == (spec_of("gender_selection_rate"), "ratio")
    assert format_value("age_cs5", 0.4567) == "45.7%" and format_value("age_mae", 3.14159) == "3.14"
    assert format_value("age_mae_gap", None) == "n/a"
    with pytest.raises(KeyError, match="unknown metric 'age_acc'"):
        spec("age_acc")
    names = [s.name for s in metrics_for({"age": "regression", "emotion": "predicted"})]
    assert names == ["age_mae", "age_median_ae", "age_bias", "age_cs5", "emotion_selection_rate", "emotion_prediction_tvd"]
    assert primary_metrics({"age": "regression", "emotion": "classification"}) == ["age_mae", "emotion_acc"]
    assert group_metrics(["emotion_ece", "n", "age_cs5", "ci", "emotion_selection_rate_Angry"]) == ["age_cs5", "emotion_ece"]


def spec_of(name: str):
    return next(s for s in metrics_for({"gender": "classification"}) if s.name == name)


def test_tasks_are_what_the_columns_label() -> None:
    columns = ["sample_id", "age_true", "age_pred", "race_true", "race_pred", "emotion_pred", "emotion_prob_Angry",
               "skin_tone_true", "skin_tone_pred", "race", "gender"]
    assert tasks_of(columns) == {"age": "regression", "race": "classification", "emotion": "predicted",
                                 "skin_tone": "classification"}


def test_age_cs5_equals_the_share_recomputed_by_hand() -> None:
    table = random_table(600, seed=8)
    table.loc[table["race"] == "Black", "age_pred"] += 5  # on top of random_table's 3 planted years
    settings = FairnessSettings(attributes=("race", "race*gender"), n_boot=30, n_perm=200, seed=4, min_group_size=1)
    result = evaluate_predictions(table, "test", settings)
    within = (table["age_pred"] - table["age_true"]).abs() <= 5
    assert result["overall"]["age_cs5"] == pytest.approx(within.mean())
    assert overall_metrics(table, {"age": "regression"})["age_cs5"] == pytest.approx(within.mean())
    by_race = within.groupby(table["race"]).mean()
    for race, share in by_race.items():
        entry = result["by_group"]["race"][race]
        assert entry["age_cs5"] == pytest.approx(share)
        low, high = entry["ci"]["age_cs5"]
        assert low <= share <= high and low < high
    disparity = result["disparity"]["race"]
    assert disparity["age_cs5_gap"] == pytest.approx(by_race.max() - by_race.min())
    assert disparity["age_cs5_ratio"] == pytest.approx(by_race.min() / by_race.max())
    assert disparity["worst_group"]["age_cs5"] == by_race.idxmin()
    assert disparity["ci"]["age_cs5_gap"][0] is not None
    # Black faces are planted 8 years older: far fewer of them are within 5 years, beyond chance.
    assert by_race.idxmin() == "Black" and disparity["p_value"]["age_cs5_gap"] < 0.01


def test_age_cs5_is_null_with_its_reason_where_true_ages_are_bins() -> None:
    table = random_table(300, seed=2)
    table["age_bin_label"] = np.where(table["age_true"] < 40, "20-29", "50-59")  # as FairFace's tables carry
    result = evaluate_predictions(table, "test", FairnessSettings(attributes=("race",), n_boot=10, n_perm=20))
    assert result["overall"]["age_cs5"] is None and result["overall"]["ci"]["age_cs5"] == [None, None]
    assert "bin centres" in result["overall"]["undefined"]["age_cs5"]
    white = result["by_group"]["race"]["White"]
    assert white["age_cs5"] is None and "bin centres" in white["undefined"]["age_cs5"]
    disparity = result["disparity"]["race"]
    assert disparity["age_cs5_gap"] is None and "bin centres" in disparity["undefined"]["age_cs5_gap"]
    assert disparity["p_value"].get("age_cs5_gap") is None
    assert result["overall"]["age_mae"] == pytest.approx((table["age_pred"] - table["age_true"]).abs().mean())
    assert "age_cs5" not in overall_metrics(table, {"age": "regression"})


def test_fairlearn_backend_equals_the_vectorised_one_with_cs5_and_a_predicted_task() -> None:
    table = one_class_groups_table(seed=3)
    rng = np.random.default_rng(0)
    table["emotion_pred"] = rng.choice(["Angry", "Happy", "Sad"], len(table))
    settings = FairnessSettings(attributes=("race", "gender"), n_boot=6, n_perm=20, seed=1, min_group_size=30)
    ours = evaluate_predictions(table, "test", settings)
    reference = evaluate_predictions(table, "test", replace(settings, backend="fairlearn"))
    assert reference["settings"].pop("backend") == "fairlearn" and ours["settings"].pop("backend") == "vectorised"
    assert ours["disparity"]["race"]["age_cs5_gap"] is not None
    assert ours["by_group"]["race"]["A"]["emotion_selection_rate_Angry"] is not None
    assert _same(reference, ours)


def test_experiment_logging_logs_the_metrics_of_the_runs_tasks() -> None:
    from visage.runner.experiment_logging import flat_group_metrics, group_columns, group_rows, logged_metrics

    rng = np.random.default_rng(1)
    n = 200
    emotion = rng.choice(["Angry", "Happy"], n)
    table = pd.DataFrame({"race": rng.choice(["A", "B"], n), "emotion_true": emotion,
                          "emotion_pred": np.where(rng.random(n) < 0.8, emotion, "Happy"),
                          "emotion_prob": rng.uniform(0.5, 1, n)})
    fairness = evaluate_predictions(table, "test", FairnessSettings(attributes=("race",), n_boot=5, n_perm=10))
    assert logged_metrics(fairness) == ["emotion_acc", "emotion_macro_f1", "emotion_ece"]
    flat = flat_group_metrics(fairness)
    accuracy = (table["emotion_true"] == table["emotion_pred"]).groupby(table["race"]).mean()
    assert flat["fairness/test/race/A/emotion_acc"] == pytest.approx(accuracy["A"])
    assert flat["fairness/test/race/emotion_acc_gap"] == pytest.approx(abs(accuracy["A"] - accuracy["B"]))
    rows = group_rows(fairness)
    assert len(rows) == 2 and len(rows[0]) == len(group_columns(logged_metrics(fairness)))
