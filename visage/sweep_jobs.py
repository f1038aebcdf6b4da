"""What makes a sweep robust: failed jobs are recorded (the sweep goes on), finished jobs are skipped on rerun."""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Sequence
from pathlib import Path

from visage.reporting.sweep_summary import FAILURE_FILE
from visage.run_files import write_json


def finished_objective(output_dir: Path, overrides: Sequence[str]) -> float | None:
    """Return the objective of a job that already finished with these overrides, else None (resume)."""
    metrics_file = output_dir / "metrics.json"
    if not metrics_file.is_file():
        return None
    metrics = json.loads(metrics_file.read_text())
    if metrics.get("overrides") != list(overrides):
        return None
    return float(metrics["objective"])


def root_cause(error: BaseException) -> BaseException:
    """Return the innermost cause of `error` (Hydra wraps errors raised while instantiating)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def record_failure(output_dir: Path, error: BaseException) -> float:
    """Write `failure.json` (error type, message, traceback) for a failed job; return NaN as its objective."""
    cause = root_cause(error)
    message = str(cause).strip()
    write_json(output_dir / FAILURE_FILE, {
        "type": type(cause).__name__,
        "message": message.splitlines()[0] if message else "",
        "traceback": "".join(traceback.format_exception(error)),
    })
    return math.nan


def clear_failure(output_dir: Path) -> None:
    """Remove a failure record left by an earlier try of this job."""
    (output_dir / FAILURE_FILE).unlink(missing_ok=True)
