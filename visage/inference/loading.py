"""Build a `Predictor` for a run directory with the chosen runtime (eager, torchscript or onnx)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from visage.core.errors import unknown_choice
from visage.inference.age_interval import AgeIntervals
from visage.inference.detectors import FaceDetector
from visage.inference.metadata import EXPORT_FILES, model_metadata, read_metadata, run_intervals
from visage.inference.predictor import Predictor
from visage.inference.runtimes import EagerRuntime, OnnxRuntime, Runtime, TorchScriptRuntime, output_tasks
from visage.inference.settings import default
from visage.runner.load_run import load_run

EXPORTED: dict[str, Callable[[Path, list[str]], Runtime]] = {"onnx": OnnxRuntime, "torchscript": TorchScriptRuntime}
RUNTIMES = ("eager", *EXPORTED)


def load_predictor(run_dir: str | Path, detector: FaceDetector, *, runtime: str | None = None,
                   margin: float | None = None, batch_size: int | None = None, coverage: float | None = None) -> Predictor:
    """Return a predictor for the run at `run_dir`.

    `runtime=eager` loads `checkpoints/best.ckpt`; `onnx` / `torchscript` load the exported
    `model.onnx` / `model.pt` and its `model.json`. Age intervals come from the run's validation
    predictions with `coverage` (or, without them, from the copy saved in model.json). A setting left at
    None takes its default from conf/inference/ (`runtime`, `crop.margin`, `batch_size`, `age_interval.coverage`).

    Raises:
        ConfigError: unknown runtime, not a run, no checkpoint, or no export for the runtime (one line).
    """
    runtime = runtime if runtime is not None else default("runtime")
    coverage = float(coverage if coverage is not None else default("age_interval.coverage"))
    if runtime not in RUNTIMES:
        raise unknown_choice("runtime", runtime, RUNTIMES)
    run = load_run(run_dir, module=runtime == "eager")
    intervals = run_intervals(run, coverage)
    if runtime == "eager":
        metadata = model_metadata(run, intervals)
        model: Runtime = EagerRuntime(run.module, output_tasks(run.classes, run.has_age))
    else:
        metadata = read_metadata(run.run_dir, runtime)
        model = EXPORTED[runtime](run.run_dir / EXPORT_FILES[runtime], list(metadata["outputs"]))
        if intervals is None and metadata.get("age_interval"):
            saved = {k: v for k, v in metadata["age_interval"].items() if k != "bins"}
            intervals = AgeIntervals.from_dict(saved)
    return Predictor(model, metadata, detector, margin=margin, batch_size=batch_size, intervals=intervals)
