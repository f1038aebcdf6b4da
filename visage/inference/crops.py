"""Cut a detected face out of an image the way the training data was made: square, with margin, resized."""

from __future__ import annotations

import cv2
import numpy as np


def square_box(box: tuple[int, int, int, int], margin: float) -> tuple[int, int, int]:
    """Return `(x, y, side)` of the square around `box` enlarged by `margin` of its larger side on every side."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), max(1, int(round(side)))


MAX_SIDE = 4096  # a larger square (a face box far wider than the image) is sampled every k-th pixel first


def crop_face(image: np.ndarray, box: tuple[int, int, int, int], size: int, margin: float = 0.25) -> np.ndarray:
    """Return the face in `box` as a (size, size, 3) uint8 RGB array.

    The crop is the square around the box, `margin` of the box's side added on each side (aligned
    face datasets such as UTKFace and FairFace keep hair and chin in frame); parts outside the image
    repeat its border. Resized with OpenCV as visage reads training images (area when shrinking,
    bilinear when enlarging). Only the square is ever allocated, and a square wider than `MAX_SIDE`
    (e.g. the whole of a 40000 x 1 image) is sampled every k-th pixel before it is resized.
    """
    x, y, side = square_box(box, margin)
    height, width = image.shape[:2]
    if x >= 0 and y >= 0 and x + side <= width and y + side <= height:
        crop = image[y:y + side, x:x + side]
    else:  # border repeated: indices clamped to the image (what cv2.BORDER_REPLICATE pads with)
        step = -(-side // MAX_SIDE)
        rows = np.clip(np.arange(y, y + side, step), 0, height - 1)
        cols = np.clip(np.arange(x, x + side, step), 0, width - 1)
        crop = image[rows[:, None], cols[None, :]]
    interpolation = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(crop, (size, size), interpolation=interpolation))
