"""Boxes and estimates drawn over an image (the demo and the video share it). Torch-free.

Captions say "est." and give each estimate with its confidence: the age with its interval, a
two-class label with its probability, and a many-class task only as its two most probable classes
with their probabilities (a distribution, never a single verdict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

AGE_KEY = "age"
BOX_COLOR = (255, 200, 0)
TEXT_COLOR = (20, 20, 20)


def face_caption(face: Mapping[str, Any]) -> list[str]:
    """Return the caption lines of one face of the prediction JSON."""
    lines = []
    age = face.get(AGE_KEY)
    if age:
        interval = age.get("interval")
        span = f" ({interval[0]:.0f}-{interval[1]:.0f})" if interval else ""
        lines.append(f"est. age {age['estimate']:.0f}{span}")
    for task, value in face.items():
        if task in {AGE_KEY, "box", "detection_score", "track", "explanations"} or not isinstance(value, Mapping):
            continue
        if "label" in value:
            lines.append(f"est. {task} {value['label']} {100 * value['probability']:.0f}%")
        else:
            top = sorted(value.items(), key=lambda kv: kv[1], reverse=True)[:2]
            lines.append(f"{task} " + " / ".join(f"{name} {100 * p:.0f}%" for name, p in top))
    return lines


def draw_faces(image: np.ndarray, faces: Sequence[Mapping[str, Any]], *, titles: Sequence[str] | None = None
               ) -> np.ndarray:
    """Return a copy of the RGB image with each face's box and caption drawn on it.

    Args:
        image: RGB uint8 (H, W, 3).
        faces: faces of the prediction JSON (each with `box`).
        titles: an optional first caption line per face (e.g. "face 1", "track 3").
    """
    out = np.ascontiguousarray(image.copy())
    scale = max(0.4, min(out.shape[:2]) / 900.0)
    thickness = max(1, int(round(2 * scale)))
    for k, face in enumerate(faces):
        x, y, w, h = (int(v) for v in face["box"])
        cv2.rectangle(out, (x, y), (x + w, y + h), BOX_COLOR, thickness)
        lines = ([titles[k]] if titles else []) + face_caption(face)
        line_height = int(22 * scale) + 4
        top = y + h + 2 if y - line_height * len(lines) < 0 else y - line_height * len(lines) - 2
        for i, line in enumerate(lines):
            (tw, th), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale, thickness)
            y0 = top + i * line_height
            cv2.rectangle(out, (x, y0), (x + tw + 6, y0 + line_height), BOX_COLOR, -1)
            cv2.putText(out, line, (x + 3, y0 + line_height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale,
                        TEXT_COLOR, thickness, cv2.LINE_AA)
    return out
