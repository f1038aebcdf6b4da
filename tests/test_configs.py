"""Every config group option composes and instantiates; backbones run and load local weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from visage.models.backbone import Backbone
from visage.runner.cli import group_options

BACKBONES = group_options("backbone")


def test_required_backbones_have_configs() -> None:
    required = {"resnet18", "resnet50", "convnext_tiny", "efficientnet_b0", "mobilenetv3_small_100",
                "vit_tiny_patch16_224"}
    assert required <= set(BACKBONES)


@pytest.mark.parametrize("name", BACKBONES)
def test_every_backbone_builds_and_runs_on_the_data_size(compose_train, name: str) -> None:
    cfg = compose_train(f"backbone={name}")
    backbone: Backbone = instantiate(cfg.backbone)()
    images = torch.randint(0, 256, (2, 3, cfg.data.image_size, cfg.data.image_size), dtype=torch.uint8)
    features = backbone.eval()(images)
    assert features.shape == (2, backbone.num_features)
    assert torch.isfinite(features).all()


def test_pretrained_weights_load_from_a_local_file(compose_train, tmp_path: Path) -> None:
    donor = instantiate(compose_train().backbone)()
    path = tmp_path / "resnet18_weights.pth"
    torch.save(donor.model.state_dict(), path)
    cfg = compose_train("backbone.pretrained=true", f"backbone.checkpoint_path={path}")
    loaded: Backbone = instantiate(cfg.backbone)()
    for key, value in donor.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key


@pytest.mark.parametrize("group", ["model", "age_loss", "loss", "trainer", "logger", "callbacks", "augmentation",
                                   "objective", "experiment"])
def test_every_group_option_composes(compose_train, group: str) -> None:
    for option in group_options(group):
        own_data = {"fer2013_emotion": ("data=fer2013",), "utkface_age": ("data=utkface",), "utkface": ("data=utkface",),
                    "fairface": ("data=fairface",)}.get(option, ())  # recipes of real data: their own data config
        cfg = compose_train(f"{group}={option}", *own_data)
        assert cfg is not None
        if group in ("augmentation", "objective", "age_loss"):
            assert instantiate(cfg[group]) is not None


def _instantiated(cfg, group: str):  # noqa: ANN001, ANN202
    node = cfg[group]
    if group in ("logger", "callbacks"):
        return [instantiate(spec) for spec in (node or {}).values()]
    return instantiate(node)


@pytest.mark.parametrize(("group", "option"), [
    (group, option)
    for group in ("logger", "callbacks", "sampler", "objective", "augmentation", "age_loss")
    for option in group_options(group)
])
def test_every_group_option_instantiates(compose_train, group: str, option: str) -> None:
    built = _instantiated(compose_train(f"{group}={option}"), group)
    assert built is not None
    if group == "logger" and option != "none":
        assert built, f"logger={option} built no logger"


@pytest.mark.parametrize("option", [o for o in group_options("trainer") if o not in ("gpu", "ddp")])
def test_every_cpu_trainer_instantiates(compose_train, option: str) -> None:
    from lightning.pytorch import Trainer

    trainer = instantiate(compose_train(f"trainer={option}").trainer, logger=False)
    assert isinstance(trainer, Trainer)


@pytest.mark.parametrize("option", group_options("model"))
def test_every_model_instantiates_and_predicts(compose_train, option: str) -> None:
    from visage.runner.builders import build_model

    cfg = compose_train(f"model={option}")
    module = build_model(cfg.model, {"gender": ["Male", "Female"], "race": ["A", "B", "C"]}, has_age=True)
    out = module.eval()(torch.zeros(2, 3, cfg.data.image_size, cfg.data.image_size, dtype=torch.uint8))
    assert out["race"].shape == (2, 3) and out["gender"].shape == (2, 2) and len(out["age"]) == 2


def test_synthetic_data_config_instantiates(compose_train) -> None:
    from visage.data.build import build_dataset

    dataset = build_dataset(compose_train("data.n_samples=50").data)
    assert len(dataset) == 50 and dataset.image(0).shape == (3, 32, 32)
