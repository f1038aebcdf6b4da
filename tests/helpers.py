"""Helpers the tests share (imported explicitly; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

ROOT = Path(__file__).resolve().parent.parent

# Small enough for seconds on 2 cores, large enough that every race×gender cell reaches each split.
TINY_DATA = ["data.n_samples=240", "data.image_size=32"]
TINY = [*TINY_DATA, "trainer=smoke", "logger=none", "datamodule.batch_size=32"]

# As lightning-hydra-template's RunIf: GPU tests run only where a GPU is.
requires_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def run_cli(module: str, *args: str, cwd: Path, timeout: int = 600, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    """Run `python -m <module> args...` in `cwd` and return the finished process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


class KillAtEpoch(Callback):
    """Kills its own process (SIGKILL, as a crash would) when epoch `epoch` starts, unless the run resumed."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Die at the start of the chosen epoch (its predecessors' checkpoints are on disk)."""
        if trainer.current_epoch == self.epoch and trainer.ckpt_path is None:
            os.kill(os.getpid(), signal.SIGKILL)
