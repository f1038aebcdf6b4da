"""Images/s of a visage training epoch against a bare PyTorch loop over the same model, data and batch.

Both run in this process, alternately, on the same DataLoader; the ratio (visage / bare, goal ≥ 0.9)
is what to compare across machines, since other load on the machine changes both timings.

    python bench/train_overhead.py [--samples 2048] [--repeats 2] [overrides ...]
"""

from __future__ import annotations

import argparse
import time

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from visage.core.names import AGE
from visage.runner.builders import build_datamodule, build_module
from visage.runner.cli import CONFIG_DIR, set_private_defaults


def bare_epoch(module: pl.LightningModule, loader: torch.utils.data.DataLoader) -> float:
    """Return images/s of one plain PyTorch epoch computing the same weighted multi-task loss."""
    net, heads = module.net, module.net.heads
    optimizer = module.optimizer_factory(params=module.parameters())
    net.train()
    start, seen = time.perf_counter(), 0
    for batch in loader:
        outputs = net(batch["image"])
        loss = module.loss_weights[AGE] * heads[AGE].loss(outputs[AGE], batch[AGE])
        for task in ("gender", "race"):
            loss = loss + module.loss_weights[task] * F.cross_entropy(outputs[task], batch[task])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(batch["image"])
    return seen / (time.perf_counter() - start)


def visage_epoch(module: pl.LightningModule, datamodule: pl.LightningDataModule) -> float:
    """Return images/s of one epoch of visage's Lightning training (no validation, no logger)."""
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, limit_val_batches=0, logger=False, callbacks=[],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         deterministic=True)
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    return len(datamodule.split_indices["train"]) / (time.perf_counter() - start)


def main() -> None:
    """Print images/s of both loops and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    set_private_defaults()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"data.n_samples={args.samples}", "logger=none", *args.overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = "/tmp/visage-bench"
    pl.seed_everything(0, workers=True)
    datamodule = build_datamodule(cfg)
    loader = datamodule.train_dataloader()
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_epoch(build_module(cfg, datamodule), loader))
        ours.append(visage_epoch(build_module(cfg, datamodule), datamodule))
    print(f"backbone={cfg.backbone.name} image_size={cfg.data.image_size} batch={cfg.datamodule.batch_size} "
          f"train_images={len(datamodule.split_indices['train'])}")
    print(f"bare PyTorch loop : {max(bare):7.1f} img/s (best of {args.repeats})")
    print(f"visage (Lightning): {max(ours):7.1f} img/s (best of {args.repeats})")
    print(f"ratio visage/bare : {max(ours) / max(bare):.3f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
