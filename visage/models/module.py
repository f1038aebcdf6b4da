"""The LightningModule: multi-task losses, torchmetrics per split, optimiser and schedule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torch import nn
from torchmetrics import MeanAbsoluteError, Metric
from torchmetrics.classification import MulticlassAccuracy

from visage.core.errors import ConfigError, unknown_choice
from visage.core.names import AGE, SPLITS, TASKS
from visage.core.run_files import write_json
from visage.models.age_heads import AgeHead, weighted_mean
from visage.models.group_dro import GROUP_WEIGHTS_FILE, GroupWeighting
from visage.models.rng import RNG_KEY, collect_rng_states, restore_rng_states

GROUP_WEIGHTING_KEY = "visage_group_weighting"
RUN_SPEC_KEY = "visage"  # the run spec in a checkpoint (read by visage.runner.load_run)


class NonFiniteLossError(ConfigError, FloatingPointError):
    """The loss became NaN or infinite, most often from too high a learning rate; the run stops with one line."""


class FaceAttributeModule(LightningModule):
    """Trains a network with an age head and classification heads (gender, race, ...).

    The total loss is the weighted sum of the task losses, weights from `loss_weights`
    (e.g. Face Facts' 0.001·age + gender + race). With a `group_weighting` (`loss=group_dro`), the
    training loss is what it makes of that sum per group of samples (e.g. group DRO's Σ_g q_g·loss_g);
    validation and test losses stay the plain mean. The final group weights are written to the run
    directory (`group_weights.json`).
    """

    def __init__(self, net: Callable[..., nn.Module], age_head: Callable[..., AgeHead] | None,
                 num_classes: Mapping[str, int], loss_weights: Mapping[str, float],
                 optimizer: Callable[..., torch.optim.Optimizer],
                 scheduler: Callable[..., Any] | None = None, group_weighting: GroupWeighting | None = None) -> None:
        super().__init__()
        self.group_weighting = group_weighting
        self.net = net(age_head=age_head, num_classes=dict(num_classes))
        self.tasks = list(self.net.heads.keys())
        for task in loss_weights:
            if task not in TASKS:
                raise unknown_choice("task in loss.weights", task, TASKS)  # weights of absent tasks go unused
        self.loss_weights = {task: float(loss_weights.get(task, 1.0)) for task in self.tasks}
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        # ModuleDict keys may not shadow nn.Module attributes such as `train`, hence the suffix.
        self.metrics = nn.ModuleDict({f"{split}_metrics": self._make_metrics(num_classes) for split in SPLITS})
        self.run_spec: dict[str, Any] | None = None  # set by the runner; carried by every checkpoint

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Carry the run spec (resolved config, class names, preprocessing) and the global random state.

        `load_run` then needs nothing else, and a resumed run draws what an uninterrupted one would
        (Lightning restores the loops and optimiser, not the global RNGs).
        """
        if self.run_spec is not None:
            checkpoint[RUN_SPEC_KEY] = self.run_spec
        checkpoint[RNG_KEY] = collect_rng_states()
        if self.group_weighting is not None and self.group_weighting.is_set_up:
            checkpoint[GROUP_WEIGHTING_KEY] = self.group_weighting.state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the global random state (and group weights) saved with the checkpoint (resume)."""
        if RNG_KEY in checkpoint:
            restore_rng_states(checkpoint[RNG_KEY])
        if self.group_weighting is not None and GROUP_WEIGHTING_KEY in checkpoint:
            self.group_weighting.load_state(checkpoint[GROUP_WEIGHTING_KEY])

    def setup(self, stage: str) -> None:
        """Before fitting, let the group weighting look up each training sample's group in the datamodule."""
        if stage == "fit" and self.group_weighting is not None:
            self.group_weighting.setup(self.trainer.datamodule)

    def on_train_epoch_start(self) -> None:
        """Start the group weighting's per-group loss tally of this epoch."""
        if self.group_weighting is not None:
            self.group_weighting.new_epoch()

    def on_train_end(self) -> None:
        """Write the final group weights (and each group's last-epoch loss) into the run directory."""
        if self.group_weighting is not None and self.trainer.is_global_zero:
            write_json(Path(self.trainer.default_root_dir) / GROUP_WEIGHTS_FILE, self.group_weighting.record())

    def _make_metrics(self, num_classes: Mapping[str, int]) -> nn.ModuleDict:
        metrics: dict[str, Metric] = {f"{task}_acc": MulticlassAccuracy(n, average="micro")
                                      for task, n in num_classes.items()}
        if AGE in self.tasks:
            metrics["age_mae"] = MeanAbsoluteError()
        return nn.ModuleDict(metrics)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return raw outputs per task."""
        return self.net(images)

    def _task_loss(self, task: str, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor],
                   weight: torch.Tensor | None) -> torch.Tensor:
        """Return the (weighted mean) loss of one task over a batch."""
        if task == AGE:
            return self.net.heads[AGE].loss(outputs[AGE], batch[AGE], weight)
        return weighted_mean(F.cross_entropy(outputs[task], batch[task], reduction="none"), weight)

    def batch_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor],
                   weight: torch.Tensor | None) -> torch.Tensor:
        """Return Σ_task loss_weight·loss over a batch, samples weighted by `weight` (what a group weighting weighs)."""
        return sum((self.loss_weights[task] * self._task_loss(task, outputs, batch, weight) for task in self.tasks),
                   torch.zeros((), device=batch["image"].device))

    def _step(self, batch: dict[str, torch.Tensor], split: str) -> torch.Tensor:
        outputs = self(batch["image"])
        weight = batch.get("weight")
        total = torch.zeros((), device=batch["image"].device)
        losses: dict[str, torch.Tensor] = {}
        for task in self.tasks:
            loss = self._task_loss(task, outputs, batch, weight)
            if task == AGE:
                self.metrics[f"{split}_metrics"]["age_mae"].update(self.net.heads[AGE].decode(outputs[AGE].detach()), batch[AGE])
            else:
                self.metrics[f"{split}_metrics"][f"{task}_acc"].update(outputs[task].detach(), batch[task])
            self.log(f"{split}/{task}_loss", loss, on_step=False, on_epoch=True)
            losses[task] = loss.detach()
            total = total + self.loss_weights[task] * loss
        if split == "train" and self.group_weighting is not None:
            self.log("train/mean_loss", total, on_step=False, on_epoch=True)
            total = self.group_weighting(lambda w: self.batch_loss(outputs, batch, w), batch["index"], weight)
        if not torch.isfinite(total):
            raise self._non_finite(split, total, losses)
        self.log(f"{split}/loss", total, on_step=False, on_epoch=True, prog_bar=split != "train")
        for name, metric in self.metrics[f"{split}_metrics"].items():
            self.log(f"{split}/{name}", metric, on_step=False, on_epoch=True, prog_bar=split != "train")
        return total

    def _non_finite(self, split: str, total: torch.Tensor, losses: Mapping[str, torch.Tensor]) -> NonFiniteLossError:
        """Return the one-line error for a NaN/inf loss: which loss, which step, what to try."""
        bad = {task: float(v) for task, v in losses.items() if not torch.isfinite(v)} or \
            {task: float(v) for task, v in losses.items()}
        parts = ", ".join(f"{task}_loss={value:g}" for task, value in bad.items())
        lr = getattr(self.optimizer_factory, "keywords", {}).get("lr")
        hint = f"model.optimizer.lr={lr:g} now" if isinstance(lr, (int, float)) else "model.optimizer.lr"
        return NonFiniteLossError(
            f"{split} loss became {float(total.detach()):g} ({parts}) at step {self.global_step}, epoch {self.current_epoch}; "
            f"the run is stopped and no metrics are written: lower the learning rate ({hint}) or check the data"
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Return the weighted multi-task loss of one training batch."""
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Log validation losses and metrics."""
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Log test losses and metrics."""
        self._step(batch, "test")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        """Return decoded predictions: age in years and class probabilities per classification task."""
        outputs = self(batch["image"])
        result = {"index": batch["index"]}
        for task in self.tasks:
            if task == AGE:
                result[AGE] = self.net.heads[AGE].decode(outputs[AGE])
            else:
                result[task] = outputs[task].softmax(dim=-1)
        return result

    def configure_optimizers(self) -> dict[str, Any]:
        """Return the optimiser and, if configured, a per-step schedule over the whole run."""
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        scheduler = self.scheduler_factory(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
