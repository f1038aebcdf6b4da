"""Data cards count by the data's own sensitive attributes, and the report reads any attribute a run studied."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from tests.fake_datasets import TABLE_SKIN_TONES, make_face_table
from visage.data.table import TableFaces
from visage.datacard import write_card
from visage.reporting.report.findings import training_shift_finding


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[TableFaces, pd.DataFrame]:
    root = tmp_path_factory.mktemp("card")
    valid = make_face_table(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skipped bad rows
        faces = TableFaces(path=str(root / "labels.csv"), image_size=32, tasks={"age": "regression", "smiling": ["no", "yes"]},
                           sensitive_attributes=["skin_tone", "age_bin"])
    return faces, valid


def test_a_table_card_counts_its_own_attributes_and_their_intersection(table, tmp_path: Path) -> None:  # noqa: ANN001
    faces, valid = table
    text = write_card(faces, {"motivation": "a lab set"}, tmp_path, [0, 20, 40]).read_text()
    assert "race" not in text and "gender" not in text  # no attribute this data does not have
    per_tone = text.split("### Per skin_tone")[1].split("###")[0]
    for tone in TABLE_SKIN_TONES:
        n = int((valid["skin_tone"] == tone).sum())
        assert f"| {tone} | {n} |" in per_tone, per_tone
    assert "### Per smiling" in text  # a task that is no sensitive attribute is still counted
    assert "### skin_tone × age bin" in text and "### Age per skin_tone" in text
    assert (tmp_path / "table_age.png").is_file() and "![Age histograms per skin_tone](table_age.png)" in text


def test_the_training_shift_finding_reads_whatever_attribute_training_tallied() -> None:
    run = {"training_distribution": {"sampler": "WeightedSampler", "mode": "sample", "samples_drawn": 100,
                                     "skin_tone": {"dark": {"data_share": 0.1, "trained_share": 0.3},
                                                   "light": {"data_share": 0.9, "trained_share": 0.8}},
                                     "site": {"a": {"data_share": 0.5, "trained_share": 0.55}}}}
    found = training_shift_finding(run, ("runs", 0))
    assert found is not None and "skin_tone dark" in found["text"] and "0.300" in found["text"], found
