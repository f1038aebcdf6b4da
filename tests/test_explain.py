"""Grad-CAM explanations: target layers and the ViT reshape, map shapes, localisation, and `predict explain=true`."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from tests.helpers import call
from tests.test_inference import astronaut
from visage.inference.crops import crop_face
from visage.inference.detectors import HaarDetector
from visage.inference.gradcam import Explainer, target_layer, vit_reshape
from visage.models.age_heads import RegressionAgeHead
from visage.models.backbone import create_backbone
from visage.models.networks import SharedBackboneNet
from visage.runner.load_run import load_run

CLASSES = {"gender": ["Male", "Female"], "race": ["White", "Black", "Asian", "Indian", "Others"]}
VIT = partial(create_backbone, "vit_tiny_patch16_224", img_size=32, patch_size=8)


@pytest.fixture
def run_dir(tiny_run: Path) -> Path:
    """The session's trained TINY run (read-only)."""
    return tiny_run


def test_cnn_target_layer_is_the_deepest_stage_fine_enough() -> None:
    model = timm.create_model("resnet18", num_classes=0)
    assert target_layer(model, 224)[0] is model.layer4 and target_layer(model, 224)[1] is None
    assert target_layer(model, 64)[0] is model.layer3   # layer4 would be 2x2 cells
    assert target_layer(model, 32)[0] is model.layer2


def test_vit_reshape_drops_prefix_tokens_and_takes_the_grid_from_the_patch_embedding() -> None:
    model = timm.create_model("vit_tiny_patch16_224", num_classes=0, img_size=32, patch_size=8, reg_tokens=2)
    layer, reshape = target_layer(model, 32)
    assert layer is model.blocks[-1].norm1 and model.num_prefix_tokens == 3
    tokens = torch.arange(2 * 19 * 5, dtype=torch.float32).reshape(2, 19, 5)  # 3 prefix + 4x4 patches, 5 dims
    grid = reshape(tokens)
    assert grid.shape == (2, 5, 4, 4)
    assert grid[1, 2, 0, 1].item() == tokens[1, 3 + 1, 2].item()  # row 0, column 1 is patch 1 after the prefix
    assert grid[0, 4, 3, 3].item() == tokens[0, 18, 4].item()
    assert vit_reshape(model)(tokens).shape == (2, 5, 4, 4)


def test_maps_of_a_trained_cnn_have_the_crop_shape_and_say_what_they_explain(run_dir) -> None:
    run = load_run(run_dir)
    size = run.image_size
    image = astronaut()
    crops = np.stack([crop_face(image, HaarDetector().detect(image)[0].box, size)] * 2)
    maps = Explainer(run.module.net, run.classes, run.has_age, size).explain(crops)
    assert len(maps) == 2 and [h.task for h in maps[0]] == ["age", "gender", "race"]
    for heatmap in maps[0]:
        assert heatmap.cam.shape == (size, size) and np.isfinite(heatmap.cam).all()
        assert 0.0 <= heatmap.cam.min() and heatmap.cam.max() <= 1.0 + 1e-6
    age = maps[0][0]
    assert age.label is None and age.name == "age" and "age estimate up" in age.meaning and age.cam.std() > 0.01
    assert maps[0][1].label in CLASSES["gender"] and maps[0][1].name == f"gender-{maps[0][1].label}"
    np.testing.assert_allclose(maps[0][0].cam, maps[1][0].cam, atol=1e-5)  # same crop, same map


def test_maps_of_a_vit_have_the_crop_shape() -> None:
    torch.manual_seed(0)
    net = SharedBackboneNet(VIT, partial(RegressionAgeHead), {"gender": 2, "race": 5})
    crops = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    maps = Explainer(net, CLASSES, True, 32).explain(crops)
    assert [[h.cam.shape for h in face] for face in maps] == [[(32, 32)] * 3] * 2
    assert any(h.cam.std() > 0.01 for face in maps for h in face)  # the 4x4 token grid, upsampled


def patch_batch(rng: np.random.Generator, n: int, size: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Return noise images with a coloured square (the "face") at a random place, its colour class, and places."""
    colours = np.array([[230, 60, 60], [60, 60, 230], [60, 220, 60]], np.uint8)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels, places, side = rng.integers(0, 3, n), [], size // 2
    for k in range(n):
        x, y = (int(v) for v in rng.integers(0, size - side, 2))
        images[k, y:y + side, x:x + side] = colours[labels[k]]
        places.append((x, y))
    return images, labels, places


@pytest.mark.slow
@pytest.mark.parametrize("backbone", [partial(create_backbone, "resnet18"), VIT], ids=["resnet18", "vit"])
def test_class_maps_are_highest_on_the_face_in_a_noise_background(backbone) -> None:
    """A briefly trained net whose only signal is the square: its class maps must be higher inside the square."""
    torch.manual_seed(0)
    size, side = 32, 16
    net = SharedBackboneNet(backbone, None, {"race": 3})
    optimizer = torch.optim.AdamW(net.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        images, labels, _ = patch_batch(rng, 32, size)
        logits = net(torch.from_numpy(images.transpose(0, 3, 1, 2)).float())["race"]
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    images, _, places = patch_batch(np.random.default_rng(1), 16, size)
    maps = Explainer(net.eval(), {"race": ["red", "blue", "green"]}, False, size).explain(images)
    inside, outside = [], []
    for (x, y), (heatmap,) in zip(places, maps):
        mask = np.zeros((size, size), bool)
        mask[y:y + side, x:x + side] = True
        inside.append(heatmap.cam[mask].mean())
        outside.append(heatmap.cam[~mask].mean())
    assert np.mean(inside) > np.mean(outside) + 0.1, (np.mean(inside), np.mean(outside))


def test_predict_explain_writes_a_png_per_face_and_map(run_dir, tmp_path, capsys, monkeypatch) -> None:
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    out = tmp_path / "maps"
    monkeypatch.chdir(tmp_path)
    assert call("predict", str(photo), f"run={run_dir}", "explain=true", f"out={out}") == 0, capsys.readouterr().err
    result = json.loads((out / "predictions.jsonl").read_text())
    face, = result["faces"]
    assert set(face["explanations"]) == {"age", f"gender-{face['gender']['label']}", f"race-{max(face['race'], key=face['race'].get)}"}
    size = load_run(run_dir, module=False).image_size
    for name in face["explanations"].values():
        png = np.asarray(Image.open(out / name))
        assert png.shape == (size, size, 3) and png.std() > 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*face["explanations"].values(), "predictions.jsonl"])


def test_predict_explain_without_out_is_one_line_exit_2(run_dir, tmp_path, capsys, monkeypatch) -> None:
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    monkeypatch.chdir(tmp_path)  # so anything written to the working directory shows below
    code = call("predict", str(photo), f"run={run_dir}", "explain=true")
    stderr = capsys.readouterr().err
    assert code == 2 and "explain=true needs out=<folder>" in stderr and stderr.count("\n") == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.png"]
