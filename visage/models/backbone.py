"""timm backbones by name, with pretrained weights only from a local file (no hub access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from visage.core.errors import ConfigError


class Backbone(nn.Module):
    """A timm feature extractor that takes uint8 images and normalises them itself.

    `mean`/`std` come from timm's own data config for the model, not from copied numbers.
    """

    def __init__(self, model: nn.Module, channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.model = model.to(memory_format=torch.channels_last) if channels_last else model
        data_config = timm.data.resolve_model_data_config(model)
        self.register_buffer("mean", torch.tensor(data_config["mean"]).view(1, -1, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(data_config["std"]).view(1, -1, 1, 1) * 255.0, persistent=False)
        # Some models (mobilenetv3) add a hidden layer after pooling; that is what the heads see.
        self.num_features: int = getattr(model, "head_hidden_size", None) or model.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return pooled features (N, num_features) for uint8 or float 0-255 images (N, 3, H, W)."""
        images = (images.float() - self.mean) / self.std
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.model(images)


def create_backbone(name: str, pretrained: bool = False, checkpoint_path: str | None = None,
                    channels_last: bool = False, **model_kwargs: Any) -> Backbone:
    """Return the timm model `name` without classifier, loading weights from `checkpoint_path` if given.

    Raises ConfigError for an unknown name, or for `pretrained` without a local file, since weights
    cannot be fetched from a hub here. `channels_last` speeds up some CNNs on CPU (mobilenetv3: ~3×).
    """
    if name not in timm.list_models():
        close = timm.list_models(f"*{name.split('_')[0]}*")[:10]
        raise ConfigError(f"unknown timm backbone '{name}'" + (f"; similar: {', '.join(close)}" if close else ""))
    overlay = None
    if pretrained:
        if not checkpoint_path:
            raise ConfigError(
                f"backbone.pretrained=true needs backbone.checkpoint_path (a local weights file for {name}); "
                "weights are never downloaded"
            )
        if not Path(checkpoint_path).is_file():
            raise ConfigError(f"backbone.checkpoint_path '{checkpoint_path}' does not exist")
        overlay = {"file": str(checkpoint_path)}
    model = timm.create_model(name, pretrained=pretrained, pretrained_cfg_overlay=overlay, num_classes=0,
                              **model_kwargs)
    return Backbone(model, channels_last=channels_last)

