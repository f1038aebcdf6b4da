"""Provenance: what ties every number of a report to one run (version, commit, config, file hashes, date)."""

from __future__ import annotations

import datetime
import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

import visage
from visage.reporting.markdown import escape
from visage.reporting.report.document import Block, Bullets, Code, Heading, Table
from visage.reporting.report.load import RunFiles

_ABSOLUTE = re.compile(r"(?<![\w.~])(?:~|/)(?:[^\s/:,'\"\]\[=]+/)*[^\s/:,'\"\]\[=]+")


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


def scrub(value: Any, root: Path | None) -> Any:
    """Return `value` (config, overrides) with every absolute path named relative to `root`, or by its last part.

    A report names nothing of the machine it was built on: no absolute path, user or host name.
    """
    if isinstance(value, dict):
        return {k: scrub(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, root) for v in value]
    if isinstance(value, str):
        return _ABSOLUTE.sub(lambda m: relative_name(Path(m.group(0)), root), value)
    return value


def relative_name(path: Path, root: Path | None) -> str:
    """Return `path` relative to `root` where it lies inside it, else `.../<its name>`."""
    if root is not None:
        try:
            relative = path.resolve().relative_to(root.resolve())
            return str(relative) if str(relative) != "." else "."
        except (ValueError, OSError):
            pass
    return f".../{path.name}" if path.name else "..."


def file_entry(path: Path, root: Path | None) -> dict[str, str]:
    """Return a file's provenance entry: its path relative to `root` (or its name) and its SHA-256."""
    return {"path": relative_name(path, root), "sha256": sha256(path)}


def provenance(run: RunFiles, datacard: Path | None) -> dict[str, Any]:
    """Return the provenance record of one run or audit (goes into report.json); paths relative to the run directory."""
    root = run.root
    record = {"visage_version": visage.__version__, "git_commit": git_commit(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "run": run.name, "kind": "audit" if run.is_audit else "run", "dataset": run.dataset,
              "datacard": ({"path": f"datacards/{datacard.name}", "sha256": sha256(datacard)} if datacard else None),
              "split": run.split, "select_split": None if run.is_audit else run.select_split,
              "overrides": scrub(run.overrides, root), "config": scrub(run.config, root),
              "files": {key: file_entry(path, root) for key, path in run.files.items()}}
    return record


def provenance_section(record: dict[str, Any]) -> list[Block]:
    """The provenance block: version, commit, date, dataset, file hashes and the resolved config."""
    rows = [[escape(key), f"`{entry['path']}`", f"`{entry['sha256']}`"] for key, entry in record["files"].items()]
    card = record["datacard"]
    where = "the predictions file's folder" if record["kind"] == "audit" else "the run directory"
    items = [f"visage {record['visage_version']}, git commit `{record['git_commit'] or 'unknown (not a checkout)'}`",
             f"generated {record['date']} by `python -m visage.report` from saved files only (no retraining)",
             f"{'audit of' if record['kind'] == 'audit' else 'run'} **{escape(record['run'])}**; dataset "
             f"**{escape(record['dataset'])}**, data card " + (f"`{card['path']}` (sha256 `{card['sha256']}`)" if card else "`none`"),
             f"reported split `{record['split']}`"
             + (f", selection split `{record['select_split']}`" if record["select_split"] else "")]
    blocks: list[Block] = [Heading(2, "Provenance"), Bullets(items),
                           Table(["file", f"path (in {where})", "sha256"], rows)]
    if record["config"]:
        blocks.append(Code(yaml.safe_dump(record["config"], sort_keys=False), summary="Resolved config (.hydra/config.yaml)"))
    return blocks
