"""The Hydra callback that writes a sweep's summary when a multirun ends."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from visage.core.names import GROUP_COLUMNS
from visage.reporting.summaries.seeds import summarize_by_config
from visage.reporting.summaries.sweep import summarize_sweep


class SweepSummaryCallback(Callback):
    """Hydra callback: writes the sweep summary when a multirun ends.

    Args:
        select_split: the split that worst groups, gaps and the Pareto front are chosen on (validation).
        report_split: the split shown beside, for the final write-up (never used to choose).
        attributes: attributes whose worst group and gap get columns.
        metric: the metric of those columns and of the Pareto front.
    """

    def __init__(self, select_split: str = "val", report_split: str = "test",
                 attributes: Sequence[str] = GROUP_COLUMNS, metric: str = "age_mae") -> None:
        self.select_split, self.report_split = select_split, report_split
        self.attributes, self.metric = list(attributes), metric

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise the sweep directory of this multirun: per job, and per configuration over seeds."""
        path = Path(config.hydra.sweep.dir)
        if path.is_dir():
            table = summarize_sweep(path, self.select_split, self.attributes, self.metric,
                                    report_split=self.report_split)
            print(f"sweep summary ({len(table)} jobs): {path / 'summary.md'}")
            by_config = summarize_by_config(path, split=self.select_split, report_split=self.report_split,
                                            metric=self.metric, attributes=self.attributes)
            print(f"by configuration ({len(by_config)} configurations, seeds pooled): {path / 'summary_by_config.md'}")
