"""`python -m visage.summarize sweep=<sweep dir>`: write a sweep's summary (per job) and summary_by_config (over seeds)."""

from __future__ import annotations

import sys
from pathlib import Path

from visage.core.errors import ConfigError, exit_with_usage_error
from visage.reporting.seed_summary import summarize_by_config
from visage.reporting.sweep_summary import summarize_sweep


def main(argv: list[str]) -> None:
    """Parse `sweep=<dir>` (and optional `split=`, `report=`, `metric=`) and summarise the sweep."""
    options = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    unknown = set(options) - {"sweep", "split", "report", "metric"} or {a for a in argv if "=" not in a}
    try:
        if unknown:
            raise ConfigError(f"unknown argument(s) {', '.join(sorted(unknown))}; "
                              "use sweep=<dir> [split=val] [report=test] [metric=age_mae]")
        if options.get("split", "val") == "test":
            raise ConfigError("split=test: models are chosen on validation data (split=val); "
                              "test columns are shown beside them (report=test)")
        if "sweep" not in options or not Path(options["sweep"]).is_dir():
            raise ConfigError(f"sweep={options.get('sweep', '')} is not a sweep directory")
    except ConfigError as error:
        exit_with_usage_error(error)
    split, report, metric = options.get("split", "val"), options.get("report", "test"), options.get("metric", "age_mae")
    table = summarize_sweep(options["sweep"], split=split, metric=metric, report_split=report)
    by_config = summarize_by_config(options["sweep"], split=split, report_split=report, metric=metric)
    print(f"{len(table)} jobs summarised in {Path(options['sweep']) / 'summary.md'}; "
          f"{len(by_config)} configurations over seeds in {Path(options['sweep']) / 'summary_by_config.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])
