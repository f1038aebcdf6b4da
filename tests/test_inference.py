"""Inference: face detection on real photos, cropping, age intervals, batched predict, the JSON contract, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import skimage.data
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from matplotlib import cbook
from PIL import Image

from tests.helpers import ROOT, call, run_cli
from visage.core.errors import ConfigError, config_error_in
from visage.inference.age_interval import AgeIntervals
from visage.inference.crops import crop_face, square_box
from visage.inference.detectors import HaarDetector, WholeImage
from visage.inference.images import ImageError, decode_image
from visage.inference.loading import load_predictor

CLASSES = {"gender": ["Male", "Female"], "race": ["White", "Black", "Asian", "Indian", "Others"]}


def astronaut() -> np.ndarray:
    """Return scikit-image's astronaut photo (Eileen Collins), RGB uint8."""
    return skimage.data.astronaut()


def grace_hopper() -> np.ndarray:
    """Return matplotlib's Grace Hopper photo, RGB uint8."""
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def assert_prediction_contract(result: dict[str, Any], classes: dict[str, list[str]] = CLASSES) -> None:
    """Assert that `result` is DESIGN.md's prediction JSON (plus visage's documented extra keys)."""
    assert isinstance(result["faces"], list)
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN
    for face in result["faces"]:
        box = face["box"]
        assert len(box) == 4 and all(isinstance(v, int) for v in box) and box[2] > 0 and box[3] > 0
        assert isinstance(face["detection_score"], float)
        age = face["age"]
        assert isinstance(age["estimate"], float)
        low, high = age["interval"]
        assert 0.0 <= low <= high
        gender = face["gender"]
        assert gender["label"] in classes["gender"] and 0.5 <= gender["probability"] <= 1.0
        race = face["race"]
        assert list(race) == classes["race"] and abs(sum(race.values()) - 1.0) < 1e-3
        assert all(0.0 <= p <= 1.0 for p in race.values())
    assert result["model"]["trained_on"] == "synthetic"


def iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Return the intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.fixture
def run_dir(tiny_run: Path) -> Path:
    """The session's trained TINY run (read-only)."""
    return tiny_run


@pytest.mark.parametrize("photo", [astronaut, grace_hopper])
def test_haar_finds_the_face_where_opencv_finds_it(photo) -> None:
    image = photo()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    reference = cascade.detectMultiScale(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), minSize=(30, 30))
    assert len(reference) == 1
    faces = HaarDetector().detect(image)
    assert len(faces) == 1 and faces[0].score > 0
    assert iou(faces[0].box, tuple(reference[0])) > 0.8


def test_whole_image_detector_gives_the_image_as_one_face() -> None:
    faces = WholeImage().detect(np.zeros((40, 30, 3), np.uint8))
    assert [(f.box, f.score) for f in faces] == [((0, 0, 30, 40), 1.0)]


def test_crop_is_square_with_margin_and_pads_at_the_border() -> None:
    assert square_box((10, 20, 40, 40), margin=0.25) == (0, 10, 60)
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :50] = 200
    crop = crop_face(image, (0, 0, 50, 100), size=32, margin=0.25)  # reaches past every edge
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert crop[16, 0].tolist() == [200, 200, 200] and crop[16, -1].tolist() == [0, 0, 0]  # border repeated


def test_age_interval_covers_the_stated_share_of_validation_faces() -> None:
    rng = np.random.default_rng(0)
    predicted = rng.uniform(0, 90, 4000)
    true = predicted + rng.normal(0, 1 + predicted / 10)  # errors grow with age
    intervals = AgeIntervals.from_residuals(predicted, true, [0, 30, 60], coverage=0.8)
    inside = [low <= t <= high for p, t in zip(predicted, true) for low, high in [intervals.interval(p)]]
    assert abs(np.mean(inside) - 0.8) < 0.02
    young, old = intervals.interval(10.0), intervals.interval(80.0)
    assert young[1] - young[0] < old[1] - old[0]  # per bin: wider where the model errs more
    sparse = AgeIntervals.from_residuals(predicted[:30], true[:30], [0, 30, 60], min_count=1000)
    assert sparse.offsets[0] == sparse.offsets[2]  # too few per bin: all residuals pooled
    with pytest.raises(ConfigError, match="coverage"):
        AgeIntervals.from_residuals(predicted, true, [0], coverage=1.5)


def test_decode_refuses_text_truncated_and_oversized_images() -> None:
    data = cv2.imencode(".jpg", astronaut())[1].tobytes()
    assert decode_image(data).shape == (512, 512, 3)
    with pytest.raises(ImageError, match="not an image") as text:
        decode_image(b"just some text")
    with pytest.raises(ImageError, match="truncated") as truncated:
        decode_image(data[: len(data) // 2])
    with pytest.raises(ImageError, match="more than the limit") as large:
        decode_image(data, max_pixels=512 * 511)
    assert (text.value.status, truncated.value.status, large.value.status) == (415, 400, 413)


@pytest.mark.parametrize("photo", [astronaut, grace_hopper])
def test_prediction_of_a_photo_follows_the_contract(run_dir: Path, photo) -> None:
    predictor = load_predictor(run_dir, HaarDetector())
    result = predictor.predict_image(photo())
    assert_prediction_contract(result)
    assert len(result["faces"]) == 1 and result["model"]["runtime"] == "eager"


def test_a_folder_of_crops_is_predicted_in_batches(run_dir: Path) -> None:
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(20)]
    predictor = load_predictor(run_dir, WholeImage(), batch_size=8)
    results = predictor.predict_images(crops)
    assert len(results) == 20 and predictor.model_calls == 3  # 8 + 8 + 4 crops, not 20 calls
    alone = load_predictor(run_dir, WholeImage(), batch_size=1).predict_image(crops[13])
    assert results[13]["faces"][0]["age"]["estimate"] == pytest.approx(alone["faces"][0]["age"]["estimate"], abs=0.1)
    assert results[13]["faces"][0]["race"] == pytest.approx(alone["faces"][0]["race"], abs=1e-3)


def test_predict_command_writes_one_json_line_per_image(run_dir: Path, tmp_path: Path) -> None:
    """In a fresh process (predict's one `python -m visage.predict` test; the others call it in-process)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(astronaut()).save(folder / "astronaut.jpg")
    Image.fromarray(grace_hopper()).save(folder / "grace hopper.png")  # a space in the name
    (folder / "notes.txt").write_text("not an image, not listed")
    (folder / "broken.jpg").write_bytes((folder / "astronaut.jpg").read_bytes()[:5000])
    out = tmp_path / "out" / "predictions.jsonl"
    done = run_cli("visage.predict", str(folder), f"run={run_dir}", f"out={out}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(line["source"]).name for line in lines] == ["astronaut.jpg", "broken.jpg", "grace hopper.png"]
    assert "truncated" in lines[1]["error"]
    for line in (lines[0], lines[2]):
        assert_prediction_contract(line)
        assert len(line["faces"]) == 1


def test_predict_on_a_folder_of_fuzzed_and_odd_files_gives_one_line_each_never_a_traceback(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_uploads import fuzz_cases, odd_images

    folder = tmp_path / "uploads"
    folder.mkdir()
    files = {f"fuzz{k:02d}.jpg": data for k, (_, data) in enumerate(fuzz_cases(24, seed=2))}
    files.update({f"odd_{name}": data for name, data in odd_images().items() if name.endswith((".png", ".jpg", ".webp"))})
    for name, data in files.items():
        (folder / name).write_bytes(data)
    out = tmp_path / "predictions.jsonl"
    monkeypatch.chdir(tmp_path)
    code = call("predict", str(folder), f"run={run_dir}", f"out={out}")  # an uncaught exception fails the test
    stderr = capsys.readouterr().err
    assert code == 0 and "Traceback" not in stderr, stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(line["source"]).name for line in lines] == sorted(files)
    for line in lines:
        assert ("faces" in line) != ("error" in line), line
        if "faces" in line:
            assert_prediction_contract(line)
    assert all("faces" in line for line in lines if Path(line["source"]).name.startswith("odd_"))
    assert sum("error" in line for line in lines) == stderr.count("skipped: ")


def test_predict_command_bad_input_is_one_line_exit_2(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    no_checkpoint = tmp_path / "no_ckpt"
    shutil.copytree(run_dir, no_checkpoint, ignore=shutil.ignore_patterns("checkpoints"))
    photo = tmp_path / "a.jpg"
    Image.fromarray(astronaut()).save(photo)
    cases = {
        (str(tmp_path / "missing.jpg"), f"run={run_dir}"): f"error: input '{tmp_path / 'missing.jpg'}' does not exist",
        (str(text), f"run={run_dir}"): f"error: '{text}' is not an image",
        (str(photo), f"run={no_checkpoint}"): f"error: run={no_checkpoint} has no checkpoints/best.ckpt",
        (str(photo), f"run={run_dir}", "detector=mtcnn"): "error: unknown detector 'mtcnn'; available: haar, none, yunet",
    }
    monkeypatch.chdir(tmp_path)
    for args, start in cases.items():
        code = call("predict", *args)
        stderr = capsys.readouterr().err
        assert code == 2, (args, stderr)
        assert stderr.startswith(start) and stderr.count("\n") == 1, stderr


@pytest.mark.parametrize("config_name", ["predict", "serve"])
def test_every_detector_option_composes_and_builds(config_name: str) -> None:
    from hydra.utils import instantiate

    from visage.runner.cli import group_options

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        for option in group_options("detector"):
            extra = ["input=i"] if config_name == "predict" else []
            cfg = compose(config_name=config_name, overrides=[f"detector={option}", "run=r", *extra])
            if option == "yunet":  # needs a model file the user supplies
                with pytest.raises(Exception) as wrapped:  # Hydra wraps it; the commands unwrap it
                    instantiate(cfg.detector)
                assert "detector.model_path" in str(config_error_in(wrapped.value))
            else:
                assert instantiate(cfg.detector).name == option
    GlobalHydra.instance().clear()


def test_exported_runtime_without_export_names_the_command(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match=f"run={run_dir} has no model.onnx; export it first: python -m visage.export"):
        load_predictor(run_dir, WholeImage(), runtime="onnx")
    with pytest.raises(ConfigError, match="unknown runtime 'tensorrt'; available: eager, onnx, torchscript"):
        load_predictor(run_dir, WholeImage(), runtime="tensorrt")
