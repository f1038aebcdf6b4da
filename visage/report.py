"""`python -m visage.report run=<run dir> | sweep_dir=<sweep dir> [out=<dir>]`: the fairness and ethics report.

Writes `reports/<name>/report.md` (figures beside it), a self-contained `report.html`, `report.tex` (with
`tables/*.tex` and `figures/*.pdf`) and `report.json` from saved files only: no retraining and no torch
import, so a report is rebuilt in seconds anywhere. `predictions=<file>` audits any model's predictions.
Keys and defaults: `conf/report.yaml` (`python -m visage.report --help`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from visage.core.errors import ConfigError
from visage.runner.cli import run_command

SOURCES = ("run", "sweep_dir", "predictions")


def _set_fairness(cfg: DictConfig) -> dict[str, Any]:
    """Return the `evaluation.fairness` values the command line set (nulls and empty mappings dropped)."""
    values = OmegaConf.to_container(cfg.evaluation.fairness, resolve=True)
    return {k: v for k, v in values.items() if v is not None and v != {}}


def run(cfg: DictConfig) -> None:
    """Build the report the config asks for and print where it was written."""
    start = time.perf_counter()
    given = [key for key in SOURCES if cfg.get(key) is not None]
    if len(given) != 1:
        raise ConfigError("give exactly one of run=<run dir>, sweep_dir=<sweep dir> or predictions=<file>"
                          + (f" (got {', '.join(given)})" if given else ""))
    source = Path(str(cfg[given[0]]))
    out = Path(cfg.out or Path("reports") / (source.stem if given[0] == "predictions" else source.resolve().name))
    fairness = _set_fairness(cfg)
    paths = build(out=out, **{given[0]: str(source)}, about=cfg.about, split=cfg.split, select=cfg.select,
                  baseline=None if cfg.baseline is None else str(cfg.baseline), metric=cfg.metric, attribute=cfg.attribute,
                  n_boot=int(cfg.n_boot), n_perm=int(fairness.get("n_perm") or 1000), correction=cfg.correction,
                  alpha=float(cfg.alpha), fairness=fairness)
    print(f"wrote {paths['md']}, {paths['html'].name}, {paths['tex'].name} and {paths['json'].name} in "
          f"{time.perf_counter() - start:.1f} s")


def build(*, out: Path, run: str | None = None, sweep_dir: str | None = None, predictions: str | None = None,
          about: str | None = None, split: str = "test", select: str = "val", baseline: str | None = None,
          metric: str = "age_mae", attribute: str | None = None, n_boot: int = 1000, n_perm: int = 1000,
          correction: str = "holm", alpha: float = 0.05, fairness: dict | None = None) -> dict[str, Path]:
    """Build and write the report the keys ask for (exactly one of run, sweep_dir, predictions); return its paths."""
    from visage.core.metric_specs import spec
    from visage.reporting.report.build import build_audit_report, build_run_report, build_sweep_report
    from visage.reporting.report.write import write_report

    try:
        spec(metric)
    except KeyError as error:
        raise ConfigError(str(error.args[0])) from None
    if run is not None:
        blocks, record = build_run_report(run, out, split=split, select=select, correction=correction, alpha=alpha,
                                          about=about)
    elif sweep_dir is not None:
        blocks, record = build_sweep_report(sweep_dir, out, split=split, select=select, baseline=baseline, metric=metric,
                                            attribute=attribute, n_boot=n_boot, n_perm=n_perm, correction=correction,
                                            alpha=alpha, about=about)
    else:
        blocks, record = build_audit_report(predictions, out, fairness=fairness, about=about, correction=correction,
                                            alpha=alpha)
    return write_report(blocks, record, out)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.report [key=value ...]`: parse the command line (`visage.runner.cli`) and build the report."""
    run_command("report", run, argv)


if __name__ == "__main__":
    main()
