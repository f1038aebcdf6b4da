"""Shared fixtures: a composed config shrunk to seconds, and a helper that runs the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from visage.cli import CONFIG_DIR

ROOT = Path(__file__).resolve().parent.parent

# Small enough for seconds on 2 cores, large enough that every race×gender cell reaches each split.
TINY_DATA = ["data.n_samples=240", "data.image_size=32"]
TINY = [*TINY_DATA, "trainer=smoke", "logger=none", "datamodule.batch_size=32"]


@pytest.fixture
def compose_train(tmp_path: Path) -> Callable[..., DictConfig]:
    """Return a function composing the train config with the TINY overrides plus any given.

    The synthetic-data part of TINY is left out when another dataset is chosen.
    """

    def _compose(*overrides: str, run_name: str = "run") -> DictConfig:
        other_data = any(o.startswith("data=") and o != "data=synthetic" for o in overrides)
        tiny = [o for o in TINY if not (other_data and o in TINY_DATA)]
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="train",
                          overrides=[*tiny, f"paths.experiments_dir={tmp_path / 'exp'}", *overrides])
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / run_name)
        return cfg

    yield _compose
    GlobalHydra.instance().clear()


def run_cli(module: str, *args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m <module> args...` in `cwd` and return the finished process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
