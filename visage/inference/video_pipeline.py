"""The video pipeline: read frames, predict every face, track faces, smooth each track's estimates, draw, write.

Frames come from a file or a camera (OpenCV); the output video (only when asked for) has one frame
per input frame, with boxes and the smoothed estimates drawn on. Jitter is measured per track on the
raw and the smoothed estimates (see `jitter`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from visage.core.errors import ConfigError
from visage.inference.estimates import face_json
from visage.inference.face_tracks import IouTracker
from visage.inference.jitter import Series
from visage.inference.overlay import draw_faces
from visage.inference.predictor import Predictor
from visage.inference.smoothing import Filter, TrackSmoother

DEFAULT_FPS = 25.0


def open_capture(source: str | int, max_pixels: int | None = None) -> cv2.VideoCapture:
    """Return an open capture of a video file, or of camera `source` when it is a whole number.

    Raises:
        ConfigError: the file does not exist, OpenCV cannot open the file or camera, or its frames have
            more than `max_pixels` pixels (`limits.max_pixels`, as for images; None: no limit).
    """
    text = str(source)
    if text.isdigit():
        capture, what = cv2.VideoCapture(int(text)), f"camera {text}"
        if not capture.isOpened():
            raise ConfigError(f"{what} cannot be opened (no such camera, or no permission)")
    else:
        if not Path(text).is_file():
            raise ConfigError(f"video '{text}' does not exist (give a video file or a camera index such as 0)")
        capture, what = cv2.VideoCapture(text), f"video '{text}'"
        if not capture.isOpened():
            raise ConfigError(f"{what} cannot be read by OpenCV (not a video, or an unsupported codec)")
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if max_pixels is not None and width * height > max_pixels:
        capture.release()
        raise ConfigError(f"{what} has {width}x{height} frames, more than limits.max_pixels={max_pixels}")
    return capture


def frames(capture: cv2.VideoCapture, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield the capture's frames as RGB uint8 arrays, at most `max_frames` of them."""
    count = 0
    while max_frames is None or count < max_frames:
        ok, frame = capture.read()
        if not ok:
            return
        count += 1
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@dataclass
class TrackRecord:
    """One track's raw and smoothed estimates over the frames it was seen in."""

    raw: Series = field(default_factory=Series)
    smoothed: Series = field(default_factory=Series)

    @property
    def frames(self) -> int:
        """Return how many frames the track was seen in."""
        return max([len(v) for v in self.raw.labels.values()] + [len(self.raw.ages)])


@dataclass
class VideoResult:
    """What a video run measured: frames read and written, frame rate, and each track's series."""

    frames_read: int
    frames_written: int
    fps: float
    tracks: dict[int, TrackRecord]

    def summary(self) -> dict[int, dict[str, Any]]:
        """Return per track: frames, and the jitter measures raw and smoothed."""
        return {track_id: {"frames": record.frames, "raw": record.raw.summary(self.fps),
                           "smoothed": record.smoothed.summary(self.fps)} for track_id, record in self.tracks.items()}


def process_video(predictor: Predictor, capture: cv2.VideoCapture, *, tracker: IouTracker,
                  make_filter: Callable[[], Filter], out: Path | None = None, max_frames: int | None = None
                  ) -> VideoResult:
    """Run the pipeline over every frame of `capture`; write the overlaid video to `out` when given."""
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or DEFAULT_FPS
    smoother, classes = TrackSmoother(make_filter), predictor.classes
    tracks: dict[int, TrackRecord] = {}
    writer, partial, read, written = None, None, 0, 0
    try:
        for image in frames(capture, max_frames):
            read += 1
            faces = predictor.estimate_images([image])[0]  # numbers, rounded only when drawn as JSON
            ids = tracker.update([face.box for face in faces])
            shown = []
            for track_id, face in zip(ids, faces):
                raw = face.estimate
                smooth = smoother.update(track_id, raw, dt=1.0 / fps)
                record = tracks.setdefault(track_id, TrackRecord())
                record.raw.add(raw.age, raw.labels(classes))
                record.smoothed.add(smooth.age, smooth.labels(classes))
                shown.append(face_json(face.box, smooth, classes, predictor.intervals))
            smoother.forget({t.track_id for t in tracker.tracks})
            if out is None:
                continue
            if writer is None:
                height, width = image.shape[:2]
                out.parent.mkdir(parents=True, exist_ok=True)
                partial = out.with_name(f".{out.stem}.partial{out.suffix}")
                writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                if not writer.isOpened():
                    raise ConfigError(f"out='{out}' cannot be written as a video (use a .mp4 file name)")
            drawn = draw_faces(image, shown, titles=[f"track {t}" for t in ids])
            writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
            written += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if partial is not None:
        os.replace(partial, out)
    return VideoResult(read, written, fps, tracks)
