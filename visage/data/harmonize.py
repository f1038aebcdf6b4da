"""Mappings between the label spaces of face datasets, so a model trained on one is scored on another.

Race: FairFace's seven classes fold into UTKFace's five. East and Southeast Asian become Asian;
Latino_Hispanic and Middle Eastern have no UTKFace class and become Others (UTKFace's own "Others"
is documented as including Hispanic, Latino and Middle Eastern). Age: FairFace gives bins only;
a bin's age in years is its centre, so MAE against bin centres compares with UTKFace's years, and
visage's default age bins are FairFace's, so bin accuracy compares the other way.
"""

from __future__ import annotations

from visage.core.errors import unknown_choice

FAIRFACE_RACES = ("White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern")
UTKFACE_RACES = ("White", "Black", "Asian", "Indian", "Others")

RACE_MAPPINGS: dict[str, dict[str, str]] = {
    "utkface": {
        "White": "White", "Black": "Black", "East Asian": "Asian", "Southeast Asian": "Asian",
        "Indian": "Indian", "Latino_Hispanic": "Others", "Middle Eastern": "Others",
    },
}
TARGET_RACES = {"utkface": UTKFACE_RACES}

# FairFace age bin -> age in years used as its label (the bin centre; 75 for the open "more than 70").
FAIRFACE_AGE_CENTRES = {
    "0-2": 1.0, "3-9": 6.0, "10-19": 14.5, "20-29": 24.5, "30-39": 34.5, "40-49": 44.5, "50-59": 54.5,
    "60-69": 64.5, "more than 70": 75.0,
}


def race_mapping(target: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Return the race mapping into label space `target` and that space's class names."""
    if target not in RACE_MAPPINGS:
        raise unknown_choice("data.harmonize_to", target, RACE_MAPPINGS)
    return RACE_MAPPINGS[target], TARGET_RACES[target]
