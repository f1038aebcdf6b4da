"""One table of the metrics visage reports, in the spirit of fairlearn's generated-metrics spec.

Each metric is named `<task>_<kind>` (e.g. `age_mae`, `race_acc`); its spec says which direction is
better, whether a ratio between groups means something, and whether it is shown per group. Every
module that needs to know "is lower better?" or "which metrics are headline metrics?" asks here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from visage.core.names import AGE, CLASSIFICATION_TASKS

Direction = Literal["lower", "higher", "zero"]


@dataclass(frozen=True)
class MetricKind:
    """One kind of metric, instantiated for each task it applies to."""

    kind: str
    title: str
    direction: Direction      # "zero": a signed error, best at 0 (the worst group has the largest |value|)
    has_ratio: bool           # min/max between groups is meaningful (not for signed values)
    per_group: bool = True    # reported per group (the per-class rates behind parity metrics are not)


@dataclass(frozen=True)
class MetricSpec:
    """One metric of one task, e.g. `age_mae`."""

    name: str
    task: str
    title: str
    direction: Direction
    has_ratio: bool
    per_group: bool

    @property
    def lower_is_better(self) -> bool:
        """True where a smaller value is better (errors); signed metrics are compared by magnitude."""
        return self.direction != "higher"


AGE_KINDS = (
    MetricKind("mae", "mean absolute error (years)", "lower", True),
    MetricKind("median_ae", "median absolute error (years)", "lower", True),
    MetricKind("bias", "mean signed error (years, + = over-estimate)", "zero", False),
)
CLASS_KINDS = (
    MetricKind("acc", "accuracy", "higher", True),
    MetricKind("macro_f1", "macro-F1", "higher", True),
    MetricKind("ece", "expected calibration error", "lower", True),
)


def _specs() -> dict[str, MetricSpec]:
    table = {}
    for task, kinds in [(AGE, AGE_KINDS), *[(t, CLASS_KINDS) for t in CLASSIFICATION_TASKS]]:
        for k in kinds:
            name = f"{task}_{k.kind}"
            table[name] = MetricSpec(name, task, k.title, k.direction, k.has_ratio, k.per_group)
    return table


METRICS: dict[str, MetricSpec] = _specs()
# The headline metrics of each task: overall tables, trackers and sweep summaries show these.
PRIMARY = {AGE: "age_mae", **{task: f"{task}_acc" for task in CLASSIFICATION_TASKS}}


def spec(name: str) -> MetricSpec:
    """Return the spec of metric `name`; KeyError names the known metrics."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric '{name}'; known: {', '.join(METRICS)}") from None


def group_metrics(names: Iterable[str]) -> list[str]:
    """Return the names among `names` that are reported per group, in table order."""
    present = set(names)
    return [name for name, s in METRICS.items() if s.per_group and name in present]


def primary_metrics(tasks: Iterable[str] = (AGE, "gender", "race")) -> list[str]:
    """Return the headline metric of each task."""
    return [PRIMARY[task] for task in tasks]
