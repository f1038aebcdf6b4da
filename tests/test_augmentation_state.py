"""The augmentation's random state saved with checkpoints covers every transform, ColorJitter included."""

from __future__ import annotations

import albumentations as A
import numpy as np

from visage.data.datamodule import _augmentation_states, _restore_augmentation_states, _transforms


def test_a_colour_jitter_pipeline_saves_and_restores_what_it_draws_next() -> None:
    pipeline = A.Compose([A.HorizontalFlip(p=0.5), A.ColorJitter(p=1.0), A.OneOf([A.Blur(), A.GaussNoise()])], seed=3)
    assert len(_transforms(pipeline)) == 6  # the compose, flip, jitter, one-of and its two (no jitter functions)
    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    pipeline(image=image)
    saved = _augmentation_states(pipeline)
    expected = [pipeline(image=image)["image"] for _ in range(3)]
    _restore_augmentation_states(pipeline, saved)
    assert all(np.array_equal(a, pipeline(image=image)["image"]) for a in expected)
