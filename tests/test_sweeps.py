"""Sweeps: summary rows per job, joblib and submitit launchers, failed jobs recorded, resume, Pareto front."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import open_dict

from tests.helpers import call, run_cli, tiny
from visage.core.errors import ConfigError
from visage.fairness.objectives import error_plus_gap, split_metric
from visage.reporting.summaries.sweep import pareto_front
from visage.runner.builders import build_loggers

FAST = ["evaluation.fairness.n_boot=50", "evaluation.fairness.n_perm=50", "evaluation.fairness.min_group_size=3"]


def sweep_args(tmp_path: Path, name: str, *args: str) -> list[str]:
    """The command line of a `-m` sweep of FAST runs into `tmp_path / name`."""
    return ["-m", *tiny(*args, *FAST, f"hydra.sweep.dir={tmp_path / name}", f"paths.experiments_dir={tmp_path}")]


def sweep(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    """Run a sweep as `python -m visage.train -m ...` in a fresh process."""
    return run_cli("visage.train", *sweep_args(tmp_path, name, *args), cwd=tmp_path)


@pytest.mark.parametrize("launcher", [
    pytest.param([], id="basic"),
    pytest.param(["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "torch_threads=1"], id="joblib",
                 marks=pytest.mark.slow),
])
def test_two_by_two_sweep_gives_four_rows_with_their_overrides(tmp_path: Path, launcher: list[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    grid = ["backbone=resnet18,mobilenetv3_small_100", "sampler=none,race_age_balanced"]
    if launcher:  # joblib's worker processes, started as the command line starts them
        done = sweep(tmp_path, "grid", *launcher, *grid)
        assert done.returncode == 0, done.stderr[-3000:]
    else:  # the basic launcher runs its jobs in this process
        monkeypatch.chdir(tmp_path)
        assert call("train", *sweep_args(tmp_path, "grid", *grid)) == 0
    summary = pd.read_csv(tmp_path / "grid" / "summary.csv")
    assert len(summary) == 4 and (summary["status"] == "ok").all()
    combos = {(b, s) for b, s in itertools.product(["resnet18", "mobilenetv3_small_100"], ["none", "race_age_balanced"])}
    found = set()
    for _, row in summary.iterrows():
        parts = dict(p.split("=", 1) for p in row["overrides"].split())
        found.add((parts["backbone"], parts["sampler"]))
        job = json.loads((tmp_path / "grid" / str(row["job"]) / "metrics.json").read_text())
        assert row["test_age_mae"] == pytest.approx(job["test"]["age_mae"])
        assert row["race_worst"] in {"White", "Black", "Asian", "Indian", "Others"}
        assert row["race_age_mae_gap_ci"].startswith("[")
    assert found == combos
    # Chosen on validation: worst groups, gaps and the Pareto front come from val; test is only shown beside.
    for _, row in summary.iterrows():
        val = json.loads((tmp_path / "grid" / str(row["job"]) / "fairness" / "val.json").read_text())
        test = json.loads((tmp_path / "grid" / str(row["job"]) / "fairness" / "test.json").read_text())
        assert row["race_age_mae_gap"] == pytest.approx(val["disparity"]["race"]["age_mae_gap"])
        assert row["race_worst"] == val["disparity"]["race"]["worst_group"]["age_mae"]
        assert row["test_race_age_mae_gap"] == pytest.approx(test["disparity"]["race"]["age_mae_gap"])
    expected = pareto_front(summary["val_age_mae"].to_numpy(float), summary["race_age_mae_gap"].to_numpy(float))
    assert summary["pareto"].tolist() == expected.tolist()
    assert summary["pareto"].any()
    assert (tmp_path / "grid" / "summary.md").read_text().startswith("# Sweep summary: grid")


def test_broken_job_is_recorded_and_rerun_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("train", *sweep_args(tmp_path, "broken", "backbone.name=test_resnet,not_a_model")) == 0
    summary = pd.read_csv(tmp_path / "broken" / "summary.csv").set_index("job")
    assert summary.loc[0, "status"] == "ok"
    assert summary.loc[1, "status"] == "failed"
    assert summary.loc[1, "error"].startswith("ConfigError: unknown timm backbone 'not_a_model'")
    finished = tmp_path / "broken" / "0" / "metrics.json"
    stamp = finished.stat().st_mtime_ns
    again = sweep(tmp_path, "broken", "backbone.name=test_resnet,not_a_model")  # a fresh process: the rerun command
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("already finished, skipped") == 1
    assert finished.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_job(tmp_path: Path) -> None:
    done = sweep(tmp_path, "submitit", "hydra/launcher=submitit_local", "logger=none")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "submitit" / "summary.csv")
    assert summary["status"].tolist() == ["ok"]


def test_pareto_front_by_hand() -> None:
    errors = np.array([5.0, 4.0, 6.0, 4.0, np.nan])
    gaps = np.array([1.0, 2.0, 0.5, 3.0, 0.1])
    assert pareto_front(errors, gaps).tolist() == [True, True, True, False, False]


def test_error_plus_gap_objective() -> None:
    metrics = {"val": {"age_mae": 5.0}, "test": {"age_mae": 1.0}}
    fairness = {"val": {"disparity": {"race": {"age_mae_gap": 2.0}}}}
    assert error_plus_gap(metrics, fairness, weight=0.5) == pytest.approx(6.0)
    with pytest.raises(ConfigError, match="objective split=test: models are chosen on validation data"):
        split_metric(metrics, split="test")
    undefined = {"val": {"disparity": {"race": {"age_mae_gap": None, "undefined": {"age_mae_gap": "too few groups"}}}}}
    with pytest.raises(ConfigError, match="age_mae gap over 'race' on split 'val' is undefined: too few groups"):
        error_plus_gap(metrics, undefined)


def test_wandb_runs_of_a_sweep_share_its_group(compose_train) -> None:
    cfg = compose_train("logger=wandb")
    (alone,) = build_loggers(cfg)
    assert alone._wandb_init["group"] == "train"
    with open_dict(cfg):  # what main() sets for a sweep job
        cfg.sweep_group, cfg.sweep_job_name = "study", "backbone=resnet18"
    (logger,) = build_loggers(cfg)
    assert logger._wandb_init["group"] == "study"
    assert logger._wandb_init["name"] == "backbone=resnet18"


@pytest.mark.slow
def test_optuna_preset_searches_loss_weights_on_the_fairness_objective(tmp_path: Path) -> None:
    done = sweep(tmp_path, "optuna", "sweep=optuna_loss_weights", "hydra.sweeper.n_trials=2")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "optuna" / "summary.csv")
    assert len(summary) == 2 and (summary["status"] == "ok").all()
    for _, row in summary.iterrows():
        assert "loss.weights.age=" in row["overrides"] and "loss.weights.race=" in row["overrides"]
        job = tmp_path / "optuna" / str(row["job"])
        metrics = json.loads((job / "metrics.json").read_text())
        gap = json.loads((job / "fairness" / "val.json").read_text())["disparity"]["race"]["age_mae_gap"]
        assert metrics["objective"] == pytest.approx(metrics["val"]["age_mae"] + gap)
