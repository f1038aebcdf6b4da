"""One call signature over three ways to run a model: eager PyTorch, TorchScript and onnxruntime.

Every runtime takes a batch of square RGB uint8 images (N, 3, S, S) and returns decoded outputs per
task as NumPy arrays: `age` in years (N,), each classification task's class probabilities (N, C).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from visage.core.names import AGE

INPUT_NAME = "images"


class DecodedNet(nn.Module):
    """A trained network with its decoding inside: uint8 images in, (age years, class probabilities...) out.

    This is what gets exported, so every runtime returns the same numbers for the same images.
    """

    def __init__(self, net: nn.Module, tasks: Sequence[str]) -> None:
        super().__init__()
        self.net = net
        self.tasks = list(tasks)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return one tensor per task, in `tasks` order."""
        raw = self.net(images)
        return tuple(self.net.heads[AGE].decode(raw[AGE]) if task == AGE else raw[task].softmax(dim=-1)
                     for task in self.tasks)


def output_tasks(classes: dict[str, list[str]], has_age: bool) -> list[str]:
    """Return the output order every runtime and export uses: age first (if any), then the classifiers."""
    return ([AGE] if has_age else []) + list(classes)


class Runtime(Protocol):
    """What the predictor needs from a runtime."""

    name: str
    tasks: list[str]

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Return decoded outputs per task for uint8 images (N, 3, S, S)."""
        ...


class EagerRuntime:
    """The PyTorch module as trained (`load_run(...).module`)."""

    name = "eager"

    def __init__(self, module: nn.Module, tasks: Sequence[str]) -> None:
        self.model = DecodedNet(module.net, tasks).eval()
        self.tasks = list(tasks)

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Return decoded outputs per task."""
        with torch.inference_mode():
            outputs = self.model(torch.from_numpy(np.ascontiguousarray(images)))
        return {task: out.numpy() for task, out in zip(self.tasks, outputs)}


class TorchScriptRuntime(EagerRuntime):
    """A traced `model.pt` written by `python -m visage.export format=torchscript` (called as the eager one)."""

    name = "torchscript"

    def __init__(self, path: str | Path, tasks: Sequence[str]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still supported in 2.x
            self.model = torch.jit.load(str(path), map_location="cpu").eval()
        self.tasks = list(tasks)


class OnnxRuntime:
    """A `model.onnx` written by `python -m visage.export format=onnx`, run with onnxruntime on CPU."""

    name = "onnx"

    def __init__(self, path: str | Path, tasks: Sequence[str], providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=list(providers))
        self.tasks = list(tasks)

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Return decoded outputs per task."""
        outputs = self.session.run(self.tasks, {INPUT_NAME: np.ascontiguousarray(images, dtype=np.uint8)})
        return dict(zip(self.tasks, outputs))
