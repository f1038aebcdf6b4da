"""Time to load the index of a 24k-file UTKFace-style folder (names parsed, headers checked, no decoding).

Writes the folder once under a temporary directory (each file a small real JPEG), then times
`UTKFace(root)` cold-ish and warm, with and without header checks. Goal: under 2 s.

    python bench/utkface_index.py [--files 24000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from visage.data.utkface import UTKFace


def make_folder(root: Path, n: int) -> None:
    """Write `n` UTKFace-named JPEGs (about 1% with malformed names, as in the published set)."""
    ok, jpeg = cv2.imencode(".jpg", np.full((200, 200, 3), 128, np.uint8))
    payload = jpeg.tobytes()
    rng = np.random.default_rng(0)
    for k in range(n):
        age, gender, race = rng.integers(1, 100), rng.integers(0, 2), rng.integers(0, 5)
        name = f"{age}_{gender}_{race}_2017{k:013d}.jpg.chip.jpg" if k % 100 else f"{age}_{gender}_2017{k:013d}.jpg"
        (root / name).write_bytes(payload)


def main() -> None:
    """Print the index load time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_folder(root, args.files)
        warnings.simplefilter("ignore")
        for label, check in (("with header checks", True), ("with header checks (warm)", True),
                             ("names only", False)):
            start = time.perf_counter()
            ds = UTKFace(root=str(root), check_headers=check)
            seconds = time.perf_counter() - start
            print(f"{args.files:,} files, {label:26s}: {seconds:5.2f} s  ({len(ds):,} indexed, "
                  f"{len(ds.skipped)} skipped)  goal < 2 s")


if __name__ == "__main__":
    main()
