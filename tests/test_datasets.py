"""UTKFace and FairFace read exactly as published: counts, labels, skips, splits, data cards."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fake_datasets import (
    UTK_BAD_HEADER,
    UTK_MALFORMED,
    UTK_UNDECODABLE,
    make_fairface,
    make_fer2013,
    make_utkface,
)
from tests.helpers import call
from visage.core.errors import ConfigError
from visage.data.fairface import FairFace
from visage.data.fer2013 import EMOTIONS, FER2013
from visage.data.files import BAD_HEADER, UNDECODABLE
from visage.data.splits import load_or_create_split
from visage.data.utkface import UTKFace, parse_name
from visage.datacard import write_card
from visage.train import train

# Fairness numbers are not what these runs check: a few bootstrap draws and permutations suffice.
FEW_DRAWS = ["evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20"]


@pytest.fixture(scope="module")
def utk_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("UTKFace")
    make_utkface(root)
    return root


@pytest.fixture(scope="module")
def fair_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("FairFace")
    make_fairface(root)
    return root


def test_utkface_names_parse_and_malformed_ones_explain_why() -> None:
    assert parse_name("26_1_3_20170119180020346.jpg.chip.jpg") == (26, 1, 3)
    for name, reason in UTK_MALFORMED.items():
        assert parse_name(name) == reason


def test_utkface_index_counts_labels_and_skips(utk_root: Path) -> None:
    with pytest.warns(UserWarning, match=r"data 'utkface': skipped 7 of 37 files"):
        ds = UTKFace(root=str(utk_root), image_size=32)
    assert len(ds) == 30  # the file whose header passes but whose body does not decode is not kept
    row = ds.labels.set_index("sample_id").loc["25_1_4_20170116170000028.jpg.chip.jpg"]
    assert (row["age"], row["gender"], row["race"]) == (25, 1, 4)
    assert dict(ds.skipped["reason"].value_counts()) == {**{r: 1 for r in UTK_MALFORMED.values()},
                                                         BAD_HEADER: 1, UNDECODABLE: 1}
    assert {UTK_BAD_HEADER, UTK_UNDECODABLE} <= set(ds.skipped["file"])
    assert ds.labels.groupby(["race", "gender"]).size().eq(3).all()
    assert ds.describe() == {"found": 37, "samples": 30, "images_verified": True,
                             "skipped": {**{r: 1 for r in UTK_MALFORMED.values()}, BAD_HEADER: 1, UNDECODABLE: 1}}


def test_every_kept_image_decodes_and_none_stands_in_for_another(utk_root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = UTKFace(root=str(utk_root), image_size=32)
    images = [ds[i]["image"] for i in range(len(ds))]
    assert all(img.shape == (3, 32, 32) for img in images)
    assert len({img.numpy().tobytes() for img in images}) == len(images)  # no face appears twice
    assert images[0].float().std() > 10  # a real photo, not a blank


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data=utkface needs data.root="):
        UTKFace(root=None)
    with pytest.raises(ConfigError, match=f"data.root={tmp_path / 'nope'} is not a folder"):
        UTKFace(root=str(tmp_path / "nope"))


def test_fairface_reads_csvs_maps_ages_and_keeps_official_test(fair_root: Path) -> None:
    with pytest.warns(UserWarning, match=r"data 'fairface': skipped 2 of 44 files"):
        ds = FairFace(root=str(fair_root), image_size=32)
    assert len(ds) == 42 and len(ds.race_classes) == 7
    assert set(ds.skipped["reason"]) == {"age bin not one of FairFace's nine", "image file missing"}
    first = ds.labels.set_index("sample_id").loc["train/1.jpg"]
    assert first["age_bin_label"] == "3-9" and first["age"] == 6.0
    assert (ds.labels["split"] == "test").sum() == 14
    split = load_or_create_split(ds.labels, 0.2, 0.2, seed=0, split_dir=None, name="fairface")
    assert set(ds.labels.iloc[split["test"]]["sample_id"]) == {f"val/{k}.jpg" for k in range(29, 43)}


def test_fairface_harmonised_to_utkface_races(fair_root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = FairFace(root=str(fair_root), image_size=32, harmonize_to="utkface")
    assert ds.race_classes == ("White", "Black", "Asian", "Indian", "Others")
    names = np.asarray(ds.race_classes)[ds.labels["race"]]
    pairs = set(zip(ds.labels["race_original"], names))
    assert ("East Asian", "Asian") in pairs and ("Southeast Asian", "Asian") in pairs
    assert ("Middle Eastern", "Others") in pairs and ("Latino_Hispanic", "Others") in pairs
    assert pd.Series(names).value_counts().to_dict() == {"Asian": 12, "Others": 12, "White": 6, "Black": 6,
                                                         "Indian": 6}


def test_split_file_is_written_once_and_reused(utk_root: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = UTKFace(root=str(utk_root), image_size=32).labels
    first = load_or_create_split(labels, 0.2, 0.2, seed=1, split_dir=tmp_path, name="utkface")
    (path,) = tmp_path.glob("utkface-*.csv")
    saved = pd.read_csv(path)
    assert sorted(saved["split"].value_counts().to_dict().items()) == sorted(
        {s: len(i) for s, i in first.items()}.items())
    saved.loc[saved["split"] == "val", "split"] = "train"  # edit the file: the edit must be obeyed
    saved.loc[0, "split"] = "val"
    saved.to_csv(path, index=False)
    again = load_or_create_split(labels, 0.2, 0.2, seed=1, split_dir=tmp_path, name="utkface")
    assert list(again["val"]) == [0]


def test_datacard_numbers_match_the_fixture(fair_root: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = FairFace(root=str(fair_root), image_size=32, harmonize_to="utkface")
    path = write_card(ds, {"license": "CC BY 4.0"}, tmp_path, [0, 3, 10, 20, 30, 40, 50, 60, 70])
    card = path.read_text()
    assert "**42 samples** kept; 2 files skipped" in card
    assert "| Asian | 12 | 0.286 |" in card
    assert "| age bin not one of FairFace's nine | 1 |" in card
    assert "| East Asian | Asian |" in card
    assert "License: CC BY 4.0" in card and "## Maintenance\n\nunknown" in card
    assert "Imbalance ratios (largest / smallest group): race 2.00, gender 1.00" in card
    assert (tmp_path / "fairface_age.png").stat().st_size > 1000


def test_smoke_training_on_the_fairface_format(compose_train, fair_root: Path) -> None:
    """The UTKFace format trains in the cross-dataset test below (the command line, in-process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, objects = train(compose_train("data=fairface", f"data.root={fair_root}", "data.image_size=32",
                                               "datamodule.batch_size=8", *FEW_DRAWS))
    assert metrics["test"]["n"] == len(objects["datamodule"].split_indices["test"]) > 0
    assert 0 <= metrics["test"]["age_bin_acc"] <= 1


def test_train_on_utkface_evaluate_on_fairface_harmonised(utk_root: Path, fair_root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert call("train", "data=utkface", f"data.root={utk_root}", "data.image_size=32", "trainer=smoke",
                    "logger=none", "datamodule.batch_size=8", *FEW_DRAWS, f"paths.experiments_dir={tmp_path}") == 0
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())  # the UTKFace format trains to the end
    (split_file,) = (tmp_path / "splits").glob("*.csv")
    assert metrics["test"]["n"] == (pd.read_csv(split_file)["split"] == "test").sum() > 0
    assert 0 <= metrics["test"]["age_bin_acc"] <= 1
    args = [f"run={run}", "data=fairface", f"data.root={fair_root}", "data.image_size=32",
            "evaluation.fairness.n_boot=20"]
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert call("evaluate", *args) == 2
        assert "race classes of data 'fairface'" in capsys.readouterr().err.strip().splitlines()[-1]
        assert call("evaluate", *args, "data.harmonize_to=utkface") == 0
    assert (run / "fairness" / "fairface-test.json").is_file()


def test_fer2013_reads_the_csv_with_its_usage_splits(tmp_path: Path) -> None:
    make_fer2013(tmp_path / "fer2013.csv")
    with pytest.warns(UserWarning, match=r"data 'fer2013': skipped 2 of 44 files"):
        ds = FER2013(path=str(tmp_path / "fer2013.csv"), image_size=32)
    assert len(ds) == 42 and ds.task_classes == {"emotion": EMOTIONS} and not ds.has_age
    assert ds.labels["split"].value_counts().to_dict() == {"train": 28, "val": 7, "test": 7}
    item = ds[0]
    assert item["image"].shape == (3, 32, 32) and set(item) == {"image", "emotion", "index"}
    assert item["image"][0].equal(item["image"][1])  # gray repeated


def test_emotion_only_training_on_fer2013(compose_train, tmp_path: Path) -> None:
    make_fer2013(tmp_path / "fer2013.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, objects = train(compose_train("experiment=fer2013_emotion", "data=fer2013",
                                               f"data.path={tmp_path / 'fer2013.csv'}", "data.image_size=32",
                                               "datamodule.batch_size=8", *FEW_DRAWS))
    assert objects["module"].tasks == ["emotion"]
    assert metrics["objective"] == -metrics["val"]["emotion_acc"]  # an accuracy is maximised: objectives minimise
    assert metrics["test"]["n"] == 7 and "age_mae" not in metrics["test"]
    run = Path(objects["cfg"].paths.output_dir)
    table = pd.read_parquet(run / "predictions" / "test.parquet")
    assert {"emotion_true", "emotion_pred", "emotion_prob", "emotion_prob_Happy"} <= set(table.columns)
    fairness = json.loads((run / "fairness" / "test.json").read_text())
    assert fairness["by_group"] == {} and fairness["overall"]["emotion_acc"] == metrics["test"]["emotion_acc"]
