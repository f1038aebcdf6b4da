"""Time to evaluate N predictions with B bootstrap resamples, against fairlearn's MetricFrame(n_boot=...).

visage's full evaluation (every attribute and intersection, every metric, CIs for every group value and
gap) runs once with B resamples. The reference is fairlearn's MetricFrame with the same data, the
same sensitive features (race, gender, age_bin, race*gender, race*age_bin) and only the three headline
metrics (age MAE, gender and race accuracy); it runs `--ref-boot` resamples and its time is scaled
linearly to B (bootstrap cost is linear in resamples). Prints both and the ratio.

Then the two backends of `evaluate_predictions` on the same smaller table: the default vectorised one
and `backend=fairlearn` (MetricFrame per attribute, on the table and on each resample), which write
the same JSON; prints both times and their ratio (`--backend-rows`, `--backend-boot`).

    python bench/fairness_eval.py [--rows 1000000] [--boot 1000] [--ref-boot 5] [--perm 1000]
                                  [--backend-rows 3000] [--backend-boot 50] [--skip-reference]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from sklearn.metrics import accuracy_score, mean_absolute_error

from visage.core.names import DEFAULT_ATTRIBUTES
from visage.fairness.evaluation import FairnessSettings, evaluate_predictions

RACES = ("White", "Black", "Asian", "Indian", "Others")
AGE_BINS = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")


def synthetic_predictions(n: int, seed: int = 0) -> pd.DataFrame:
    """Return a predictions table of `n` rows shaped like the run contract, with some errors."""
    rng = np.random.default_rng(seed)
    age = rng.integers(0, 90, n).astype(float)
    race_true = rng.choice(RACES, n, p=[0.42, 0.19, 0.15, 0.17, 0.07])
    gender_true = rng.choice(["Male", "Female"], n)
    race_prob = rng.dirichlet(np.ones(len(RACES)), n)
    race_pred = np.where(rng.random(n) < 0.85, race_true, np.asarray(RACES)[race_prob.argmax(1)])
    gender_pred = np.where(rng.random(n) < 0.9, gender_true, np.where(gender_true == "Male", "Female", "Male"))
    table = pd.DataFrame({
        "sample_id": np.arange(n).astype(str), "age_true": age, "age_pred": age + rng.normal(0, 5, n),
        "gender_true": gender_true, "gender_pred": gender_pred, "gender_prob": rng.uniform(0.5, 1.0, n),
        "race_true": race_true, "race_pred": race_pred,
    })
    for k, name in enumerate(RACES):
        table[f"race_prob_{name}"] = race_prob[:, k]
    table["race"], table["gender"] = table["race_true"], table["gender_true"]
    table["age_bin"] = np.asarray(AGE_BINS)[np.minimum(age // 10, 8).astype(int)]
    return table


def reference_seconds(table: pd.DataFrame, n_boot: int) -> float:
    """Return seconds fairlearn's MetricFrame(n_boot) takes for the headline metrics on every attribute."""
    start = time.perf_counter()
    for attribute in DEFAULT_ATTRIBUTES:
        parts = attribute.split("*")
        sensitive = table[parts[0]] if len(parts) == 1 else table[parts].agg("*".join, axis=1)
        MetricFrame(metrics=mean_absolute_error, y_true=table["age_true"], y_pred=table["age_pred"],
                    sensitive_features=sensitive, n_boot=n_boot, ci_quantiles=[0.025, 0.975], random_state=0)
        for task in ("gender", "race"):
            MetricFrame(metrics=accuracy_score, y_true=table[f"{task}_true"], y_pred=table[f"{task}_pred"],
                        sensitive_features=sensitive, n_boot=n_boot, ci_quantiles=[0.025, 0.975], random_state=0)
    return time.perf_counter() - start


def compare_backends(rows: int, n_boot: int, n_perm: int) -> None:
    """Print the times of the vectorised and the fairlearn backend on one table, and their ratio."""
    table = synthetic_predictions(rows, seed=1)
    times = {}
    for backend in ("vectorised", "fairlearn"):
        settings = FairnessSettings(n_boot=n_boot, seed=0, n_perm=n_perm, backend=backend)
        start = time.perf_counter()
        evaluate_predictions(table, "bench", settings)
        times[backend] = time.perf_counter() - start
    print(f"rows={rows:,} resamples={n_boot} permutations={n_perm}, every attribute, metric and interval")
    print(f"backend=vectorised: {times['vectorised']:8.2f} s")
    print(f"backend=fairlearn : {times['fairlearn']:8.2f} s  (ratio fairlearn / vectorised: "
          f"{times['fairlearn'] / times['vectorised']:.0f}x)")


def main() -> None:
    """Print visage's and fairlearn's evaluation times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--ref-boot", type=int, default=5)
    parser.add_argument("--perm", type=int, default=1000, help="permutations per gap p-value")
    parser.add_argument("--backend-rows", type=int, default=3000)
    parser.add_argument("--backend-boot", type=int, default=50)
    parser.add_argument("--skip-reference", action="store_true", help="only the backend comparison")
    args = parser.parse_args()
    compare_backends(args.backend_rows, args.backend_boot, args.perm)
    if args.skip_reference:
        return
    table = synthetic_predictions(args.rows)
    start = time.perf_counter()
    evaluate_predictions(table, "bench", FairnessSettings(n_boot=args.boot, seed=0, n_perm=0))
    ours = time.perf_counter() - start
    start = time.perf_counter()
    evaluate_predictions(table, "bench", FairnessSettings(n_boot=1, seed=0, n_perm=args.perm))
    perm = time.perf_counter() - start
    no_boot = reference_seconds(table, 1)  # the point estimates plus one resample: subtract the fixed part
    ref = reference_seconds(table, args.ref_boot)
    per_resample = (ref - no_boot) / max(1, args.ref_boot - 1)
    ref_scaled = no_boot + per_resample * (args.boot - 1)
    print(f"rows={args.rows:,} resamples={args.boot}")
    print(f"visage evaluate_predictions (all metrics, all CIs): {ours:8.1f} s")
    print(f"  + permutation p-values ({args.perm} permutations) : {perm:8.1f} s (measured with 1 resample)")
    print(f"fairlearn MetricFrame(n_boot), 3 metrics          : {ref_scaled:8.1f} s "
          f"(measured {args.ref_boot} resamples: {ref:.1f} s, scaled linearly)")
    print(f"speed-up visage / fairlearn                       : {ref_scaled / ours:8.1f}x  (goal >= 10x, < 60 s)")


if __name__ == "__main__":
    main()
