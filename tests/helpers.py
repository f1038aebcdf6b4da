"""Helpers the tests share (imported explicitly; fixtures live in conftest.py)."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer

ROOT = Path(__file__).resolve().parent.parent

# Small enough for seconds on 2 cores, large enough that every race×gender cell reaches each split.
TINY_DATA = ["data.n_samples=240", "data.image_size=32"]
# timm's own test network (~0.5 M parameters): a run trains and checkpoints in a second (resnet18: 11 M, ~4 s).
TINY_BACKBONE = ["backbone.name=test_resnet"]
TINY = [*TINY_DATA, *TINY_BACKBONE, "trainer=smoke", "logger=none", "datamodule.batch_size=32",
        "evaluation.fairness.n_boot=100", "evaluation.fairness.n_perm=100"]   # 1000 each: 2 s more per run


def tiny(*overrides: str) -> list[str]:
    """Return TINY and then `overrides`, less the part of TINY an override replaces.

    Later value overrides win over TINY's, but a group override does not: `backbone=vit_...` or a recipe
    (`experiment=utkface`, which picks its backbone) would still get TINY's `backbone.name`, and `data=utkface`
    TINY's synthetic sizes, so those parts are left out.
    """
    other_data = any(o.startswith("data=") and o != "data=synthetic" for o in overrides)
    other_backbone = any(o.startswith(("backbone=", "experiment=")) for o in overrides)
    dropped = {*(TINY_DATA if other_data else ()), *(TINY_BACKBONE if other_backbone else ())}
    return [*(o for o in TINY if o not in dropped), *overrides]

# As lightning-hydra-template's RunIf: GPU tests run only where a GPU is.
requires_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def run_cli(module: str, *args: str, cwd: Path, timeout: int = 600, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    """Run `python -m <module> args...` in `cwd` and return the finished process."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "WANDB_MODE": "offline", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def call(command: str, *argv: str) -> int:
    """Run `visage.<command>.main(argv)` in-process; return its exit code (0 when it returns).

    Seconds cheaper than `run_cli` (no fresh interpreter importing torch); use `run_cli` only where a fresh
    process is what is tested (imports, environment, signals, DDP).
    """
    try:
        importlib.import_module(f"visage.{command}").main(list(argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


class KillAtEpoch(Callback):
    """Kills its own process (SIGKILL, as a crash would) when epoch `epoch` starts, unless the run resumed."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Die at the start of the chosen epoch (its predecessors' checkpoints are on disk)."""
        if trainer.current_epoch == self.epoch and trainer.ckpt_path is None:
            os.kill(os.getpid(), signal.SIGKILL)


def train_tiny_run(run_dir: Path, *overrides: str) -> Path:
    """Train one TINY run (plus `overrides`) into `run_dir`, laid out as the command line leaves it.

    `train(cfg)` alone does not write `.hydra/`; this writes `config.yaml` and `overrides.yaml` as Hydra would.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    from visage.runner.cli import CONFIG_DIR
    from visage.train import train

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train",
                      overrides=tiny(f"paths.experiments_dir={run_dir.parent / 'exp'}", *overrides))
    GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    train(cfg)
    (run_dir / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([*TINY, *overrides]))
    return run_dir
