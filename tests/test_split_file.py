"""Published splits (`datamodule.split_file=<csv>`): followed exactly, counted, and bad files refused in one line."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fake_datasets import UTK_BAD_HEADER, make_utkface
from tests.helpers import run_cli
from visage.core.errors import ConfigError, config_error_in
from visage.runner.builders import build_datamodule
from visage.train import train

UTK = ("data=utkface", "data.image_size=32", "datamodule.batch_size=8")


@pytest.fixture(scope="module")
def utk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The UTKFace fixture and its 30 usable files, as the dataset names them (paths relative to data.root), sorted."""
    root = tmp_path_factory.mktemp("UTKFace")
    return root, sorted(make_utkface(root)["sample_id"])


@pytest.fixture(scope="module")
def utk_root(utk: tuple[Path, list[str]]) -> Path:
    return utk[0]


@pytest.fixture(scope="module")
def ids(utk: tuple[Path, list[str]]) -> list[str]:
    return utk[1]


def write_split(path: Path, parts: dict[str, list[str]]) -> Path:
    rows = [(sample, split) for split, samples in parts.items() for sample in samples]
    pd.DataFrame(rows, columns=["sample_id", "split"]).to_csv(path, index=False)
    return path


def members(datamodule, split: str) -> set[str]:  # noqa: ANN001
    return set(datamodule.dataset.labels["sample_id"].iloc[datamodule.split_indices[split]])


def test_a_split_file_is_followed_exactly_and_its_gaps_are_counted(compose_train, utk_root: Path, ids: list[str],
                                                                   tmp_path: Path) -> None:
    assert len(ids) == 30
    parts = {"train": ids[:18] + ["41_0_0_20990101000000000.jpg.chip.jpg"], "val": ids[18:24],
             "test": ids[24:28] + [UTK_BAD_HEADER]}  # ids[28:] unlisted; two rows name no sample of the data
    split_file = write_split(tmp_path / "published.csv", parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, objects = train(compose_train(*UTK, f"data.root={utk_root}", f"datamodule.split_file={split_file}",
                                               "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=0"))
    datamodule = objects["datamodule"]
    assert members(datamodule, "train") == set(ids[:18])
    assert members(datamodule, "val") == set(ids[18:24])
    assert members(datamodule, "test") == set(ids[24:28])
    counts = {"file": str(split_file), "file_rows": 30, "samples_used": 28, "samples_not_in_file": 2,
              "file_rows_not_in_data": 2, "val_drawn": False, "sizes": {"train": 18, "val": 6, "test": 4}}
    assert datamodule.split_file_counts == counts
    run = Path(objects["cfg"].paths.output_dir)
    assert json.loads((run / "metrics.json").read_text())["dataset"]["split_file"] == counts
    predicted = pd.read_parquet(run / "predictions" / "test.parquet")
    assert sorted(predicted["sample_id"]) == ids[24:28] and metrics["test"]["n"] == 4


def test_a_file_without_val_gets_val_drawn_from_train_by_split_seed(compose_train, utk_root: Path, ids: list[str],
                                                                     tmp_path: Path) -> None:
    split_file = write_split(tmp_path / "train_test.csv", {"train": ids[:20], "test": ids[20:]})
    override = (*UTK, f"data.root={utk_root}", f"datamodule.split_file={split_file}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first, again = build_datamodule(compose_train(*override)), build_datamodule(compose_train(*override))
        other = build_datamodule(compose_train(*override, "datamodule.split_seed=7"))
    assert members(first, "test") == set(ids[20:])
    assert members(first, "train") | members(first, "val") == set(ids[:20])
    assert not members(first, "train") & members(first, "val")
    assert len(members(first, "val")) == math.ceil(0.15 * 20)  # scikit-learn rounds the held-out part up
    assert np.array_equal(first.split_indices["val"], again.split_indices["val"])
    assert members(other, "val") != members(first, "val") and members(other, "test") == set(ids[20:])
    assert first.split_file_counts["val_drawn"] is True and first.split_file_counts["samples_not_in_file"] == 0


BAD_FILES = {
    "listed_twice": (lambda ids: [(ids[0], "train"), (ids[1], "test"), (ids[0], "train")],
                     r"lists sample '{0}' more than once \(lines 2, 4\)"),
    "face_in_two_parts": (lambda ids: [(ids[0], "train"), (ids[1], "test"),
                                       ("crop_part1/" + ids[0].split(".")[0] + ".jpg.chip.jpg", "test")],
                          r"puts one face \('{key}'\) in two parts"),
    "unknown_split": (lambda ids: [(ids[0], "train"), (ids[1], "dev")],
                      r"unknown split 'dev' on line 3; available: train, val, test"),
    "no_test_rows": (lambda ids: [(ids[0], "train"), (ids[1], "val")], r"has no test rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_split_file_is_one_config_error(compose_train, utk_root: Path, ids: list[str], tmp_path: Path,
                                              case: str) -> None:
    rows, message = BAD_FILES[case]
    split_file = tmp_path / f"{case}.csv"
    pd.DataFrame(rows(ids), columns=["sample_id", "split"]).to_csv(split_file, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = compose_train(*UTK, f"data.root={utk_root}", f"datamodule.split_file={split_file}")
        with pytest.raises(Exception) as raised:  # noqa: PT011 - Hydra wraps the ConfigError; it is checked below
            build_datamodule(cfg)
    error = config_error_in(raised.value)
    assert isinstance(error, ConfigError) and "\n" not in str(error)
    assert re.search(message.format(re.escape(ids[0]), key=re.escape(ids[0].split(".")[0])), str(error))


@pytest.mark.slow  # a subprocess (10 s); the fast cases above check each one-line ConfigError
def test_the_command_line_refuses_a_bad_split_file_in_one_line_with_exit_2(utk_root: Path, ids: list[str],
                                                                           tmp_path: Path) -> None:
    split_file = tmp_path / "dev.csv"
    pd.DataFrame([(ids[0], "train"), (ids[1], "dev")], columns=["sample_id", "split"]).to_csv(split_file, index=False)
    done = run_cli("visage.train", *UTK, f"data.root={utk_root}", f"datamodule.split_file={split_file}",
                   "trainer=smoke", "logger=none", f"paths.experiments_dir={tmp_path}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last == (f"error: datamodule.split_file={split_file}: unknown split 'dev' on line 3; "
                    "available: train, val, test")
    assert "Traceback" not in done.stderr
