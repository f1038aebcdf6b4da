"""`python -m visage.report run=<run dir> | sweep=<sweep dir> [out=<dir>]`: the fairness and ethics report.

Writes `reports/<name>/report.md` (figures beside it), a self-contained `report.html` and `report.json`
from saved files only: no retraining and no torch import, so a report is rebuilt in seconds anywhere.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from visage.core.errors import ConfigError, exit_with_usage_error

USAGE = ("python -m visage.report run=<run dir> | sweep=<sweep dir> [out=<dir>] [split=test] [select=val] "
         "[baseline=<job>] [metric=age_mae] [attribute=race] [n_boot=1000]")
OPTIONS = {"run", "sweep", "out", "split", "select", "baseline", "metric", "attribute", "n_boot"}


def parse(argv: list[str]) -> dict[str, str]:
    """Return the `key=value` options of `argv`; ConfigError names anything else."""
    bad = [a for a in argv if "=" not in a]
    options = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    unknown = sorted(set(options) - OPTIONS) + bad
    if unknown:
        raise ConfigError(f"unknown argument(s) {', '.join(unknown)}; use {USAGE}")
    if ("run" in options) == ("sweep" in options):
        raise ConfigError(f"give exactly one of run=<run dir> or sweep=<sweep dir>; use {USAGE}")
    if "n_boot" in options and not options["n_boot"].isdigit():
        raise ConfigError(f"n_boot={options['n_boot']} must be a positive whole number of resamples")
    return options


def main(argv: list[str]) -> None:
    """Build the report the arguments ask for and print where it was written."""
    from visage.core.metric_specs import METRICS
    from visage.reporting.report_build import build_run_report, build_sweep_report, write_report

    start = time.perf_counter()
    try:
        options = parse(argv)
        source = Path(options.get("run") or options["sweep"])
        out = Path(options.get("out") or Path("reports") / source.resolve().name)
        split, select = options.get("split", "test"), options.get("select", "val")
        if options.get("metric", "age_mae") not in METRICS:
            raise ConfigError(f"unknown metric '{options['metric']}'; available: {', '.join(METRICS)}")
        if "run" in options:
            blocks, record = build_run_report(source, out, split=split, select=select)
        else:
            blocks, record = build_sweep_report(source, out, split=split, select=select, baseline=options.get("baseline"),
                                                metric=options.get("metric", "age_mae"),
                                                attribute=options.get("attribute", "race"),
                                                n_boot=int(options.get("n_boot", 1000)))
        paths = write_report(blocks, record, out)
    except ConfigError as error:
        exit_with_usage_error(error)
    print(f"wrote {paths['md']}, {paths['html'].name} and {paths['json'].name} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
