"""Loading a run for the demo: predictor (eager) and Grad-CAM explainer, cached by Streamlit per run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.utils import instantiate

from visage.demo_app.settings import DemoSettings
from visage.inference.explain_files import explainer_for
from visage.inference.gradcam import Explainer
from visage.inference.loading import load_predictor
from visage.inference.predictor import Predictor


@dataclass
class DemoModel:
    """One run ready to use: its predictor and an explainer over the same network."""

    predictor: Predictor
    explainer: Explainer

    @property
    def about(self) -> dict[str, Any]:
        """Return the predictor's description of the model (run, training data, backbone, ...)."""
        return self.predictor.about


def load_demo_model(run_dir: str, settings: DemoSettings) -> DemoModel:
    """Return the predictor (the settings' runtime, CPU) and Grad-CAM explainer of the run at `run_dir`."""
    predictor = load_predictor(run_dir, instantiate(settings.detector), runtime=settings.runtime, margin=settings.margin,
                               batch_size=settings.batch_size, coverage=settings.coverage)
    return DemoModel(predictor, explainer_for(predictor, run_dir, min_grid=settings.min_grid))
