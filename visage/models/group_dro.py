"""Worst-group training: group DRO (Sagawa et al., 2020), chosen with `loss=group_dro`.

The module asks its group weighting for the training loss of a batch instead of taking the plain mean,
handing it each sample's (task-weighted) loss, computed once:
`GroupDRO` keeps one weight q_g per group (uniform at the start) and after every batch moves them by
exponentiated gradient on the groups' losses, q_g ← q_g·exp(eta·loss_g), then normalises; the loss
trained on is Σ_g q_g·loss_g, so the group that keeps losing most is weighted up online. Groups are any
label column of the training split, or an intersection of them (`race`, `race*age_bin`); each sample's
group is looked up by its `batch["index"]` in a tensor prepared once from the datamodule's labels.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from visage.core.errors import ConfigError, unknown_choice

GROUP_WEIGHTS_FILE = "group_weights.json"
ABSENT = ("zero", "keep")


class GroupSource(Protocol):
    """What a group weighting needs from the data side: each dataset sample's group (the datamodule)."""

    def group_ids(self, by: str) -> tuple[np.ndarray, list[str]]:
        """Return the group index of every dataset sample (-1: none of training's groups) and the group names."""
        ...


class GroupWeighting(nn.Module):
    """Base of the group weightings: per-group losses of a batch, weights q over groups, loss Σ_g q_g·loss_g.

    Subclasses say how the weights move (`update`). The base looks up groups, tallies each group's loss
    per epoch, and saves, restores and records the weights.

    Args:
        by: the grouping: a label column (`race`, `gender`, `age_bin`, ...) or columns joined by `*`.
    """

    method = "uniform"

    def __init__(self, by: str = "race") -> None:
        super().__init__()
        if not by or not isinstance(by, str):
            raise ConfigError(f"loss.group_dro.by={by!r} must name label columns, e.g. race or race*age_bin")
        self.by = by
        self.names: list[str] = []
        self.register_buffer("group_of", torch.zeros(0, dtype=torch.long), persistent=False)
        self.register_buffer("q", torch.zeros(0), persistent=False)
        self.register_buffer("epoch_loss", torch.zeros(0), persistent=False)    # Σ over batches of loss_g
        self.register_buffer("epoch_batches", torch.zeros(0), persistent=False)  # batches that held group g
        self.register_buffer("q_sum", torch.zeros(0), persistent=False)  # Σ over steps of q (for the run's mean)
        self.steps = 0
        self.train_counts: list[int] = []
        self._pending: dict[str, Any] | None = None

    @property
    def is_set_up(self) -> bool:
        """Whether the groups are known (after `setup`)."""
        return bool(self.names)

    def setup(self, source: GroupSource) -> None:
        """Look up every sample's group once; start from uniform weights (or the restored ones)."""
        group_of, names = source.group_ids(self.by)
        if not names:
            raise ConfigError(f"loss.group_dro.by={self.by} gives no group in the training split")
        device = self.q.device
        self.names = list(names)
        self.group_of = torch.as_tensor(group_of, dtype=torch.long, device=device)
        self.q = torch.full((len(names),), 1.0 / len(names), device=device)
        self.q_sum, self.steps = torch.zeros(len(names), device=device), 0
        self.train_counts = [int(n) for n in np.bincount(group_of[group_of >= 0], minlength=len(names))]
        self.new_epoch()
        if self._pending is not None:
            self.load_state(self._pending)
            self._pending = None

    def new_epoch(self) -> None:
        """Start the per-group loss tally of a new epoch."""
        self.epoch_loss = torch.zeros(len(self.names), device=self.q.device)
        self.epoch_batches = torch.zeros(len(self.names), device=self.q.device)

    def forward(self, sample_loss: torch.Tensor, index: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
        """Return the robust loss of one training batch and update the group weights.

        Args:
            sample_loss: each sample's (task-weighted) loss (N,); a group's loss is its weighted mean over the group.
            index: the batch's dataset indices (`batch["index"]`).
            weight: the samplers' per-sample loss weights, if any; kept inside each group's mean.
        """
        if not self.is_set_up:
            raise RuntimeError("GroupDRO.setup(datamodule) must run before training (FaceAttributeModule.setup does)")
        groups = self.group_of[index.to(self.group_of.device)].to(index.device)
        base = torch.ones(len(index), device=index.device) if weight is None else weight.float()
        member = groups >= 0
        n = len(self.names)
        weighted = torch.zeros(n, device=index.device, dtype=sample_loss.dtype).index_add(
            0, groups[member], (base * sample_loss)[member])
        mass = torch.zeros(n, device=index.device, dtype=base.dtype).index_add(0, groups[member], base[member])
        present = torch.unique(groups[member])
        group_loss = torch.zeros(n, device=index.device, dtype=sample_loss.dtype)
        group_loss = group_loss.index_put((present,), weighted[present] / mass[present].clamp_min(1e-12))
        with torch.no_grad():
            self.q = self.update(self.q.to(group_loss.device), group_loss.detach(), present)
            self.q_sum = self.q_sum.to(self.q.device) + self.q
            self.steps += 1
            self.epoch_loss += group_loss.detach()
            self.epoch_batches[present] += 1
        return (self.q * group_loss).sum()

    def update(self, q: torch.Tensor, group_loss: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Return the new group weights given the batch's group losses (0 for the groups not `present`; base: unchanged)."""
        return q

    def settings(self) -> dict[str, Any]:
        """Return the settings the record names besides the method."""
        return {"by": self.by}

    def state(self) -> dict[str, Any]:
        """Return the group weights (saved in checkpoints, so a resumed run goes on from them)."""
        return {"names": list(self.names), "q": self.q.detach().cpu().tolist(),
                "q_sum": self.q_sum.detach().cpu().tolist(), "steps": self.steps}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore the group weights of an interrupted run (before `setup`: kept until it runs)."""
        if not self.is_set_up:
            self._pending = state
            return
        if list(state["names"]) != self.names:
            raise ConfigError(f"the checkpoint's groups {state['names']} differ from this run's {self.names}")
        self.q = torch.as_tensor(state["q"], dtype=self.q.dtype, device=self.q.device)
        self.q_sum = torch.as_tensor(state["q_sum"], dtype=self.q.dtype, device=self.q.device)
        self.steps = int(state["steps"])

    def record(self) -> dict[str, Any]:
        """Return what the run records per group: final weight, mean weight over steps, training count, last epoch's loss.

        The last epoch's loss of a group is the mean, over the batches that held it, of its batch loss.
        """
        mean_loss = (self.epoch_loss / self.epoch_batches.clamp_min(1)).cpu().tolist()
        mean_q = (self.q_sum / max(self.steps, 1)).cpu().tolist()
        columns = zip(self.names, self.q.cpu().tolist(), mean_q, self.train_counts, mean_loss,
                      self.epoch_batches.cpu().tolist())
        return {"method": self.method, **self.settings(), "steps": self.steps,
                "groups": {name: {"weight": float(q), "mean_weight": float(m), "n_train": n,
                                  "last_epoch_loss": float(loss) if seen else None}
                           for name, q, m, n, loss, seen in columns}}



class GroupDRO(GroupWeighting):
    """Online group DRO (Sagawa et al., 2020): q_g ← q_g·exp(eta·loss_g), normalised, before each step.

    Args:
        by: the grouping: a label column (`race`, `gender`, `age_bin`, ...) or columns joined by `*`.
        eta: step size of the exponentiated-gradient update (Sagawa et al. use 0.01; 0 keeps q uniform).
        absent: a group missing from a batch counts with loss 0 (`zero`, the authors' code), so it loses
            weight against the present ones — rare groups (small cells of `race*age_bin`) drift down;
            or keeps its weight against them (`keep`: the present groups' losses are centred on their
            q-weighted mean, which leaves their ratios as `zero` has them).
    """

    method = "group_dro"

    def __init__(self, by: str = "race", eta: float = 0.01, absent: Literal["zero", "keep"] = "zero") -> None:
        super().__init__(by)
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or eta < 0:
            raise ConfigError(f"loss.group_dro.eta={eta} must be a number >= 0 (the step size of the group weights)")
        if absent not in ABSENT:
            raise unknown_choice("loss.group_dro.absent", absent, ABSENT)
        self.eta, self.absent = float(eta), absent

    def update(self, q: torch.Tensor, group_loss: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Return q·exp(eta·loss), normalised (losses of present groups centred first with `absent=keep`)."""
        step = group_loss.clone()
        if self.absent == "keep" and len(present):
            step[present] -= (q[present] * group_loss[present]).sum() / q[present].sum()
        q = q * torch.exp(self.eta * step)
        return q / q.sum()

    def settings(self) -> dict[str, Any]:
        """Return the grouping, the step size and the rule for absent groups."""
        return {"by": self.by, "eta": self.eta, "absent": self.absent}
