"""Samplers change the training distribution as documented, and runs record what they trained on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visage.core.errors import ConfigError
from visage.data.sampling import DropAgeRange, InverseFrequency, OversampleGroup
from visage.runner.builders import build_datamodule
from visage.train import train

VIEW = pd.DataFrame({
    "age": [1, 2, 30, 31, 32, 33, 70, 2],
    "race": ["A", "A", "A", "B", "B", "B", "B", "B"],
    "gender": ["M"] * 8,
    "age_bin": ["0-2", "0-2", "30-39", "30-39", "30-39", "30-39", "70+", "0-2"],
})
RNG = np.random.default_rng(0)


def test_inverse_frequency_gives_every_cell_the_same_total_weight() -> None:
    weights = InverseFrequency(by=["age_bin"]).weights(VIEW, RNG)
    totals = pd.Series(weights).groupby(VIEW["age_bin"]).sum()
    assert totals.to_dict() == pytest.approx({"0-2": 1.0, "30-39": 1.0, "70+": 1.0})
    cells = InverseFrequency(by=["race", "age_bin"]).weights(VIEW, RNG)
    assert cells.tolist() == pytest.approx([0.5, 0.5, 1, 1 / 3, 1 / 3, 1 / 3, 1, 1])


def test_oversample_group_and_bad_group() -> None:
    assert OversampleGroup({"race": "B"}, factor=4).weights(VIEW, RNG).tolist() == [1, 1, 1, 4, 4, 4, 4, 4]
    with pytest.raises(ConfigError, match="unknown sampler.group.race 'C'; available: A, B"):
        OversampleGroup({"race": "C"}).weights(VIEW, RNG)


def test_drop_age_range_drops_the_fraction_of_that_range_only() -> None:
    weights = DropAgeRange(fraction=2 / 3, below=4).weights(VIEW, RNG)
    young = VIEW["age"] < 4
    assert (weights[young] == 0).sum() == 2 and (weights[~young] == 1).all()


def test_sample_mode_balances_what_training_sees(compose_train) -> None:
    # Two full epochs of 420 training faces: 840 draws put each bin's share within ~0.015 (1 sd) of 1/9.
    cfg = compose_train("sampler=age_balanced", "data.n_samples=600", "trainer.limit_train_batches=null",
                        "trainer.max_epochs=2", "data.image_size=32", "evaluation.splits=[val]",
                        "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=0")
    train(cfg)
    seen = json.loads((Path(cfg.paths.output_dir) / "training_distribution.json").read_text())
    assert seen["mode"] == "sample" and seen["samples_drawn"] == 2 * 420
    shares = {g: v["trained_share"] for g, v in seen["age_bin"].items()}
    assert max(shares.values()) < 0.2 and min(shares.values()) > 0.06  # 9 bins drawn about equally
    assert seen["age_bin"]["20-29"]["data_share"] > 0.15  # while the data is skewed (1/9 = 0.11)


def test_reweight_mode_keeps_data_but_weights_losses(compose_train) -> None:
    dm = build_datamodule(compose_train("sampler=race_age_reweight", "data.n_samples=600"))
    batch = next(iter(dm.train_dataloader()))
    assert batch["weight"].std() > 0  # rare race×age cells weigh more
    item_weights = dm.subset("train").loss_weights
    assert float(item_weights.mean()) == pytest.approx(1.0)
    assert dm.subset("val").loss_weights is None


def test_drop_young_removes_thirty_percent_of_under_fours(compose_train) -> None:
    full = build_datamodule(compose_train("data.n_samples=2000"))
    dropped = build_datamodule(compose_train("sampler=drop_young", "data.n_samples=2000"))
    ages = full.dataset.labels["age"].to_numpy()
    young = (ages[full.split_indices["train"]] < 4).sum()
    kept_young = (ages[dropped.split_indices["train"]] < 4).sum()
    assert kept_young == young - round(0.3 * young)
    assert len(dropped.split_indices["train"]) == len(full.split_indices["train"]) - round(0.3 * young)
    assert np.array_equal(dropped.split_indices["test"], full.split_indices["test"])
