"""`python -m visage.export run=<run dir> format=onnx|torchscript`: write model.onnx / model.pt and model.json.

The exported model takes uint8 RGB images (N, 3, S, S) and returns age in years and class
probabilities; model.json beside it holds the class names, preprocessing, age intervals and the
measured difference from the eager model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from omegaconf import DictConfig

from visage.runner.cli import run_command, usage_errors_exit


def run(cfg: DictConfig) -> None:
    """Export the run's best checkpoint and print the export record (path, parity with eager)."""
    with usage_errors_exit():
        from visage.core.errors import unknown_choice
        from visage.inference.exporting import export_run
        from visage.inference.metadata import EXPORT_FILES
        from visage.runner.load_run import load_run

        if cfg.format not in EXPORT_FILES:  # before loading the checkpoint
            raise unknown_choice("format", cfg.format, EXPORT_FILES)
        record = export_run(load_run(cfg.run), cfg.format, opset=cfg.opset, coverage=cfg.age_interval.coverage)
        print(json.dumps(record, indent=2))


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.export [key=value ...]`: parse the command line (`visage.runner.cli`) and export."""
    run_command("export", run, argv)


if __name__ == "__main__":
    main()
