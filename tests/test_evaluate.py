"""`python -m visage.evaluate`: re-scoring saved predictions and cross-dataset evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import TINY, call, run_cli


def _copy(tiny_run: Path, tmp_path: Path, *ignore: str) -> Path:
    """A writable copy of the shared TINY run (these tests write into their run)."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run", ignore=shutil.ignore_patterns(*ignore)))


def test_rescoring_rewrites_fairness_from_saved_predictions(tiny_run: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    run = _copy(tiny_run, tmp_path, "*.ckpt")   # re-scoring loads no model
    monkeypatch.chdir(tmp_path)
    target = run / "fairness" / "test.json"
    before = json.loads(target.read_text())
    target.unlink()
    assert call("evaluate", f"run={run}", "evaluation.fairness.n_boot=50") == 0
    after = json.loads(target.read_text())
    assert after["settings"]["n_boot"] == 50 and before["settings"]["n_boot"] == 100  # TINY's
    assert after["overall"]["age_mae"] == pytest.approx(before["overall"]["age_mae"])
    assert after["by_group"]["race"]["Black"]["n"] == before["by_group"]["race"]["Black"]["n"]


def test_cross_dataset_evaluation_writes_named_results(tiny_run: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    run = _copy(tiny_run, tmp_path, "last.ckpt")   # the best checkpoint predicts
    monkeypatch.chdir(tmp_path)
    assert call("evaluate", f"run={run}", "data=synthetic", "data.n_samples=300", "data.image_size=32",
                "data.planted.age_noise_std.Black=20", "evaluation.fairness.n_boot=50") == 0
    result = json.loads((run / "fairness" / "synthetic-test.json").read_text())
    table = pd.read_parquet(run / "predictions" / "synthetic-test.parquet")
    assert result["split"] == "synthetic-test" and result["n"] == len(table)
    noise = (table["age_true"] - table["age_latent"]).abs().groupby(table["race"]).mean()
    assert noise["Black"] > 3 * noise.drop("Black").max()


def test_not_a_run_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("evaluate", f"run={tmp_path / 'missing'}") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: run={tmp_path / 'missing'} is not a finished visage run (needs .hydra/config.yaml and metrics.json)")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(("override", "message"), [
    ("evaluation.fairness.attributes=[race,rase]", "error: unknown fairness attribute 'rase' in 'rase'; available: "
                                                   "race, gender, age_bin, intersections such as race*gender"),
    ("evaluation.fairness.ci=95", "error: fairness ci=95 must be in (0, 1), e.g. 0.95"),
    ("evaluation.fairness.backend=sklearn", "error: unknown fairness backend 'sklearn'; available: fairlearn, vectorised"),
])
def test_bad_fairness_settings_fail_before_training(tmp_path: Path, override: str, message: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    assert call("train", *TINY, override, f"hydra.run.dir={run_dir}", f"paths.experiments_dir={tmp_path}") == 2
    assert capsys.readouterr().err.strip().splitlines() == [message]
    assert not run_dir.exists()


def test_audit_needs_run_or_predictions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("evaluate") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: give run=<run dir> or predictions=<file.csv|file.parquet> out=<file.json>"]


@pytest.fixture(scope="module")
def emotion_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny FER2013 emotion run (48 px gray faces, 7 emotions, no group labels)."""
    import warnings

    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    from tests.fake_datasets import make_fer2013
    from visage.runner.cli import CONFIG_DIR
    from visage.train import train

    root = tmp_path_factory.mktemp("emotion")
    make_fer2013(root / "fer2013.csv")
    overrides = ["trainer=smoke", "logger=none", "datamodule.batch_size=8", "experiment=fer2013_emotion", "data=fer2013",
                 f"data.path={root / 'fer2013.csv'}", "data.image_size=32", f"paths.experiments_dir={root / 'exp'}"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    GlobalHydra.instance().clear()
    run_dir = root / "run"
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(cfg)
    (run_dir / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return run_dir


@pytest.mark.slow  # a training run and a command that predicts: ~17 s on 2 cores
def test_an_emotion_run_is_audited_by_group_on_utkface_faces(emotion_run: Path, tmp_path: Path) -> None:
    from tests.fake_datasets import make_utkface

    make_utkface(tmp_path / "utk", ages=(3, 15, 25, 35, 45, 60, 75))
    done = run_cli("visage.evaluate", f"run={emotion_run}", "data=utkface", f"data.root={tmp_path / 'utk'}",
                   "splits=[train]", "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=50",
                   "evaluation.fairness.min_group_size=2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((emotion_run / "fairness" / "utkface-train.json").read_text())
    table = pd.read_parquet(emotion_run / "predictions" / "utkface-train.parquet")
    assert result["tasks"] == {"emotion": "predicted"} and "emotion_true" not in table
    assert result["settings"]["attributes"] == ["race", "gender", "age_bin", "race*gender", "race*age_bin"]
    shares = pd.crosstab(table["race"], table["emotion_pred"], normalize="index")
    for race, row in shares.iterrows():
        for emotion, share in row.items():
            assert result["by_group"]["race"][race][f"emotion_selection_rate_{emotion}"] == pytest.approx(share)
    assert set(result["disparity"]["gender"]["p_value"]) == {"emotion_prediction_tvd"}
    tvd = 0.5 * (shares.loc["White"] - shares.loc["Black"]).abs().sum()
    assert result["disparity"]["race"]["emotion_prediction_tvd"] >= tvd - 1e-12


def test_faces_are_shown_as_the_runs_training_faces_were() -> None:
    import cv2
    import numpy as np
    import torch

    from visage.runner.scoring import AsTrained

    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    view = AsTrained.__new__(AsTrained)
    view.look, view.image_size = {"color": "gray", "side": 48}, 32
    seen = view.as_trained(torch.from_numpy(rgb.transpose(2, 0, 1).copy())).numpy()
    gray = cv2.resize(cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA), (32, 32))
    assert seen.shape == (3, 32, 32) and (seen[0] == seen[1]).all() and (seen[1] == seen[2]).all()
    assert np.abs(seen[0].astype(int) - gray.astype(int)).max() <= 1
