"""Face detectors behind one small interface; each is one `conf/detector/<name>.yaml` with a `_target_`.

A detector takes an RGB uint8 image (H, W, 3) and returns `Face`s: a box `[x, y, w, h]` in pixels and a
score. Scores are each detector's own: YuNet's is a confidence in [0, 1]; Haar's is the cascade's
last-stage level weight (larger is surer, not a probability); `none` gives 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from visage.core.errors import ConfigError


@dataclass(frozen=True)
class Face:
    """One detected face: box `(x, y, w, h)` in pixels of the full image, and the detector's score."""

    box: tuple[int, int, int, int]
    score: float


class FaceDetector(Protocol):
    """What predict needs from a detector."""

    name: str

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces in an RGB uint8 image (H, W, 3), best score first."""
        ...


def _by_score(faces: list[Face], max_faces: int | None) -> list[Face]:
    faces = sorted(faces, key=lambda f: f.score, reverse=True)
    return faces[:max_faces] if max_faces else faces


class HaarDetector:
    """OpenCV's frontal-face Haar cascade: ships with opencv-python(-headless) 4.x, needs no download."""

    name = "haar"

    def __init__(self, cascade: str = "haarcascade_frontalface_default.xml", scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_size: int = 30, max_faces: int | None = None) -> None:
        path = Path(cascade) if Path(cascade).is_file() else Path(cv2.data.haarcascades) / cascade
        self.classifier = cv2.CascadeClassifier(str(path))
        if self.classifier.empty():
            raise ConfigError(f"detector.cascade '{cascade}' is not a Haar cascade file OpenCV can load")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size
        self.max_faces = max_faces

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces in an RGB uint8 image, best score first."""
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        boxes, _, weights = self.classifier.detectMultiScale3(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size), outputRejectLevels=True)
        faces = [Face(tuple(int(v) for v in box), float(weight)) for box, weight in zip(boxes, np.ravel(weights))]
        return _by_score(faces, self.max_faces)


class YuNetDetector:
    """OpenCV's YuNet CNN detector (`cv2.FaceDetectorYN`); needs its ONNX model file, never downloaded."""

    name = "yunet"

    def __init__(self, model_path: str | None = None, score_threshold: float = 0.8, nms_threshold: float = 0.3,
                 top_k: int = 5000, max_faces: int | None = None) -> None:
        if not model_path or not Path(model_path).is_file():
            raise ConfigError(f"detector=yunet needs detector.model_path, a local face_detection_yunet .onnx file "
                              f"(got {model_path}); models are never downloaded")
        self.detector = cv2.FaceDetectorYN.create(str(model_path), "", (320, 320), score_threshold, nms_threshold, top_k)
        self.max_faces = max_faces

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces in an RGB uint8 image, best score first."""
        height, width = image.shape[:2]
        self.detector.setInputSize((width, height))
        _, rows = self.detector.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        faces = [Face(tuple(int(round(v)) for v in row[:4]), float(row[-1])) for row in (rows if rows is not None else [])]
        return _by_score(faces, self.max_faces)


class WholeImage:
    """No detection: the image is already one face crop (e.g. a folder of UTKFace or FairFace crops)."""

    name = "none"

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the whole image as one face with score 1."""
        height, width = image.shape[:2]
        return [Face((0, 0, int(width), int(height)), 1.0)]
