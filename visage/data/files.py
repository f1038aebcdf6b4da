"""Datasets of image files on disk: header checks, lazy decoding into an in-memory cache, skip records."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch

from visage.data.base import FaceDataset
from visage.errors import ConfigError

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"GIF8", b"RIFF")


def looks_like_image(path: Path) -> bool:
    """Return whether the file starts like a JPEG, PNG, BMP, GIF or WebP image (reads a few bytes)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return any(head.startswith(magic) for magic in IMAGE_MAGIC)


def read_rgb(path: Path, size: int) -> np.ndarray | None:
    """Return the image at `path` as a (size, size, 3) uint8 RGB array, or None if it cannot be decoded."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        return None
    interpolation = cv2.INTER_AREA if min(image.shape[:2]) > size else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(image, (size, size), interpolation=interpolation), cv2.COLOR_BGR2RGB)


def require_dir(root: str | Path | None, name: str) -> Path:
    """Return `root` as a Path, or raise ConfigError if it is not an existing folder."""
    if root is None or str(root) in ("", "???"):
        raise ConfigError(f"data={name} needs data.root=<folder holding the {name} files>")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise ConfigError(f"data.root={root} is not a folder")
    return path


class FileFaceDataset(FaceDataset):
    """Faces stored as image files listed in `labels["path"]`; images are decoded once and cached.

    A file that will not decode is never a crash mid-epoch: it is recorded in `skipped` and the
    next readable sample stands in for it (with one warning per file).
    """

    image_size: int
    skipped: pd.DataFrame  # one row per skipped file: file, reason

    def _init_cache(self) -> None:
        n = len(self.labels)
        self._cache = torch.zeros((n, 3, self.image_size, self.image_size), dtype=torch.uint8)
        self._loaded = np.zeros(n, dtype=bool)
        self._unreadable: set[int] = set()

    def image(self, index: int) -> torch.Tensor:
        """Return image `index` (3, H, W) uint8, decoding and caching it on first use."""
        for offset in range(len(self.labels)):
            candidate = (index + offset) % len(self.labels)
            if candidate in self._unreadable:
                continue
            if not self._loaded[candidate]:
                pixels = read_rgb(Path(self.labels["path"].iat[candidate]), self.image_size)
                if pixels is None:
                    self._mark_unreadable(candidate)
                    continue
                self._cache[candidate] = torch.from_numpy(pixels).permute(2, 0, 1)
                self._loaded[candidate] = True
            return self._cache[candidate]
        raise RuntimeError(f"no image of data '{self.name}' could be decoded")

    def _mark_unreadable(self, index: int) -> None:
        self._unreadable.add(index)
        path = self.labels["path"].iat[index]
        warnings.warn(f"skipping unreadable image {path}; a neighbouring sample stands in", stacklevel=3)
        row = pd.DataFrame({"file": [Path(path).name], "reason": ["image could not be decoded"]})
        self.skipped = pd.concat([self.skipped, row], ignore_index=True)

    def skip_summary(self) -> dict[str, int]:
        """Return how many files were skipped, by reason."""
        return dict(Counter(self.skipped["reason"])) if len(self.skipped) else {}

    def describe(self) -> dict[str, Any]:
        """Return the skip counts, recorded with every run on this dataset."""
        return {"skipped": self.skip_summary()}


def warn_skips(name: str, skipped: pd.DataFrame, total: int) -> None:
    """Emit one warning summarising skipped files by reason."""
    if len(skipped):
        reasons = ", ".join(f"{n} {reason}" for reason, n in Counter(skipped["reason"]).most_common())
        warnings.warn(f"data '{name}': skipped {len(skipped)} of {total} files ({reasons}); see the data card",
                      stacklevel=3)
