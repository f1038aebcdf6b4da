"""FER2013 as published: one CSV with `emotion,pixels,Usage` (48×48 grayscale, 7 emotions).

Labels emotion only (no age, gender or race), so a run on it trains just an emotion head; the
age + emotion setup of the seed projects is one run on UTKFace and one on FER2013. `Usage` gives the
splits: Training → train, PublicTest → val, PrivateTest → test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch

from visage.core.errors import ConfigError
from visage.data.base import FaceDataset
from visage.data.files import warn_skips

EMOTIONS = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
USAGE_SPLITS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SIDE = 48


def _pixels(text: str) -> np.ndarray | None:
    values = np.array(text.split(), dtype=np.float64) if isinstance(text, str) else np.array([])
    if values.size != SIDE * SIDE or values.min() < 0 or values.max() > 255:
        return None
    return values.reshape(SIDE, SIDE).astype(np.uint8)


class FER2013(FaceDataset):
    """The FER2013 CSV at `path` (or `root/fer2013.csv`), held as its 48×48 pixels and resized to `image_size` on use.

    Holding the source pixels (2.3 kB a face) rather than resized copies keeps memory bounded at any
    `image_size`; resizing one 48×48 image costs microseconds.
    """

    emotion_classes = EMOTIONS
    native_look = {"color": "gray", "side": SIDE}  # its faces before resizing: a model trained on them sees others so

    def __init__(self, path: str | None = None, root: str | None = None, image_size: int = 64,
                 name: str = "fer2013", sensitive_attributes: Sequence[str] = ()) -> None:
        self.name = name
        csv = Path(path) if path else Path(root or ".") / "fer2013.csv"
        if not csv.is_file():
            raise ConfigError(f"data=fer2013 needs data.path=<fer2013.csv> (or data.root holding it); {csv} is not a file")
        table = pd.read_csv(csv, dtype={"pixels": str, "Usage": str})
        missing = {"emotion", "pixels", "Usage"} - set(table.columns)
        if missing:
            raise ConfigError(f"{csv.name} lacks column(s) {', '.join(sorted(missing))}; expected emotion,pixels,Usage")
        self.image_size = image_size
        images, rows, skipped = [], [], []
        for k, (emotion, pixels, usage) in enumerate(zip(table["emotion"], table["pixels"], table["Usage"])):
            image = _pixels(pixels)
            if image is None:
                skipped.append((f"row {k + 2}", "pixels are not 48×48 values in 0-255"))
            elif str(emotion) not in {str(e) for e in range(len(EMOTIONS))}:
                skipped.append((f"row {k + 2}", "emotion not 0-6"))
            elif usage not in USAGE_SPLITS:
                skipped.append((f"row {k + 2}", "Usage not Training/PublicTest/PrivateTest"))
            else:
                images.append(image)
                rows.append((f"fer-{k}", int(emotion), USAGE_SPLITS[usage]))
        self.skipped = pd.DataFrame(skipped, columns=["file", "reason"])
        warn_skips(name, self.skipped, len(table))
        if not rows:
            raise ConfigError(f"{csv} holds no valid FER2013 rows ({len(skipped)} skipped)")
        self.labels = pd.DataFrame(rows, columns=["sample_id", "emotion", "split"])
        self.pixels = np.stack(images)
        self.set_sensitive_attributes(sensitive_attributes)

    def image(self, index: int) -> torch.Tensor:
        """Return image `index` as a uint8 tensor (3, H, W) (the gray channel repeated)."""
        gray = self.pixels[index]
        if self.image_size != SIDE:
            gray = cv2.resize(gray, (self.image_size, self.image_size), interpolation=cv2.INTER_LINEAR)
        return torch.from_numpy(np.ascontiguousarray(np.broadcast_to(gray, (3, *gray.shape))))

    def index_facts(self) -> dict[str, Any]:
        """Return the row counts (found, kept, skipped by reason), recorded with every run on this dataset."""
        skipped = dict(Counter(self.skipped["reason"])) if len(self.skipped) else {}
        return {"found": len(self.labels) + len(self.skipped), "samples": len(self), "skipped": skipped}
