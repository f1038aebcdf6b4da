"""How `python -m visage.demo` hands its settings to the Streamlit script: one JSON environment variable.

Every default comes from the configs (conf/inference/ and conf/demo.yaml), never written here again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from visage.inference.settings import default, default_detector, deprecated_key

ENV_VAR = "VISAGE_DEMO_SETTINGS"


def _config_default(key: str, file: str) -> Any:
    from visage.runner.cli import CONFIG_DIR

    return OmegaConf.select(OmegaConf.load(CONFIG_DIR / file), key)


@dataclass
class DemoSettings:
    """The demo's settings (see `conf/demo.yaml` and conf/inference/); defaults are the configs' defaults."""

    runs: list[str]
    detector: dict[str, Any] = field(default_factory=default_detector)
    runtime: str = field(default_factory=lambda: default("runtime"))
    margin: float = field(default_factory=lambda: default("crop.margin"))
    coverage: float = field(default_factory=lambda: default("age_interval.coverage"))
    batch_size: int = field(default_factory=lambda: default("batch_size"))
    max_pixels: int = field(default_factory=lambda: default("limits.max_pixels"))
    reports_dir: str = field(default_factory=lambda: _config_default("reports_dir", "demo.yaml"))
    min_grid: int = field(default_factory=lambda: default("gradcam.min_grid"))
    correction: str = field(default_factory=lambda: _config_default("correction", "statistics/default.yaml"))
    alpha: float = field(default_factory=lambda: _config_default("alpha", "statistics/default.yaml"))

    @classmethod
    def from_config(cls, cfg: DictConfig, runs: list[str]) -> DemoSettings:
        """Return the settings of the composed `demo` config for these runs (renamed keys still honoured)."""
        return cls(runs=list(runs), detector=OmegaConf.to_container(cfg.detector, resolve=True), runtime=str(cfg.runtime),
                   margin=float(cfg.crop.margin), coverage=float(cfg.age_interval.coverage),
                   batch_size=int(cfg.batch_size), max_pixels=int(cfg.limits.max_pixels),
                   reports_dir=str(Path(cfg.reports_dir).resolve()),
                   min_grid=int(deprecated_key(cfg, "explain.min_grid", "gradcam.min_grid")),
                   correction=str(cfg.correction), alpha=float(cfg.alpha))

    def to_env(self) -> dict[str, str]:
        """Return the environment entry that carries these settings."""
        return {ENV_VAR: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DemoSettings:
        """Return the settings in the environment; no runs when the variable is unset."""
        raw = (environ if environ is not None else os.environ).get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls(runs=[])
