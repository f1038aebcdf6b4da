"""Networks mapping images to per-task raw outputs: one shared backbone, or one per task."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from visage.core.names import AGE
from visage.models.age_heads import AgeHead
from visage.models.backbone import Backbone


def _heads(in_features: int, age_head: Callable[..., AgeHead] | None,
           num_classes: Mapping[str, int]) -> nn.ModuleDict:
    heads: dict[str, nn.Module] = {task: nn.Linear(in_features, n) for task, n in num_classes.items()}
    if age_head is not None:
        heads[AGE] = age_head(in_features=in_features)
    return nn.ModuleDict(heads)


class SharedBackboneNet(nn.Module):
    """One backbone shared by all tasks, with a head per task (age and the classifiers)."""

    def __init__(self, backbone: Callable[[], Backbone], age_head: Callable[..., AgeHead] | None,
                 num_classes: Mapping[str, int]) -> None:
        super().__init__()
        self.backbone = backbone()
        self.heads = _heads(self.backbone.num_features, age_head, num_classes)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return raw outputs per task for uint8 images (N, 3, H, W)."""
        features = self.backbone(images)
        return {task: head(features) for task, head in self.heads.items()}


class SeparateBackbonesNet(nn.Module):
    """One backbone per task (as Face Facts compares with the joint model)."""

    def __init__(self, backbone: Callable[[], Backbone], age_head: Callable[..., AgeHead] | None,
                 num_classes: Mapping[str, int]) -> None:
        super().__init__()
        tasks = list(num_classes) + ([AGE] if age_head is not None else [])
        self.backbones = nn.ModuleDict({task: backbone() for task in tasks})
        in_features = next(iter(self.backbones.values())).num_features
        self.heads = _heads(in_features, age_head, num_classes)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return raw outputs per task, each from its own backbone."""
        return {task: head(self.backbones[task](images)) for task, head in self.heads.items()}


def backbone_modules(net: nn.Module) -> list[Backbone]:
    """Return the backbone(s) of a network: its shared one, or one per task."""
    return [m for m in net.modules() if isinstance(m, Backbone)]
