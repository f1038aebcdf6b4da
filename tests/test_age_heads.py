"""Age heads: decoding and losses against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from visage.models.age_heads import CoralAgeHead, RegressionAgeHead


def test_regression_head_decodes_around_offset_and_computes_l1_in_years() -> None:
    head = RegressionAgeHead(in_features=4, loss="l1", offset=35.0, scale=20.0)
    raw = torch.tensor([0.0, 1.0, -0.5])
    assert head.decode(raw).tolist() == [35.0, 55.0, 25.0]
    assert head.loss(raw, torch.tensor([30.0, 55.0, 35.0])).item() == pytest.approx((5 + 0 + 10) / 3)


def test_mse_head_squares_the_error() -> None:
    head = RegressionAgeHead(in_features=4, loss="mse")
    assert head.loss(torch.tensor([0.0]), torch.tensor([32.0])).item() == pytest.approx(9.0)


def test_unknown_regression_loss_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown regression loss 'huber'; available: l1, mse, smooth_l1"):
        RegressionAgeHead(in_features=4, loss="huber")


def test_coral_decodes_sum_of_threshold_probabilities() -> None:
    head = CoralAgeHead(in_features=2, max_age=5)
    raw = torch.tensor([[20.0, 20.0, 20.0, -20.0, -20.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    assert head.decode(raw).tolist() == pytest.approx([3.0, 2.5])


def test_coral_loss_is_summed_threshold_cross_entropy() -> None:
    head = CoralAgeHead(in_features=2, max_age=3)
    raw = torch.zeros(1, 3)
    # Every threshold logit is 0, so each of the 3 binary terms costs log 2 whatever the age.
    assert head.loss(raw, torch.tensor([2.0])).item() == pytest.approx(3 * math.log(2))
    confident = torch.tensor([[30.0, 30.0, -30.0]])
    assert head.loss(confident, torch.tensor([2.0])).item() == pytest.approx(0.0, abs=1e-6)
    assert head.loss(confident, torch.tensor([0.0])).item() == pytest.approx(60.0, rel=1e-3)
