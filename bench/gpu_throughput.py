"""Is the GPU fed? Loader images/s against model images/s under the `trainer=gpu` preset (skips without a GPU).

Prints the synthetic set's drawing rate (one thread vs all cores), the train loader's images/s with
no workers and with the preset's workers (batches moved to the GPU), the model's training images/s on
batches already on the GPU (bf16 autocast), and loader/model ratios: below 1 the GPU waits for data.

    python bench/gpu_throughput.py [--samples 20000] [--steps 50] [overrides ...]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict

from visage.core.names import AGE
from visage.data.synthetic import SyntheticFaces
from visage.runner.builders import build_datamodule, build_module
from visage.runner.cli import CONFIG_DIR, set_private_defaults


def drawing_rate(n: int, workers: int) -> float:
    """Return synthetic faces drawn per second with `workers` threads (no cache)."""
    start = time.perf_counter()
    SyntheticFaces(n_samples=n, image_size=64, seed=0, workers=workers)
    return n / (time.perf_counter() - start)


def loader_rate(datamodule, device: torch.device, batches: int) -> float:  # noqa: ANN001
    """Return images/s of the train loader, batches copied to `device`."""
    seen, start = 0, None
    for k, batch in enumerate(datamodule.train_dataloader()):
        images = batch["image"].to(device, non_blocking=True)
        if k == 2:  # workers started, first batches out
            torch.cuda.synchronize()
            start, seen = time.perf_counter(), 0
        seen += len(images)
        if k == batches + 2:
            break
    torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def model_rate(module, size: int, batch_size: int, steps: int, device: torch.device) -> float:  # noqa: ANN001
    """Return training images/s of the model on random uint8 batches already on the GPU (bf16 autocast)."""
    module = module.to(device).train()
    optimizer = module.optimizer_factory(params=module.parameters())
    images = torch.randint(0, 256, (batch_size, 3, size, size), dtype=torch.uint8, device=device)
    targets = {task: torch.zeros(batch_size, dtype=torch.long, device=device) for task in module.tasks if task != AGE}
    ages = torch.full((batch_size,), 30.0, device=device)
    for k in range(steps + 5):
        if k == 5:
            torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            outputs = module(images)
            loss = sum(module.net.heads[AGE].loss(outputs[AGE], ages, None) if task == AGE
                       else F.cross_entropy(outputs[task], targets[task]) for task in module.tasks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    """Measure and print the rates and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: skipped")
        return
    set_private_defaults()
    device = torch.device("cuda")
    cores = os.cpu_count() or 1
    one, many = drawing_rate(4096, 1), drawing_rate(4096, cores)
    print(f"synthetic drawing: {one:,.0f} faces/s on 1 thread, {many:,.0f} on {cores} ({many / one:.2f}x)")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["trainer=gpu", "logger=none", f"data.n_samples={args.samples}",
                                                      "data.cache_dir=null", *args.overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = "/tmp/visage-bench"
    preset_workers = int(cfg.datamodule.num_workers)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    model = model_rate(module, int(cfg.data.image_size), int(cfg.datamodule.batch_size), args.steps, device)
    print(f"model ({cfg.backbone.name}, {cfg.data.image_size}px, batch {cfg.datamodule.batch_size}, bf16): "
          f"{model:,.0f} img/s")
    for workers in (0, preset_workers):
        with open_dict(cfg):
            cfg.datamodule.num_workers = workers
        loader = loader_rate(instantiate(cfg.datamodule, dataset=datamodule.dataset), device, batches=40)
        print(f"loader, {workers} workers, pin_memory={cfg.datamodule.pin_memory}: {loader:,.0f} img/s "
              f"= {loader / model:.2f}x the model's rate")


if __name__ == "__main__":
    main()
