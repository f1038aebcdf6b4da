"""Smoothing of per-face estimates over video frames, one filter state per track. Torch-free.

Two filters, each one `conf/smoothing/<name>.yaml` (`_partial_: true`, so a fresh filter is made per
track and quantity): an exponential moving average, and the One-Euro filter (Casiez et al., CHI
2012), which smooths hard while the value holds still and follows quickly when it really moves.
Both work on a float or a NumPy vector (a class distribution, smoothed as a whole and still summing to 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from visage.core.errors import ConfigError
from visage.inference.estimates import Estimate


class Ema:
    """Exponential moving average: `y = alpha * x + (1 - alpha) * y_prev`; the first value passes through."""

    def __init__(self, alpha: float = 0.3) -> None:
        """Create the filter; `alpha` in (0, 1] is the weight of the newest value (1: no smoothing)."""
        if not 0.0 < alpha <= 1.0:
            raise ConfigError(f"smoothing.alpha={alpha} is not in (0, 1]")
        self.alpha = float(alpha)
        self.value: np.ndarray | None = None

    def __call__(self, x: float | np.ndarray, dt: float = 1.0) -> np.ndarray:
        """Return the smoothed value after seeing `x` (`dt`, seconds since the last value, is unused)."""
        x = np.asarray(x, dtype=float)
        self.value = x if self.value is None else self.alpha * x + (1.0 - self.alpha) * self.value
        return self.value


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """The One-Euro filter: a low-pass whose cutoff rises with the speed of the signal."""

    def __init__(self, min_cutoff: float = 0.5, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        """Create the filter.

        Args:
            min_cutoff: cutoff frequency (Hz) while the value is still; lower smooths more.
            beta: how fast the cutoff rises with speed (units of the value per second); higher lags less.
            d_cutoff: cutoff frequency (Hz) for the speed estimate.
        """
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ConfigError("smoothing needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None

    def __call__(self, x: float | np.ndarray, dt: float = 1.0) -> np.ndarray:
        """Return the smoothed value after seeing `x`, `dt` seconds after the previous value."""
        x = np.asarray(x, dtype=float)
        if self.value is None:
            self.value, self.speed = x, np.zeros_like(x)
            return x
        dt = max(float(dt), 1e-6)
        speed = (x - self.value) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self.speed = a_d * speed + (1.0 - a_d) * self.speed
        cutoff = self.min_cutoff + self.beta * float(np.max(np.abs(self.speed)))
        a = _alpha(cutoff, dt)
        self.value = a * x + (1.0 - a) * self.value
        return self.value


Filter = Callable[..., np.ndarray]


class TrackSmoother:
    """Keeps one filter per track and quantity (age, each task's distribution)."""

    def __init__(self, make_filter: Callable[[], Filter]) -> None:
        """Create the smoother; `make_filter()` returns a fresh filter (e.g. `functools.partial(Ema, alpha=0.3)`)."""
        self.make_filter = make_filter
        self.filters: dict[tuple[int, str], Filter] = {}

    def _filter(self, track_id: int, quantity: str) -> Filter:
        key = (track_id, quantity)
        if key not in self.filters:
            self.filters[key] = self.make_filter()
        return self.filters[key]

    def update(self, track_id: int, estimate: Estimate, dt: float) -> Estimate:
        """Return the smoothed estimate of track `track_id` after this frame's `estimate`."""
        age = None if estimate.age is None else float(self._filter(track_id, "age")(estimate.age, dt))
        probabilities = {}
        for task, p in estimate.probabilities.items():
            smoothed = np.clip(self._filter(track_id, task)(p, dt), 0.0, None)
            probabilities[task] = smoothed / max(float(smoothed.sum()), 1e-12)
        return Estimate(age, probabilities)

    def forget(self, live_ids: set[int]) -> None:
        """Drop the filters of tracks that ended."""
        self.filters = {key: f for key, f in self.filters.items() if key[0] in live_ids}
