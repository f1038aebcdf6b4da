"""Decode an uploaded or on-disk image into RGB uint8, in memory, refusing what is not a whole image."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visage.core.errors import ConfigError

DEFAULT_MAX_PIXELS = 40_000_000  # a 40-megapixel photo; far beyond what a face model needs


class ImageError(ConfigError):
    """An input that is not a usable image; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_image(data: bytes, *, name: str = "upload", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return the image in `data` as an (H, W, 3) uint8 RGB array, EXIF rotation applied.

    Raises:
        ImageError: not an image format Pillow knows (415), more than `max_pixels` pixels (413),
            or truncated / corrupt (400). The pixel count is checked from the header, before decoding.
    """
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image (JPEG, PNG, BMP, WebP, ...)", status=415) from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name} has more than {max_pixels} pixels", status=413) from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"{name} has {width}x{height} pixels, more than the limit of {max_pixels}", status=413)
    try:
        image.load()
        image = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name} could not be decoded (truncated or corrupt: {error})", status=400) from None
    return np.asarray(image, dtype=np.uint8).copy()


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return the image file at `path` as RGB uint8; ConfigError (one line) if missing or not an image."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"image '{path}' does not exist" if not path.exists() else f"'{path}' is not a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read image '{path}': {error.strerror}") from None
    return decode_image(data, name=f"'{path}'", max_pixels=max_pixels)
