"""Training end to end on tiny data: contracted files, determinism, every model variant."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from visage.train import train

PREDICTION_COLUMNS = {
    "sample_id", "age_true", "age_pred", "gender_true", "gender_pred", "gender_prob", "race_true", "race_pred",
    "race_prob_White", "race_prob_Black", "race_prob_Asian", "race_prob_Indian", "race_prob_Others",
    "race", "gender", "age_bin",
}
# A variant trains if one step and its scoring go through; the fairness numbers are not checked here.
ONE_STEP = ["trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "evaluation.fairness.n_boot=20",
            "evaluation.fairness.n_perm=0"]


def test_smoke_run_writes_the_run_contract(compose_train) -> None:
    cfg = compose_train("logger=csv", "evaluation.fairness.min_group_size=3",  # TINY groups: gaps need small ones
                        "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20")
    metrics, objects = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["objective"] == pytest.approx(saved["val"]["age_mae"]) == pytest.approx(metrics["objective"])
    splits = objects["datamodule"].split_indices
    for split in ("val", "test"):
        table = pd.read_parquet(run / "predictions" / f"{split}.parquet")
        assert PREDICTION_COLUMNS <= set(table.columns)
        assert len(table) == len(splits[split]) == saved[split]["n"]
        assert set(table["race"]) == {"White", "Black", "Asian", "Indian", "Others"}
        assert set(table["gender_pred"]) <= {"Male", "Female"}
        probs = table[[c for c in table.columns if c.startswith("race_prob_")]].sum(axis=1)
        assert probs.round(4).eq(1.0).all()
        assert 0.5 <= table["gender_prob"].min() and table["gender_prob"].max() <= 1.0
        mae = (table["age_pred"] - table["age_true"]).abs().mean()
        assert saved[split]["age_mae"] == pytest.approx(mae)
        assert saved[split]["race_acc"] == pytest.approx((table["race_pred"] == table["race_true"]).mean())
    assert saved["dataset"]["noise_floor"]["age_mae"] > 0
    for split in ("val", "test"):
        fairness = json.loads((run / "fairness" / f"{split}.json").read_text())
        assert fairness["split"] == split and fairness["n"] == saved[split]["n"]
        assert fairness["overall"]["age_mae"] == pytest.approx(saved[split]["age_mae"])
        assert set(fairness["by_group"]) == {"race", "gender", "age_bin", "race*gender", "race*age_bin"}
        white = fairness["by_group"]["race"]["White"]
        assert {"n", "age_mae", "gender_acc", "race_acc", "ci"} <= set(white)
        assert len(white["ci"]["age_mae"]) == 2
        assert list(fairness["by_group"]["age_bin"]) == ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59",
                                                         "60-69", "70+"]
        for attribute in fairness["by_group"]:
            assert {"age_mae_gap", "gender_acc_gap", "race_acc_gap", "gender_demographic_parity_difference",
                    "gender_equalized_odds_difference"} <= set(fairness["disparity"][attribute])
    logged = pd.read_csv(run / "csv" / "metrics.csv")
    white_mae = json.loads((run / "fairness" / "test.json").read_text())["by_group"]["race"]["White"]["age_mae"]
    assert logged["fairness/test/race/White/age_mae"].dropna().iloc[-1] == pytest.approx(white_mae)
    assert "fairness/val/race*gender/age_mae_gap" in logged.columns


def test_splits_are_disjoint_and_stratified(compose_train) -> None:
    from visage.runner.builders import build_datamodule

    dm = build_datamodule(compose_train("data.n_samples=1000"))
    parts = [set(dm.split_indices[s]) for s in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 1000 and len(set.union(*parts)) == 1000
    labels = dm.dataset.labels
    whole = labels.groupby(["race", "gender"]).size() / len(labels)
    for split in ("val", "test"):
        part = labels.iloc[dm.split_indices[split]]
        share = part.groupby(["race", "gender"]).size() / len(part)
        assert (share - whole).abs().max() < 0.02


def test_same_seed_gives_same_metrics(compose_train, tiny_run: Path) -> None:
    """A second TINY run with the session's seed (42) repeats the shared one, whatever ran before in between."""
    cfg = compose_train("seed=42")
    metrics, _ = train(cfg)
    again = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert again == json.loads((tiny_run / "metrics.json").read_text())
    assert again["test"] == metrics["test"] and again["objective"] == metrics["objective"]


@pytest.mark.parametrize("overrides", [
    ("model=separate",),
    ("age_loss=ordinal", "loss=ordinal"),
    ("age_loss=mse", "loss=face_facts", "augmentation=none"),
    ("backbone=mobilenetv3_small_100",),
])
def test_model_variants_train(compose_train, overrides: tuple[str, ...]) -> None:
    metrics, objects = train(compose_train(*overrides, *ONE_STEP))
    assert 0 <= metrics["test"]["age_mae"] < 100
    assert set(objects["module"].tasks) == {"age", "gender", "race"}
