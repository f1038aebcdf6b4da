"""The LightningModule: multi-task losses, torchmetrics per split, optimiser and schedule."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from lightning.pytorch import LightningModule
from omegaconf import OmegaConf
from torch import nn
from torchmetrics import MeanAbsoluteError, Metric
from torchmetrics.classification import MulticlassAccuracy

from visage.core.errors import ConfigError, unknown_choice
from visage.core.names import AGE, SPLITS, TASKS
from visage.core.run_files import write_json
from visage.models.age_heads import weighted_mean
from visage.models.backbone import standalone_spec
from visage.models.group_dro import GROUP_WEIGHTS_FILE
from visage.models.networks import backbone_modules
from visage.models.rng import RNG_KEY, collect_rng_states, restore_rng_states

GROUP_WEIGHTING_KEY = "visage_group_weighting"
RUN_SPEC_KEY = "visage"  # the run spec in a checkpoint (read by visage.runner.load_run)


class NonFiniteLossError(ConfigError, FloatingPointError):
    """The loss became NaN or infinite, most often from too high a learning rate; the run stops with one line."""


Spec = Mapping[str, Any]  # a `_target_` config as plain values (or a DictConfig, converted on arrival)


def plain(value: Any) -> Any:
    """Return a config node as plain containers (dicts, lists, numbers, strings), resolved."""
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def backbone_specs(node: Any) -> list[dict[str, Any]]:
    """Return every backbone spec (a `_target_` dict with `pretrained`) inside a plain model config."""
    if isinstance(node, dict):
        own = [node] if "pretrained" in node and "_target_" in node else []
        return own + [b for value in node.values() for b in backbone_specs(value)]
    if isinstance(node, list):
        return [b for value in node for b in backbone_specs(value)]
    return []


def standalone(hparams: dict[str, Any]) -> dict[str, Any]:
    """Return hyperparameters that rebuild the module with no weights file and no network access.

    Every backbone spec says `pretrained=false` (the checkpoint holds its trained weights).
    """
    import copy

    out = copy.deepcopy(hparams)
    for spec in backbone_specs(out):
        spec.update(standalone_spec(spec))
    return out


class FaceAttributeModule(LightningModule):
    """Trains a network with an age head and classification heads (gender, race, ...).

    Every part is given as a `_target_` config (plain dicts, as `model=` configs hold them) and built here,
    so the hyperparameters a checkpoint saves rebuild the module alone:
    `FaceAttributeModule.load_from_checkpoint("checkpoints/best.ckpt")` needs neither the Hydra config
    nor the pretrained weights (the saved backbone says `pretrained=false`).

    The total loss is the weighted sum of the task losses, weights from `loss_weights`
    (e.g. Face Facts' 0.001·age + gender + race). With a `group_weighting` (`loss=group_dro`), the
    training loss is what it makes of that sum per group of samples (e.g. group DRO's Σ_g q_g·loss_g);
    validation and test losses stay the plain mean. The final group weights are written to the run
    directory (`group_weights.json`).

    Args:
        net: the network (`SharedBackboneNet` or `SeparateBackbonesNet` with its `backbone`), a partial config.
        age_head: the age head (a partial config), None without age labels.
        num_classes: classes per classification task.
        loss_weights: weight of each task's loss.
        optimizer: the optimiser (a partial config, given the parameter groups).
        scheduler: the per-step learning-rate schedule (a partial config taking `total_steps`), if any.
        group_weighting: the group weighting of the training loss (`loss=group_dro`), if any.
        backbone_lr_scale: the backbone's learning rate as a share of the heads' (a parameter group each).
        freeze_backbone_epochs: epochs at the start during which the backbone is frozen (eval mode, no gradients).
    """

    def __init__(self, net: Spec, age_head: Spec | None, num_classes: Mapping[str, int], loss_weights: Mapping[str, float],
                 optimizer: Spec, scheduler: Spec | None = None, group_weighting: Spec | None = None,
                 backbone_lr_scale: float = 1.0, freeze_backbone_epochs: int = 0) -> None:
        super().__init__()
        hparams = {"net": plain(net), "age_head": plain(age_head), "num_classes": dict(plain(num_classes)),
                   "loss_weights": dict(plain(loss_weights)), "optimizer": plain(optimizer),
                   "scheduler": plain(scheduler), "group_weighting": plain(group_weighting),
                   "backbone_lr_scale": float(backbone_lr_scale), "freeze_backbone_epochs": int(freeze_backbone_epochs)}
        if not 0 < hparams["backbone_lr_scale"] <= 1e3:
            raise ConfigError(f"model.backbone_lr_scale={backbone_lr_scale} must be > 0 (the backbone's share of the lr)")
        if hparams["freeze_backbone_epochs"] < 0:
            raise ConfigError(f"model.freeze_backbone_epochs={freeze_backbone_epochs} must be >= 0")
        self.group_weighting = instantiate(hparams["group_weighting"]) if hparams["group_weighting"] else None
        age = instantiate(hparams["age_head"]) if hparams["age_head"] else None
        self.net = instantiate(hparams["net"])(age_head=age, num_classes=hparams["num_classes"])
        self.save_hyperparameters(standalone(hparams), logger=False)  # the run logs its whole config itself
        self.tasks = list(self.net.heads.keys())
        for task in hparams["loss_weights"]:
            if task not in TASKS:
                raise unknown_choice("task in loss.weights", task, TASKS)  # weights of absent tasks go unused
        self.loss_weights = {task: float(hparams["loss_weights"].get(task, 1.0)) for task in self.tasks}
        self.optimizer_factory = instantiate(hparams["optimizer"])
        self.scheduler_factory = instantiate(hparams["scheduler"]) if hparams["scheduler"] else None
        self.backbone_lr_scale = hparams["backbone_lr_scale"]
        self.freeze_backbone_epochs = hparams["freeze_backbone_epochs"]
        # ModuleDict keys may not shadow nn.Module attributes such as `train`, hence the suffix.
        self.metrics = nn.ModuleDict({f"{split}_metrics": self._make_metrics(hparams["num_classes"]) for split in SPLITS})
        self.run_spec: dict[str, Any] | None = None  # set by the runner; carried by every checkpoint

    @property
    def pretrained_weights(self) -> dict[str, Any] | None:
        """Return the identity of the pretrained weights the backbone started from (None: random init)."""
        weights = [b.weights for b in backbone_modules(self.net) if getattr(b, "weights", None) is not None]
        return weights[0].identity() if weights else None

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
        """Take the run spec; on resume (a trainer attached), restore the random state and group weights saved with it.

        `load_from_checkpoint` leaves the caller's random state alone.
        """
        self.run_spec = checkpoint.get(RUN_SPEC_KEY, self.run_spec)
        if self._trainer is None:
            return
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

    def sample_losses(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Return each task's per-sample loss (N,) over a batch, each computed once."""
        return {task: self.net.heads[AGE].sample_loss(outputs[AGE], batch[AGE]) if task == AGE
                else F.cross_entropy(outputs[task], batch[task], reduction="none") for task in self.tasks}

    def combined_sample_loss(self, sample_losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Return Σ_task loss_weight·loss per sample (N,): what a group weighting averages within each group."""
        return sum((self.loss_weights[task] * loss for task, loss in sample_losses.items()),
                   torch.zeros_like(next(iter(sample_losses.values()))))

    def batch_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor],
                   weight: torch.Tensor | None) -> torch.Tensor:
        """Return Σ_task loss_weight·loss over a batch, samples weighted by `weight` (a weighted mean)."""
        return weighted_mean(self.combined_sample_loss(self.sample_losses(outputs, batch)), weight)

    def _step(self, batch: dict[str, torch.Tensor], split: str) -> torch.Tensor:
        outputs = self(batch["image"])
        weight = batch.get("weight")
        per_sample = self.sample_losses(outputs, batch)
        total = torch.zeros((), device=batch["image"].device)
        losses: dict[str, torch.Tensor] = {}
        for task in self.tasks:
            loss = weighted_mean(per_sample[task], weight)
            if task == AGE:
                self.metrics[f"{split}_metrics"]["age_mae"].update(self.net.heads[AGE].decode(outputs[AGE].detach()), batch[AGE])
            else:
                self.metrics[f"{split}_metrics"][f"{task}_acc"].update(outputs[task].detach(), batch[task])
            self.log(f"{split}/{task}_loss", loss, on_step=False, on_epoch=True)
            losses[task] = loss.detach()
            total = total + self.loss_weights[task] * loss
        if split == "train" and self.group_weighting is not None:
            self.log("train/mean_loss", total, on_step=False, on_epoch=True)
            total = self.group_weighting(self.combined_sample_loss(per_sample), batch["index"], weight)
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
        """Return decoded predictions: age in years and class probabilities per classification task.

        Always in 32-bit, also after bf16 mixed-precision training: the run is scored on what `visage.predict`,
        the API and the exported model compute.
        """
        with torch.autocast(self.device.type, enabled=False):
            outputs = self(batch["image"])
        result = {"index": batch["index"]}
        for task in self.tasks:
            if task == AGE:
                result[AGE] = self.net.heads[AGE].decode(outputs[AGE])
            else:
                result[task] = outputs[task].softmax(dim=-1)
        return result

    def _backbone_frozen(self) -> bool:
        return self.current_epoch < self.freeze_backbone_epochs

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Keep a frozen backbone (`freeze_backbone_epochs`) in eval mode with no gradients; unfreeze it after."""
        if not self.freeze_backbone_epochs:
            return
        frozen = self._backbone_frozen()
        for backbone in backbone_modules(self.net):
            backbone.requires_grad_(not frozen)
            if frozen:
                backbone.eval()

    def parameter_groups(self) -> list[dict[str, Any]]:
        """Return the optimiser's parameter groups: the heads, and the backbone with `lr_scale` = `backbone_lr_scale`."""
        backbone_ids = {id(p) for b in backbone_modules(self.net) for p in b.parameters()}
        backbone = [p for p in self.parameters() if id(p) in backbone_ids]
        heads = [p for p in self.parameters() if id(p) not in backbone_ids]
        groups = [{"params": heads, "name": "heads", "lr_scale": 1.0}]
        if backbone:
            groups.append({"params": backbone, "name": "backbone", "lr_scale": self.backbone_lr_scale})
        return groups

    def configure_optimizers(self) -> dict[str, Any]:
        """Return the optimiser (heads at the configured lr, the backbone at `backbone_lr_scale` of it) and its schedule."""
        optimizer = self.optimizer_factory(params=self.parameter_groups())
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * group["lr_scale"]
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        scheduler = self.scheduler_factory(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
