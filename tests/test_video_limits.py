"""A video whose frames exceed `limits.max_pixels` is refused before any frame is decoded, as an image is."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from visage.core.errors import ConfigError
from visage.inference.video_pipeline import open_capture


def test_frames_over_the_pixel_limit_are_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for k in range(3):
        writer.write(np.full((48, 64, 3), 40 * k, dtype=np.uint8))
    writer.release()
    with pytest.raises(ConfigError, match=r"^video '.*clip.mp4' has 64x48 frames, more than limits.max_pixels=3071$"):
        open_capture(str(path), max_pixels=64 * 48 - 1)
    capture = open_capture(str(path), max_pixels=64 * 48)
    assert capture.read()[0]
    capture.release()
