"""The synthetic generator: planted biases must really be in the data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visage.core.errors import ConfigError
from visage.data.synthetic import RACES, SyntheticFaces, age_prior, render_faces

N = 3000


def make(**planted) -> SyntheticFaces:
    return SyntheticFaces(n_samples=N, image_size=32, seed=7, planted=planted)


def test_planted_proportions_give_exact_counts() -> None:
    ds = make(proportions={"White": 0.5, "Black": 0.3, "Asian": 0.2})
    counts = ds.labels["race"].map(dict(enumerate(RACES))).value_counts().to_dict()
    assert counts == {"White": 1500, "Black": 900, "Asian": 600}


def test_planted_age_noise_has_the_planted_std_and_floor() -> None:
    ds = make(age_noise_std={"White": 8.0})
    error = ds.labels["age"] - ds.labels["age_latent"]
    white = ds.labels["race"] == RACES.index("White")
    # Clipping to 0..100 trims a little of the noise at the extremes of the age range.
    assert 7.0 < error[white].std() < 8.5
    assert (error[~white] == 0).all()
    floor = ds.noise_floor()
    assert floor["by_race"]["White"]["age_mae"] == pytest.approx(8.0 * np.sqrt(2 / np.pi), rel=0.12)
    assert floor["by_race"]["Black"]["age_mae"] == 0.0
    assert floor["age_mae"] == pytest.approx(error.abs().mean())


def test_planted_gender_flip_rate() -> None:
    ds = make(gender_flip={"Asian": 0.25})
    flipped = ds.labels["gender"] != ds.labels["gender_latent"]
    asian = ds.labels["race"] == RACES.index("Asian")
    assert flipped[asian].mean() == pytest.approx(0.25, abs=0.05)
    assert not flipped[~asian].any()
    assert ds.noise_floor()["by_race"]["Asian"]["gender_acc"] == pytest.approx(1 - flipped[asian].mean())


def test_planted_age_distribution_thins_one_group_above_an_age() -> None:
    ds = make(age_distribution={"Black": {"above": 50, "keep": 0.2}})
    ages, races = ds.labels["age_latent"], ds.labels["race"]
    prior = age_prior("utk_like")
    p_old = prior[51:].sum()
    expected_black = 0.2 * p_old / (0.2 * p_old + 1 - p_old)
    assert (ages[races == RACES.index("Black")] > 50).mean() == pytest.approx(expected_black, abs=0.04)
    assert (ages[races == RACES.index("White")] > 50).mean() == pytest.approx(p_old, abs=0.04)


def test_cue_contrast_weakens_the_age_signal() -> None:
    young, old = np.array([25, 25]), np.array([85, 85])
    args = (np.zeros(2, int), np.zeros(2, int))

    def age_signal(contrast: float) -> float:
        c = np.full(2, contrast)
        a = render_faces(young, *args, c, 64, np.random.default_rng(1)).astype(float)
        b = render_faces(old, *args, c, 64, np.random.default_rng(1)).astype(float)
        return float(np.abs(a - b).mean())

    assert age_signal(0.2) < 0.5 * age_signal(1.0)


def test_same_seed_same_images_other_seed_other_images() -> None:
    a = SyntheticFaces(n_samples=50, image_size=32, seed=3)
    b = SyntheticFaces(n_samples=50, image_size=32, seed=3)
    c = SyntheticFaces(n_samples=50, image_size=32, seed=4)
    assert a.images.equal(b.images) and a.labels.equals(b.labels)
    assert not a.images.equal(c.images)
    assert a.images.shape == (50, 3, 32, 32)


@pytest.mark.parametrize(
    ("planted", "message"),
    [
        ({"proportions": {"Martian": 0.5}}, "unknown group in data.planted.proportions 'Martian'"),
        ({"age_noise_std": {"white": 2.0}}, "unknown group in data.planted.age_noise_std 'white'"),
        ({"gender_flip": {"Asian": 1.5}}, "data.planted.gender_flip.Asian=1.5 is out of range"),
        ({"skin_shade": {}}, "unknown planted bias 'skin_shade'"),
        ({"age_distribution": {"Black": {"above": 50}}}, "data.planted.age_distribution.Black must be"),
    ],
)
def test_bad_planted_bias_is_an_error(planted: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        SyntheticFaces(n_samples=50, image_size=32, planted=planted)


def test_drawing_in_threads_and_the_disk_cache_give_the_same_faces(tmp_path) -> None:  # noqa: ANN001
    one = SyntheticFaces(n_samples=1100, image_size=32, seed=5, workers=1)
    threaded = SyntheticFaces(n_samples=1100, image_size=32, seed=5, workers=3, cache_dir=str(tmp_path))
    assert torch.equal(one.images, threaded.images)
    assert len(list(tmp_path.glob("synthetic-*.npy"))) == 1
    cached = SyntheticFaces(n_samples=1100, image_size=32, seed=5, cache_dir=str(tmp_path))
    assert torch.equal(one.images, cached.images)
    other = SyntheticFaces(n_samples=1100, image_size=32, seed=5, cache_dir=str(tmp_path),
                           planted={"cue_contrast": {"Black": 0.2}})
    assert len(list(tmp_path.glob("synthetic-*.npy"))) == 2  # another planted bias is another cache entry
    assert not torch.equal(one.images, other.images)
