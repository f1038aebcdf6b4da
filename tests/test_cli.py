"""The `python -m visage.train` command line: full smoke run and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import TINY, TINY_DATA, run_cli


def test_cli_smoke_run_with_default_wandb_logger_stays_offline_in_run_dir(tmp_path: Path) -> None:
    overrides = [o for o in TINY if not o.startswith("logger=")]
    done = run_cli("visage.train", *overrides, f"paths.experiments_dir={tmp_path}/exp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "exp" / "runs").iterdir()
    for name in (".hydra/config.yaml", "checkpoints/best.ckpt", "checkpoints/last.ckpt",
                 "predictions/val.parquet", "predictions/test.parquet", "metrics.json"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"objective: {metrics['objective']:.4f}" in done.stdout
    assert list((run / "wandb").glob("offline-run-*")), "wandb must run offline inside the run dir"
    assert not (tmp_path / "wandb").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("backbone=resnet1000", "error: unknown backbone 'resnet1000'; available: convnext_tiny, efficientnet_b0,"),
        ("data=imagenet", "error: unknown data 'imagenet'; available: fairface, fer2013, synthetic, utkface"),
        ("age_loss=huber", "error: unknown age_loss 'huber'; available: l1, mse, ordinal"),
        ("loss=nope", "error: unknown loss 'nope'; available: default, equal, face_facts, group_dro, ordinal"),
        ("backbone.name=resnet_nonexistent", "error: unknown timm backbone 'resnet_nonexistent'"),
        ("data.planted.proportions.Martian=0.5",
         "error: unknown key in data.planted.proportions 'Martian'; available: Asian, Black, Indian, Others, White"),
        ("data.planted.gender_flip.Asian=1.5", "error: data.planted.gender_flip.Asian=1.5 is out of range [0.0, 1.0]"),
        ("trainer.max_epochs=[", "error: cannot parse overrides"),
        ("backbone.pretrained=true", "error: backbone.pretrained=true needs backbone.checkpoint_path"),
        ("data=utkface", "error: missing value for data.root; set it on the command line, e.g. data.root=<value>"),
    ],
)
def test_bad_input_gives_one_line_exit_2_and_leaves_nothing(tmp_path: Path, override: str, message: str) -> None:
    tiny = [o for o in TINY if not (override.startswith("data=") and o in TINY_DATA)]
    done = run_cli("visage.train", *tiny, override, f"paths.experiments_dir={tmp_path}/exp", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in done.stderr
    runs = tmp_path / "exp" / "runs"
    assert not runs.exists() or not any(runs.iterdir())
