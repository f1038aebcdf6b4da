"""Images named on the command line: one file or a folder of them, predicted in chunks."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from visage.core.errors import ConfigError
from visage.inference.images import read_image
from visage.inference.predictor import Predictor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def list_images(path: str | Path) -> list[Path]:
    """Return `[path]` for a file, or the image files (by suffix, sorted) directly inside a folder.

    Raises:
        ConfigError: the path does not exist, or the folder holds no image files.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return [path]
    if not path.exists():
        raise ConfigError(f"input '{path}' does not exist (give an image file or a folder of images)")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"input folder '{path}' holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    return files


def predict_paths(predictor: Predictor, paths: list[Path], *, max_pixels: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield one prediction JSON per image file, each with its `source`, in order; model calls in batches.

    One file given: an unreadable image is a ConfigError (exit 2). In a folder, a file that cannot be read
    or decoded gets an `{"source": ..., "error": ...}` line (and a note on stderr) and the others go on.
    """
    strict = len(paths) == 1
    readable: list[tuple[Path, np.ndarray]] = []

    def flush() -> Iterator[dict[str, Any]]:
        for (path, _), result in zip(readable, predictor.predict_images([image for _, image in readable])):
            yield {"source": str(path), **result}
        readable.clear()

    for path in paths:
        try:
            readable.append((path, read_image(path, max_pixels=max_pixels)))
        except ConfigError as error:  # ImageError, or a file that cannot be read
            if strict:
                raise
            yield from flush()  # keep the output in input order
            print(f"skipped: {error}", file=sys.stderr)
            yield {"source": str(path), "error": str(error)}
            continue
        if len(readable) >= predictor.batch_size:
            yield from flush()
    yield from flush()


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write `lines` (JSON lines) to `path` atomically, only once all are made; return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with tmp.open("w") as handle:
            for line in lines:
                handle.write(f"{line}\n")
                count += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count
