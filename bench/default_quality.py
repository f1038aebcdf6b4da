"""Wall time and test age MAE / noise floor of the default run, for 2x and 4x its epochs and for 2x its data.

Each point is one `python -m visage.train` in a subprocess (logger=none, its own run dir under
`--experiments-dir`), timed from start to exit. The faces of every data size are drawn once
beforehand (into the shared image cache), so no timed run pays for drawing. The plain default,
measured first in the same invocation, is the reference of every wall-time ratio: other load on
the machine changes all timings, so compare ratios, never absolute seconds.

The curve says where the default loses: if 2x and 4x epochs close the gap to the floor, training is
too short (schedule, cost per step); if only 2x data does, the model lacks examples; if neither does,
the images carry less age information than the labels' noise would allow. A second table splits each
point's excess over the floor (mean |pred - label| - mean |true age - label| on the test split) by true
age: a band whose share stays put as training grows is one the drawn faces barely tell apart (the
renderer's cues saturate: growth at 22, lines at 80, grey at 75, folds at 85).

    nice -n 10 python bench/default_quality.py                       # the default's four points
    python bench/default_quality.py --points default,epochs2 \\
        --candidate model.optimizer.lr=0.004 augmentation=none       # the same points for a candidate too
    python bench/default_quality.py --common data.n_samples=2000 ... # a scaled-down study (every run)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir

from visage.core.run_files import LAST_CHECKPOINT, METRICS_FILE, predictions_path
from visage.data.build import build_dataset
from visage.runner.cli import CONFIG_DIR, set_private_defaults

REPO = Path(__file__).resolve().parents[1]
POINTS = ("default", "epochs2", "epochs4", "data2")
AGE_BANDS = (0, 12, 16, 22, 28, 35, 45, 65, 80, 101)  # true-age bands of the excess table (the renderer's cue ages)
TARGET = 1.15  # MAE / floor the default should reach (#23)
FIXED = ["logger=none", "trainer.enable_progress_bar=false"]


@dataclass
class Point:
    """One measured run: its series (default or candidate), point name, overrides and results."""

    series: str
    point: str
    overrides: list[str]
    wall_s: float = float("nan")
    epochs_run: int | None = None
    test_mae: float = float("nan")
    test_floor: float = float("nan")
    returncode: int = 0
    excess_by_band: dict[str, float] | None = None

    @property
    def ratio(self) -> float:
        """Test age MAE over the test split's own noise floor."""
        return self.test_mae / self.test_floor


def compose_train(overrides: Sequence[str]):  # noqa: ANN201 - a DictConfig
    """Return the composed `train` config with `overrides` (hydra: interpolations left unresolved)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def point_overrides(base: Sequence[str], point: str) -> list[str]:
    """Return `base` plus what turns it into `point` (epochs and data size read from the composed config)."""
    cfg = compose_train(base)
    if point == "default":
        return list(base)
    if point in ("epochs2", "epochs4"):  # no early stop: a stop while the cosine rate is high measures the stop
        return [*base, f"trainer.max_epochs={int(point[-1]) * int(cfg.trainer.max_epochs)}", "callbacks.early_stopping=null"]
    if point == "data2":
        return [*base, f"data.n_samples={2 * int(cfg.data.n_samples)}"]
    raise SystemExit(f"unknown point '{point}'; choose from {', '.join(POINTS)}")


def draw_faces(overrides: Sequence[str]) -> float:
    """Draw (or find cached) the dataset of `overrides` so the timed run reads it from the cache; return seconds."""
    start = time.perf_counter()
    build_dataset(compose_train(overrides).data)
    return time.perf_counter() - start


def epochs_run(run_dir: Path) -> int | None:
    """Return how many epochs the run trained (early stopping may end it before max_epochs)."""
    checkpoint = run_dir / LAST_CHECKPOINT
    if not checkpoint.is_file():
        return None
    import torch  # only here: the rest of the bench needs no tensors

    return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["epoch"]) + 1


def excess_by_band(run_dir: Path) -> dict[str, float]:
    """Return each true-age band's share of the test MAE above the noise floor, in years (they sum to the excess).

    The synthetic set keeps each face's true (latent) age, so the floor is |true - label| per face and
    the excess is what the model adds to it.
    """
    import pandas as pd  # only here, as torch above

    table = pd.read_parquet(predictions_path(run_dir, "test"))
    excess = (table["age_pred"] - table["age_true"]).abs() - (table["age_latent"] - table["age_true"]).abs()
    bands = pd.cut(table["age_latent"], AGE_BANDS, right=False)
    shares = (excess / len(table)).groupby(bands, observed=False).sum()
    return {f"{b.left}-{b.right - 1}": float(v) for b, v in shares.items()}


def run_point(point: Point, experiments_dir: Path) -> Point:
    """Run one training in a subprocess; fill in its wall time, epochs and test metrics."""
    run_dir = experiments_dir / "runs" / f"{point.series}-{point.point}-{time.strftime('%H%M%S')}"
    command = [sys.executable, "-m", "visage.train", *FIXED, f"paths.experiments_dir={experiments_dir}",
               f"hydra.run.dir={run_dir}", *point.overrides]
    print(f"# {point.series}/{point.point}: {' '.join(point.overrides) or '(defaults)'}", flush=True)
    start = time.perf_counter()
    with open(experiments_dir / f"{run_dir.name}.log", "w") as log:
        point.returncode = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode
    point.wall_s = time.perf_counter() - start
    metrics_file = run_dir / METRICS_FILE
    if point.returncode == 0 and metrics_file.is_file():
        test = json.loads(metrics_file.read_text())["test"]
        point.test_mae, point.test_floor = float(test["age_mae"]), float(test["age_noise_floor"])
        point.epochs_run = epochs_run(run_dir)
        point.excess_by_band = excess_by_band(run_dir)
    else:
        print(f"#   failed (exit {point.returncode}); log: {experiments_dir / (run_dir.name + '.log')}", flush=True)
    return point


def print_table(points: Sequence[Point], reference: Point, header: bool = True) -> None:
    """Print one line per point: wall time, ratio against the reference's wall time, MAE, floor and MAE/floor."""
    if header:
        print(f"{'series':<10} {'point':<8} {'wall s':>8} {'wall/ref':>8} {'epochs':>6} {'test MAE':>8} "
              f"{'floor':>6} {'MAE/floor':>9}  overrides")
    for p in points:
        print(f"{p.series:<10} {p.point:<8} {p.wall_s:8.1f} {p.wall_s / reference.wall_s:8.2f} "
              f"{p.epochs_run if p.epochs_run is not None else '-':>6} {p.test_mae:8.3f} {p.test_floor:6.3f} "
              f"{p.ratio:9.3f}  {' '.join(p.overrides)}", flush=True)


def print_bands(points: Sequence[Point]) -> None:
    """Print each point's excess over the floor split by true-age band, beside the excess TARGET allows."""
    measured = [p for p in points if p.excess_by_band]
    if not measured:
        return
    bands = list(measured[0].excess_by_band)
    print(f"\nexcess over the floor by true age (years of test MAE; x{TARGET} allows {TARGET - 1:.2f} x floor)")
    print(f"{'series':<10} {'point':<8} " + " ".join(f"{b:>6}" for b in bands) + f" {'total':>6} {'allowed':>7}")
    for p in measured:
        print(f"{p.series:<10} {p.point:<8} " + " ".join(f"{p.excess_by_band[b]:6.3f}" for b in bands)
              + f" {sum(p.excess_by_band.values()):6.3f} {(TARGET - 1) * p.test_floor:7.3f}")


def main() -> None:
    """Run the chosen points for the default (and the candidate, if given) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--points", default=",".join(POINTS),
                        help=f"comma-separated subset of {','.join(POINTS)} (the reference default always runs)")
    parser.add_argument("--common", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides for every run, the reference too (e.g. a scaled-down study)")
    parser.add_argument("--candidate", nargs="*", default=None, metavar="KEY=VALUE",
                        help="overrides of a candidate default: its points run after the default's")
    parser.add_argument("--candidate-points", default=None,
                        help="the candidate's points (default: --points); they run right after the reference")
    parser.add_argument("--experiments-dir", type=Path, default=Path("/tmp/visage-default-quality"))
    parser.add_argument("--json", type=Path, default=None, help="also write the table here as JSON")
    args = parser.parse_args()
    names = [p for p in args.points.split(",") if p]
    candidate_names = [p for p in (args.candidate_points or args.points).split(",") if p]
    for name in {*names, *candidate_names}:
        if name not in POINTS:
            parser.error(f"unknown point '{name}'; choose from {', '.join(POINTS)}")
    set_private_defaults()
    experiments_dir = args.experiments_dir.resolve()
    experiments_dir.mkdir(parents=True, exist_ok=True)

    plan = [Point("default", "default", list(args.common))]  # the reference, measured first
    if args.candidate is not None:  # then the candidate, so a cut-short bench still compares the two
        candidate = [*args.common, *args.candidate]
        plan += [Point("candidate", name, point_overrides(candidate, name)) for name in candidate_names]
    plan += [Point("default", name, point_overrides(list(args.common), name)) for name in names if name != "default"]
    for p in plan:  # draw every data size before anything is timed
        seconds = draw_faces([*p.overrides, f"paths.experiments_dir={experiments_dir}"])
        print(f"# faces for {p.series}/{p.point} ready in {seconds:.1f} s (untimed)", flush=True)
    measured: list[Point] = []
    for p in plan:  # each row as soon as it is measured, the whole table at the end
        measured.append(run_point(p, experiments_dir))
        print_table(measured[-1:], measured[0], header=False)
    reference = measured[0]
    print_table(measured, reference)
    print_bands(measured)
    if args.json:
        args.json.write_text(json.dumps([{**asdict(p), "ratio": p.ratio, "wall_vs_reference": p.wall_s / reference.wall_s}
                                         for p in measured], indent=2))


if __name__ == "__main__":
    main()
