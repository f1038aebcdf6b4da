"""The global random state (Python, NumPy, torch, CUDA), saved with checkpoints so a resumed run repeats exactly."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

RNG_KEY = "visage_rng_states"


def collect_rng_states() -> dict[str, Any]:
    """Return the state of every global random generator training draws from."""
    states: dict[str, Any] = {"python": random.getstate(), "numpy": np.random.get_state(),
                              "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global random generators to `states` (from `collect_rng_states`)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
