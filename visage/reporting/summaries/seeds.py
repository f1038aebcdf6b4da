"""One row per configuration of a sweep: its jobs over seeds, each metric's mean, SD and interval across them.

A configuration is a job's overrides without `seed` (`.hydra/overrides.yaml`), so `-m seed=0,1,2 ...`
gives one row per combination of the other choices, with `n_seeds` finished jobs behind it. For the
overall val/test metrics (`metrics.json`) and, per attribute and metric, the worst-group value and the
gap (`fairness/{val,test}.json`), the row holds `<column>_mean`, `<column>_sd` (sample SD across seeds,
ddof=1) and `<column>_ci_low`/`_ci_high`: a 95% Student-t interval for the mean over seeds
(mean ± t·SD/√n). This is the spread training noise makes (initialisation, batch order, augmentation),
on the same data, split and evaluation resamples; the bootstrap intervals in each job's fairness files
are the spread sampling the test faces makes. `pareto` marks the configurations that no other beats on
both validation means (overall `metric` and the `pareto_attribute` gap). Reads only the jobs' JSON files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from visage.core.names import GROUP_COLUMNS
from visage.core.run_files import METRICS_FILE
from visage.core.saved_run import read_json
from visage.reporting.markdown import markdown_table
from visage.reporting.summaries.jobs import Job, headline_metrics, job_numbers, sweep_jobs
from visage.reporting.summaries.sweep import pareto_front

SUMMARY_BY_CONFIG = "summary_by_config"
CONFIDENCE = 0.95
SEED_OVERRIDE = re.compile(r"^\+{0,2}seed=")
STATS = ("mean", "sd", "ci_low", "ci_high")


def split_seed(overrides: Sequence[str]) -> tuple[str, str]:
    """Return (the configuration: overrides without `seed=`, joined by spaces; the seed, '' if not overridden)."""
    seed = [o.split("=", 1)[1] for o in overrides if SEED_OVERRIDE.match(o)]
    config = " ".join(o for o in overrides if not SEED_OVERRIDE.match(o))
    return config, (seed[-1] if seed else "")


def job_values(job: Job, splits: Sequence[str]) -> dict[str, float | str | None]:
    """Return one finished job's numbers: overall metrics, and per attribute every worst-group value and gap.

    Columns are `<split>_<metric>` (overall), `<split>_<attr>_worst_<metric>` (the worst group's value),
    `<split>_<attr>_worst_<metric>_group` (its name) and `<split>_<attr>_<metric>_gap`.
    """
    numbers = job_numbers(job, splits, attributes=None)
    values: dict[str, float | str | None] = {"objective": numbers["objective"]}
    for split in splits:
        values.update({f"{split}_{name}": v for name, v in numbers[split]["overall"].items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)})
        for attribute, gaps in numbers[split]["gaps"].items():
            for metric, g in gaps.items():
                values[f"{split}_{attribute}_worst_{metric}"] = g["worst_value"]
                values[f"{split}_{attribute}_worst_{metric}_group"] = g["worst"]
                values[f"{split}_{attribute}_{metric}_gap"] = g["gap"]
    return values


def seed_statistics(values: pd.Series) -> dict[str, float]:
    """Return mean, SD (ddof=1) and the 95% Student-t interval of the mean of one column across seeds.

    Missing values (a gap undefined in one seed) are left out; with one value, SD and interval are NaN.
    """
    x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(x) == 0:
        return dict.fromkeys(STATS, np.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "sd": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df=len(x) - 1)) * sd / np.sqrt(len(x))
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}


def _worst_group_label(names: pd.Series) -> str | None:
    """Return the most frequent worst group across seeds with its count, e.g. `Black (2/3)`."""
    names = names.dropna()
    if names.empty:
        return None
    counts = names.value_counts()
    return f"{counts.index[0]} ({counts.iloc[0]}/{len(names)})"


def _config_row(config: str, jobs: pd.DataFrame) -> dict[str, Any]:
    finished = jobs[jobs["status"] == "ok"]
    row: dict[str, Any] = {"config": config, "n_seeds": len(finished), "n_failed": int((jobs["status"] != "ok").sum()),
                           "seeds": " ".join(str(s) for s in finished["seed"]), "jobs": " ".join(jobs["job"])}
    skip = {"job", "seed", "status", "config"}
    for column in [c for c in jobs.columns if c not in skip]:
        if column.endswith("_group"):
            row[column] = _worst_group_label(finished[column])
            continue
        for stat, value in seed_statistics(finished[column]).items():
            row[f"{column}_{stat}"] = value
    return row


def summarize_by_config(sweep_dir: str | Path, *, split: str = "val", report_split: str | None = "test",
                        metric: str = "age_mae", pareto_attribute: str = "race",
                        attributes: Sequence[str] = GROUP_COLUMNS) -> pd.DataFrame:
    """Write `summary_by_config.csv` and `.md` into the sweep directory; return the table.

    Args:
        sweep_dir: the sweep directory (jobs found by their `.hydra/overrides.yaml`).
        split: the selection split: `pareto` is computed on its means.
        report_split: also summarised (columns prefixed with its name), never used to choose; None for none.
        metric: the metric of the Pareto front and of the Markdown table's worst-group and gap columns.
        pareto_attribute: the attribute whose `metric` gap is the Pareto front's second objective.
        attributes: the attributes shown in the Markdown table (the CSV holds every attribute).
    """
    sweep_dir = Path(sweep_dir)
    splits = [split] + ([report_split] if report_split and report_split != split else [])
    jobs, headline = [], {}
    for job in sweep_jobs(sweep_dir):
        config, seed = split_seed(job.overrides)
        entry: dict[str, Any] = {"job": job.name, "config": config, "seed": seed, "status": job.status}
        if job.status == "ok":
            entry.update(job_values(job, splits))
            headline.update(dict.fromkeys(headline_metrics(read_json(job.job_dir / METRICS_FILE) or {})))
        jobs.append(entry)
    frame = pd.DataFrame(jobs, columns=None if jobs else ["job", "config", "seed", "status"])
    rows = [_config_row(config, group) for config, group in frame.groupby("config", sort=False)]
    table = pd.DataFrame(rows, columns=None if rows else ["config", "n_seeds", "n_failed", "seeds", "jobs"])
    error, gap = f"{split}_{metric}_mean", f"{split}_{pareto_attribute}_{metric}_gap_mean"
    if error in table and gap in table:
        table["pareto"] = pareto_front(table[error].astype(float).to_numpy(), table[gap].astype(float).to_numpy())
    table.to_csv(sweep_dir / f"{SUMMARY_BY_CONFIG}.csv", index=False)
    (sweep_dir / f"{SUMMARY_BY_CONFIG}.md").write_text(
        _markdown(sweep_dir, table, splits, list(headline), metric, pareto_attribute, attributes))
    return table


def _mean_sd(table: pd.DataFrame, column: str) -> pd.Series:
    mean, sd = table.get(f"{column}_mean"), table.get(f"{column}_sd")
    if mean is None:
        return pd.Series([None] * len(table), index=table.index)
    low, high = table[f"{column}_ci_low"], table[f"{column}_ci_high"]
    return pd.Series([None if pd.isna(m) else (f"{m:.3g}" if pd.isna(s) else f"{m:.3g} ± {s:.2g} [{lo:.3g}, {hi:.3g}]")
                      for m, s, lo, hi in zip(mean, sd, low, high)], index=table.index)


def _varying(configs: pd.Series) -> pd.Series:
    """Return each configuration as the overrides that differ between them (all of them if only one)."""
    tokens = [str(c).split() for c in configs]
    common = set.intersection(*map(set, tokens)) if len(tokens) > 1 else set()
    return pd.Series([" ".join(t for t in ts if t not in common) or "(defaults)" for ts in tokens], index=configs.index)


def _markdown(sweep_dir: Path, table: pd.DataFrame, splits: Sequence[str], headline: Sequence[str], metric: str,
              pareto_attribute: str,
              attributes: Sequence[str]) -> str:
    """Return the Markdown summary: headline metrics and `metric`'s worst groups and gaps, mean ± SD [interval]."""
    shown = pd.DataFrame({"config": _varying(table.get("config", pd.Series(dtype=str))),
                          "n_seeds": table.get("n_seeds", pd.Series(dtype=int))})
    for split in splits:
        for name in headline:
            shown[f"{split}_{name}"] = _mean_sd(table, f"{split}_{name}")
        for attribute in attributes:
            worst = f"{split}_{attribute}_worst_{metric}"
            shown[worst] = _mean_sd(table, worst)
            shown[f"{worst}_group"] = table.get(f"{worst}_group")
            shown[f"{split}_{attribute}_{metric}_gap"] = _mean_sd(table, f"{split}_{attribute}_{metric}_gap")
    if "pareto" in table:
        shown["pareto"] = table["pareto"]
    shown = shown.dropna(axis=1, how="all")
    finished = int(table["n_seeds"].sum()) if "n_seeds" in table else 0
    return "\n".join([
        f"# Sweep summary by configuration: {sweep_dir.name}", "",
        f"{len(table)} configurations (a job's overrides without `seed`; those all jobs share are left out here), "
        f"{finished} finished jobs. Each cell: mean ± SD across seeds [95% Student-t interval of the mean] — the spread "
        "training noise makes on the same data and split; each job's bootstrap intervals (its fairness files) "
        "are the spread sampling noise makes. A worst group's value is that of whichever group is worst in "
        "each seed; `_group` names the most frequent one. "
        f"`pareto` marks the configurations no other beats on both `{splits[0]}` means of {metric} and the "
        f"{pareto_attribute} gap (models are chosen on `{splits[0]}`; other splits are shown beside). "
        f"`{SUMMARY_BY_CONFIG}.csv` holds every metric, attribute and statistic.",
        "", markdown_table(shown, index=False), ""])
