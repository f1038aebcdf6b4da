"""Prediction tables made up for report tests: no training, known groups, an optional planted age gap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

RACES = ("White", "Black", "Asian", "Indian")
FAST_FAIRNESS = {"n_boot": 20, "n_perm": 199, "min_group_size": 20, "attributes": ["race", "gender", "race*gender"]}


def predictions_table(seed: int = 0, n: int = 800, planted: float = 0.0, races: tuple[str, ...] = RACES) -> pd.DataFrame:
    """Return a predictions table: age and gender tasks; the last race's ages over-estimated by `planted` years."""
    rng = np.random.default_rng(seed)
    race = rng.choice(races, n)
    gender = rng.choice(["Male", "Female"], n)
    age = rng.uniform(5, 80, n).round()
    error = rng.normal(0, 4, n) + np.where(race == races[-1], planted, 0.0)
    gender_pred = np.where(rng.random(n) < 0.85, gender, np.where(gender == "Male", "Female", "Male"))
    return pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "race": race, "gender": gender,
                         "age_true": age, "age_pred": age + error, "gender_true": gender, "gender_pred": gender_pred,
                         "gender_prob": rng.uniform(0.5, 1.0, n)})


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Write `table` as CSV (or Parquet by suffix) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (table.to_parquet if path.suffix == ".parquet" else lambda p: table.to_csv(p, index=False))(path)
    return path
