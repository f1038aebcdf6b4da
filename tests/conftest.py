"""Shared fixtures: a composed config shrunk to seconds (helpers live in tests/helpers.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from tests.helpers import tiny
from visage.runner.cli import CONFIG_DIR


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, one thread per worker (and its subprocesses): two workers fill two cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


@pytest.fixture
def compose_train(tmp_path: Path) -> Callable[..., DictConfig]:
    """Return a function composing the train config with the TINY overrides plus any given (`helpers.tiny`)."""

    def _compose(*overrides: str, run_name: str = "run") -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="train", overrides=tiny(f"paths.experiments_dir={tmp_path / 'exp'}", *overrides))
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / run_name)
        return cfg

    yield _compose
    GlobalHydra.instance().clear()



@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One TINY trained run, laid out as the command line leaves it, shared by the whole session.

    Read-only: a test that writes into a run directory copies this one first (`shutil.copytree`).
    """
    from tests.helpers import train_tiny_run

    return train_tiny_run(tmp_path_factory.mktemp("tiny_run") / "run")
