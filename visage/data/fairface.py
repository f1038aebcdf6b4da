"""FairFace as published: `fairface_label_{train,val}.csv` (file,age,gender,race,service_test) + images.

Age comes in nine bins; a sample's age label is its bin centre in years (see `harmonize.py`), and
its bin is kept in `age_bin_label`. The official validation CSV is the test split; the train CSV is
split into train and val. `harmonize_to: utkface` folds the seven races into UTKFace's five.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from visage.core.errors import ConfigError
from visage.data.files import BAD_HEADER, FileFaceDataset, drop_undecodable, looks_like_image, require_dir
from visage.data.harmonize import FAIRFACE_AGE_CENTRES, FAIRFACE_RACES, race_mapping

GENDERS = ("Male", "Female")
LABEL_FILES = {"train": "fairface_label_train.csv", "test": "fairface_label_val.csv"}
COLUMNS = ("file", "age", "gender", "race")


def _skip_reason(row: pd.Series, root: Path, check_headers: bool) -> str | None:
    if row["age"] not in FAIRFACE_AGE_CENTRES:
        return "age bin not one of FairFace's nine"
    if row["gender"] not in GENDERS:
        return "gender not Male/Female"
    if row["race"] not in FAIRFACE_RACES:
        return "race not one of FairFace's seven"
    path = root / str(row["file"])
    if not path.is_file():
        return "image file missing"
    if check_headers and not looks_like_image(path):
        return BAD_HEADER
    return None


class FairFace(FileFaceDataset):
    """The FairFace folder at `root` (label CSVs next to the `train/` and `val/` image folders)."""

    gender_classes = GENDERS
    age_binned = True

    def __init__(self, root: str | None = None, image_size: int = 64, harmonize_to: str | None = None,
                 check_headers: bool = True, verify_images: bool = True, cache_mb: float = 2048.0,
                 name: str = "fairface", sensitive_attributes: Sequence[str] = ()) -> None:
        self.name = name
        self.image_size = image_size
        self.verify_images = verify_images
        self.cache_mb = cache_mb
        folder = require_dir(root, name)
        mapping, self.race_classes = race_mapping(harmonize_to) if harmonize_to else (None, FAIRFACE_RACES)
        self.label_mapping = {"race": mapping or {}, "age": FAIRFACE_AGE_CENTRES}
        frames = []
        for split, file_name in LABEL_FILES.items():
            path = folder / file_name
            if not path.is_file():
                raise ConfigError(f"data.root={root} has no {file_name} (FairFace's label CSV)")
            frame = pd.read_csv(path, dtype=str)
            missing = [c for c in COLUMNS if c not in frame.columns]
            if missing:
                raise ConfigError(f"{file_name} lacks column(s) {', '.join(missing)}; expected file,age,gender,race")
            frames.append(frame.assign(split=split if split == "test" else None))
        table = pd.concat(frames, ignore_index=True)
        reasons = table.apply(_skip_reason, axis=1, root=folder, check_headers=check_headers)
        self.skipped = pd.DataFrame({"file": table.loc[reasons.notna(), "file"],
                                     "reason": reasons[reasons.notna()]}).reset_index(drop=True)
        kept = table[reasons.isna()].reset_index(drop=True)
        race_names = kept["race"].map(mapping) if mapping else kept["race"]
        self.labels = pd.DataFrame({
            "sample_id": kept["file"],
            "age": kept["age"].map(FAIRFACE_AGE_CENTRES),
            "gender": kept["gender"].map(GENDERS.index),
            "race": race_names.map(list(self.race_classes).index),
            "path": [str(folder / f) for f in kept["file"]],
            "age_bin_label": kept["age"],
            "race_original": kept["race"],
            "split": kept["split"],
        })
        if verify_images and len(self.labels):
            self.labels, self.skipped = drop_undecodable(self.labels, self.skipped)
        self.finish_index(len(table), f"data.root={root} holds no valid FairFace rows")
        self.set_sensitive_attributes(sensitive_attributes)
