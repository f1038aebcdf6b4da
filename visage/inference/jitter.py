"""How much estimates jump around over a video: per track, raw and smoothed. Torch-free.

Two numbers per track: the mean absolute frame-to-frame change of the age estimate (years per frame)
and the label flips per second of each classification task (how often the most probable class
changes, per second of the track's frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def mean_step(values: Sequence[float]) -> float | None:
    """Return the mean absolute change between consecutive values (None for fewer than two)."""
    if len(values) < 2:
        return None
    return float(np.mean(np.abs(np.diff(np.asarray(values, dtype=float)))))


def flips_per_second(labels: Sequence[str], fps: float) -> float | None:
    """Return how many times the label changes per second over `labels` seen at `fps` (None for fewer than two)."""
    if len(labels) < 2 or fps <= 0:
        return None
    flips = sum(a != b for a, b in zip(labels[:-1], labels[1:]))
    return flips / (len(labels) / fps)


@dataclass
class Series:
    """The estimates of one track, frame by frame."""

    ages: list[float] = field(default_factory=list)
    labels: dict[str, list[str]] = field(default_factory=dict)

    def add(self, age: float | None, labels: dict[str, str]) -> None:
        """Append one frame's age (if any) and labels."""
        if age is not None:
            self.ages.append(float(age))
        for task, label in labels.items():
            self.labels.setdefault(task, []).append(label)

    def summary(self, fps: float) -> dict[str, float | None]:
        """Return `{"age_change_per_frame": .., "<task>_flips_per_s": ..}`."""
        out: dict[str, float | None] = {"age_change_per_frame": mean_step(self.ages)}
        out.update({f"{task}_flips_per_s": flips_per_second(labels, fps) for task, labels in self.labels.items()})
        return out


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def describe(track_id: int, frames: int, raw: dict[str, float | None], smoothed: dict[str, float | None]) -> str:
    """Return one line per track: each jitter measure, raw → smoothed."""
    parts = [f"{name} {_fmt(raw[name])} -> {_fmt(smoothed.get(name))}" for name in raw]
    return f"track {track_id} ({frames} frames): " + "; ".join(parts) + " (raw -> smoothed)"
