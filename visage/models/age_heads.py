"""Age heads: each owns its output layer, its loss and how raw outputs decode to years."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

REGRESSION_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss, "smooth_l1": F.smooth_l1_loss}


def weighted_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Return the mean of per-sample `values`, weighted by `weight` when given."""
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum().clamp_min(1e-12)


class AgeHead(nn.Module):
    """Base class: `forward` gives raw outputs, `loss` compares them with ages, `decode` gives years."""

    def sample_loss(self, raw: torch.Tensor, age: torch.Tensor) -> torch.Tensor:
        """Return the training loss of each sample (N,) for raw outputs against ages in years."""
        raise NotImplementedError

    def loss(self, raw: torch.Tensor, age: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Return the scalar training loss for raw outputs against ages in years (weighted mean if `weight`)."""
        return weighted_mean(self.sample_loss(raw, age), weight)

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Return the predicted age in years (N,) for raw outputs."""
        raise NotImplementedError


class RegressionAgeHead(AgeHead):
    """One linear output read as years (around `offset`, in units of `scale`), trained with L1/MSE."""

    def __init__(self, in_features: int, loss: Literal["l1", "mse", "smooth_l1"] = "l1",
                 offset: float = 35.0, scale: float = 20.0) -> None:
        super().__init__()
        if loss not in REGRESSION_LOSSES:
            raise ValueError(f"unknown regression loss '{loss}'; available: {', '.join(REGRESSION_LOSSES)}")
        self.fc = nn.Linear(in_features, 1)
        self.loss_fn = REGRESSION_LOSSES[loss]
        self.offset, self.scale = offset, scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return raw outputs (N,)."""
        return self.fc(features).squeeze(-1)

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Return ages in years."""
        return raw * self.scale + self.offset

    def sample_loss(self, raw: torch.Tensor, age: torch.Tensor) -> torch.Tensor:
        """Return each sample's loss in years (so loss weights are in the units users know from papers)."""
        return self.loss_fn(self.decode(raw), age, reduction="none")


class CoralAgeHead(AgeHead):
    """Ordinal regression (CORAL, Cao et al. 2020): one shared weight, one bias per age threshold.

    The k-th logit says "age > k"; the decoded age is the sum of threshold probabilities.
    """

    def __init__(self, in_features: int, max_age: int = 100) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, 1, bias=False)
        self.thresholds = nn.Parameter(torch.linspace(2.0, -2.0, max_age))
        self.max_age = max_age

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return threshold logits (N, max_age)."""
        return self.fc(features) + self.thresholds

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Return the expected age in years."""
        return torch.sigmoid(raw).sum(dim=-1)

    def sample_loss(self, raw: torch.Tensor, age: torch.Tensor) -> torch.Tensor:
        """Return each sample's CORAL loss: binary cross-entropy summed over thresholds."""
        levels = (age.unsqueeze(-1) > torch.arange(self.max_age, device=age.device)).float()
        return F.binary_cross_entropy_with_logits(raw, levels, reduction="none").sum(dim=-1)
