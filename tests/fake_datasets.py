"""Builders of small UTKFace and FairFace folders in their published formats, from real face photos.

The photos ship inside packages (scikit-image's astronaut, matplotlib's Grace Hopper); variants
(flips, crops, brightness) stand in for different people.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd


def face_photos() -> list[np.ndarray]:
    """Return two real face crops (RGB uint8)."""
    from matplotlib import cbook
    from skimage import data

    astronaut = data.astronaut()[30:230, 140:340]
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper = cv2.cvtColor(cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR),
                              cv2.COLOR_BGR2RGB)[60:360, 80:380]
    return [astronaut, hopper]


def variant(photos: list[np.ndarray], k: int) -> np.ndarray:
    """Return the k-th variant of the photos (a different flip, crop and brightness each)."""
    image = photos[k % len(photos)]
    if (k // 2) % 2:
        image = image[:, ::-1]
    crop = (k % 5) * 4
    image = image[crop:image.shape[0] - crop, crop:image.shape[1] - crop]
    return np.clip(image.astype(np.float32) * (0.8 + 0.05 * (k % 7)), 0, 255).astype(np.uint8)


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))


UTK_MALFORMED = {
    "39_1_20170116174525125.jpg.chip.jpg": "name has 3 fields, not 4 (age_gender_race_datetime)",
    "130_0_0_20170116174525125.jpg.chip.jpg": "age outside 0-116",
    "25_3_0_20170116174525125.jpg.chip.jpg": "gender outside 0-1",
    "25_0_9_20170116174525125.jpg.chip.jpg": "race outside 0-4",
    "x_0_0_20170116174525125.jpg.chip.jpg": "age, gender or race is not an integer",
}
UTK_BAD_HEADER = "30_1_1_20170116000000001.jpg.chip.jpg"
UTK_UNDECODABLE = "31_1_1_20170116000000002.jpg.chip.jpg"
UNDECODABLE_BYTES = b"\xff\xd8\xff\xe0" + bytes(200)  # a JPEG header, then nothing OpenCV can decode
UTK_TRUNCATED = "32_0_2_20170116000000003.jpg.chip.jpg"  # cut short: OpenCV fills the rest with grey
UTK_RESCUED = "33_0_3_20170116000000004.jpg.chip.jpg"  # broken in UTKFace/, readable in crop_part1/


def make_utkface(root: Path, ages: tuple[int, ...] = (3, 25, 60)) -> pd.DataFrame:
    """Write a UTKFace folder (every race × gender × age, malformed names, a file that is no image,
    one whose header passes but whose body does not decode, a non-image file); return the valid rows' labels."""
    photos = face_photos()
    rows, k = [], 0
    for race in range(5):
        for gender in range(2):
            for age in ages:
                suffix = ".jpg.chip.jpg" if k % 3 else ".jpg"
                name = f"{age}_{gender}_{race}_2017011617{k:07d}{suffix}"
                write_jpeg(root / name, variant(photos, k))
                rows.append({"sample_id": name, "age": age, "gender": gender, "race": race})
                k += 1
    for name in UTK_MALFORMED:
        write_jpeg(root / name, variant(photos, 0))
    (root / UTK_BAD_HEADER).write_bytes(b"this is not an image at all")
    (root / UTK_UNDECODABLE).write_bytes(UNDECODABLE_BYTES)
    (root / "README.txt").write_text("not part of the data")
    return pd.DataFrame(rows)


def make_utkface_download(root: Path) -> dict[str, object]:
    """Write UTKFace as downloaded: `UTKFace/` (aligned crops), `crop_part1/` and the in-the-wild `part1/`
    holding copies of the same faces, plus broken files; return what a correct index must find.

    Returns a dict with `faces` (the face keys that must be kept, one file each), `duplicates` (copies
    that must be skipped), `undecodable` / `truncated` (files that pass the header check but do not
    decode), and `found` (image files written).
    """
    labels = make_utkface(root / "UTKFace")
    photos = face_photos()
    keys = [name.split(".", 1)[0] for name in labels["sample_id"]]
    chips = [name.split(".", 1)[0] for name in labels["sample_id"] if name.endswith(".chip.jpg")]
    duplicates = []
    for k, key in enumerate(chips[:4]):  # the same face cropped differently, in crop_part1/ ...
        write_jpeg(root / "crop_part1" / f"{key}.jpg.chip.jpg", variant(photos, k)[10:-10, 10:-10])
        duplicates.append(f"crop_part1/{key}.jpg.chip.jpg")
    for k, key in enumerate(chips[:2]):  # ... and as the original photo, in the in-the-wild part1/
        write_jpeg(root / "part1" / f"{key}.jpg", np.pad(variant(photos, k), ((20, 20), (20, 20), (0, 0))))
        duplicates.append(f"part1/{key}.jpg")
    ok, jpeg = cv2.imencode(".jpg", variant(photos, 7))
    (root / "UTKFace" / UTK_TRUNCATED).write_bytes(jpeg.tobytes()[: len(jpeg) * 2 // 3])
    (root / "UTKFace" / UTK_RESCUED).write_bytes(UNDECODABLE_BYTES)
    write_jpeg(root / "crop_part1" / UTK_RESCUED, variant(photos, 8))
    return {"faces": {*keys, UTK_RESCUED.split(".", 1)[0]}, "duplicates": duplicates,
            "undecodable": [f"UTKFace/{UTK_UNDECODABLE}", f"UTKFace/{UTK_RESCUED}"],
            "truncated": [f"UTKFace/{UTK_TRUNCATED}"], "rescued": f"crop_part1/{UTK_RESCUED}",
            "found": len(keys) + len(duplicates) + len(UTK_MALFORMED) + 5}


FAIR_RACES = ("White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern")
FAIR_AGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70")


def make_fairface(root: Path, per_cell: int = 2) -> dict[str, pd.DataFrame]:
    """Write a FairFace folder (label CSVs + train/ and val/ images, plus bad rows) and return its CSVs."""
    photos = face_photos()
    tables = {}
    k = 0
    for split, csv_name, cells in (("train", "fairface_label_train.csv", per_cell),
                                   ("val", "fairface_label_val.csv", 1)):
        rows = []
        for race in FAIR_RACES:
            for gender in ("Male", "Female"):
                for c in range(cells):
                    k += 1
                    file = f"{split}/{k}.jpg"
                    write_jpeg(root / file, variant(photos, k))
                    rows.append({"file": file, "age": FAIR_AGES[k % len(FAIR_AGES)], "gender": gender,
                                 "race": race, "service_test": str(c % 2 == 0)})
        if split == "train":
            write_jpeg(root / "train/bad_age.jpg", variant(photos, 1))
            rows.append({"file": "train/bad_age.jpg", "age": "unknown", "gender": "Male", "race": "White",
                         "service_test": "False"})
            rows.append({"file": "train/missing.jpg", "age": "20-29", "gender": "Male", "race": "White",
                         "service_test": "False"})
        tables[split] = pd.DataFrame(rows)
        tables[split].to_csv(root / csv_name, index=False)
    return tables


def make_fer2013(path: Path, per_emotion: int = 6) -> pd.DataFrame:
    """Write a FER2013 CSV (emotion,pixels,Usage) from the face photos, with two bad rows; return it."""
    photos = face_photos()
    rows, usages = [], ["Training", "Training", "Training", "Training", "PublicTest", "PrivateTest"]
    for emotion in range(7):
        for k in range(per_emotion):
            gray = cv2.cvtColor(cv2.resize(variant(photos, emotion * per_emotion + k), (48, 48)), cv2.COLOR_RGB2GRAY)
            rows.append({"emotion": emotion, "pixels": " ".join(map(str, gray.ravel())),
                         "Usage": usages[k % len(usages)]})
    rows.append({"emotion": 3, "pixels": "1 2 3", "Usage": "Training"})
    rows.append({"emotion": 9, "pixels": " ".join(["0"] * 2304), "Usage": "Training"})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


TABLE_SKIN_TONES = ("light", "medium", "dark")
TABLE_BAD_ROWS = {  # image path -> why the table dataset must skip its row
    "faces/missing.jpg": "image file missing",
    "faces/broken.jpg": "image could not be decoded",
    "faces/maybe.jpg": "smiling not one of its classes (no, yes)",
    "faces/ageless.jpg": "age not a number of years in 0-130",
}


def make_face_table(root: Path, per_cell: int = 4, suffix: str = ".csv") -> pd.DataFrame:
    """Write a labelled face table (`path,age,smiling,skin_tone,site`) with images under `root/faces/`, plus
    the bad rows of `TABLE_BAD_ROWS`; return the valid rows. Paths are relative to the table's folder."""
    photos = face_photos()
    rows, k = [], 0
    for tone in TABLE_SKIN_TONES:
        for smiling in ("no", "yes"):
            for c in range(per_cell):
                path = f"faces/{k:03d}.jpg"
                write_jpeg(root / path, cv2.resize(variant(photos, k), (48, 48)))
                rows.append({"path": path, "age": str(18 + (7 * k) % 60), "smiling": smiling, "skin_tone": tone,
                             "site": f"site{c % 2}"})
                k += 1
    valid = pd.DataFrame(rows)
    write_jpeg(root / "faces/maybe.jpg", variant(photos, 1))
    write_jpeg(root / "faces/ageless.jpg", variant(photos, 2))
    (root / "faces/broken.jpg").write_bytes(UNDECODABLE_BYTES)
    bad = pd.DataFrame([
        {"path": "faces/missing.jpg", "age": "30", "smiling": "no", "skin_tone": "light", "site": "site0"},
        {"path": "faces/broken.jpg", "age": "30", "smiling": "no", "skin_tone": "light", "site": "site0"},
        {"path": "faces/maybe.jpg", "age": "30", "smiling": "maybe", "skin_tone": "dark", "site": "site1"},
        {"path": "faces/ageless.jpg", "age": "unknown", "smiling": "yes", "skin_tone": "dark", "site": "site1"},
    ])
    table = pd.concat([valid, bad], ignore_index=True)
    if suffix == ".csv":
        table.to_csv(root / "labels.csv", index=False)
    else:
        table.to_parquet(root / f"labels{suffix}", index=False)
    return valid
