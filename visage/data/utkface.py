"""UTKFace as published: `[age]_[gender]_[race]_[date&time].jpg` (also `.jpg.chip.jpg`).

gender 0 = Male, 1 = Female; race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others; age 0-116.
Files whose names miss a field or hold out-of-range values, files that are not images or do not
decode, and second copies of a face (same `age_gender_race_datetime` in another sub-folder) are
skipped with one summarising warning and recorded (`skipped`) for the data card and run summary.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from visage.data.files import (
    BAD_HEADER,
    SKIP_COLUMNS,
    FileFaceDataset,
    drop_undecodable,
    looks_like_image,
    require_dir,
)

GENDERS = ("Male", "Female")
RACES = ("White", "Black", "Asian", "Indian", "Others")
MAX_AGE = 116
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DUPLICATE = "duplicate face (same age_gender_race_datetime as a kept file)"


def parse_name(name: str) -> tuple[int, int, int] | str:
    """Return (age, gender, race) parsed from a UTKFace file name, or the reason it is invalid."""
    fields = name.split(".", 1)[0].split("_")
    if len(fields) != 4:
        return f"name has {len(fields)} fields, not 4 (age_gender_race_datetime)"
    age, gender, race = fields[:3]
    if not (age.isdigit() and gender.isdigit() and race.isdigit()):
        return "age, gender or race is not an integer"
    if not 0 <= int(age) <= MAX_AGE:
        return f"age outside 0-{MAX_AGE}"
    if int(gender) not in (0, 1):
        return "gender outside 0-1"
    if int(race) not in range(len(RACES)):
        return "race outside 0-4"
    return int(age), int(gender), int(race)


class UTKFace(FileFaceDataset):
    """The UTKFace folder at `root`, with any sub-folders (`UTKFace/`, `crop_part1/`, the in-the-wild parts).

    The published download holds the same face in several sub-folders (aligned crop, crop, original
    photo). Files are keyed by `age_gender_race_datetime`; one readable file per key is kept (the
    aligned crop first, see `_deduplicate`) and the other copies are skipped as duplicates, so no face
    can be in two splits.
    """

    gender_classes = GENDERS
    race_classes = RACES

    def __init__(self, root: str | None = None, image_size: int = 64, check_headers: bool = True,
                 verify_images: bool = True, cache_mb: float = 2048.0, name: str = "utkface",
                 sensitive_attributes: Sequence[str] = ()) -> None:
        self.name = name
        self.image_size = image_size
        self.verify_images = verify_images
        self.cache_mb = cache_mb
        folder = require_dir(root, name)
        rows, skipped = [], []
        files = _image_files(folder)
        for path in files:
            relative = path.relative_to(folder).as_posix()
            parsed = parse_name(path.name)
            if isinstance(parsed, str):
                skipped.append((relative, parsed))
            elif check_headers and not looks_like_image(path):
                skipped.append((relative, BAD_HEADER))
            else:
                rows.append((relative, *parsed, str(path), face_key(relative)))
        self.labels = pd.DataFrame(rows, columns=["sample_id", "age", "gender", "race", "path", "face_key"])
        self.skipped = pd.DataFrame(skipped, columns=SKIP_COLUMNS)
        if verify_images and len(self.labels):  # before de-duplicating, so a readable copy wins over a broken one
            self.labels, self.skipped = drop_undecodable(self.labels, self.skipped)
        self.labels, duplicates = _deduplicate(self.labels)
        self.skipped = pd.concat([self.skipped, duplicates], ignore_index=True)
        self.finish_index(len(files), f"data.root={root} holds no valid UTKFace images")
        self.set_sensitive_attributes(sensitive_attributes)

    def identity_keys(self, sample_ids: pd.Series) -> pd.Series:
        """Return each file's face key (`age_gender_race_datetime`): copies of one face in other sub-folders share it."""
        return sample_ids.astype(str).map(face_key)


def face_key(sample_id: str) -> str:
    """Return the face key of a UTKFace file (its name up to the first dot), whatever folder it is in."""
    return sample_id.rsplit("/", 1)[-1].split(".", 1)[0]


def _deduplicate(labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return one row per face key (sorted by sample id) and the skip rows of the other copies.

    The copy kept is the aligned crop (`.chip.jpg`) first, then the one in the root or `UTKFace/`,
    then in `crop_part*/`, then elsewhere (the in-the-wild parts), then the first by path.
    """
    top = labels["sample_id"].str.split("/").str[0].where(labels["sample_id"].str.contains("/"), "")
    preference = pd.DataFrame({
        "not_chip": ~labels["sample_id"].str.endswith(".chip.jpg"),
        "folder": np.select([top.isin(["", "UTKFace"]), top.str.startswith("crop_part")], [0, 1], 2),
        "sample_id": labels["sample_id"],
    })
    ranked = labels.loc[preference.sort_values(["not_chip", "folder", "sample_id"]).index]
    copy = ranked["face_key"].duplicated()
    duplicates = pd.DataFrame({"file": ranked.loc[copy, "sample_id"].to_numpy(), "reason": DUPLICATE})
    kept = ranked[~copy].drop(columns="face_key").sort_values("sample_id", ignore_index=True)
    return kept, duplicates


def _image_files(folder: Path) -> list[Path]:
    found = []
    for directory, _, files in os.walk(folder):
        found += [Path(directory, f) for f in files if f.lower().endswith(IMAGE_SUFFIXES)]
    return found
