"""GPU smoke checks (skipped without a CUDA GPU): the `trainer=gpu` preset end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import requires_gpu, run_cli

pytestmark = [pytest.mark.gpu, requires_gpu]


def test_default_config_trains_on_the_gpu_preset(tmp_path: Path) -> None:
    done = run_cli("visage.train", "trainer=gpu", "logger=csv", f"paths.experiments_dir={tmp_path}/exp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "exp" / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    # The default run on CPU reaches ~3.0 years test MAE against a 2.35 noise floor.
    assert metrics["test"]["age_mae"] < 2.0 * metrics["dataset"]["noise_floor"]["age_mae"]
    assert metrics["test"]["race_acc"] > 0.9
    print(f"trainer=gpu default config: test MAE {metrics['test']['age_mae']:.3f}, "
          f"noise floor {metrics['dataset']['noise_floor']['age_mae']:.3f}")
