"""CPU inference speed: per-face latency of eager PyTorch vs TorchScript vs onnxruntime, and batched crops/s.

For each backbone (untrained weights: speed does not depend on them) the model is exported to
TorchScript and ONNX in a temporary folder, then timed in this process, alternately, on the same
images. Ratios (runtime / eager latency; < 1 is faster) are what to compare across machines.

    python bench/inference.py [--backbones resnet18 vit_tiny_patch16_224] [--size 64] [--faces 256] [--threads 1]

With several threads on a machine where other jobs run, torch's eager and TorchScript kernels slow
down far more than onnxruntime's (oversubscription), so the default is one thread for each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir

from visage.inference.detectors import WholeImage
from visage.inference.exporting import export_run
from visage.inference.metadata import model_metadata
from visage.inference.predictor import Predictor
from visage.inference.runtimes import EagerRuntime, OnnxRuntime, Runtime, TorchScriptRuntime, output_tasks
from visage.runner.builders import build_model
from visage.runner.cli import CONFIG_DIR, set_private_defaults
from visage.runner.load_run import LoadedRun

CLASSES = {"gender": ["Male", "Female"], "race": ["White", "Black", "Asian", "Indian", "Others"]}


def fake_run(backbone: str, size: int, folder: Path) -> LoadedRun:
    """Return an untrained run of `backbone` at `size` pixels, living in `folder`."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"backbone={backbone}", f"data.image_size={size}", "logger=none"])
    module = build_model(cfg.model, CLASSES, True).eval()
    return LoadedRun(folder, cfg, CLASSES, True, {}, {"image_size": size}, {"name": "synthetic"}, module)


def latency_ms(runtime: Runtime, images: np.ndarray, repeats: int) -> float:
    """Return the median milliseconds of one single-image call."""
    runtime(images[:1])  # warm-up
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        runtime(images[k % len(images):][:1])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def crops_per_second(predictor: Predictor, crops: list[np.ndarray]) -> float:
    """Return face crops per second of `predictor.predict_images` (detection off, model calls in batches)."""
    predictor.predict_images(crops[: predictor.batch_size])  # warm-up
    start = time.perf_counter()
    predictor.predict_images(crops)
    return len(crops) / (time.perf_counter() - start)


def main() -> None:
    """Time every runtime for every backbone and print a table with ratios to eager."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "vit_tiny_patch16_224"])
    parser.add_argument("--size", type=int, default=64, help="input side in pixels (visage's default data size)")
    parser.add_argument("--faces", type=int, default=256, help="crops in the batched run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=50, help="single-face calls timed per runtime")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch and onnxruntime alike (1: stable on a shared machine)")
    args = parser.parse_args()
    set_private_defaults()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8) for _ in range(args.faces)]
    images = np.stack(crops[:16]).transpose(0, 3, 1, 2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; input {args.size}px; "
          f"batched: {args.faces} crops, batch {args.batch_size}")
    print(f"{'backbone':24} {'runtime':12} {'ms/face':>8} {'ratio':>6} {'crops/s':>8} {'ratio':>6}")
    for backbone in args.backbones:
        with tempfile.TemporaryDirectory() as folder:
            run = fake_run(backbone, args.size, Path(folder))
            tasks = output_tasks(run.classes, run.has_age)
            for fmt in ("torchscript", "onnx"):
                export_run(run, fmt)
            runtimes: list[Runtime] = [EagerRuntime(run.module, tasks),
                                       TorchScriptRuntime(Path(folder) / "model.pt", tasks),
                                       OnnxRuntime(Path(folder) / "model.onnx", tasks, threads=args.threads)]
            metadata = model_metadata(run, None)
            base_latency = base_rate = None
            for runtime in runtimes:
                ms = latency_ms(runtime, images, args.repeats)
                rate = crops_per_second(Predictor(runtime, metadata, WholeImage(), batch_size=args.batch_size), crops)
                base_latency, base_rate = base_latency or ms, base_rate or rate
                print(f"{backbone:24} {runtime.name:12} {ms:8.2f} {ms / base_latency:6.2f} {rate:8.0f} "
                      f"{rate / base_rate:6.2f}")


if __name__ == "__main__":
    main()
