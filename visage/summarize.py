"""`python -m visage.summarize sweep_dir=<sweep dir>`: write a sweep's summary (per job) and summary_by_config (over seeds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from visage.core.errors import ConfigError
from visage.reporting.summaries.seeds import summarize_by_config
from visage.reporting.summaries.sweep import summarize_sweep
from visage.runner.cli import run_command


def run(cfg: DictConfig) -> None:
    """Summarise the sweep `sweep_dir` per job and over seeds (keys: `conf/summarize.yaml`)."""
    if cfg.split == "test":
        raise ConfigError("split=test: models are chosen on validation data (split=val); "
                          "test columns are shown beside them (report=test)")
    sweep_dir = Path(str(cfg.sweep_dir))
    if not sweep_dir.is_dir():
        raise ConfigError(f"sweep_dir={cfg.sweep_dir} is not a sweep directory")
    split, report, metric = str(cfg.split), str(cfg.report), str(cfg.metric)
    table = summarize_sweep(sweep_dir, split=split, metric=metric, report_split=report)
    by_config = summarize_by_config(sweep_dir, split=split, report_split=report, metric=metric)
    print(f"{len(table)} jobs summarised in {sweep_dir / 'summary.md'}; "
          f"{len(by_config)} configurations over seeds in {sweep_dir / 'summary_by_config.md'}")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.summarize [key=value ...]`: parse the command line (`visage.runner.cli`) and summarise."""
    run_command("summarize", run, argv)


if __name__ == "__main__":
    main()
