"""`python -m visage.evaluate`: re-scoring saved predictions and cross-dataset evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import TINY, run_cli, train_tiny_run


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("evaluate") / "run", "data.n_samples=400")


def test_rescoring_rewrites_fairness_from_saved_predictions(trained_run: Path) -> None:
    target = trained_run / "fairness" / "test.json"
    before = json.loads(target.read_text())
    target.unlink()
    done = run_cli("visage.evaluate", f"run={trained_run}", "evaluation.fairness.n_boot=50", cwd=trained_run.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    after = json.loads(target.read_text())
    assert after["settings"]["n_boot"] == 50 and before["settings"]["n_boot"] == 1000
    assert after["overall"]["age_mae"] == pytest.approx(before["overall"]["age_mae"])
    assert after["by_group"]["race"]["Black"]["n"] == before["by_group"]["race"]["Black"]["n"]


def test_cross_dataset_evaluation_writes_named_results(trained_run: Path) -> None:
    done = run_cli("visage.evaluate", f"run={trained_run}", "data=synthetic", "data.n_samples=300",
                   "data.image_size=32", "data.planted.age_noise_std.Black=20", "evaluation.fairness.n_boot=50",
                   cwd=trained_run.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((trained_run / "fairness" / "synthetic-test.json").read_text())
    table = pd.read_parquet(trained_run / "predictions" / "synthetic-test.parquet")
    assert result["split"] == "synthetic-test" and result["n"] == len(table)
    noise = (table["age_true"] - table["age_latent"]).abs().groupby(table["race"]).mean()
    assert noise["Black"] > 3 * noise.drop("Black").max()


def test_not_a_run_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run_cli("visage.evaluate", f"run={tmp_path / 'missing'}", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: run={tmp_path / 'missing'} is not a finished visage run (needs .hydra/config.yaml and metrics.json)")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(("override", "message"), [
    ("evaluation.fairness.attributes=[race,rase]", "error: unknown fairness attribute 'rase' in 'rase'; available: "
                                                   "race, gender, age_bin, intersections such as race*gender"),
    ("evaluation.fairness.ci=95", "error: fairness ci=95 must be in (0, 1), e.g. 0.95"),
    ("evaluation.fairness.backend=sklearn", "error: unknown fairness backend 'sklearn'; available: fairlearn, vectorised"),
])
def test_bad_fairness_settings_fail_before_training(tmp_path: Path, override: str, message: str) -> None:
    run_dir = tmp_path / "run"
    done = run_cli("visage.train", *TINY, override, f"hydra.run.dir={run_dir}", f"paths.experiments_dir={tmp_path}",
                   cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [message]
    assert not run_dir.exists()


def test_audit_needs_run_or_predictions(tmp_path: Path) -> None:
    done = run_cli("visage.evaluate", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: give run=<run dir> or predictions=<file.csv|file.parquet> out=<file.json>"]
