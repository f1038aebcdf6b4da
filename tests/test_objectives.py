"""Objectives are minimised: the metric table's direction decides the sign."""

from __future__ import annotations

import pytest

from visage.fairness.objectives import error_plus_gap, split_metric


def test_an_accuracy_objective_is_negated_so_the_sweeper_still_minimises() -> None:
    metrics = {"val": {"emotion_acc": 0.6, "age_mae": 4.0}}
    assert split_metric(metrics, metric="emotion_acc") == pytest.approx(-0.6)
    assert split_metric(metrics, metric="age_mae") == pytest.approx(4.0)
    fairness = {"val": {"disparity": {"race": {"emotion_acc_gap": 0.1}}}}
    # a more accurate model with the same gap scores lower
    better = error_plus_gap({"val": {"emotion_acc": 0.7}}, fairness, metric="emotion_acc", weight=2.0)
    worse = error_plus_gap(metrics, fairness, metric="emotion_acc", weight=2.0)
    assert (better, worse) == (pytest.approx(-0.5), pytest.approx(-0.4))
