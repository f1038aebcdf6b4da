"""Paired differences (job − baseline) for a sweep report, from `visage.fairness.paired`.

The fairness stage joins both predictions tables on `sample_id` and draws the same resamples for
both, so each interval is that of the difference itself. This module only picks what a report
shows (the headline metric of each task: overall, per group of one attribute, and its gap) and
flattens it to `{key: {"a", "b", "difference", "ci"}}` with keys like `age_mae`, `age_mae[Black]`,
`age_mae_gap`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from visage.core.errors import ConfigError
from visage.core.metric_specs import PRIMARY
from visage.fairness.paired import paired_differences as fairness_paired
from visage.fairness.settings import FairnessSettings


def _flat(entry: dict[str, Any], reason: str) -> dict[str, Any]:
    ci = entry.get("ci")
    flat = {"a": entry.get("run"), "b": entry.get("baseline"), "difference": entry.get("difference"),
            "ci": ci if ci and all(v is not None for v in ci) else None}
    if flat["difference"] is None:
        flat["undefined"] = reason
    return flat


def paired_differences(a: pd.DataFrame, b: pd.DataFrame, *, attribute: str = "race", min_group_size: int = 30,
                       n_boot: int = 1000, ci: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Return a − b of each headline metric, overall, per group of `attribute` and as its gap, with paired intervals.

    Args:
        a: predictions of the job compared.
        b: predictions of the baseline job.
        attribute: the grouping column whose groups and gap are compared.
        min_group_size: groups with fewer samples are left out of the gap.
        n_boot: bootstrap resamples (the same rows for both jobs).
        ci: interval level.
        seed: seed of the resamples.

    Returns:
        `{"n", "attribute", "n_boot", "ci_level", "groups_compared", "differences"}`; where the jobs were not
        scored on the same samples, no differences and an `undefined` reason instead.
    """
    settings = FairnessSettings(attributes=[attribute], n_boot=n_boot, ci=ci, seed=seed, min_group_size=min_group_size)
    base = {"attribute": attribute, "n_boot": n_boot, "ci_level": ci, "seed": seed}
    try:
        result = fairness_paired(a, b, settings)
    except ConfigError as error:
        return {**base, "n": 0, "groups_compared": [], "differences": {}, "undefined": str(error)}
    groups = result["by_group"].get(attribute, {})
    disparity = result["disparity"].get(attribute, {})
    differences: dict[str, Any] = {}
    for metric in (m for m in PRIMARY.values() if m in result["metrics"]):
        differences[metric] = _flat(result["overall"][metric], "undefined overall")
        for group, entry in groups.items():
            differences[f"{metric}[{group}]"] = _flat(entry[metric], "no sample in this group")
        if f"{metric}_gap" in disparity:
            differences[f"{metric}_gap"] = _flat(disparity[f"{metric}_gap"],
                                                 f"fewer than 2 {attribute} groups with n ≥ {min_group_size}")
    return {**base, "n": result["n"], "groups_compared": disparity.get("groups_compared", []), "differences": differences}
