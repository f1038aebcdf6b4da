"""How `python -m visage.demo` hands its settings to the Streamlit script: one JSON environment variable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

ENV_VAR = "VISAGE_DEMO_SETTINGS"


@dataclass
class DemoSettings:
    """The demo's settings (see `conf/demo.yaml`)."""

    runs: list[str]
    detector: dict[str, Any] = field(default_factory=lambda: {"_target_": "visage.inference.detectors.HaarDetector"})
    margin: float = 0.25
    coverage: float = 0.8
    batch_size: int = 32
    max_pixels: int = 40_000_000
    reports_dir: str = "reports"
    min_grid: int = 4

    def to_env(self) -> dict[str, str]:
        """Return the environment entry that carries these settings."""
        return {ENV_VAR: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DemoSettings:
        """Return the settings in the environment; no runs when the variable is unset."""
        raw = (environ if environ is not None else os.environ).get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls(runs=[])
