"""`python -m visage.video <file|camera index> run=<run dir> [out=<file.mp4>] [smoothing=ema|one_euro]`.

Detects and predicts every face in every frame, tracks faces by box overlap, smooths each track's
estimates, and (with `out=`) writes the video with the smoothed estimates drawn on, one output frame
per input frame. Prints per track the mean frame-to-frame change of the age estimate and the label
flips per second, raw and smoothed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from visage.runner.cli import run_command, usage_errors_exit


def run(cfg: DictConfig) -> None:
    """Run the video pipeline and print the jitter of every track."""
    with usage_errors_exit():
        from visage.inference.jitter import describe
        from visage.inference.loading import load_predictor
        from visage.inference.video_pipeline import open_capture, process_video

        capture = open_capture(cfg.source, max_pixels=int(cfg.limits.max_pixels))
        predictor = load_predictor(cfg.run, instantiate(cfg.detector), runtime=cfg.runtime, margin=cfg.crop.margin,
                                   batch_size=cfg.batch_size, coverage=cfg.age_interval.coverage)
        make_filter = instantiate(cfg.smoothing)
        make_filter()  # a bad smoothing setting fails here, in one line
        result = process_video(predictor, capture, tracker=instantiate(cfg.tracker), make_filter=make_filter,
                               out=Path(cfg.out) if cfg.out else None, max_frames=cfg.max_frames)
    for track_id, stats in result.summary().items():
        print(describe(track_id, stats["frames"], stats["raw"], stats["smoothed"]), flush=True)
    written = f", wrote {result.frames_written} to {cfg.out}" if cfg.out else ""
    print(f"{result.frames_read} frames at {result.fps:.1f} fps, {len(result.tracks)} track(s){written}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.video [key=value ...]`: parse the command line (`visage.runner.cli`) and run the video pipeline."""
    run_command("video", run, argv)


if __name__ == "__main__":
    main()
