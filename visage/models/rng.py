"""The global random state (Python, NumPy, torch, CUDA), saved with checkpoints so a resumed run repeats exactly.

Held as tensors and plain values only, so checkpoints load with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

RNG_KEY = "visage_rng_states"


def collect_rng_states() -> dict[str, Any]:
    """Return the state of every global random generator training draws from."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    numpy_state = {"kind": str(kind), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                   "has_gauss": int(has_gauss), "gauss": float(gauss)}
    states: dict[str, Any] = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global random generators to `states` (from `collect_rng_states`)."""
    random.setstate(states["python"])
    numpy_state = states["numpy"]
    if isinstance(numpy_state, dict):
        key = np.asarray(numpy_state["key"], dtype=np.int64).astype(np.uint32)
        numpy_state = (numpy_state["kind"], key, numpy_state["pos"], numpy_state["has_gauss"], numpy_state["gauss"])
    np.random.set_state(numpy_state)
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
