"""The run directory contract: where each file lives, and writing them atomically (no half file is ever left)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CONFIG_FILE = ".hydra/config.yaml"
METRICS_FILE = "metrics.json"
FAILURE_FILE = "failure.json"
BEST_CHECKPOINT = "checkpoints/best.ckpt"
LAST_CHECKPOINT = "checkpoints/last.ckpt"


def _atomic_write(path: Path, write: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the result ordinary permissions
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, data: Any) -> Path:
    """Write `data` as indented JSON at `path`; return the path."""

    def write(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")

    return _atomic_write(Path(path), write)


def write_array(path: str | Path, array: Any) -> Path:
    """Write a NumPy array as `.npy` at `path`; return the path."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    return _atomic_write(Path(path), write)


def write_table(path: str | Path, table: pd.DataFrame) -> Path:
    """Write `table` as Parquet at `path`; return the path."""
    return _atomic_write(Path(path), lambda tmp: table.to_parquet(tmp, index=False))


def predictions_path(run_dir: str | Path, split: str) -> Path:
    """Return where the predictions of `split` live in a run directory."""
    return Path(run_dir) / "predictions" / f"{split}.parquet"


def fairness_path(run_dir: str | Path, split: str) -> Path:
    """Return where the fairness result of `split` lives in a run directory."""
    return Path(run_dir) / "fairness" / f"{split}.json"
