"""Wall time of a smoke sweep of N jobs: joblib launcher (parallel local jobs) vs the basic (sequential) one.

Both sweeps run the same N jobs (seeds 1..N, smoke trainer, tiny data) from this process, one after
the other; prints both times and the ratio sequential / joblib (2 cores: at best ~2×, less since each
job also pays Python start-up and imports).

    python bench/sweep_overhead.py [--jobs 4] [--n-jobs 2] [--samples 400] [--full-epoch]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["trainer=smoke", "logger=none", "data.image_size=32", "evaluation.fairness.n_boot=100"]


def run_sweep(out: Path, jobs: int, launcher: list[str], size: list[str]) -> float:
    """Return the wall time of one sweep over seeds 1..jobs."""
    seeds = ",".join(str(s) for s in range(1, jobs + 1))
    command = [sys.executable, "-m", "visage.train", "-m", f"seed={seeds}", *SMOKE, *size, *launcher,
               f"hydra.sweep.dir={out}", f"paths.experiments_dir={out.parent}"]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "WANDB_MODE": "offline"})
    return time.perf_counter() - start


def main() -> None:
    """Print sequential and joblib sweep times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--full-epoch", action="store_true", help="train a whole epoch, not 3 smoke steps")
    args = parser.parse_args()
    size = [f"data.n_samples={args.samples}"] + (["trainer.limit_train_batches=null"] if args.full_epoch else [])
    with tempfile.TemporaryDirectory() as tmp:
        sequential = run_sweep(Path(tmp) / "basic", args.jobs, [], size)
        parallel = run_sweep(Path(tmp) / "joblib", args.jobs,
                             ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.n_jobs}", "torch_threads=1"], size)
    print(f"{args.jobs} jobs ({' '.join(size)}), basic launcher (sequential): {sequential:6.1f} s")
    print(f"{args.jobs} jobs, joblib n_jobs={args.n_jobs}, 1 thread each: {parallel:6.1f} s")
    print(f"ratio sequential / joblib: {sequential / parallel:.2f}x")


if __name__ == "__main__":
    main()
