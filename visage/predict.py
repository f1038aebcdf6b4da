"""`python -m visage.predict <image|folder> run=<run dir> [detector=...] [runtime=...] [out=<file.jsonl>]`.

With `explain=true out=<folder>`, also writes Grad-CAM heat-maps over each face crop as PNGs into that
folder, beside `predictions.jsonl` (each face names its maps under `explanations`).

Prints one prediction JSON line per image (docs/contracts/prediction-json.md's contract: a box, age with interval, gender,
race distribution per face, plus the detection score and the data the model was trained on).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from visage.core.errors import ConfigError
from visage.runner.cli import run_command, usage_errors_exit


def run(cfg: DictConfig) -> None:
    """Predict every face in the input image(s) and print (or write) one JSON line per image."""
    with usage_errors_exit():
        from visage.inference.images import read_image
        from visage.inference.loading import load_predictor
        from visage.inference.settings import deprecated_key
        from visage.inference.sources import list_images, predict_paths, write_lines

        if cfg.explain and cfg.out is None:
            raise ConfigError("explain=true needs out=<folder> for the heat-map PNGs (nothing is written unless asked)")
        max_pixels = int(deprecated_key(cfg, "max_pixels", "limits.max_pixels"))
        paths = list_images(cfg.input)
        if len(paths) == 1:
            read_image(paths[0], max_pixels=max_pixels)  # a bad image fails before the model loads
        predictor = load_predictor(cfg.run, instantiate(cfg.detector), runtime=cfg.runtime,
                                   margin=cfg.crop.margin, batch_size=cfg.batch_size, coverage=cfg.age_interval.coverage)
        results = predict_paths(predictor, paths, max_pixels=max_pixels)
        if cfg.explain:
            from visage.inference.explain_files import PREDICTIONS_FILE, explain_paths, explainer_for

            explainer = explainer_for(predictor, cfg.run, min_grid=cfg.gradcam.min_grid)
            results = explain_paths(predictor, explainer, paths, Path(cfg.out), max_pixels=max_pixels)
            count = write_lines(Path(cfg.out) / PREDICTIONS_FILE, (json.dumps(result) for result in results))
            print(f"wrote {count} predictions and their heat-maps to {cfg.out}", file=sys.stderr)
            return
        lines = (json.dumps(result) for result in results)
        if cfg.out is None:
            for line in lines:
                print(line, flush=True)
            return
        count = write_lines(Path(cfg.out), lines)
        print(f"wrote {count} predictions to {cfg.out}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.predict [key=value ...]`: parse the command line (`visage.runner.cli`) and predict."""
    run_command("predict", run, argv)


if __name__ == "__main__":
    main()
