"""`python -m visage.video <file|camera index> run=<run dir> [out=<file.mp4>] [smoothing=ema|one_euro]`.

Detects and predicts every face in every frame, tracks faces by box overlap, smooths each track's
estimates, and (with `out=`) writes the video with the smoothed estimates drawn on, one output frame
per input frame. Prints per track the mean frame-to-frame change of the age estimate and the label
flips per second, raw and smoothed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from visage.core.errors import exit_with_usage_error
from visage.runner.cli import CONFIG_DIR, run_entry_point, usage_errors_exit


def source_to_override(argv: list[str]) -> list[str]:
    """Return `argv` with its one positional argument (the video or camera index) rewritten to `source='<value>'`."""
    positional = [a for a in argv[1:] if "=" not in a and not a.startswith("-")]
    if len(positional) > 1:
        exit_with_usage_error(f"give one video file or camera index, got {len(positional)}: {' '.join(positional)}")
    if not positional:
        return argv
    quoted = positional[0].replace("\\", "\\\\").replace("'", "\\'")
    return [argv[0], *[f"source='{quoted}'" if a == positional[0] else a for a in argv[1:]]]


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="video")
def main(cfg: DictConfig) -> None:
    """Run the video pipeline and print the jitter of every track."""
    with usage_errors_exit():
        from visage.inference.jitter import describe
        from visage.inference.loading import load_predictor
        from visage.inference.video_pipeline import open_capture, process_video

        capture = open_capture(cfg.source)
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


if __name__ == "__main__":
    sys.argv = source_to_override(sys.argv)
    run_entry_point(main, config_name="video")
