"""Runs the demo can switch between, and their saved fairness results and report. Torch-free."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from visage.core.errors import ConfigError
from visage.core.run_files import CONFIG_FILE, METRICS_FILE
from visage.fairness.multiple_testing import ratio_test


def is_run(path: Path) -> bool:
    """Return whether `path` is a finished run (it has metrics.json)."""
    return (path / METRICS_FILE).is_file()


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Return the runs named by `paths`: each a run directory, or a folder whose sub-folders are runs.

    Raises:
        ConfigError: a path does not exist, or holds no finished run.
    """
    runs: list[Path] = []
    for entry in paths:
        path = Path(entry).expanduser()
        if not path.is_dir():
            raise ConfigError(f"run '{entry}' does not exist (give a run directory or a folder of runs)")
        found = [path] if is_run(path) else sorted(p for p in path.iterdir() if p.is_dir() and is_run(p))
        if not found:
            raise ConfigError(f"'{entry}' is not a finished visage run and holds none (no {METRICS_FILE})")
        runs.extend(p for p in found if p not in runs)
    return runs


def run_info(run_dir: Path) -> dict[str, Any]:
    """Return what the demo shows about a run: name, training data, backbone, network kind."""
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    config: dict[str, Any] = {}
    if (run_dir / CONFIG_FILE).is_file():
        config = yaml.safe_load((run_dir / CONFIG_FILE).read_text()) or {}
    net = str(((config.get("model") or {}).get("net") or {}).get("_target_", "")).rsplit(".", 1)[-1]
    return {"name": run_dir.name, "dataset": (metrics.get("dataset") or {}).get("name"),
            "backbone": (config.get("backbone") or {}).get("name"), "network": net or None}


def run_label(run_dir: Path) -> str:
    """Return the label of a run in the run switch, e.g. `run-a · resnet18 · SharedBackboneNet`."""
    info = run_info(run_dir)
    return " · ".join(str(v) for v in (info["name"], info["backbone"], info["network"]) if v)


def fairness_results(run_dir: Path, split: str = "test") -> dict[str, Any] | None:
    """Return the run's `fairness/<split>.json`, or None when it has none."""
    path = run_dir / "fairness" / f"{split}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def group_table(results: dict[str, Any], attribute: str) -> pd.DataFrame:
    """Return one row per group of `attribute`: n, each metric, and its confidence interval as `lo–hi`."""
    rows = []
    for group, values in results["by_group"][attribute].items():
        row: dict[str, Any] = {"group": group, "n": values.get("n")}
        for metric, value in values.items():
            if metric in {"n", "ci", "small", "empty"} or not isinstance(value, (int, float)):
                continue
            row[metric] = round(float(value), 3)
            interval = (values.get("ci") or {}).get(metric)
            if interval and None not in interval:
                row[f"{metric} 95% CI"] = f"{interval[0]:.3f}–{interval[1]:.3f}"
        if values.get("small"):
            row["note"] = "too few to judge"
        rows.append(row)
    return pd.DataFrame(rows)


def disparity_table(results: dict[str, Any], attribute: str, family: Mapping[str, Any]) -> pd.DataFrame:
    """Return the gaps of `attribute`: measure, value, and for a tested one its raw and adjusted p and verdict.

    `family` is `family_tests(results, "gaps", correction, alpha)`: p-values adjusted over the whole family of
    the split's gap tests (every attribute), as the report does, so a verdict here is the report's; undefined
    values and untested measures stay empty.
    """
    values = results.get("disparity", {}).get(attribute, {})
    correction = family["families"]["gaps"]["correction"]
    tests = {t["metric"]: t for t in family["tests"] if t["attribute"] == attribute}
    rows = []
    for key, value in values.items():
        if not (isinstance(value, (int, float)) or value is None):
            continue
        test = tests.get(ratio_test(key), {})
        rows.append({"measure": key, "value": None if value is None else round(float(value), 3),
                     "p": test.get("p_value"), f"p ({correction})": test.get("p_adjusted"),
                     "beyond chance": test.get("beyond_chance")})
    return pd.DataFrame(rows)


def report_file(run_dir: Path, reports_dir: Path) -> Path | None:
    """Return `reports/<run name>/report.md` when `python -m visage.report run=<run>` has written it."""
    path = reports_dir / run_dir.name / "report.md"
    return path if path.is_file() else None
