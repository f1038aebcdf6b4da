"""Recovery and scale-out: resume after SIGKILL ends where an uninterrupted run ends; 2-process CPU DDP finishes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import TINY, call, run_cli

# Two short epochs with a weighted sampler and augmentation: every source of training randomness.
TWO_EPOCHS = [*TINY, "trainer.max_epochs=2", "sampler=race_age_balanced", "augmentation=basic",
              "callbacks.early_stopping=null", "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20"]
KILL = ["+callbacks.kill._target_=tests.helpers.KillAtEpoch", "+callbacks.kill.epoch=1"]


def _only_run(experiments: Path) -> Path:
    (run,) = (experiments / "runs").iterdir()
    return run


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the killed run needs a process of its own; the uninterrupted and the resumed one run in-process."""
    monkeypatch.chdir(tmp_path)
    assert call("train", *TWO_EPOCHS, f"paths.experiments_dir={tmp_path}/whole") == 0
    killed = run_cli("visage.train", *TWO_EPOCHS, *KILL, f"paths.experiments_dir={tmp_path}/killed", cwd=tmp_path)
    assert killed.returncode == -9, killed.stderr[-3000:]
    run = _only_run(tmp_path / "killed")
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "metrics.json").exists()

    assert call("train", f"resume={run}") == 0
    expected = json.loads((_only_run(tmp_path / "whole") / "metrics.json").read_text())
    got = json.loads((run / "metrics.json").read_text())
    for split in ("val", "test"):
        assert got[split] == pytest.approx(expected[split], rel=1e-6), split
    drawn = json.loads((run / "training_distribution.json").read_text())["samples_drawn"]
    assert drawn == json.loads((_only_run(tmp_path / "whole") / "training_distribution.json").read_text())["samples_drawn"]


def test_resume_of_a_directory_that_is_no_run_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("train", f"resume={tmp_path}") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"error: resume={tmp_path} is not an interrupted visage run")


@pytest.mark.parametrize("multirun", [
    pytest.param(False, marks=pytest.mark.slow),  # the sweep takes the same DDP path, and rank 1 must leave the sweep
    True,
], ids=["single", "sweep"])
def test_two_process_cpu_ddp_predicts_every_sample_once(tmp_path: Path, multirun: bool) -> None:
    ddp = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.max_epochs=1",
           "+trainer.limit_train_batches=3", "+trainer.limit_val_batches=2", "trainer.sync_batchnorm=false",
           "trainer.enable_progress_bar=false", "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20",
           *[o for o in TINY if not o.startswith("trainer=")]]
    args = ["-m", *ddp, "seed=3"] if multirun else ddp
    done = run_cli("visage.train", *args, f"paths.experiments_dir={tmp_path}/exp", cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = list((tmp_path / "exp" / ("sweeps" if multirun else "runs")).glob("**/metrics.json"))
    assert len(runs) == 1, runs  # rank 1 ran this job, not a sweep or a run of its own
    run = runs[0].parent
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("val", "test"):
        table = pd.read_parquet(run / "predictions" / f"{split}.parquet")
        assert table["sample_id"].is_unique and len(table) == metrics[split]["n"]
    split_file = next((tmp_path / "exp" / "splits").glob("*.csv"))
    assigned = pd.read_csv(split_file)
    assert metrics["test"]["n"] == (assigned["split"] == "test").sum()
    if not multirun:
        assert not (tmp_path / "exp" / "sweeps").exists()
