"""What a model needs beside its weights to be used anywhere: classes, preprocessing, provenance, age intervals.

Written as `model.json` next to an exported model; built the same way for the eager module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from visage.core.errors import ConfigError
from visage.inference.age_interval import AgeIntervals
from visage.inference.runtimes import INPUT_NAME, output_tasks
from visage.runner.load_run import LoadedRun

METADATA_FILE = "model.json"
EXPORT_FILES = {"onnx": "model.onnx", "torchscript": "model.pt"}


def run_intervals(run: LoadedRun, coverage: float) -> AgeIntervals | None:
    """Return the age intervals of a run from its validation predictions (None without age)."""
    if not run.has_age:
        return None
    edges = list(run.config.get("evaluation", {}).get("age_bins") or [0])
    return AgeIntervals.from_run(run.run_dir, edges, coverage=coverage)


def model_metadata(run: LoadedRun, intervals: AgeIntervals | None) -> dict[str, Any]:
    """Return the metadata of a run's model (the content of model.json, without its `exports`)."""
    size = run.image_size
    return {
        "run": run.run_dir.name,
        "trained_on": run.dataset.get("name") or run.config.get("data", {}).get("name"),
        "backbone": run.config.get("backbone", {}).get("name"),
        "classes": run.classes,
        "has_age": run.has_age,
        "outputs": output_tasks(run.classes, run.has_age),
        "input": {"name": INPUT_NAME, "shape": ["N", 3, size, size], "dtype": "uint8", "color": "RGB"},
        "output_meaning": {"age": "years", "<class task>": "class probabilities, in `classes` order"},
        "preprocessing": {**run.preprocessing, "image_size": size},
        "age_interval": intervals.to_dict() if intervals else None,
    }


def read_metadata(run_dir: str | Path, fmt: str) -> dict[str, Any]:
    """Return model.json of a run exported as `fmt`; ConfigError (one line) if the export is missing."""
    run_dir = Path(run_dir)
    path, model = run_dir / METADATA_FILE, run_dir / EXPORT_FILES[fmt]
    if not model.is_file() or not path.is_file():
        raise ConfigError(f"run={run_dir} has no {EXPORT_FILES[fmt]}; export it first: "
                          f"python -m visage.export run={run_dir} format={fmt}")
    return json.loads(path.read_text())
