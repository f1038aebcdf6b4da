"""timm backbones by name (any registry name, with a weights tag, or `hf-hub:`), pretrained weights opt-in.

Weights come from `backbone.checkpoint_path` (a local file), or with `backbone.pretrained=true` from the
Hugging Face hub and its cache, as timm loads them (see `visage.models.pretrained`). Nothing else
reaches the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import timm
import torch
from torch import nn

from visage.models.pretrained import HF_HUB_PREFIX, Weights, resolve_source, resolve_weights

NOT_MODEL_ARGS = ("num_classes", "pretrained_cfg", "pretrained_cfg_overlay")  # set here, never from a hub config


class Backbone(nn.Module):
    """A timm feature extractor that takes uint8 images and normalises them itself.

    `mean`/`std` come from timm's own data config for the model (its weights' pretrained config), not
    from copied numbers. `weights` is the identity of the pretrained weights it started from, if any.
    """

    def __init__(self, model: nn.Module, channels_last: bool = False, weights: Weights | None = None) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.weights = weights
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
                    channels_last: bool = False, pretrained_cfg: Mapping[str, Any] | None = None,
                    **model_kwargs: Any) -> Backbone:
    """Return the timm model `name` without classifier.

    Weights: `checkpoint_path` (a local file) if given; else with `pretrained` timm's published weights
    from the Hugging Face hub or its cache (`HF_HUB_OFFLINE=1`: the cache only); else random.
    `pretrained_cfg` replaces timm's pretrained config (a rebuilt `hf-hub:` backbone carries its hub's).
    `channels_last` speeds up some CNNs on CPU (mobilenetv3: ~3x).

    Raises:
        ConfigError: unknown name or tag, missing `checkpoint_path`, or weights neither cached nor reachable.
    """
    weights = resolve_weights(name, checkpoint_path) if (pretrained or checkpoint_path) else None
    source = resolve_source(name, allow_network=bool(pretrained))
    kwargs = {**{k: v for k, v in source.model_args.items() if k not in NOT_MODEL_ARGS}, **model_kwargs}
    cfg = dict(pretrained_cfg) if pretrained_cfg is not None else (source.pretrained_cfg if source.is_hub_name else None)
    model_name = source.architecture if source.is_hub_name else name
    model = timm.create_model(model_name, pretrained=weights is not None, pretrained_cfg=cfg,
                              pretrained_cfg_overlay={"file": weights.file} if weights else None, num_classes=0,
                              **kwargs)
    return Backbone(model, channels_last=channels_last, weights=weights)


def standalone_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return a backbone config that rebuilds the same network with no weights file and no network access.

    `pretrained=false` and no `checkpoint_path` (a checkpoint holds the trained weights); an `hf-hub:`
    name becomes its architecture plus the hub's pretrained config and model arguments (so the
    normalisation stays that of the weights).
    """
    out = {**spec, "pretrained": False, "checkpoint_path": None}
    name = str(spec.get("name", ""))
    if name.startswith(HF_HUB_PREFIX):
        source = resolve_source(name, allow_network=False)
        out.update({"name": source.architecture, "pretrained_cfg": _plain(source.pretrained_cfg),
                    **{k: _plain(v) for k, v in source.model_args.items() if k not in spec and k not in NOT_MODEL_ARGS}})
    return out


def _plain(value: Any) -> Any:
    """Return `value` with tuples as lists (checkpoint hyperparameters hold plain containers only)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
