"""Data integrity: broken files are dropped and counted, never replaced; UTKFace copies are one face; splits hold."""

from __future__ import annotations

import json
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fake_datasets import make_utkface_download
from tests.helpers import TINY, call
from visage.core.errors import ConfigError
from visage.data.files import TRUNCATED, UNDECODABLE, ImageDecodeError, decode_problem
from visage.data.splits import load_or_create_split, minimum_samples, stratified_split
from visage.data.utkface import DUPLICATE, UTKFace
from visage.datacard import VERIFIED_NOTE, write_card
from visage.train import train

AGE_BINS = [0, 3, 10, 20, 30, 40, 50, 60, 70]
# Fairness numbers are not what these runs check: a few bootstrap draws and permutations suffice.
FEW_DRAWS = ["evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20"]


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("utkface_download")
    return root, make_utkface_download(root)


def utkface(root: Path, **kwargs: object) -> UTKFace:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return UTKFace(root=str(root), image_size=32, **kwargs)


def face_key(sample_id: str) -> str:
    return Path(sample_id).name.split(".", 1)[0]


def test_download_index_keeps_one_decodable_copy_of_each_face(download: tuple[Path, dict]) -> None:
    root, truth = download
    with pytest.warns(UserWarning, match=re.escape(f"skipped 15 of {truth['found']} files (6 {DUPLICATE}")):
        ds = UTKFace(root=str(root), image_size=32)
    keys = ds.labels["sample_id"].map(face_key)
    assert keys.is_unique and set(keys) == truth["faces"]
    assert truth["rescued"] in set(ds.labels["sample_id"])  # the broken UTKFace/ copy lost to a readable one
    skipped = ds.skipped.groupby("reason")["file"].apply(set)
    assert skipped[DUPLICATE] == set(truth["duplicates"])
    assert skipped[UNDECODABLE] == set(truth["undecodable"]) and skipped[TRUNCATED] == set(truth["truncated"])
    facts = ds.describe()
    assert (facts["found"], facts["samples"]) == (truth["found"], 31)
    assert facts["skipped"][DUPLICATE] == 6 and facts["skipped"][UNDECODABLE] == 2 and facts["skipped"][TRUNCATED] == 1


def test_truncated_jpeg_decodes_in_opencv_but_is_caught(download: tuple[Path, dict]) -> None:
    root, truth = download
    import cv2

    (truncated,) = truth["truncated"]
    assert cv2.imread(str(root / truncated)) is not None  # OpenCV alone would train on a half-grey face
    assert decode_problem(root / truncated) == TRUNCATED
    assert decode_problem(root / truth["rescued"]) is None


def test_a_file_broken_after_indexing_raises_instead_of_being_replaced(tmp_path: Path) -> None:
    root = tmp_path / "utk"
    make_utkface_download(root)
    ds = utkface(root)
    victim = 5
    (root / ds.labels["sample_id"].iat[victim]).write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))
    with pytest.raises(ImageDecodeError, match="cannot be decoded; it decoded when the data was indexed"):
        ds[victim]
    assert ds[victim + 1]["image"].shape == (3, 32, 32)


def test_image_cache_is_lazy_and_bounded(download: tuple[Path, dict]) -> None:
    one_image_mb = 3 * 32 * 32 / 2**20
    ds = utkface(download[0], cache_mb=2.5 * one_image_mb)
    assert ds._cache == {} and ds._cache_bytes == 0  # building the index allocates no pixels
    first = [ds[i]["image"] for i in range(6)]
    assert len(ds._cache) == 2 and ds._cache_bytes == 2 * 3 * 32 * 32
    assert all(ds[i]["image"].equal(img) for i, img in enumerate(first))  # uncached ones decode the same again


def test_datacard_counts_usable_images_and_allocates_no_cache(download: tuple[Path, dict], tmp_path: Path) -> None:
    ds = utkface(download[0])
    card = write_card(ds, {}, tmp_path, AGE_BINS).read_text()
    assert ds._cache == {}
    assert "**31 samples** kept; 15 files skipped" in card
    assert f"| {DUPLICATE} | 6 |" in card and f"| {UNDECODABLE} | 2 |" in card and f"| {TRUNCATED} | 1 |" in card
    assert VERIFIED_NOTE in card


def test_download_with_copies_and_broken_files_trains_to_the_end(compose_train, download: tuple[Path, dict]) -> None:
    root, truth = download
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, objects = train(compose_train("data=utkface", f"data.root={root}", "data.image_size=32",
                                               "datamodule.batch_size=8", *FEW_DRAWS))
    saved = json.loads((Path(objects["cfg"].paths.output_dir) / "metrics.json").read_text())
    assert saved["dataset"]["samples"] == 31 and saved["dataset"]["found"] == truth["found"]
    assert saved["dataset"]["skipped"][DUPLICATE] == 6 and saved["dataset"]["skipped"][UNDECODABLE] == 2
    labels = objects["datamodule"].dataset.labels
    keys = {split: set(labels["sample_id"].iloc[rows].map(face_key))
            for split, rows in objects["datamodule"].split_indices.items()}
    assert not (keys["train"] & keys["val"] or keys["train"] & keys["test"] or keys["val"] & keys["test"])
    assert set().union(*keys.values()) == truth["faces"]
    assert metrics["test"]["n"] == len(keys["test"]) > 0


def test_pooled_rare_group_that_is_still_too_small_no_longer_crashes() -> None:
    strata = np.array(["a"] * 60 + ["b"] * 60 + ["c"])  # "c" alone: pooled it had 1 member and sklearn refused
    with pytest.warns(UserWarning, match="1 of 3 groups have too few samples to stratify on their own"):
        split = stratified_split(strata, 0.15, 0.15, seed=0)
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(len(strata)))
    assert all(len(rows) > 0 for rows in split.values())


def test_too_few_samples_is_one_line_saying_how_many_are_needed() -> None:
    assert minimum_samples(0.15, 0.15) == 4
    with pytest.raises(ConfigError, match=r"^3 samples are too few to split into train, val and test .* at least 4"):
        stratified_split(np.array(["a", "b", "a"]), 0.15, 0.15, seed=0)
    assert all(len(v) for v in stratified_split(np.array(["a", "b", "a", "c"]), 0.15, 0.15, seed=0).values())


def test_small_synthetic_data_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # data.n_samples=200 once ended in scikit-learn's "least populated class has only 1 member", exit 1.
    monkeypatch.chdir(tmp_path)
    args = [o for o in TINY if not o.startswith("data.n_samples")]
    assert call("train", *args, "data.n_samples=200", *FEW_DRAWS, f"paths.experiments_dir={tmp_path}") == 0
    (metrics,) = tmp_path.rglob("metrics.json")
    assert json.loads(metrics.read_text())["test"]["n"] == 30


def test_jobs_creating_the_same_split_at_once_do_not_collide(tmp_path: Path) -> None:
    labels = pd.DataFrame({"sample_id": [f"f{k}" for k in range(400)], "race": np.arange(400) % 5,
                           "gender": np.arange(400) % 2})
    barrier, results, errors = threading.Barrier(8), [], []

    def job() -> None:
        barrier.wait()
        try:
            results.append(load_or_create_split(labels, 0.15, 0.15, 0, tmp_path, "same"))
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)

    threads = [threading.Thread(target=job) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 8
    assert all(all(np.array_equal(r[s], results[0][s]) for s in r) for r in results)
    assert [p.name for p in tmp_path.iterdir()] == [p.name for p in tmp_path.glob("same-*.csv")]  # no temp left


def test_nan_loss_stops_the_run_with_one_line_and_no_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("train", *TINY, "model.optimizer.lr=1e30", f"paths.experiments_dir={tmp_path}") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: train loss became nan") and "at step" in last
    assert "lower the learning rate (model.optimizer.lr=1e+30 now)" in last
    assert not list(tmp_path.rglob("metrics.json"))
