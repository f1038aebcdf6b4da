"""How to evaluate fairness (`evaluation.fairness`), and checking those settings before any work starts.

`validate_settings` is called when a command starts (before training), so a typo in an attribute
name, an interval level outside (0, 1) or an unknown backend is one line and exit 2, not a failure
after the whole run.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from visage.core.age_bins import age_bin_labels
from visage.core.errors import ConfigError, unknown_choice
from visage.core.names import CLASSIFICATION_TASKS, DEFAULT_ATTRIBUTES, GROUP_COLUMNS, INTERSECTION

SMALL_GROUPS = ("exclude", "include")
BACKENDS = ("vectorised", "fairlearn")


@dataclass
class FairnessSettings:
    """How to evaluate: attributes, bootstrap and permutation sizes, interval level, small groups, backend.

    Attributes:
        attributes: grouping columns or their `*` intersections (e.g. `race*gender`); None: the data's
            sensitive attributes and the first one's intersection with each other (`default_attributes`).
        n_boot: bootstrap resamples behind every interval.
        ci: interval level, in (0, 1).
        seed: seed of the resamples and permutations.
        min_group_size: groups with fewer rows are flagged `small` and left out of gaps, ratios and
            worst groups (unless `small_groups="include"`).
        small_groups: "exclude" (default) or "include" small groups in gaps.
        backend: "vectorised" (default) or "fairlearn" (fairlearn's MetricFrame; slower, same JSON).
        n_perm: permutations of the group labels behind each gap's p-value (0: no test).
        positive: the "selected" class per task for demographic parity and equalized odds.
        categories: the groups each base attribute should have (so empty ones are still reported).
    """

    attributes: Sequence[str] | None = DEFAULT_ATTRIBUTES
    n_boot: int = 1000
    ci: float = 0.95
    seed: int = 0
    min_group_size: int = 30
    small_groups: Literal["exclude", "include"] = "exclude"
    backend: Literal["vectorised", "fairlearn"] = "vectorised"
    n_perm: int = 1000
    positive: Mapping[str, str] = field(default_factory=lambda: {"gender": "Female"})
    categories: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def quantiles(self) -> tuple[float, float]:
        """Return the lower and upper quantile of the confidence interval."""
        return (1 - self.ci) / 2, 1 - (1 - self.ci) / 2

    def describe(self) -> dict[str, Any]:
        """Return the settings as written into `fairness/<split>.json`."""
        return {"attributes": None if self.attributes is None else list(self.attributes), "n_boot": self.n_boot,
                "ci": self.ci, "seed": self.seed,
                "min_group_size": self.min_group_size, "small_groups": self.small_groups,
                "backend": self.backend, "n_perm": self.n_perm, "positive": dict(self.positive)}


def default_attributes(sensitive: Sequence[str]) -> list[str]:
    """Return the attributes studied by default: each sensitive attribute, then the first one's intersection with each other.

    `[race, gender, age_bin]` gives `[race, gender, age_bin, race*gender, race*age_bin]`; `[]` gives `[]`.
    """
    sensitive = [str(s) for s in sensitive]
    return [*sensitive, *[f"{sensitive[0]}{INTERSECTION}{other}" for other in sensitive[1:]]]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def validate_settings(settings: FairnessSettings, *, columns: Collection[str] = GROUP_COLUMNS,
                      classes: Mapping[str, Sequence[str]] | None = None) -> None:
    """Raise ConfigError (one line) if a fairness setting is invalid.

    Args:
        settings: the settings to check.
        columns: the grouping columns an attribute (or each part of an intersection) may name.
        classes: class names per task, where known, to check the positive labels against.
    """
    if not isinstance(settings.ci, numbers.Real) or not 0 < settings.ci < 1:
        raise ConfigError(f"fairness ci={settings.ci} must be in (0, 1), e.g. 0.95")
    if not _is_int(settings.n_boot) or settings.n_boot < 1:
        raise ConfigError(f"fairness n_boot={settings.n_boot} must be a positive number of resamples")
    if not _is_int(settings.n_perm) or settings.n_perm < 0:
        raise ConfigError(f"fairness n_perm={settings.n_perm} must be a number of permutations >= 0 (0: no test)")
    if not _is_int(settings.min_group_size) or settings.min_group_size < 1:
        raise ConfigError(f"fairness min_group_size={settings.min_group_size} must be a positive number of rows")
    if not _is_int(settings.seed):
        raise ConfigError(f"fairness seed={settings.seed} must be an integer")
    if settings.small_groups not in SMALL_GROUPS:
        raise unknown_choice("fairness small_groups", settings.small_groups, SMALL_GROUPS)
    if settings.backend not in BACKENDS:
        raise unknown_choice("fairness backend", settings.backend, BACKENDS)
    if isinstance(settings.attributes, str):
        raise ConfigError(f"fairness attributes={settings.attributes} must be a list, e.g. [race, gender]")
    for attribute in settings.attributes or ():
        for part in str(attribute).split(INTERSECTION):
            if part not in columns:
                allowed = [*columns, f"intersections such as {INTERSECTION.join(list(columns)[:2])}"]
                raise ConfigError(f"unknown fairness attribute '{part}' in '{attribute}'; available: "
                                  + ", ".join(str(a) for a in allowed))
    for task, label in settings.positive.items():
        known = {*CLASSIFICATION_TASKS, *(classes or {})}
        if task not in known:
            raise unknown_choice("task in fairness positive", task, known)
        if classes is not None and task in classes and str(label) not in [str(c) for c in classes[task]]:
            raise ConfigError(f"positive label '{label}' for {task} is not a class; classes: "
                              + ", ".join(str(c) for c in classes[task]))


def settings_from_config(evaluation: Mapping[str, Any], classes: Mapping[str, Sequence[str]] | None = None,
                         sensitive: Sequence[str] | None = None) -> FairnessSettings:
    """Return the settings of an `evaluation` config node, with class names and age bins as group categories.

    Args:
        evaluation: the `evaluation` node (its `fairness` and `age_bins` keys); a DictConfig or a dict.
        classes: the dataset's class names per task (they become the groups of `race`, `gender`, ...).
        sensitive: the dataset's sensitive attributes (its config's `sensitive_attributes`); with
            `attributes: null` they and their intersections with the first are studied. Without them,
            null means today's default (`race, gender, age_bin, race*gender, race*age_bin`; those whose
            columns a table lacks are left out with a warning).
    """
    fairness = {str(k): v for k, v in dict(evaluation["fairness"]).items() if k != "_target_" and v is not None}
    names = {f.name for f in dataclasses.fields(FairnessSettings)}
    unknown = sorted(set(fairness) - names)
    if unknown:
        raise unknown_choice("key in evaluation.fairness", unknown[0], sorted(names))
    for key in ("attributes",):
        if key in fairness:
            fairness[key] = [str(a) for a in fairness[key]]
    for key in ("positive", "categories"):
        if key in fairness:
            fairness[key] = {str(k): v for k, v in dict(fairness[key]).items()}
    if fairness.get("attributes") is None:
        fairness["attributes"] = default_attributes(sensitive) if sensitive is not None else DEFAULT_ATTRIBUTES
    settings = FairnessSettings(**fairness)
    categories = {task: [str(c) for c in names] for task, names in (classes or {}).items()}
    if evaluation.get("age_bins") is not None:
        categories["age_bin"] = age_bin_labels(list(evaluation["age_bins"]))
    return dataclasses.replace(settings, categories={**categories, **dict(settings.categories)})


def validate_evaluation(evaluation: Mapping[str, Any], classes: Mapping[str, Sequence[str]] | None = None,
                        sensitive: Sequence[str] | None = None) -> None:
    """Raise ConfigError (one line) if the `evaluation.fairness` settings of a run config are invalid.

    Called by `visage.train` before anything is built, so bad settings never cost a training run.
    `sensitive` (the data config's `sensitive_attributes`) are columns an attribute may name besides
    the contract's race, gender and age_bin (e.g. a table dataset's `skin_tone`).
    """
    sensitive = None if sensitive is None else [str(s) for s in sensitive]
    columns = list(dict.fromkeys([*GROUP_COLUMNS, *(sensitive or [])]))
    validate_settings(settings_from_config(evaluation, classes, sensitive), columns=columns, classes=classes)
