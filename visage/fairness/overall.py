"""Overall metrics of a predictions table (the run contract's `metrics.json`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from visage.core.age_bins import assign_age_bins
from visage.core.names import CLASSIFICATION_TASKS


def overall_metrics(table: pd.DataFrame, age_bins: Sequence[int] | None = None) -> dict[str, float]:
    """Return n, age MAE, and gender and race accuracy over the whole table.

    With `age_bins`, also the age-bin accuracy (predicted age falls in the true age's bin), the
    metric that compares with datasets labelled in bins. Where the table knows the true latent age
    (synthetic data), also the age noise floor: the MAE a perfect model gets against these labels.
    """
    metrics: dict[str, float] = {"n": int(len(table))}
    if "age_pred" in table:
        metrics["age_mae"] = float((table["age_pred"] - table["age_true"]).abs().mean())
        if age_bins is not None:
            same = assign_age_bins(table["age_pred"], age_bins) == assign_age_bins(table["age_true"], age_bins)
            metrics["age_bin_acc"] = float(same.mean())
    if "age_latent" in table:
        metrics["age_noise_floor"] = float((table["age_latent"] - table["age_true"]).abs().mean())
    for task in CLASSIFICATION_TASKS:
        if f"{task}_pred" in table:
            metrics[f"{task}_acc"] = float((table[f"{task}_pred"] == table[f"{task}_true"]).mean())
    return metrics
