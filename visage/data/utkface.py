"""UTKFace as published: `[age]_[gender]_[race]_[date&time].jpg` (also `.jpg.chip.jpg`).

gender 0 = Male, 1 = Female; race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others; age 0-116.
Files whose names miss a field or hold out-of-range values, and files that are not images, are
skipped with one summarising warning and recorded (`skipped`) for the data card.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from visage.data.files import FileFaceDataset, looks_like_image, require_dir, warn_skips
from visage.errors import ConfigError

GENDERS = ("Male", "Female")
RACES = ("White", "Black", "Asian", "Indian", "Others")
MAX_AGE = 116
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


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
    """The UTKFace folder at `root` (flat, possibly with sub-folders such as `part1/`)."""

    gender_classes = GENDERS
    race_classes = RACES

    def __init__(self, root: str | None = None, image_size: int = 64, check_headers: bool = True,
                 name: str = "utkface") -> None:
        self.name = name
        self.image_size = image_size
        folder = require_dir(root, name)
        rows, skipped = [], []
        for path in _image_files(folder):
            parsed = parse_name(path.name)
            if isinstance(parsed, str):
                skipped.append((path.relative_to(folder).as_posix(), parsed))
            elif check_headers and not looks_like_image(path):
                skipped.append((path.relative_to(folder).as_posix(), "not an image (bad file header)"))
            else:
                rows.append((path.relative_to(folder).as_posix(), *parsed, str(path)))
        self.labels = pd.DataFrame(rows, columns=["sample_id", "age", "gender", "race", "path"])
        self.labels = self.labels.sort_values("sample_id", ignore_index=True)
        self.skipped = pd.DataFrame(skipped, columns=["file", "reason"])
        warn_skips(name, self.skipped, len(rows) + len(skipped))
        if self.labels.empty:
            raise ConfigError(f"data.root={root} holds no valid UTKFace images ({len(skipped)} skipped)")
        self._init_cache()


def _image_files(folder: Path) -> list[Path]:
    found = []
    for directory, _, files in os.walk(folder):
        found += [Path(directory, f) for f in files if f.lower().endswith(IMAGE_SUFFIXES)]
    return found
