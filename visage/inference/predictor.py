"""Batched prediction: detect faces, crop them as the training data was, run the model in batches, build JSON.

`estimate_images` returns numbers (`FaceEstimate`s); `predict_images` turns them into the prediction
JSON of docs' prediction contract through `estimates.face_json`, the one place numbers are rounded:
`{"faces": [{"box": [x, y, w, h], "detection_score": s, "age": {"estimate": a, "interval": [lo, hi]},
"gender": {"label": ..., "probability": p}, "race": {<class>: p, ...}, ...}], "image": {...}, "model": {...}}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from visage.core.names import AGE
from visage.inference.age_interval import AgeIntervals
from visage.inference.crops import crop_face
from visage.inference.detectors import FaceDetector
from visage.inference.estimates import Estimate, FaceEstimate, face_json
from visage.inference.runtimes import Runtime
from visage.inference.settings import default


class Predictor:
    """Predicts every face in images with one runtime and one detector, model calls in batches."""

    def __init__(self, runtime: Runtime, metadata: dict[str, Any], detector: FaceDetector, *, margin: float | None = None,
                 batch_size: int | None = None, intervals: AgeIntervals | None = None) -> None:
        """Create a predictor.

        Args:
            runtime: eager, TorchScript or onnxruntime model (see `runtimes`).
            metadata: the model's metadata (`metadata.model_metadata`: classes, input size, provenance).
            detector: finds faces; `WholeImage` for images that are already crops.
            margin: share of a face box added on each side before the square crop (None: `crop.margin`'s default).
            batch_size: most crops per model call (None: `batch_size`'s default, conf/inference/default.yaml).
            intervals: age intervals (None: no interval, `interval` is null).
        """
        self.runtime, self.metadata, self.detector = runtime, metadata, detector
        self.margin = float(margin if margin is not None else default("crop.margin"))
        self.batch_size = max(1, int(batch_size if batch_size is not None else default("batch_size")))
        self.intervals = intervals
        self.image_size = int(metadata["preprocessing"]["image_size"])
        self.classes: dict[str, list[str]] = metadata["classes"]
        self.model_calls = 0  # batches run so far (tests and benchmarks read it)

    @property
    def about(self) -> dict[str, Any]:
        """Return what every answer says about the model: run, training data, backbone, runtime, detector."""
        return {"run": self.metadata.get("run"), "trained_on": self.metadata.get("trained_on"),
                "backbone": self.metadata.get("backbone"), "runtime": self.runtime.name,
                "detector": self.detector.name,
                "age_interval_coverage": self.intervals.coverage if self.intervals else None}

    def run_batches(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """Return decoded outputs for uint8 crops (N, S, S, 3), `batch_size` crops per model call."""
        if not len(crops):  # no face anywhere: nothing to run, empty outputs of the right shapes
            return {task: np.zeros((0,) if task == AGE else (0, len(self.classes[task])), np.float32)
                    for task in self.runtime.tasks}
        chunks = []
        for start in range(0, len(crops), self.batch_size):
            chunks.append(self.runtime(crops[start:start + self.batch_size].transpose(0, 3, 1, 2)))
            self.model_calls += 1
        return {task: np.concatenate([c[task] for c in chunks]) for task in self.runtime.tasks}

    def estimate_images(self, images: Sequence[np.ndarray]) -> list[list[FaceEstimate]]:
        """Return the faces of each RGB uint8 image (H, W, 3) with unrounded estimates; crops of all images share batches."""
        found = [self.detector.detect(image) for image in images]
        crops = [crop_face(image, face.box, self.image_size, self.margin) for image, faces in zip(images, found)
                 for face in faces]
        empty = np.zeros((0, self.image_size, self.image_size, 3), np.uint8)
        outputs = self.run_batches(np.stack(crops) if crops else empty)
        results, k = [], 0
        for faces in found:
            estimates = []
            for face in faces:
                age = float(outputs[AGE][k]) if AGE in outputs else None
                probabilities = {task: np.asarray(outputs[task][k], dtype=np.float64) for task in self.classes}
                estimates.append(FaceEstimate(tuple(int(v) for v in face.box), float(face.score), Estimate(age, probabilities)))
                k += 1
            results.append(estimates)
        return results

    def image_json(self, image: np.ndarray, faces: Sequence[FaceEstimate]) -> dict[str, Any]:
        """Return the prediction JSON of one image from its face estimates (the edge where numbers are rounded)."""
        height, width = image.shape[:2]
        entries = [face_json(face.box, face.estimate, self.classes, self.intervals, score=face.score) for face in faces]
        return {"faces": entries, "image": {"width": int(width), "height": int(height)}, "model": self.about}

    def predict_images(self, images: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        """Return the prediction JSON of each RGB uint8 image (H, W, 3); crops of all images share batches."""
        return [self.image_json(image, faces) for image, faces in zip(images, self.estimate_images(images))]

    def predict_image(self, image: np.ndarray) -> dict[str, Any]:
        """Return the prediction JSON of one RGB uint8 image."""
        return self.predict_images([image])[0]
