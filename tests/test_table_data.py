"""`data=table`: any labelled face table trains, evaluates and reports; bad rows are skipped and counted."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fake_datasets import TABLE_BAD_ROWS, TABLE_SKIN_TONES, make_face_table
from visage.core.errors import ConfigError, config_error_in
from visage.data.build import build_dataset
from visage.data.splits import load_or_create_split
from visage.data.table import TableFaces
from visage.train import train

TASKS = {"age": "regression", "smiling": ["no", "yes"]}


@pytest.fixture(scope="module")
def table_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("table")
    return root, make_face_table(root)


def load(path: Path, **kwargs) -> TableFaces:  # noqa: ANN003
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TableFaces(path=str(path), image_size=32, **{"tasks": TASKS, **kwargs})


def test_the_table_is_read_with_its_labels_and_bad_rows_are_skipped_and_counted(table_root) -> None:  # noqa: ANN001
    root, valid = table_root
    with pytest.warns(UserWarning, match=r"data 'table': skipped 4 of 28 files"):
        ds = TableFaces(path=str(root / "labels.csv"), tasks=TASKS, sensitive_attributes=["skin_tone", "age_bin"],
                        image_size=32)
    assert dict(zip(ds.skipped["file"], ds.skipped["reason"])) == TABLE_BAD_ROWS
    assert ds.task_classes == {"smiling": ("no", "yes")} and ds.has_age
    labels = ds.labels.set_index("sample_id").loc[valid["path"]]
    assert labels["age"].tolist() == valid["age"].astype(float).tolist()
    assert labels["smiling"].tolist() == (valid["smiling"] == "yes").astype(int).tolist()
    assert labels["skin_tone"].tolist() == valid["skin_tone"].tolist()
    assert ds.describe() == {"found": 28, "samples": 24, "images_verified": True,
                             "skipped": {reason: 1 for reason in TABLE_BAD_ROWS.values()}}
    item = ds[3]
    assert item["image"].shape == (3, 32, 32) and int(item["smiling"]) == int(valid["smiling"][3] == "yes")
    groups = ds.group_labels(np.arange(3), [0, 20, 40])
    assert groups.to_dict("list") == {"skin_tone": ["light"] * 3, "age_bin": ["0-19", "20-39", "20-39"]}


def test_a_parquet_table_reads_as_its_csv(table_root, tmp_path: Path) -> None:  # noqa: ANN001
    root, _ = table_root
    pd.read_csv(root / "labels.csv", dtype=str).to_parquet(root / "labels.parquet", index=False)
    csv, parquet = load(root / "labels.csv"), load(root / "labels.parquet")
    pd.testing.assert_frame_equal(csv.labels, parquet.labels)
    pd.testing.assert_frame_equal(csv.skipped, parquet.skipped)


def test_a_task_can_be_a_sensitive_attribute_and_a_split_column_fixes_the_split(table_root, tmp_path: Path) -> None:  # noqa: ANN001
    root, valid = table_root
    table = pd.read_csv(root / "labels.csv", dtype=str)
    table["part"] = np.where(np.arange(len(table)) % 4 == 0, "test", "train")
    table.to_csv(root / "with_split.csv", index=False)
    ds = load(root / "with_split.csv", tasks={"smiling": {"column": "smiling", "classes": ["no", "yes"]}},
              sensitive_attributes=["smiling", "site"], split_column="part")
    assert not ds.has_age and ds.strata_columns() == ["smiling", "site"]
    kept = table.set_index("path").loc[ds.labels["sample_id"]]  # without an age task, the ageless row is kept
    assert len(ds) == len(valid) + 1
    groups = ds.group_labels(np.arange(len(ds)), [0])
    assert groups["smiling"].tolist() == kept["smiling"].tolist() and groups["site"].tolist() == kept["site"].tolist()
    split = load_or_create_split(ds.labels, 0.2, 0.2, seed=0, split_dir=None, name="table", strata=ds.strata_columns())
    assert list(split["test"]) == list(np.flatnonzero(kept["part"].to_numpy() == "test"))
    assert len(split["val"]) == math.ceil(0.2 * (len(ds) - len(split["test"])))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sensitive_attributes": ["skin*tone"]}, "data.sensitive_attributes holds 'skin*tone': a sensitive attribute is one column name"),
    ({"sensitive_attributes": ["smiling_pred"]}, "data.sensitive_attributes holds 'smiling_pred'"),
    ({"sensitive_attributes": ["eye_colour"]}, "data.sensitive_attributes: column(s) eye_colour not in labels.csv"),
    ({"tasks": {"smiling": []}}, "data.tasks.smiling needs its classes"),
    ({"tasks": {"image": ["a", "b"]}}, "data.tasks holds 'image', a name visage uses itself"),
    ({"tasks": {"smiling_pred": ["no", "yes"]}}, "data.tasks holds 'smiling_pred'"),
    ({"tasks": {}}, "data=table needs at least one task in data.tasks"),
])
def test_bad_table_settings_are_one_line(table_root, kwargs: dict, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        load(table_root[0] / "labels.csv", **kwargs)
    assert "\n" not in str(error.value)


def test_a_table_with_an_extra_attribute_trains_and_is_studied_by_it(compose_train, table_root) -> None:  # noqa: ANN001
    root, valid = table_root
    data = ("data=table", f"data.path={root / 'labels.csv'}", "data.tasks={age: regression, smiling: [no, yes]}",
            "data.sensitive_attributes=[skin_tone, age_bin]", "data.image_size=32")
    cfg = compose_train(*data, "datamodule.batch_size=8", "evaluation.fairness.n_boot=20",
                        "evaluation.fairness.n_perm=20", "evaluation.fairness.min_group_size=1")
    assert build_dataset(cfg.data).sensitive_attributes == ("skin_tone", "age_bin")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, objects = train(cfg)
    run = Path(objects["cfg"].paths.output_dir)
    table = pd.read_parquet(run / "predictions" / "test.parquet")
    tone = valid.set_index("path")["skin_tone"]
    assert table["skin_tone"].tolist() == tone[table["sample_id"]].tolist()
    assert set(table["smiling_true"]) <= {"no", "yes"} and "smiling_prob_yes" in table
    assert metrics["test"]["smiling_acc"] == pytest.approx((table["smiling_true"] == table["smiling_pred"]).mean())
    fairness = json.loads((run / "fairness" / "test.json").read_text())
    by_tone = fairness["by_group"]["skin_tone"]
    assert set(by_tone) == set(table["skin_tone"]) <= set(TABLE_SKIN_TONES)
    for tone_name, values in by_tone.items():
        rows = table[table["skin_tone"] == tone_name]
        assert values["n"] == len(rows)
        assert values["age_mae"] == pytest.approx((rows["age_true"] - rows["age_pred"]).abs().mean())


def test_a_sensitive_attribute_the_data_lacks_is_one_line(compose_train) -> None:  # noqa: ANN001
    cfg = compose_train("data.sensitive_attributes=[skin_tone]")  # the synthetic faces label race, gender and age
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as raised:  # noqa: PT011 - Hydra may wrap the ConfigError; checked below
            build_dataset(cfg.data)
    error = config_error_in(raised.value)
    assert isinstance(error, ConfigError)
    assert str(error).startswith("data.sensitive_attributes holds 'skin_tone', which data 'synthetic' does not label")
