"""Export a run's model to ONNX or TorchScript, check it against eager PyTorch, write model.json beside it."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from visage.core.errors import unknown_choice
from visage.core.run_files import write_json
from visage.inference.metadata import EXPORT_FILES, METADATA_FILE, model_metadata, run_intervals
from visage.inference.runtimes import INPUT_NAME, DecodedNet, EagerRuntime, OnnxRuntime, TorchScriptRuntime, output_tasks
from visage.inference.settings import default
from visage.runner.load_run import LoadedRun

# Largest |exported - eager| allowed on the parity check (float32 kernels differ in summation order).
TOLERANCE = {"age": 1e-2, "probability": 1e-4}


def _trace_inputs(size: int, n: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8))


def _write_onnx(model: torch.nn.Module, example: torch.Tensor, tasks: list[str], path: str, opset: int) -> None:
    # The TorchScript-based exporter (dynamo=False) needs no onnxscript and handles every timm backbone here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), path, dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                          output_names=tasks, dynamic_axes={INPUT_NAME: {0: "batch"}, **{t: {0: "batch"} for t in tasks}})


def _write_torchscript(model: torch.nn.Module, example: torch.Tensor, path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in 2.x but still the portable format
        torch.jit.trace(model, (example,), check_trace=False).save(path)


def max_differences(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> dict[str, float]:
    """Return the largest absolute difference per task between two runtimes' outputs."""
    return {task: float(np.max(np.abs(expected[task] - actual[task]))) for task in expected}


def within_tolerance(differences: dict[str, float]) -> bool:
    """Return whether every difference is inside `TOLERANCE` (age in years, the rest probabilities)."""
    return all(d <= TOLERANCE["age" if task == "age" else "probability"] for task, d in differences.items())


def export_run(run: LoadedRun, fmt: str, *, opset: int = 17, coverage: float | None = None, check_batch: int = 3
               ) -> dict[str, Any]:
    """Write `model.onnx` or `model.pt` and `model.json` into the run dir; return the export record.

    The exported graph takes uint8 RGB images (N, 3, S, S), any N, and returns age in years and class
    probabilities (the decoding is inside). It is checked on `check_batch` random images (a batch size
    other than the traced one) against the eager module; the differences are recorded in model.json.

    Raises:
        ConfigError: `fmt` is not onnx or torchscript.
    """
    if fmt not in EXPORT_FILES:
        raise unknown_choice("format", fmt, EXPORT_FILES)
    coverage = float(coverage if coverage is not None else default("age_interval.coverage"))
    tasks = output_tasks(run.classes, run.has_age)
    model = DecodedNet(run.module.net, tasks).eval()
    path = run.run_dir / EXPORT_FILES[fmt]
    tmp = str(path.with_name(f".{path.name}.tmp"))
    example = _trace_inputs(run.image_size, 2, seed=0)
    try:
        if fmt == "onnx":
            _write_onnx(model, example, tasks, tmp, opset)
        else:
            _write_torchscript(model, example, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    runtime = OnnxRuntime(path, tasks) if fmt == "onnx" else TorchScriptRuntime(path, tasks)
    images = _trace_inputs(run.image_size, check_batch, seed=1).numpy()
    differences = max_differences(EagerRuntime(run.module, tasks)(images), runtime(images))
    record = {"file": path.name, "torch": torch.__version__, "max_abs_diff_vs_eager": differences,
              "tolerance": TOLERANCE, "within_tolerance": within_tolerance(differences)}
    if fmt == "onnx":
        record["opset"] = opset
    metadata_path = run.run_dir / METADATA_FILE
    exports = json.loads(metadata_path.read_text()).get("exports", {}) if metadata_path.is_file() else {}
    write_json(metadata_path, {**model_metadata(run, run_intervals(run, coverage)), "exports": {**exports, fmt: record}})
    return {"path": str(path), "metadata": str(metadata_path), **record}
