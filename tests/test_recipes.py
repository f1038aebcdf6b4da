"""The real-data recipes (`experiment=utkface_age|utkface|fairface`) compose and train on the dataset fixtures.

Each starts from pretrained weights held in a fixture Hugging Face cache (hub switched off), at the input
size of those weights. The fast test swaps in timm's tiny test network (160 px); the `slow` one runs each
recipe's own backbone at 224 px.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.fake_datasets import make_fairface, make_utkface
from tests.test_pretrained import TINY_TIMM, use_empty_hub_cache, write_hub_cache
from visage.models.pretrained import sha256_of
from visage.runner.load_run import load_run
from visage.train import train

RECIPES = {"utkface_age": ("utkface", "convnext_tiny.fb_in22k_ft_in1k"),
           "utkface": ("utkface", "convnext_tiny.fb_in22k_ft_in1k"),
           "fairface": ("fairface", "resnet34.tv_in1k")}


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    utk, fair = tmp_path_factory.mktemp("UTKFace"), tmp_path_factory.mktemp("FairFace")
    make_utkface(utk)
    make_fairface(fair)
    return {"utkface": utk, "fairface": fair}


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache in a temporary HF_HOME, the hub switched off."""
    return use_empty_hub_cache(tmp_path, monkeypatch)


def _train_recipe(compose_train, recipe: str, root: Path, *overrides: str) -> tuple[dict, dict]:
    data = RECIPES[recipe][0]
    cfg = compose_train(f"experiment={recipe}", f"data={data}", f"data.root={root}", "datamodule.batch_size=8",
                        "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=0", *overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny fixtures: pooled strata, empty groups
        return train(cfg)


def test_age_recipe_trains_age_only_from_the_cached_weights_at_their_size(compose_train, roots, hub_cache: Path) -> None:
    write_hub_cache(hub_cache, TINY_TIMM)
    cached = next((hub_cache / "hub").glob("models--timm--*/snapshots/*/model.safetensors"))
    metrics, objects = _train_recipe(compose_train, "utkface_age", roots["utkface"], f"backbone.name={TINY_TIMM}")
    assert metrics["pretrained_weights"]["sha256"] == sha256_of(cached)
    run = load_run(objects["cfg"].paths.output_dir)
    assert run.image_size == 160 and run.preprocessing["interpolation"] == "bilinear"  # the weights' data config
    assert run.classes == {} and run.has_age  # age only: gender and race are groups, not heads
    table = pd.read_parquet(Path(objects["cfg"].paths.output_dir) / "predictions" / "test.parquet")
    assert "age_pred" in table and "race_pred" not in table and "gender_pred" not in table
    assert set(table["race"]) <= {"White", "Black", "Asian", "Indian", "Others"}
    groups = {g["name"]: g for g in objects["trainer"].optimizers[0].param_groups}
    assert groups["backbone"]["lr"] == pytest.approx(0.1 * groups["heads"]["lr"])  # backbone_lr_scale=0.1
    assert objects["cfg"].augmentation.transforms[1]._target_ == "albumentations.RandomBrightnessContrast"


def test_frozen_backbone_epochs_leave_the_starting_weights_untouched(compose_train, tmp_path: Path) -> None:
    from hydra.utils import instantiate

    start = instantiate(compose_train().backbone)().model.state_dict()
    torch.save(start, tmp_path / "start.pth")
    _, objects = train(compose_train(f"backbone.checkpoint_path={tmp_path / 'start.pth'}",
                                     "model.freeze_backbone_epochs=1", "model.backbone_lr_scale=0.5",
                                     "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20"))
    trained = objects["module"].net.backbone.model.state_dict()
    for key, value in start.items():  # weights and batch-norm statistics alike
        torch.testing.assert_close(trained[key], value, rtol=0, atol=0)
    optimizer = objects["trainer"].optimizers[0]
    stepped = {g["name"]: sum(1 for p in g["params"] if p in optimizer.state) for g in optimizer.param_groups}
    assert stepped == {"heads": len(list(objects["module"].net.heads.parameters())), "backbone": 0}
    saved = torch.load(Path(objects["cfg"].paths.output_dir) / "checkpoints" / "last.ckpt")
    assert saved["hyper_parameters"]["freeze_backbone_epochs"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("recipe", list(RECIPES))
def test_each_recipe_trains_its_own_backbone_at_224_px(compose_train, roots, hub_cache: Path, recipe: str) -> None:
    data, backbone = RECIPES[recipe]
    write_hub_cache(hub_cache, backbone)
    metrics, objects = _train_recipe(compose_train, recipe, roots[data])
    assert metrics["pretrained_weights"]["name"] == backbone and metrics["pretrained_weights"]["tag"] == backbone.split(".")[1]
    assert objects["cfg"].data.image_size == 224
    assert metrics["test"]["n"] == len(objects["datamodule"].split_indices["test"]) > 0
