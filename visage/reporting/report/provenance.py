"""Provenance: what ties every number of a report to one run (version, commit, config, file hashes, date)."""

from __future__ import annotations

import datetime
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import yaml

import visage
from visage.reporting.report_document import Block, Bullets, Code, Heading, Table
from visage.reporting.report_load import RunFiles


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit() -> str | None:
    """Return visage's git commit (with "+dirty" for uncommitted changes), or None outside a checkout."""
    root = Path(visage.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "") if commit else None


def provenance(run: RunFiles, datacard: Path | None) -> dict[str, Any]:
    """Return the provenance record of one run (goes into report.json)."""
    files = {**run.files}
    for split in run.fairness:
        path = run.run_dir / "fairness" / f"{split}.json"
        if path.is_file():
            files[f"fairness_{split}"] = path
    if run.training_distribution is not None:
        files["training_distribution"] = run.run_dir / "training_distribution.json"
    if datacard is not None:
        files["datacard"] = datacard
    return {"visage_version": visage.__version__, "git_commit": git_commit(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "run_dir": str(run.run_dir.resolve()), "dataset": run.dataset,
            "datacard": str(datacard) if datacard else None, "split": run.split, "select_split": run.select_split,
            "overrides": run.overrides, "config": run.config,
            "files": {key: {"path": str(path.resolve().relative_to(run.run_dir.resolve()))
                            if path.resolve().is_relative_to(run.run_dir.resolve()) else str(path),
                            "sha256": sha256(path)} for key, path in files.items()}}


def provenance_section(record: dict[str, Any]) -> list[Block]:
    """The provenance block: version, commit, date, dataset, file hashes and the resolved config."""
    rows = [[key, f"`{entry['path']}`", f"`{entry['sha256']}`"] for key, entry in record["files"].items()]
    return [Heading(2, "Provenance"),
            Bullets([f"visage {record['visage_version']}, git commit `{record['git_commit'] or 'unknown (not a checkout)'}`",
                     f"generated {record['date']} by `python -m visage.report` from saved files only (no retraining)",
                     f"run directory `{record['run_dir']}`; dataset **{record['dataset']}**, data card "
                     f"`{record['datacard'] or 'none'}`",
                     f"reported split `{record['split']}`, selection split `{record['select_split']}`"]),
            Table(["file", "path (in the run directory)", "sha256"], rows),
            Code(yaml.safe_dump(record["config"], sort_keys=False), summary="Resolved config (.hydra/config.yaml)")]
