"""Time to load the index of a 24k-file UTKFace-style folder: names parsed, headers checked, images verified.

Writes the folder once under a temporary directory (each file a 200×200 JPEG with photo-like
detail, about the size of a UTKFace chip), then times `UTKFace(root)` with every image decoded once
to verify it (the default; threads over the cores this process may use), with header checks only
(goal: under 2 s) and with names only.

    python bench/utkface_index.py [--files 24000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from visage.data.utkface import UTKFace


def make_folder(root: Path, n: int) -> bytes:
    """Write `n` UTKFace-named JPEGs (about 1% with malformed names, as in the published set); return the JPEG."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(40, 215, 200, dtype=np.float32)
    image = (ramp[:, None, None] + ramp[None, :, None] / 4 + rng.normal(0, 12, (200, 200, 3))).clip(0, 255)
    ok, jpeg = cv2.imencode(".jpg", cv2.GaussianBlur(image.astype(np.uint8), (3, 3), 0))
    payload = jpeg.tobytes()
    for k in range(n):
        age, gender, race = rng.integers(1, 100), rng.integers(0, 2), rng.integers(0, 5)
        name = f"{age}_{gender}_{race}_2017{k:013d}.jpg.chip.jpg" if k % 100 else f"{age}_{gender}_2017{k:013d}.jpg"
        (root / name).write_bytes(payload)
    return payload


def main() -> None:
    """Print the index load time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        payload = make_folder(root, args.files)
        warnings.simplefilter("ignore")
        print(f"JPEG payload {len(payload):,} bytes; {len(os.sched_getaffinity(0))} cores available")
        for label, check, verify in (("images verified (default)", True, True), ("header checks only", True, False),
                                     ("header checks only (warm)", True, False), ("names only", False, False)):
            start = time.perf_counter()
            ds = UTKFace(root=str(root), check_headers=check, verify_images=verify)
            seconds = time.perf_counter() - start
            rate = f"{args.files / seconds:8,.0f} files/s" if verify else "goal < 2 s"
            print(f"{args.files:,} files, {label:26s}: {seconds:5.2f} s  ({len(ds):,} indexed, "
                  f"{len(ds.skipped)} skipped)  {rate}")


if __name__ == "__main__":
    main()
