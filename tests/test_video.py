"""Video: IoU tracking, smoothing filters, jitter measures, and the pipeline on a clip the test makes."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from tests.helpers import call, run_cli
from visage.core.errors import ConfigError
from visage.inference.detectors import HaarDetector
from visage.inference.estimates import face_json
from visage.inference.face_tracks import IouTracker, iou
from visage.inference.jitter import Series, flips_per_second, mean_step
from visage.inference.loading import load_predictor
from visage.inference.smoothing import Ema, Estimate, OneEuro, TrackSmoother
from visage.inference.video_pipeline import open_capture, process_video

FRAMES = 20
CLASSES = {"gender": ["Male", "Female"], "race": ["White", "Black", "Asian", "Indian", "Others"]}


def make_clip(path: Path, n: int = FRAMES, seed: int = 0) -> Path:
    """Write an mp4 of the astronaut photo drifting right and down, with fresh noise in every frame."""
    rng = np.random.default_rng(seed)
    photo = cv2.resize(skimage.data.astronaut()[:300, 50:350], (220, 220), interpolation=cv2.INTER_AREA)
    height, width = 240, 320
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (width, height))
    for k in range(n):
        frame = np.full((height, width, 3), 90, np.uint8)
        x, y = 10 + 2 * k, 5 + k % 5
        frame[y:y + 220, x:x + 220] = photo
        noisy = np.clip(frame + rng.normal(0, 14, frame.shape), 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def count_frames(path: Path) -> int:
    """Return how many frames OpenCV reads from a video file."""
    capture, count = cv2.VideoCapture(str(path)), 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture
def run_dir(tiny_run: Path) -> Path:
    """The session's trained TINY run (read-only)."""
    return tiny_run


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


def test_tracker_keeps_ids_while_boxes_move_and_starts_new_ones() -> None:
    tracker = IouTracker(iou_threshold=0.3, max_missed=1)
    assert tracker.update([(0, 0, 50, 50), (200, 200, 40, 40)]) == [1, 2]
    assert tracker.update([(205, 203, 40, 40), (4, 3, 50, 50)]) == [2, 1]  # order of boxes does not matter
    assert tracker.update([(400, 0, 30, 30)]) == [3]                         # no overlap: a new face
    tracker.update([])
    assert {t.track_id for t in tracker.tracks} == {3}                        # 1 and 2 missed twice: ended
    assert tracker.update([(8, 6, 50, 50)]) == [4]                            # an ended track does not come back


def test_tracker_matches_each_box_to_its_best_track_once() -> None:
    tracker = IouTracker(iou_threshold=0.1)
    tracker.update([(0, 0, 100, 100)])
    assert tracker.update([(0, 0, 100, 100), (10, 10, 100, 100)]) == [1, 2]
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)
    with pytest.raises(ConfigError, match="iou_threshold"):
        IouTracker(iou_threshold=0)


@pytest.mark.parametrize("make_filter", [partial(Ema, alpha=0.3), partial(OneEuro, min_cutoff=0.5, beta=0.05)])
def test_filters_lower_the_jitter_of_a_noisy_signal_and_follow_a_step(make_filter) -> None:
    rng = np.random.default_rng(0)
    truth = np.r_[np.full(60, 30.0), np.full(60, 60.0)]
    noisy = truth + rng.normal(0, 3, truth.size)
    f = make_filter()
    smoothed = [float(f(x, dt=1 / 25)) for x in noisy]
    assert smoothed[0] == noisy[0]  # the first value passes through
    assert mean_step(smoothed) < 0.5 * mean_step(noisy)
    assert abs(np.mean(smoothed[-20:]) - 60.0) < 3.0  # it follows a real change


def test_smoother_keeps_one_state_per_track_and_distributions_sum_to_one() -> None:
    smoother = TrackSmoother(partial(Ema, alpha=0.5))
    a = smoother.update(1, Estimate(20.0, {"race": np.array([1.0, 0.0])}), dt=0.04)
    b = smoother.update(2, Estimate(60.0, {"race": np.array([0.0, 1.0])}), dt=0.04)
    a2 = smoother.update(1, Estimate(30.0, {"race": np.array([0.0, 1.0])}), dt=0.04)
    assert (a.age, b.age, a2.age) == (20.0, 60.0, 25.0)
    assert a2.probabilities["race"].sum() == pytest.approx(1.0) and a2.probabilities["race"][0] == pytest.approx(0.5)
    smoother.forget({2})
    assert {key[0] for key in smoother.filters} == {2}
    with pytest.raises(ConfigError, match="alpha"):
        Ema(alpha=1.5)


def test_jitter_measures() -> None:
    assert mean_step([1.0, 3.0, 2.0]) == pytest.approx(1.5) and mean_step([1.0]) is None
    assert flips_per_second(["a", "b", "b", "a"], fps=2.0) == pytest.approx(1.0)  # 2 flips in 2 seconds
    series = Series()
    for age, label in [(30, "Male"), (32, "Female"), (31, "Male")]:
        series.add(age, {"gender": label})
    assert series.summary(fps=3.0) == {"age_change_per_frame": pytest.approx(1.5), "gender_flips_per_s": pytest.approx(2.0)}


def test_estimates_stay_numbers_and_face_json_rounds_them_at_the_edge() -> None:
    estimate = Estimate(30.04567, {"gender": np.array([0.2, 0.8]), "race": np.array([0.1, 0.2, 0.312345, 0.2, 0.187655])})
    assert estimate.labels(CLASSES) == {"gender": "Female", "race": "Asian"}
    assert face_json((1, 2, 3, 4), estimate, CLASSES, None, score=0.987654) == {
        "box": [1, 2, 3, 4], "detection_score": 0.9877, "age": {"estimate": 30.0, "interval": None},
        "gender": {"label": "Female", "probability": 0.8},
        "race": {"White": 0.1, "Black": 0.2, "Asian": 0.3123, "Indian": 0.2, "Others": 0.1877}}
    assert estimate.age == 30.04567  # the numbers themselves are untouched


def test_smoothing_lowers_jitter_on_a_moving_noisy_clip_and_every_frame_is_written(run_dir, clip, tmp_path) -> None:
    predictor = load_predictor(run_dir, HaarDetector())
    out = tmp_path / "out.mp4"
    result = process_video(predictor, open_capture(str(clip)), tracker=IouTracker(),
                           make_filter=partial(Ema, alpha=0.3), out=out)
    assert result.frames_read == result.frames_written == FRAMES
    assert count_frames(out) == FRAMES and not list(tmp_path.glob(".*partial*"))
    (track_id, record), = result.tracks.items()  # one face, one track through the whole clip
    assert record.frames == FRAMES
    assert any(age != round(age, 1) for age in record.raw.ages)  # smoothed from the model's numbers, not the JSON's
    summary = result.summary()[track_id]
    raw, smoothed = summary["raw"], summary["smoothed"]
    assert raw["age_change_per_frame"] > 0
    assert smoothed["age_change_per_frame"] < 0.6 * raw["age_change_per_frame"]
    for task in CLASSES:
        assert smoothed[f"{task}_flips_per_s"] <= raw[f"{task}_flips_per_s"]


def test_video_pipeline_writes_nothing_without_out(run_dir, clip, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    predictor = load_predictor(run_dir, HaarDetector())
    result = process_video(predictor, open_capture(str(clip)), tracker=IouTracker(), make_filter=Ema, max_frames=3)
    assert (result.frames_read, result.frames_written) == (3, 0) and list(tmp_path.iterdir()) == []


def test_video_command_prints_jitter_per_track_and_writes_every_frame(run_dir, clip, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "overlay.mp4"
    monkeypatch.chdir(tmp_path)
    code = call("video", str(clip), f"run={run_dir}", f"out={out}", "smoothing=one_euro")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    line, = [line for line in captured.out.splitlines() if line.startswith("track ")]
    assert "age_change_per_frame" in line and "race_flips_per_s" in line and "(raw -> smoothed)" in line
    assert count_frames(out) == FRAMES


def test_video_command_bad_source_is_one_line_exit_2(run_dir, tmp_path) -> None:
    """In a fresh process (video's one `python -m visage.video` test; it fails before the model loads)."""
    done = run_cli("visage.video", str(tmp_path / "missing.mp4"), f"run={run_dir}", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert "missing.mp4' does not exist" in done.stderr
