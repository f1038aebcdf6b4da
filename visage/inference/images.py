"""The one decode path: uploaded or on-disk bytes -> upright 8-bit RGB, in memory, or a refusal with its HTTP status.

The API, `visage.predict` and the demo all decode here. Any image Pillow can decode becomes an
(H, W, 3) uint8 RGB array: 1-, 8- and 16-bit, grayscale, palette, with alpha (laid over white), CMYK,
EXIF-rotated, any size within `limits.max_pixels`. Bytes that do not decode are refused: 415 when they
are no image format Pillow knows (text, HTML, SVG, random bytes), 400 when they are a known format but
cut short or corrupt, 413 when the header declares more pixels than the limit (checked before any pixel
is decoded, so nothing that large is ever allocated).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visage.core.errors import ConfigError
from visage.inference.settings import default

WHITE = (255, 255, 255)
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# How common image files begin: such bytes that Pillow cannot open are a damaged image (400), not another kind (415).
SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")

# Pillow warns about images it still decodes (odd EXIF, palettes with byte transparency) and about large
# ones; decoding says what it refuses itself, so these notes would only clutter the server log.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(ConfigError):
    """An input that is not a usable image; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _gray_to_8_bit(values: np.ndarray, *, sixteen_bit: bool, is_float: bool) -> np.ndarray:
    """Return one-channel pixels as uint8: 16-bit ones divided by 257 (65535 -> 255), floats in [0, 1] times 255."""
    values = np.nan_to_num(values.astype(np.float64))
    top = float(values.max(initial=0.0))
    if sixteen_bit or top > 255.0:
        values = values / 257.0
    elif is_float and top <= 1.0:
        values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def to_rgb8(image: Image.Image) -> np.ndarray:
    """Return a decoded Pillow image as an (H, W, 3) uint8 RGB array.

    16-bit and 32-bit grayscale are scaled (not clipped) to 8 bits; transparent pixels are laid over
    white; every other mode (1, L, P, CMYK, YCbCr, LAB, ...) goes through Pillow's RGB conversion.
    """
    mode = image.mode
    if mode in SIXTEEN_BIT_MODES or mode in {"I", "F"}:
        gray = _gray_to_8_bit(np.asarray(image), sixteen_bit=mode in SIXTEEN_BIT_MODES, is_float=mode == "F")
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ALPHA_MODES or (mode in {"P", "L", "RGB", "1"} and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (*WHITE, 255)), rgba)
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _opened(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Return the image in `data` opened (header read, pixels not yet decoded), its size within `max_pixels`."""
    if not data:
        raise ImageError(f"{name} is empty (0 bytes)", status=400)
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if data.startswith(SIGNATURES) and not (data.startswith(b"RIFF") and data[8:12] != b"WEBP"):
            raise ImageError(f"{name} could not be decoded (truncated or corrupt {_kind(data)} file)", status=400) from None
        raise ImageError(f"{name} is not an image (JPEG, PNG, BMP, WebP, ...)", status=415) from None
    except Image.DecompressionBombError as error:  # beyond what Pillow agrees to decode, whatever the limit
        raise ImageError(f"{name} has more pixels than the limit ({_reason(error)})", status=413) from None
    except MemoryError:
        raise
    except Exception as error:  # Pillow's plugins raise many types over damaged headers; all mean a bad file
        raise ImageError(f"{name} could not be decoded (truncated or corrupt: {_reason(error)})", status=400) from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"{name} has {width}x{height} pixels, more than the limit of {max_pixels}", status=413)
    if width < 1 or height < 1:
        raise ImageError(f"{name} has no pixels ({width}x{height})", status=400)
    return image


def _kind(data: bytes) -> str:
    names = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "TIFF", "WebP")
    return next(kind for kind, signature in zip(names, SIGNATURES) if data.startswith(signature))


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def decode_image(data: bytes, *, name: str = "upload", max_pixels: int | None = None) -> np.ndarray:
    """Return the image in `data` as an upright (H, W, 3) uint8 RGB array (EXIF rotation applied).

    Args:
        data: the file's bytes.
        name: how errors name the input.
        max_pixels: most width x height (None: `limits.max_pixels` of conf/inference/default.yaml).

    Raises:
        ImageError: no image format Pillow knows (415), more than `max_pixels` pixels by its header (413),
            or empty, truncated or corrupt (400). Each is one line.
    """
    limit = int(max_pixels if max_pixels is not None else default("limits.max_pixels"))
    image = _opened(data, name, limit)
    try:
        image.load()  # the first frame of an animation or a multi-page file
    except MemoryError:
        raise
    except Exception as error:
        raise ImageError(f"{name} could not be decoded (truncated or corrupt: {_reason(error)})", status=400) from None
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # damaged EXIF metadata: the pixels are whole, keep them as stored
        pass
    try:
        return to_rgb8(image)
    except MemoryError:
        raise
    except Exception as error:  # a mode Pillow decodes but cannot convert
        raise ImageError(f"{name} has pixels visage cannot convert to RGB ({image.mode}: {_reason(error)})",
                         status=415) from None


def read_image(path: str | Path, *, max_pixels: int | None = None) -> np.ndarray:
    """Return the image file at `path` as RGB uint8; ConfigError (one line) if missing or not an image."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"image '{path}' does not exist" if not path.exists() else f"'{path}' is not a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read image '{path}': {error.strerror}") from None
    return decode_image(data, name=f"'{path}'", max_pixels=max_pixels)
