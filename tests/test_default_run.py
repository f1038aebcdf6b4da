"""The default configuration reaches the promised accuracy (slow: the full ~4 min run)."""

from __future__ import annotations

import pytest

from visage.train import train


@pytest.mark.slow
def test_default_run_reaches_noise_floor_and_accuracy(compose_train) -> None:
    cfg = compose_train("data.n_samples=10000", "data.image_size=64", "trainer=cpu", "datamodule.batch_size=64")
    metrics, _ = train(cfg)
    test = metrics["test"]
    assert test["age_mae"] <= 1.5 * test["age_noise_floor"]
    assert test["gender_acc"] >= 0.9 and test["race_acc"] >= 0.9
