"""Export: ONNX and TorchScript outputs equal eager ones (a CNN and a ViT), and predict runs on them.

Tolerance (also `visage.inference.exporting.TOLERANCE`): |exported - eager| ≤ 1e-2 years for age and
≤ 1e-4 for every class probability; float32 kernels only differ in summation order, so the measured
differences are ~1e-6.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import call, run_cli, train_tiny_run
from tests.test_inference import assert_prediction_contract, astronaut, grace_hopper
from visage.core.errors import ConfigError
from visage.inference.crops import crop_face
from visage.inference.detectors import HaarDetector
from visage.inference.exporting import TOLERANCE, export_run
from visage.inference.loading import load_predictor
from visage.inference.runtimes import EagerRuntime, OnnxRuntime, TorchScriptRuntime, output_tasks
from visage.runner.load_run import load_run

BACKBONES = ["test_resnet", "vit_tiny_patch16_224"]
RUNTIMES = {"onnx": (OnnxRuntime, "model.onnx"), "torchscript": (TorchScriptRuntime, "model.pt")}


@pytest.fixture(scope="module")
def runs(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run per backbone that exports may write into: the session's TINY run (test_resnet) copied, a ViT run trained briefly.

    Parity with eager does not depend on how well the model learned: one training batch, few bootstrap resamples.
    """
    resnet = tmp_path_factory.mktemp("test_resnet") / "run"
    shutil.copytree(tiny_run, resnet)
    vit = train_tiny_run(tmp_path_factory.mktemp("vit") / "run", "backbone=vit_tiny_patch16_224",
                         "trainer.limit_train_batches=1", "evaluation.fairness.n_boot=20")
    return {"test_resnet": resnet, "vit_tiny_patch16_224": vit}


def face_batch(size: int) -> np.ndarray:
    """Return 5 real-photo crops (N, 3, S, S): the two faces and three other parts of the photos."""
    photos = [astronaut(), grace_hopper()]
    boxes = [(177, 66, 95, 95), (155, 105, 222, 222), (300, 300, 120, 120), (0, 0, 200, 200), (20, 400, 90, 90)]
    crops = [crop_face(photos[k % 2], box, size) for k, box in enumerate(boxes)]
    return np.stack(crops).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("fmt", list(RUNTIMES))
def test_exported_model_equals_eager(runs: dict[str, Path], backbone: str, fmt: str) -> None:
    run = load_run(runs[backbone])
    record = export_run(run, fmt)
    assert record["within_tolerance"], record
    runtime_class, file_name = RUNTIMES[fmt]
    assert (run.run_dir / file_name).is_file()
    metadata = json.loads((run.run_dir / "model.json").read_text())
    assert metadata["classes"] == run.classes and metadata["preprocessing"]["image_size"] == 32
    assert metadata["outputs"] == ["age", "gender", "race"] and metadata["trained_on"] == "synthetic"
    assert fmt in metadata["exports"] and metadata["age_interval"]["coverage"] == 0.8
    tasks = output_tasks(run.classes, run.has_age)
    images = face_batch(run.image_size)  # 5 images: not the batch size it was traced with
    eager, exported = EagerRuntime(run.module, tasks)(images), runtime_class(run.run_dir / file_name, tasks)(images)
    for task in tasks:
        assert exported[task].shape == eager[task].shape
        tolerance = TOLERANCE["age" if task == "age" else "probability"]
        np.testing.assert_allclose(exported[task], eager[task], rtol=0, atol=tolerance)


def test_predict_on_onnx_runtime_matches_eager(runs: dict[str, Path]) -> None:
    run_dir = runs["test_resnet"]
    export_run(load_run(run_dir), "onnx")
    eager = load_predictor(run_dir, HaarDetector()).predict_image(astronaut())
    onnx = load_predictor(run_dir, HaarDetector(), runtime="onnx").predict_image(astronaut())
    assert_prediction_contract(onnx)
    assert onnx["model"]["runtime"] == "onnx"
    a, b = eager["faces"][0], onnx["faces"][0]
    assert a["box"] == b["box"] and a["gender"]["label"] == b["gender"]["label"]
    assert a["age"]["estimate"] == pytest.approx(b["age"]["estimate"], abs=0.1)
    assert a["race"] == pytest.approx(b["race"], abs=1e-3)


def test_unknown_format_is_a_config_error(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown format 'tflite'; available: onnx, torchscript"):
        export_run(load_run(runs["test_resnet"]), "tflite")
    monkeypatch.chdir(tmp_path)
    assert call("export", f"run={runs['test_resnet']}", "format=tflite") == 2  # the command refuses it before loading
    assert capsys.readouterr().err == "error: unknown format 'tflite'; available: onnx, torchscript\n"


@pytest.mark.slow  # a fresh interpreter loads torch and exports (~60 s on a busy 2-core machine)
def test_export_command(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = runs["test_resnet"]
    done = run_cli("visage.export", f"run={run_dir}", "format=torchscript", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["within_tolerance"] and (run_dir / "model.pt").is_file()
    bad = run_cli("visage.export", f"run={run_dir}", "format=tflite", cwd=tmp_path)
    assert (bad.returncode, bad.stderr) == (2, "error: unknown format 'tflite'; available: onnx, torchscript\n")
