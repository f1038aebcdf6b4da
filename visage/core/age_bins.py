"""Age bins (numpy and pandas only, shared by the data and fairness stages)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def age_bin_labels(edges: Sequence[int]) -> list[str]:
    """Return readable names for the age bins that start at each edge ("0-2", ..., "70+")."""
    names = [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]
    return names + [f"{edges[-1]}+"]


def assign_age_bins(ages: np.ndarray, edges: Sequence[int]) -> pd.Categorical:
    """Return the ordered age-bin category of each age, bins starting at `edges`."""
    index = np.searchsorted(np.asarray(edges), np.asarray(ages, dtype=float), side="right") - 1
    names = age_bin_labels(edges)
    return pd.Categorical.from_codes(np.clip(index, 0, len(names) - 1), categories=names, ordered=True)
