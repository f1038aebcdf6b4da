"""Reading checkpoints: always `torch.load(weights_only=True)` (tensors and plain containers only).

visage's own checkpoints hold nothing else (random states as tensors, hyperparameters as plain values).
Checkpoints of runs written before that pickled NumPy's legacy random state; for those only NumPy's array
reconstruction is declared safe (no other code can run while unpickling).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

# What a NumPy array (the legacy MT19937 state) pickles as; nothing here executes code.
LEGACY_NUMPY_GLOBALS = [np._core.multiarray._reconstruct, np._core.multiarray.scalar, np.ndarray, np.dtype,
                        type(np.dtype(np.uint32)), type(np.dtype(np.float64)), type(np.dtype(np.int64))]


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Return the checkpoint at `path` on the CPU, read with `weights_only=True`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # an older visage checkpoint: NumPy arrays of its random state
        with torch.serialization.safe_globals(LEGACY_NUMPY_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
