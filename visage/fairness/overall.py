"""Overall metrics of a predictions table (the run contract's `metrics.json`)."""

from __future__ import annotations

import pandas as pd


def overall_metrics(table: pd.DataFrame) -> dict[str, float]:
    """Return n, age MAE, and gender and race accuracy over the whole table.

    Where the table knows the true latent age (synthetic data), also the age noise floor: the MAE
    a perfect model would get against these noisy labels.
    """
    metrics: dict[str, float] = {"n": int(len(table))}
    if "age_pred" in table:
        metrics["age_mae"] = float((table["age_pred"] - table["age_true"]).abs().mean())
    if "age_latent" in table:
        metrics["age_noise_floor"] = float((table["age_latent"] - table["age_true"]).abs().mean())
    for task in ("gender", "race"):
        if f"{task}_pred" in table:
            metrics[f"{task}_acc"] = float((table[f"{task}_pred"] == table[f"{task}_true"]).mean())
    return metrics
