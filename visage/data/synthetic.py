"""Built-in synthetic face dataset whose biases are planted by config, so the truth is known.

Each image is drawn from the sample's *latent* (true) labels: face proportions change with growth
up to age 22, forehead lines deepen from age 16 and nasolabial folds from 30, hair greys from 28
and age spots appear from 50, so some cue changes at every age; skin tone comes from a per-race palette; gender shows in hair length,
lip colour and face width. Labels are then corrupted as planted (age noise, gender flips), so the
error a perfect model would still make (the noise floor) is known exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from visage.core.errors import ConfigError, unknown_choice
from visage.core.run_files import write_array
from visage.data.base import FaceDataset

RACES = ("White", "Black", "Asian", "Indian", "Others")
GENDERS = ("Male", "Female")
MAX_AGE = 100
AGE_PRIORS = ("utk_like", "uniform")

# Mean skin colour (RGB, 0-1) per race: distinct hues, not only brightness, so lighting jitter
# cannot turn one group into another.
SKIN_PALETTE = np.array(
    [[0.90, 0.74, 0.68], [0.38, 0.25, 0.18], [0.93, 0.80, 0.58], [0.66, 0.46, 0.32], [0.78, 0.58, 0.46]],
    dtype=np.float32,
)
HAIR_PALETTE = np.array(
    [[0.55, 0.40, 0.22], [0.08, 0.06, 0.05], [0.10, 0.08, 0.07], [0.12, 0.09, 0.07], [0.30, 0.20, 0.12]],
    dtype=np.float32,
)
GREY_HAIR = np.array([0.85, 0.85, 0.87], dtype=np.float32)
N_SPOTS = 10
CHUNK = 512
RENDER_VERSION = 1  # bump when render_faces changes, so cached image sets are drawn anew


@dataclass
class AgeRule:
    """Keep only a fraction `keep` of one group's samples above (or below) an age."""

    keep: float
    above: float | None = None
    below: float | None = None

    def factor(self, ages: np.ndarray) -> np.ndarray:
        """Return the per-age weight multiplier this rule applies."""
        hit = np.zeros_like(ages, dtype=bool)
        if self.above is not None:
            hit |= ages > self.above
        if self.below is not None:
            hit |= ages < self.below
        return np.where(hit, self.keep, 1.0)


@dataclass
class PlantedBiases:
    """Biases planted into the synthetic data, each keyed by race name."""

    proportions: dict[str, float] = field(default_factory=dict)
    age_distribution: dict[str, AgeRule] = field(default_factory=dict)
    age_noise_std: dict[str, float] = field(default_factory=dict)
    gender_flip: dict[str, float] = field(default_factory=dict)
    cue_contrast: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_config(cls, planted: Mapping[str, Any] | None) -> PlantedBiases:
        """Return validated planted biases; unknown keys or group names raise ConfigError."""
        planted = dict(planted or {})
        known = {"proportions", "age_distribution", "age_noise_std", "gender_flip", "cue_contrast"}
        for key in planted:
            if key not in known:
                raise unknown_choice("planted bias", key, known)
        values: dict[str, dict[str, Any]] = {}
        for key in known:
            per_group = dict(planted.get(key) or {})
            for group in per_group:
                if group not in RACES:
                    raise unknown_choice(f"group in data.planted.{key}", group, RACES)
            values[key] = per_group
        rules = {}
        for group, rule in values["age_distribution"].items():
            if rule is None:
                continue
            rule = dict(rule)
            if not set(rule) <= {"keep", "above", "below"} or "keep" not in rule:
                raise ConfigError(
                    f"data.planted.age_distribution.{group} must be {{keep: <0-1>, above|below: <age>}}, got {rule}"
                )
            rules[group] = AgeRule(**rule)
        biases = cls(values["proportions"], rules, values["age_noise_std"], values["gender_flip"],
                     values["cue_contrast"])
        biases._check_ranges()
        return biases

    def _check_ranges(self) -> None:
        checks = [
            ("proportions", self.proportions, 0.0, np.inf),
            ("age_noise_std", self.age_noise_std, 0.0, np.inf),
            ("gender_flip", self.gender_flip, 0.0, 1.0),
            ("cue_contrast", self.cue_contrast, 0.0, np.inf),
        ]
        for key, per_group, lo, hi in checks:
            for group, value in per_group.items():
                if not lo <= float(value) <= hi:
                    raise ConfigError(f"data.planted.{key}.{group}={value} is out of range [{lo}, {hi}]")
        for group, rule in self.age_distribution.items():
            if not 0.0 <= rule.keep <= 1.0:
                raise ConfigError(f"data.planted.age_distribution.{group}.keep={rule.keep} is out of range [0, 1]")

    def race_shares(self) -> np.ndarray:
        """Return each race's share of the data (equal shares where none are planted)."""
        weights = np.array([float(self.proportions.get(r, 0.0 if self.proportions else 1.0)) for r in RACES])
        if weights.sum() <= 0:
            raise ConfigError("data.planted.proportions must give at least one group a positive share")
        return weights / weights.sum()


def age_prior(kind: str) -> np.ndarray:
    """Return the probability of each integer age 0..MAX_AGE under the named prior."""
    ages = np.arange(MAX_AGE + 1, dtype=np.float64)
    if kind == "uniform":
        weights = np.ones_like(ages)
    elif kind == "utk_like":
        # Many young adults, a long tail of older people and a bump of infants, like UTKFace.
        weights = (np.exp(-0.5 * ((ages - 28) / 10) ** 2) + 0.45 * np.exp(-0.5 * ((ages - 55) / 16) ** 2)
                   + 0.5 * np.exp(-ages / 2.5))
    else:
        raise unknown_choice("data.age_prior", kind, AGE_PRIORS)
    return weights / weights.sum()


def exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Return integer counts summing to `n` that follow `shares` (largest remainder rounding)."""
    raw = shares * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: n - counts.sum()]] += 1
    return counts


def draw_latent_labels(n: int, biases: PlantedBiases, prior: str, rng: np.random.Generator) -> pd.DataFrame:
    """Return the true (uncorrupted) age, gender and race of `n` samples, shuffled."""
    races = np.repeat(np.arange(len(RACES)), exact_counts(biases.race_shares(), n))
    ages = np.empty(n, dtype=np.int64)
    base = age_prior(prior)
    all_ages = np.arange(MAX_AGE + 1)
    for code, race in enumerate(RACES):
        members = np.flatnonzero(races == code)
        weights = base * (biases.age_distribution[race].factor(all_ages) if race in biases.age_distribution else 1)
        ages[members] = rng.choice(all_ages, size=members.size, p=weights / weights.sum())
    genders = rng.integers(0, len(GENDERS), size=n)
    order = rng.permutation(n)
    return pd.DataFrame({"age_latent": ages[order], "gender_latent": genders[order], "race": races[order]})


def corrupt_labels(latent: pd.DataFrame, biases: PlantedBiases, rng: np.random.Generator) -> pd.DataFrame:
    """Return observed labels: latent ones with the planted age noise and gender flips applied."""
    race_names = np.asarray(RACES)[latent["race"].to_numpy()]
    noise_std = np.array([float(biases.age_noise_std.get(r, 0.0)) for r in race_names])
    flip_rate = np.array([float(biases.gender_flip.get(r, 0.0)) for r in race_names])
    noisy = latent["age_latent"].to_numpy() + rng.normal(0.0, 1.0, len(latent)) * noise_std
    flipped = rng.random(len(latent)) < flip_rate
    observed = latent.copy()
    observed["age"] = np.clip(np.rint(noisy), 0, MAX_AGE).astype(np.int64)
    observed["gender"] = np.where(flipped, 1 - latent["gender_latent"], latent["gender_latent"])
    return observed


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def render_faces(age: np.ndarray, gender: np.ndarray, race: np.ndarray, contrast: np.ndarray,
                 size: int, rng: np.random.Generator) -> np.ndarray:
    """Return uint8 images (N, 3, size, size) drawn from latent labels; `contrast` scales age cues."""
    n = len(age)
    age = age.astype(np.float32)[:, None, None]
    female = gender.astype(np.float32)[:, None, None]
    contrast = contrast.astype(np.float32)[:, None, None]
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    v, u = np.meshgrid(axis, axis, indexing="ij")
    u, v = u[None], v[None]

    def jitter(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, size=(n, 1, 1)).astype(np.float32)

    scale, cx, cy = jitter(0.9, 1.0), jitter(-0.06, 0.06), jitter(-0.03, 0.06)
    growth = _smoothstep(age, 0, 22)
    half_w = scale * (0.62 - 0.06 * female)
    half_h = scale * (0.58 + 0.22 * growth)
    du, dv = (u - cx) / half_w, (v - cy) / half_h
    face = (du**2 + dv**2) <= 1.0

    background = rng.uniform(0.1, 0.9, size=(n, 1, 1, 3)).astype(np.float32)
    image = np.broadcast_to(background, (n, size, size, 3)).copy()
    image += 0.15 * (v[..., None] * jitter(-1, 1)[..., None])

    grey = _smoothstep(age, 28, 75) * np.minimum(contrast, 1.0)
    hair_base = HAIR_PALETTE[race][:, None, None, :] * rng.uniform(0.8, 1.2, (n, 1, 1, 1)).astype(np.float32)
    hair_colour = (1 - grey[..., None]) * hair_base + grey[..., None] * GREY_HAIR
    cap = ((u - cx) / (half_w * 1.12)) ** 2 + ((v - cy + 0.06) / (half_h * 1.1)) ** 2 <= 1.0
    long_hair = (np.abs(u - cx) < half_w * 1.3) & (v > cy - half_h * 0.4) & (v < cy + half_h * 0.75) & (female > 0)
    hair = (cap & ((dv < -0.55) | ~face)) | (long_hair & ~face)
    image = np.where(hair[..., None], hair_colour, image)

    skin = SKIN_PALETTE[race][:, None, None, :] + rng.normal(0, 0.025, (n, 1, 1, 3)).astype(np.float32)
    skin_region = face & ~(cap & (dv < -0.55))
    image = np.where(skin_region[..., None], skin, image)

    # Age cues, each multiplied by the group's cue contrast.
    lines = _smoothstep(age, 16, 80) * contrast
    forehead = skin_region & (dv > -0.62) & (dv < -0.25) & (np.abs(du) < 0.7)
    ridges = np.cos(2 * np.pi * (v - cy) / (0.085 * scale)) ** 8
    shade = 1.0 - 0.5 * lines * ridges * forehead
    folds = _smoothstep(age, 30, 85) * contrast
    fold_u = np.abs(du) - (0.30 + 0.25 * (dv - 0.15))
    fold = skin_region & (dv > 0.15) & (dv < 0.6) & (np.abs(fold_u) < 0.06)
    shade *= 1.0 - 0.45 * folds * fold
    spots = _smoothstep(age, 50, 98) * contrast
    spot_u = rng.uniform(-0.7, 0.7, (n, N_SPOTS, 1, 1)).astype(np.float32)
    spot_v = rng.uniform(-0.5, 0.7, (n, N_SPOTS, 1, 1)).astype(np.float32)
    spot_on = (rng.random((n, N_SPOTS, 1, 1)) < spots[:, None]).astype(np.float32)
    spot_mask = (((du[:, None] - spot_u) ** 2 + (dv[:, None] - spot_v) ** 2) < 0.012) * spot_on
    shade *= 1.0 - 0.35 * np.minimum(spot_mask.sum(axis=1), 1.0) * skin_region
    image *= shade[..., None]

    eye_v = cy - half_h * (0.02 + 0.16 * growth)
    eye_r = scale * (0.10 + 0.03 * (1 - growth))
    eyes = ((np.abs(u - cx) - 0.36 * half_w) ** 2 + ((v - eye_v) * 1.6) ** 2) < eye_r**2
    image = np.where(eyes[..., None], np.float32(0.08), image)
    mouth = (np.abs(du) < 0.32) & (np.abs(dv - 0.55) < 0.06)
    lips = female[..., None] * np.array([0.72, 0.18, 0.24], dtype=np.float32) + (1 - female[..., None]) * skin * 0.6
    image = np.where(mouth[..., None], lips, image)

    image *= jitter(0.9, 1.1)[..., None]
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 3, 1, 2)


def _cache_key(**spec: Any) -> str:
    """Return a short hash of everything the images depend on (and the drawing code's version)."""
    plain = json.dumps({"version": RENDER_VERSION, **spec}, sort_keys=True,
                       default=lambda v: asdict(v) if is_dataclass(v) else str(v))
    return hashlib.sha256(plain.encode()).hexdigest()[:16]


class SyntheticFaces(FaceDataset):
    """Procedurally drawn faces with planted biases, deterministic for a seed, held in memory."""

    gender_classes = GENDERS
    race_classes = RACES

    def __init__(self, n_samples: int = 8000, image_size: int = 64, seed: int = 0,
                 age_prior: str = "utk_like", planted: Mapping[str, Any] | None = None,
                 name: str = "synthetic", cache_dir: str | None = None, workers: int | None = None,
                 sensitive_attributes: Sequence[str] = ()) -> None:
        if n_samples < 10:
            raise ConfigError(f"data.n_samples={n_samples} is too small; use at least 10")
        if image_size < 32:
            raise ConfigError(f"data.image_size={image_size} is too small; use at least 32")
        self.name = name
        self.image_size = image_size
        self.biases = PlantedBiases.from_config(planted)
        rng = np.random.default_rng(seed)
        latent = draw_latent_labels(n_samples, self.biases, age_prior, rng)
        self.labels = corrupt_labels(latent, self.biases, rng)
        self.labels.insert(0, "sample_id", [f"syn-{seed}-{i:06d}" for i in range(n_samples)])
        self.set_sensitive_attributes(sensitive_attributes)
        key = _cache_key(n_samples=n_samples, image_size=image_size, seed=seed, age_prior=age_prior,
                         planted={k: v for k, v in vars(self.biases).items()})
        cached = Path(cache_dir) / f"synthetic-{key}.npy" if cache_dir else None
        if cached is not None and cached.is_file():
            self.images = torch.from_numpy(np.load(cached))
            return
        self.images = torch.from_numpy(self._render(seed, workers))
        if cached is not None:
            write_array(cached, self.images.numpy())

    def _render(self, seed: int, workers: int | None) -> np.ndarray:
        """Draw every face, chunk by chunk; each chunk has its own generator, so threads give the same images."""
        contrast = np.array([float(self.biases.cue_contrast.get(RACES[r], 1.0)) for r in self.labels["race"]])

        def chunk(k: int) -> np.ndarray:
            part = self.labels.iloc[k * CHUNK:(k + 1) * CHUNK]
            return render_faces(part["age_latent"].to_numpy(), part["gender_latent"].to_numpy(),
                                part["race"].to_numpy(), contrast[k * CHUNK:(k + 1) * CHUNK], self.image_size,
                                np.random.default_rng([seed, k]))

        n_chunks = -(-len(self.labels) // CHUNK)
        with ThreadPoolExecutor(max_workers=workers or min(os.cpu_count() or 1, n_chunks)) as pool:
            return np.concatenate(list(pool.map(chunk, range(n_chunks))))

    def image(self, index: int) -> torch.Tensor:
        """Return image `index` as a uint8 tensor (3, H, W)."""
        return self.images[index]

    def noise_floor(self) -> dict[str, Any]:
        """Return the age MAE and gender accuracy a perfect model would still get, overall and per race."""
        error = (self.labels["age"] - self.labels["age_latent"]).abs()
        agree = self.labels["gender"] == self.labels["gender_latent"]
        race = pd.Categorical.from_codes(self.labels["race"], categories=list(RACES))
        by_race = {
            str(r): {"age_mae": float(error[race == r].mean()), "gender_acc": float(agree[race == r].mean())}
            for r in RACES if (race == r).any()
        }
        return {"age_mae": float(error.mean()), "gender_acc": float(agree.mean()), "by_race": by_race}

    def index_facts(self) -> dict[str, Any]:
        """Return the noise floor, recorded with every run on this dataset."""
        return {"noise_floor": self.noise_floor()}
