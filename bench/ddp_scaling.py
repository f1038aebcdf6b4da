"""Training samples/s with 1 and with 2 DDP processes (gloo on CPU, or GPUs where present); ratio printed.

Each configuration runs `python -m visage.train trainer=ddp` as a subprocess with the same data and
batch size per process; a small callback times the second epoch (the first pays start-up) and rank 0
writes samples/s. On a 2-core CPU the two processes share the cores (`torch_threads` = cores/processes),
so the ratio there measures DDP's overhead rather than a speed-up.

    python bench/ddp_scaling.py [--samples 4000] [--accelerator cpu] [overrides ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

ROOT = Path(__file__).resolve().parent.parent


class EpochThroughput(Callback):
    """Writes the samples/s of the last training epoch (all ranks together) to `$VISAGE_BENCH_OUT`."""

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start the clock."""
        self.start, self.samples = time.perf_counter(), 0

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: object, batch: dict,
                           batch_idx: int) -> None:
        """Count this rank's samples, times the number of ranks."""
        self.samples += len(batch["index"]) * trainer.world_size

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Write samples/s (rank 0)."""
        if trainer.is_global_zero:
            rate = self.samples / (time.perf_counter() - self.start)
            Path(os.environ["VISAGE_BENCH_OUT"]).write_text(json.dumps({"samples_per_s": rate}))


def measure(devices: int, args: argparse.Namespace) -> float:
    """Return training samples/s with `devices` processes."""
    out = Path(tempfile.mkdtemp()) / "rate.json"
    threads = max(1, (os.cpu_count() or 1) // devices) if args.accelerator == "cpu" else 4
    command = [sys.executable, "-m", "visage.train", "trainer=ddp", f"trainer.accelerator={args.accelerator}",
               f"trainer.devices={devices}", "trainer.max_epochs=2", "trainer.sync_batchnorm=false",
               "+trainer.limit_val_batches=2", "trainer.enable_progress_bar=false", "logger=none", "callbacks=none",
               f"torch_threads={threads}", f"data.n_samples={args.samples}", "data.image_size=64",
               "datamodule.num_workers=0", "evaluation.fairness.n_boot=10", "evaluation.fairness.n_perm=10",
               f"paths.experiments_dir={out.parent}", "+callbacks.throughput._target_=ddp_scaling.EpochThroughput",
               *args.overrides]
    env = {**os.environ, "VISAGE_BENCH_OUT": str(out),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=out.parent)
    return json.loads(out.read_text())["samples_per_s"]


def main() -> None:
    """Print samples/s for 1 and 2 processes and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    one = measure(1, args)
    two = measure(2, args)
    print(f"DDP on {args.accelerator}: 1 process {one:,.0f} samples/s, 2 processes {two:,.0f} samples/s "
          f"({two / one:.2f}x)")


if __name__ == "__main__":
    main()
