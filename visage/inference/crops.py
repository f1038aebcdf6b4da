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


def crop_face(image: np.ndarray, box: tuple[int, int, int, int], size: int, margin: float = 0.25) -> np.ndarray:
    """Return the face in `box` as a (size, size, 3) uint8 RGB array.

    The crop is the square around the box, `margin` of the box's side added on each side (aligned
    face datasets such as UTKFace and FairFace keep hair and chin in frame); parts outside the image
    repeat its border. Resized with OpenCV as visage reads training images (area when shrinking,
    bilinear when enlarging).
    """
    x, y, side = square_box(box, margin)
    height, width = image.shape[:2]
    pad = max(0, -x, -y, x + side - width, y + side - height)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x, y = x + pad, y + pad
    crop = image[y:y + side, x:x + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(crop, (size, size), interpolation=interpolation))
