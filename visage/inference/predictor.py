"""Batched prediction: detect faces, crop them as the training data was, run the model in batches, build JSON.

The JSON per image follows DESIGN.md's prediction contract:
`{"faces": [{"box": [x, y, w, h], "detection_score": s, "age": {"estimate": a, "interval": [lo, hi]},
"gender": {"label": ..., "probability": p}, "race": {<class>: p, ...}, ...}], "model": {...}}`.
A two-class task (gender) gives its label and probability; a task with more classes (race, emotion)
gives the whole distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from visage.core.names import AGE
from visage.inference.age_interval import AgeIntervals
from visage.inference.crops import crop_face
from visage.inference.detectors import Face, FaceDetector
from visage.inference.runtimes import Runtime


def _rounded(value: float, digits: int) -> float:
    return round(float(value), digits)


class Predictor:
    """Predicts every face in images with one runtime and one detector, model calls in batches."""

    def __init__(self, runtime: Runtime, metadata: dict[str, Any], detector: FaceDetector, *, margin: float = 0.25,
                 batch_size: int = 32, intervals: AgeIntervals | None = None) -> None:
        """Create a predictor.

        Args:
            runtime: eager, TorchScript or onnxruntime model (see `runtimes`).
            metadata: the model's metadata (`metadata.model_metadata`: classes, input size, provenance).
            detector: finds faces; `WholeImage` for images that are already crops.
            margin: share of a face box added on each side before the square crop.
            batch_size: most crops per model call.
            intervals: age intervals (None: no interval, `interval` is null).
        """
        self.runtime, self.metadata, self.detector = runtime, metadata, detector
        self.margin, self.batch_size, self.intervals = margin, max(1, int(batch_size)), intervals
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
        chunks = []
        for start in range(0, len(crops), self.batch_size):
            chunks.append(self.runtime(crops[start:start + self.batch_size].transpose(0, 3, 1, 2)))
            self.model_calls += 1
        return {task: np.concatenate([c[task] for c in chunks]) for task in self.runtime.tasks}

    def predict_images(self, images: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        """Return the prediction JSON of each RGB uint8 image (H, W, 3); crops of all images share batches."""
        faces = [self.detector.detect(image) for image in images]
        crops = [crop_face(image, face.box, self.image_size, self.margin) for image, found in zip(images, faces)
                 for face in found]
        empty = np.zeros((0, self.image_size, self.image_size, 3), np.uint8)
        outputs = self.run_batches(np.stack(crops) if crops else empty)
        results, k = [], 0
        for image, found in zip(images, faces):
            entries = []
            for face in found:
                entries.append(self._face_json(face, outputs, k))
                k += 1
            height, width = image.shape[:2]
            results.append({"faces": entries, "image": {"width": int(width), "height": int(height)},
                            "model": self.about})
        return results

    def predict_image(self, image: np.ndarray) -> dict[str, Any]:
        """Return the prediction JSON of one RGB uint8 image."""
        return self.predict_images([image])[0]

    def _face_json(self, face: Face, outputs: dict[str, np.ndarray], k: int) -> dict[str, Any]:
        entry: dict[str, Any] = {"box": [int(v) for v in face.box], "detection_score": _rounded(face.score, 4)}
        if AGE in outputs:
            estimate = float(outputs[AGE][k])
            interval = self.intervals.interval(estimate) if self.intervals else None
            entry[AGE] = {"estimate": _rounded(estimate, 1),
                          "interval": [_rounded(v, 1) for v in interval] if interval else None}
        for task, names in self.classes.items():
            probabilities = outputs[task][k]
            if len(names) == 2:
                best = int(np.argmax(probabilities))
                entry[task] = {"label": names[best], "probability": _rounded(probabilities[best], 4)}
            else:
                entry[task] = {name: _rounded(p, 4) for name, p in zip(names, probabilities)}
        return entry
