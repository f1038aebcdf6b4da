"""`predict explain=true out=<folder>`: Grad-CAM heat-maps over each face crop, written as PNGs beside the JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from visage.inference.crops import crop_face
from visage.inference.gradcam import Explainer, overlay
from visage.inference.predictor import Predictor
from visage.runner.load_run import load_run

PREDICTIONS_FILE = "predictions.jsonl"


def explainer_for(predictor: Predictor, run_dir: str | Path, min_grid: int | None = None) -> Explainer:
    """Return an explainer over the predictor's network (loaded from the checkpoint when it runs an export)."""
    if predictor.runtime.name == "eager":
        net = predictor.runtime.model.net
    else:
        net = load_run(run_dir).module.net
    metadata = predictor.metadata
    return Explainer(net, metadata["classes"], bool(metadata["has_age"]), predictor.image_size, min_grid)


def heatmap_name(source: str | Path, face: int, map_name: str) -> str:
    """Return the PNG file name of one map, e.g. `photo_face1_age.png`."""
    return f"{Path(source).stem}_face{face}_{map_name}.png"


def add_explanations(result: dict[str, Any], image: np.ndarray, predictor: Predictor, explainer: Explainer,
                     out_dir: Path) -> dict[str, Any]:
    """Write the heat-maps of every face of one image's `result` into `out_dir`; name them in each face's `explanations`."""
    faces = result.get("faces") or []
    if not faces:
        return result
    crops = np.stack([crop_face(image, tuple(face["box"]), predictor.image_size, predictor.margin) for face in faces])
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, (face, maps, crop) in enumerate(zip(faces, explainer.explain(crops), crops), start=1):
        face["explanations"] = {}
        for heatmap in maps:
            name = heatmap_name(result.get("source", "image"), k, heatmap.name)
            Image.fromarray(overlay(crop, heatmap.cam)).save(out_dir / name)
            face["explanations"][heatmap.name] = name
    return result


def explain_paths(predictor: Predictor, explainer: Explainer, paths: list[Path], out_dir: Path, *,
                  max_pixels: int) -> Iterator[dict[str, Any]]:
    """Yield each image's prediction JSON, with heat-maps written for its faces."""
    from visage.inference.images import read_image
    from visage.inference.sources import predict_paths

    for result in predict_paths(predictor, paths, max_pixels=max_pixels):
        if "error" in result:
            yield result
            continue
        image = read_image(result["source"], max_pixels=max_pixels)
        yield add_explanations(result, image, predictor, explainer, out_dir)
