"""Datasets of image files on disk: header checks, a decode check at indexing, a bounded lazy cache, skip records.

A file that does not decode is found when the index is built (each file is decoded once, in parallel,
and its pixels dropped) and leaves the dataset with a counted reason; it is never replaced by another
face. Pixels are cached on first use, up to `cache_mb` per process, so building the index (for a
data card, say) allocates nothing.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import get_worker_info

from visage.core.errors import ConfigError
from visage.data.base import FaceDataset

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"GIF8", b"RIFF")
JPEG_MAGIC = b"\xff\xd8\xff"
BAD_HEADER = "not an image (bad file header)"
UNDECODABLE = "image could not be decoded"
TRUNCATED = "image truncated (JPEG without end marker)"
SKIP_COLUMNS = ["file", "reason"]


class ImageDecodeError(RuntimeError):
    """An image that decoded when the dataset was indexed fails to decode later (file changed or disk failing)."""


def looks_like_image(path: Path) -> bool:
    """Return whether the file starts like a JPEG, PNG, BMP, GIF or WebP image (reads a few bytes)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return any(head.startswith(magic) for magic in IMAGE_MAGIC)


def decode_problem(path: str | Path) -> str | None:
    """Return why the image at `path` cannot be used (decoded the way training decodes it), or None if it can.

    The pixels are dropped at once. A JPEG cut short still loads with `cv2.imread` (grey fills the
    missing part), so a JPEG whose last scan is not followed by an end-of-image marker counts as truncated.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return UNDECODABLE
    scan = data.rfind(b"\xff\xda") if data.startswith(JPEG_MAGIC) else -1
    if scan >= 0 and data.find(b"\xff\xd9", scan) < 0:
        return TRUNCATED
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    return UNDECODABLE if image is None or image.size == 0 else None


def decode_problems(paths: Sequence[str], workers: int | None = None) -> list[str | None]:
    """Return `decode_problem` of every path, decoding in parallel threads (OpenCV releases the GIL)."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if workers <= 1 or len(paths) < 64:
        return [decode_problem(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(32, workers)) as pool:
        return list(pool.map(decode_problem, paths))


def drop_undecodable(labels: pd.DataFrame, skipped: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return `labels` without the rows whose `path` does not decode, and `skipped` with those rows added."""
    problems = pd.Series(decode_problems(labels["path"].tolist()), index=labels.index, dtype=object)
    bad = problems.notna()
    if not bad.any():
        return labels, skipped
    rows = pd.DataFrame({"file": labels.loc[bad, "sample_id"].to_numpy(), "reason": problems[bad].to_numpy()})
    return labels[~bad].reset_index(drop=True), pd.concat([skipped, rows], ignore_index=True)


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
    """Faces stored as image files listed in `labels["path"]`, decoded on first use into a bounded cache.

    Subclasses build `labels` (with `sample_id` and `path`) and `skipped`, drop the files that do not
    decode (`drop_undecodable`, when `verify_images`), then call `finish_index`. A file that fails to
    decode later raises `ImageDecodeError`: no other face stands in for it.
    """

    image_size: int
    skipped: pd.DataFrame  # one row per skipped file: file, reason
    verify_images: bool = True
    cache_mb: float = 2048.0  # per loader (shared out among its worker processes)

    def finish_index(self, files_found: int, empty_message: str) -> None:
        """Warn once about every skip, raise ConfigError(`empty_message`) if no sample is left, prepare the cache.

        Args:
            files_found: how many files (or label rows) the index was built from, kept + skipped.
            empty_message: the one-line error when no usable image remains.
        """
        self.files_found = files_found
        warn_skips(self.name, self.skipped, files_found)
        if self.labels.empty:
            raise ConfigError(f"{empty_message} ({len(self.skipped)} skipped)")
        self._cache: dict[int, torch.Tensor] = {}
        self._cache_bytes = 0

    def image(self, index: int) -> torch.Tensor:
        """Return image `index` (3, H, W) uint8, decoding it on first use and caching it while the cache has room."""
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        path = self.labels["path"].iat[index]
        pixels = read_rgb(Path(path), self.image_size)
        if pixels is None:
            checked = "decoded when the data was indexed; was the file changed, or is the disk failing?" \
                if self.verify_images else "set data.verify_images=true to find such files before training"
            raise ImageDecodeError(f"data '{self.name}': image {path} cannot be decoded; it {checked}")
        tensor = torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
        if self._cache_bytes + tensor.numel() <= self._cache_limit_bytes():
            self._cache[index] = tensor
            self._cache_bytes += tensor.numel()
        return tensor

    def _cache_limit_bytes(self) -> float:
        worker = get_worker_info()
        return self.cache_mb * 2**20 / (worker.num_workers if worker is not None else 1)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without cached pixels (loader workers started by spawn fill their own caches)."""
        state = dict(self.__dict__)
        state["_cache"], state["_cache_bytes"] = {}, 0
        return state

    def skip_summary(self) -> dict[str, int]:
        """Return how many files were skipped, by reason."""
        return dict(Counter(self.skipped["reason"])) if len(self.skipped) else {}

    def index_facts(self) -> dict[str, Any]:
        """Return the file counts (found, kept, skipped by reason), recorded with every run on this dataset."""
        return {"found": int(self.files_found), "samples": len(self), "skipped": self.skip_summary(),
                "images_verified": bool(self.verify_images)}


def warn_skips(name: str, skipped: pd.DataFrame, total: int) -> None:
    """Emit one warning summarising skipped files by reason."""
    if len(skipped):
        reasons = ", ".join(f"{n} {reason}" for reason, n in Counter(skipped["reason"]).most_common())
        warnings.warn(f"data '{name}': skipped {len(skipped)} of {total} files ({reasons}); see the data card",
                      stacklevel=3)
