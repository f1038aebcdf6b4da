"""Training precision: `trainer.precision=null` picks bf16 only where the CPU has bf16 units; predictions stay 32-bit."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from visage.runner import builders
from visage.runner.load_run import load_run
from visage.train import train


@pytest.mark.parametrize(("units", "expected"), [(True, "bf16-mixed"), (False, "32-true")])
def test_null_precision_on_cpu_follows_the_bf16_units(monkeypatch: pytest.MonkeyPatch, units: bool,
                                                      expected: str) -> None:
    monkeypatch.setattr(builders, "cpu_has_bf16_units", lambda: units)
    assert builders.trainer_precision(OmegaConf.create({"accelerator": "cpu", "precision": None})) == expected
    # A precision the user set is kept, and off the CPU null is left to Lightning (32-true).
    assert builders.trainer_precision(OmegaConf.create({"accelerator": "cpu", "precision": "32-true"})) == "32-true"
    assert builders.trainer_precision(OmegaConf.create({"accelerator": "gpu", "precision": None})) is None


def test_bf16_training_scores_what_the_32_bit_model_predicts(compose_train, tmp_path: Path) -> None:
    cfg = compose_train("trainer.precision=bf16-mixed", "evaluation.fairness.n_perm=0")
    metrics, objects = train(cfg)
    assert metrics["precision"] == "bf16-mixed"
    assert json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())["precision"] == "bf16-mixed"
    run = load_run(Path(cfg.paths.output_dir))
    table = pd.read_parquet(Path(cfg.paths.output_dir) / "predictions" / "test.parquet")
    dataset = objects["datamodule"].dataset
    indices = objects["datamodule"].split_indices["test"]
    images = torch.stack([torch.as_tensor(dataset[int(i)]["image"]) for i in indices])
    with torch.no_grad():  # the plain 32-bit forward pass, as visage.predict and the API run it
        module = run.module.eval()
        age = module.net.heads["age"].decode(module(images)["age"]).numpy()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            age_bf16 = module.net.heads["age"].decode(module(images)["age"]).float().numpy()
    assert table["age_pred"].to_numpy() == pytest.approx(age, abs=1e-4)
    assert abs(age_bf16 - age).max() > 1e-3  # bf16 would have scored other numbers: the test can tell them apart
