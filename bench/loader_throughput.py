"""Is training on real image files fed? Loader images/s on UTKFace-sized JPEGs against the model's training images/s.

Writes `--files` distinct 200×200 JPEGs named as UTKFace's aligned crops into a temporary folder, then,
in one process, under the run's own config (`data=utkface`, 224 px, `augmentation=basic`):

- the train loader's images/s with 0 and 2 worker processes (and 8 where a GPU is present), every image
  decoded from its file, resized and augmented (`data.cache_mb=0`: UTKFace at 224 px, 3.6 GB of pixels,
  does not fit the default 2 GB cache, so decoding is the steady state of a real run);
- the model's training images/s (ResNet-18 at 224 px, forward + backward + optimiser step) on a batch the
  loader made, on the CPU (and on the GPU in bf16 autocast where one is present);
- loader / model ratios: below 1 the model waits for data.

    python bench/loader_throughput.py [--files 384] [--batch-size 32] [--steps 3] [overrides ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from visage.runner.builders import build_datamodule, build_module
from visage.runner.cli import CONFIG_DIR

SIDE = 200  # UTKFace's aligned crops are 200×200


def make_folder(root: Path, n: int) -> int:
    """Write `n` distinct UTKFace-named 200×200 JPEGs with photo-like detail; return their total size in bytes."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(40, 215, SIDE, dtype=np.float32)
    total = 0
    for k in range(n):
        shade = rng.uniform(0.7, 1.3, 3).astype(np.float32)
        image = (ramp[:, None, None] * shade + ramp[None, ::-1, None] / 4 + rng.normal(0, 12, (SIDE, SIDE, 3)))
        ok, jpeg = cv2.imencode(".jpg", cv2.GaussianBlur(image.clip(0, 255).astype(np.uint8), (3, 3), 0))
        age, gender, race = 1 + k % 90, k % 2, k % 5
        path = root / f"{age}_{gender}_{race}_2017{k:013d}.jpg.chip.jpg"
        path.write_bytes(jpeg.tobytes())
        total += len(jpeg)
    return total


def config(root: Path, experiments: Path, overrides: list[str]) -> DictConfig:
    """Return the train config of a 224 px UTKFace run on `root`, images decoded on every use."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[
            "data=utkface", f"data.root={root}", "data.image_size=224", "data.cache_mb=0", "logger=none",
            f"paths.experiments_dir={experiments}", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(experiments / "run")
    return cfg


def loader_rate(cfg: DictConfig, workers: int, epochs: int, device: torch.device) -> float:
    """Return images/s of the train loader with `workers` processes, batches moved to `device` (after 2 warm-up batches)."""
    with open_dict(cfg):
        cfg.datamodule.num_workers = workers
        cfg.datamodule.pin_memory = device.type == "cuda"
    loader = build_datamodule(cfg).train_dataloader()
    seen, start = 0, 0.0
    for epoch in range(epochs):
        for k, batch in enumerate(loader):
            images = batch["image"].to(device, non_blocking=True)
            if epoch == 0 and k == 2:  # workers started, first batches out
                _sync(device)
                start, seen = time.perf_counter(), 0
            seen += len(images)
    _sync(device)
    return seen / (time.perf_counter() - start)


def model_rate(cfg: DictConfig, steps: int, device: torch.device) -> float:
    """Return training images/s of the configured model (forward, backward, step) on one loader batch on `device`."""
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule).to(device).train()
    optimizer = module.optimizer_factory(params=module.parameters())
    batch: dict[str, Any] = {k: v.to(device) for k, v in next(iter(datamodule.train_dataloader())).items()}
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    warmup = 1 if device.type == "cpu" else 5
    for k in range(steps + warmup):
        if k == warmup:
            _sync(device)
            start = time.perf_counter()
        with autocast:
            loss = module.batch_loss(module(batch["image"]), batch, None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _sync(device)
    return steps * len(batch["image"]) / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    """Measure and print the rates and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps of the model on the CPU")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the files per loader measurement")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as tmp:
        root, experiments = Path(tmp) / "UTKFace", Path(tmp) / "exp"
        root.mkdir()
        size = make_folder(root, args.files)
        print(f"{args.files} JPEGs of {SIDE}x{SIDE} ({size / args.files / 1024:.1f} kB each), resized to 224 px; "
              f"{cores} cores, torch threads {torch.get_num_threads()}, GPU: {torch.cuda.get_device_name() if gpu else 'none'}")
        cfg = config(root, experiments, [f"datamodule.batch_size={args.batch_size}", *args.overrides])
        cpu = torch.device("cpu")
        model_cpu = model_rate(cfg, args.steps, cpu)
        print(f"model (resnet18 @224, fwd+bwd+step, CPU, batch {args.batch_size}): {model_cpu:8.1f} images/s")
        model_gpu = model_rate(cfg, 30, torch.device("cuda")) if gpu else None
        if model_gpu:
            print(f"model (same, GPU bf16 autocast): {model_gpu:8.1f} images/s")
        for workers in (0, 2, *([8] if gpu else [])):
            device = torch.device("cuda") if gpu else cpu
            rate = loader_rate(cfg, workers, args.epochs, device)
            ratios = f"loader/model CPU {rate / model_cpu:6.2f}" + (f", GPU {rate / model_gpu:6.2f}" if model_gpu else "")
            print(f"loader, {workers} workers: {rate:8.1f} images/s   {ratios}")


if __name__ == "__main__":
    main()
