"""What the model says about a face, as numbers, and the one place those numbers become prediction JSON.

Predictions stay numbers (`Estimate`: age in years, each task's full class distribution) through
detection, tracking and smoothing; `face_json` rounds them at the edge that writes the JSON contract:
`{"box": [x, y, w, h], "detection_score": s, "age": {"estimate": a, "interval": [lo, hi]},
"gender": {"label": ..., "probability": p}, "race": {<class>: p, ...}}`. A two-class task gives its
label and probability; a task with more classes gives the whole distribution. Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visage.inference.age_interval import AgeIntervals

AGE_DIGITS, PROBABILITY_DIGITS = 1, 4  # decimals in the JSON: tenths of a year, probabilities to 1e-4


@dataclass
class Estimate:
    """The model's estimate of one face: age in years (None without an age head) and class probabilities per task."""

    age: float | None
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)

    def labels(self, classes: Mapping[str, list[str]]) -> dict[str, str]:
        """Return the most probable class name of each task."""
        return {task: classes[task][int(np.argmax(p))] for task, p in self.probabilities.items()}


@dataclass
class FaceEstimate:
    """One detected face: its box `(x, y, w, h)` in pixels, the detector's score, and the model's estimate."""

    box: tuple[int, int, int, int]
    score: float
    estimate: Estimate


def _round(value: float, digits: int) -> float:
    return round(float(value), digits)


def face_json(box: Sequence[int], estimate: Estimate, classes: Mapping[str, list[str]],
              intervals: AgeIntervals | None, score: float | None = None) -> dict[str, Any]:
    """Return one face of the prediction JSON (rounded numbers); `detection_score` only when `score` is given."""
    face: dict[str, Any] = {"box": [int(v) for v in box]}
    if score is not None:
        face["detection_score"] = _round(score, PROBABILITY_DIGITS)
    if estimate.age is not None:
        interval = intervals.interval(estimate.age) if intervals else None
        face["age"] = {"estimate": _round(estimate.age, AGE_DIGITS),
                       "interval": [_round(v, AGE_DIGITS) for v in interval] if interval else None}
    for task, p in estimate.probabilities.items():
        names = classes[task]
        if len(names) == 2:
            best = int(np.argmax(p))
            face[task] = {"label": names[best], "probability": _round(p[best], PROBABILITY_DIGITS)}
        else:
            face[task] = {name: _round(v, PROBABILITY_DIGITS) for name, v in zip(names, p)}
    return face
