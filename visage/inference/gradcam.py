"""Grad-CAM heat-maps (the `grad-cam` package) for the age estimate and each class head, CNNs and ViTs alike.

For age the map shows what pushes the estimate *up*; for a class head, what raises the score of its
most probable class. The layer explained is chosen from the backbone's structure, not its name:

- a CNN (timm `feature_info`): the deepest feature stage whose map is at least `min_grid` cells
  across at the model's input size (at 224 px ResNets use `layer4`; small face crops an earlier stage,
  since a 2×2 map says nothing about where);
- a ViT (timm models with `num_prefix_tokens`): the first norm of the last block; its tokens are
  turned back into a grid by dropping the `num_prefix_tokens` class/register tokens and taking the
  grid from the patch embedding.

A heat-map explains the model, not the person: it shows which pixels moved this model's output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from visage.core.names import AGE
from visage.inference.settings import default


@dataclass(frozen=True)
class Heatmap:
    """One Grad-CAM map over a face crop: the task, the class it explains (None for age), values in [0, 1]."""

    task: str
    label: str | None
    cam: np.ndarray

    @property
    def name(self) -> str:
        """Return a short name for files and captions, e.g. `age` or `gender-Female`."""
        return self.task if self.label is None else f"{self.task}-{self.label}"

    @property
    def meaning(self) -> str:
        """Return what the map shows, in words."""
        if self.label is None:
            return "regions that push the age estimate up"
        return f"regions that raise the {self.task} score of '{self.label}'"


class TaskOutput(nn.Module):
    """A network reduced to one task's output: age in years (N, 1), or a class head's logits (N, C)."""

    def __init__(self, net: nn.Module, task: str) -> None:
        super().__init__()
        self.net, self.task = net, task

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the task's output for float 0-255 images (N, 3, S, S)."""
        raw = self.net(images)[self.task]
        return self.net.heads[AGE].decode(raw).reshape(-1, 1) if self.task == AGE else raw


def task_backbone(net: nn.Module, task: str) -> nn.Module:
    """Return the timm model that feeds `task` (the shared backbone, or the task's own)."""
    backbones = getattr(net, "backbones", None)
    backbone = backbones[task] if backbones is not None else net.backbone
    return backbone.model


def vit_reshape(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the transform from ViT tokens (N, prefix + H*W, D) to a feature map (N, D, H, W)."""
    prefix = int(model.num_prefix_tokens)
    height, width = (int(v) for v in model.patch_embed.grid_size)

    def reshape(tokens: torch.Tensor) -> torch.Tensor:
        grid = tokens[:, prefix:, :]
        return grid.reshape(grid.size(0), height, width, grid.size(2)).permute(0, 3, 1, 2)

    return reshape


def target_layer(model: nn.Module, image_size: int, min_grid: int | None = None
                 ) -> tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor] | None]:
    """Return the layer to explain in timm `model` and the reshape its output needs (None for a CNN).

    `min_grid` None: `gradcam.min_grid` of conf/inference/gradcam.yaml.
    """
    min_grid = int(min_grid if min_grid is not None else default("gradcam.min_grid"))
    if getattr(model, "num_prefix_tokens", None) is not None and hasattr(model, "blocks"):
        return model.blocks[-1].norm1, vit_reshape(model)
    stages = list(model.feature_info)
    fine_enough = [s for s in stages if image_size // int(s["reduction"]) >= min_grid] or stages[:1]
    return model.get_submodule(fine_enough[-1]["module"]), None


class Explainer:
    """Grad-CAM maps for every head of a trained network, over uint8 face crops."""

    def __init__(self, net: nn.Module, classes: Mapping[str, list[str]], has_age: bool, image_size: int,
                 min_grid: int | None = None) -> None:
        """Create an explainer.

        Args:
            net: the trained network (`load_run(run).module.net`).
            classes: class names per classification task.
            has_age: whether the network has an age head.
            image_size: side of the square crops it takes.
            min_grid: least cells across the explained CNN feature map (None: `gradcam.min_grid`'s default).
        """
        self.net = net.eval()
        self.classes = dict(classes)
        self.tasks = ([AGE] if has_age else []) + list(self.classes)
        self.image_size = int(image_size)
        self.min_grid = int(min_grid if min_grid is not None else default("gradcam.min_grid"))

    def _cam(self, task: str, images: torch.Tensor, targets: list[int]) -> np.ndarray:
        layer, reshape = target_layer(task_backbone(self.net, task), self.image_size, self.min_grid)
        with GradCAM(model=TaskOutput(self.net, task), target_layers=[layer], reshape_transform=reshape) as cam:
            maps = cam(input_tensor=images, targets=[ClassifierOutputTarget(t) for t in targets])
        return maps.astype(np.float32)

    def explain(self, crops: np.ndarray) -> list[list[Heatmap]]:
        """Return, per uint8 crop (N, S, S, 3), one heat-map per task (S, S) with values in [0, 1].

        Each class head's map explains that crop's own most probable class; one backward pass per task.
        """
        images = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float()
        with torch.no_grad():
            outputs = self.net(images)
        result: list[list[Heatmap]] = [[] for _ in range(len(crops))]
        for task in self.tasks:
            best = [0] * len(crops) if task == AGE else outputs[task].argmax(dim=-1).tolist()
            maps = self._cam(task, images, best)
            for k, index in enumerate(best):
                label = None if task == AGE else self.classes[task][index]
                result[k].append(Heatmap(task, label, maps[k]))
        return result


def overlay(crop: np.ndarray, cam: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """Return the heat-map drawn over the RGB uint8 crop (jet colours), RGB uint8."""
    return show_cam_on_image(crop.astype(np.float32) / 255.0, cam, use_rgb=True, image_weight=1.0 - weight)
