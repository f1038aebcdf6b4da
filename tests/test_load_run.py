"""`load_run`: a run directory is all a later command needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from visage.core.errors import ConfigError
from visage.runner.load_run import load_run
from visage.train import train


def test_load_run_needs_neither_the_pretrained_file_nor_hydra(compose_train, tmp_path: Path) -> None:
    weights = tmp_path / "weights.pth"
    torch.save(instantiate(compose_train().backbone)().model.state_dict(), weights)
    cfg = compose_train("backbone.pretrained=true", f"backbone.checkpoint_path={weights}")
    _, objects = train(cfg)
    weights.unlink()  # the run must not need it any more
    run_dir = Path(cfg.paths.output_dir)
    moved = tmp_path / "moved_run"
    shutil.move(run_dir, moved)  # nor its original location
    run = load_run(moved)
    assert run.classes == {"gender": ["Male", "Female"], "race": ["White", "Black", "Asian", "Indian", "Others"]}
    assert run.has_age and run.image_size == 32 and run.dataset["name"] == "synthetic"
    assert run.config.data.n_samples == 240 and "${" not in str(run.config.paths.output_dir)
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    trained = objects["module"].eval()
    with torch.no_grad():
        expected, got = trained(images), run.module(images)
    for task in expected:
        torch.testing.assert_close(got[task], expected[task])


def test_load_run_of_a_non_run_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a finished visage run"):
        load_run(tmp_path)


def test_load_run_without_checkpoint_names_it(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = Path(shutil.copytree(tiny_run, tmp_path / "run", ignore=shutil.ignore_patterns("best.ckpt")))
    assert (run_dir / ".hydra" / "config.yaml").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()
    with pytest.raises(ConfigError, match="has no checkpoints/best.ckpt"):
        load_run(run_dir)
    saved = load_run(run_dir, module=False)
    assert saved.module is None and saved.classes["gender"] == ["Male", "Female"]
