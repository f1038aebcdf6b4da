"""The metric table: every metric visage reports is one entry here, and every stage computes from it.

A metric *kind* (`mae`, `acc`, `cs5`, ...) is instantiated for each task it applies to as
`<task>_<kind>` (`age_mae`, `emotion_acc`); per-class kinds as `<task>_<kind>_<class>`
(`gender_selection_rate_Female`). An entry holds:

- `statistics(data)`: the per-row values whose sums over a group's rows give the metric (the
  vectorised bootstrap and the permutation tests sum them, one matrix product per cell);
- `from_sums(col, data, cls)`: the metric from those sums (arrays with any leading axes);
- `reference(data, rows, cls)`: the same metric from sklearn's or fairlearn's own function on the
  rows of one group (what the fairlearn backend calls);
- what it means: direction, whether a ratio between groups means something, whether it is shown per
  group, whether its gap gets a permutation test, its unit and display format.

Tasks come in three kinds (`visage.core.tasks`): "regression" (age), "classification" (a truth
and a prediction) and "predicted" (a classifier whose truth the data lacks: only prediction shares
and their between-group distance can be scored). Adding a metric is adding one `MetricKind` below.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from visage.core.names import AGE, CLASSIFICATION_TASKS

Direction = Literal["lower", "higher", "zero", "none"]
TaskKind = Literal["regression", "classification", "predicted"]
TASK_KINDS = ("regression", "classification", "predicted")
ECE_BINS = 10
CS_YEARS = 5.0  # the cumulative score's tolerance: CS@5, as MiVOLO and most age papers report it


@dataclass(frozen=True)
class TaskData:
    """The columns of one task in a predictions table, as the statistics of its metrics need them.

    Attributes:
        task: task name (`age`, `gender`, `emotion`, ...).
        kind: "regression", "classification" or "predicted".
        pred: predictions (floats for regression, class names otherwise).
        true: truths (None for a predicted task).
        classes: class names of a classifier (empty for regression).
        confidence: a classifier's confidence per row (its largest class probability), if saved.
        binned_truth: the true values are bin centres (FairFace ages), not exact values.
    """

    task: str
    kind: TaskKind
    pred: np.ndarray
    true: np.ndarray | None = None
    classes: tuple[str, ...] = ()
    confidence: np.ndarray | None = None
    binned_truth: bool = False


Stats = dict[str, np.ndarray]
Column = Callable[[str], np.ndarray]  # a sum by statistic name (the task's own, unprefixed)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _error(data: TaskData) -> np.ndarray:
    return data.pred.astype(np.float64) - data.true.astype(np.float64)


def _correct(data: TaskData) -> np.ndarray:
    return (data.true == data.pred).astype(np.float64)


def _class_counts(data: TaskData) -> Stats:
    out: Stats = {}
    for c in data.classes:
        out[f"pred_{c}"] = (data.pred == c).astype(np.float64)
        if data.true is not None:
            out[f"true_{c}"] = (data.true == c).astype(np.float64)
            out[f"tp_{c}"] = ((data.pred == c) & (data.true == c)).astype(np.float64)
    return out


def _ece_bins(confidence: np.ndarray) -> np.ndarray:
    return np.clip((confidence * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)


def _ece_statistics(data: TaskData) -> Stats:
    bins, correct = _ece_bins(data.confidence), _correct(data)
    out: Stats = {}
    for b in range(ECE_BINS):
        inside = (bins == b).astype(np.float64)
        out[f"bin{b}_conf"], out[f"bin{b}_correct"] = inside * data.confidence, inside * correct
    return out


def _ece_from_sums(col: Column, data: TaskData, cls: str | None) -> np.ndarray:
    gaps = sum(np.abs(col(f"bin{b}_correct") - col(f"bin{b}_conf")) for b in range(ECE_BINS))
    return _divide(gaps, col("n"))


def _ece_reference(data: TaskData, rows: np.ndarray, cls: str | None) -> float:
    correct, confidence = _correct(data)[rows], data.confidence[rows]
    bins = _ece_bins(confidence)
    gaps = sum(abs(correct[bins == b].sum() - confidence[bins == b].sum()) for b in range(ECE_BINS))
    return float(gaps / len(rows))


def _macro_f1_from_sums(col: Column, data: TaskData, cls: str | None) -> np.ndarray:
    f1 = np.stack([_divide(2 * col(f"tp_{c}"), col(f"pred_{c}") + col(f"true_{c}")) for c in data.classes])
    # sklearn's macro-F1 averages over the classes present in y_true or y_pred, hence nanmean.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(f1, axis=0)


def _binary(data: TaskData, rows: np.ndarray, cls: str) -> tuple[np.ndarray, np.ndarray]:
    return (data.true[rows] == cls).astype(int), (data.pred[rows] == cls).astype(int)


def _fairlearn_rate(name: str, needs: int) -> Callable[[TaskData, np.ndarray, str | None], float]:
    """Return fairlearn's `name` rate of one class, NaN where no row has the true label `needs` (no denominator)."""
    def rate(data: TaskData, rows: np.ndarray, cls: str | None) -> float:
        import fairlearn.metrics as fm  # the reference backend only

        y_true, y_pred = _binary(data, rows, cls)
        if not (y_true == needs).any():
            return float("nan")
        return float(getattr(fm, name)(y_true, y_pred, pos_label=1))
    return rate


def _selection_reference(data: TaskData, rows: np.ndarray, cls: str | None) -> float:
    from fairlearn.metrics import selection_rate

    return float(selection_rate(np.zeros(len(rows), int), (data.pred[rows] == cls).astype(int), pos_label=1))


def _sk(name: str, **options: Any) -> Callable[[TaskData, np.ndarray, str | None], float]:
    """Return sklearn.metrics' `name` on the rows of one group."""
    def reference(data: TaskData, rows: np.ndarray, cls: str | None) -> float:
        import sklearn.metrics as sm  # the reference backend only

        true, pred = data.true[rows], data.pred[rows]
        if data.kind == "regression":
            true, pred = true.astype(np.float64), pred.astype(np.float64)
        return float(getattr(sm, name)(true, pred, **options))
    return reference


def max_pairwise_tvd(shares: np.ndarray) -> np.ndarray:
    """Return the largest total-variation distance between two groups' predicted-class distributions.

    `shares` is (..., groups, classes); TVD(g, h) = ½ Σ_c |p_gc − p_hc|. Groups whose shares are NaN
    (no rows) take no part; NaN where fewer than two groups are defined.
    """
    defined = ~np.isnan(shares).any(axis=-1)  # (..., groups)
    diff = 0.5 * np.abs(shares[..., :, None, :] - shares[..., None, :, :]).sum(axis=-1)  # (..., g, g)
    both = defined[..., :, None] & defined[..., None, :]
    diff = np.where(both, diff, -np.inf)
    best = diff.max(axis=(-1, -2), initial=-np.inf)
    return np.where(defined.sum(axis=-1) >= 2, best, np.nan)


@dataclass(frozen=True)
class MetricKind:
    """One kind of metric: what it means and how it is computed, for every task of its task kinds."""

    kind: str
    title: str
    task_kinds: tuple[str, ...]
    direction: Direction      # "zero": signed, best at 0; "none": no better value (prediction shares)
    has_ratio: bool           # min/max between groups is meaningful (not for signed values)
    unit: str                 # "years", "share", "" (a score)
    fmt: str                  # format spec of a value, e.g. ".2f", ".1%"
    statistics: Callable[[TaskData], Stats] | None = None
    from_sums: Callable[[Column, TaskData, str | None], np.ndarray] | None = None
    reference: Callable[[TaskData, np.ndarray, str | None], float] | None = None
    per_group: bool = True    # reported per group (the per-class rates behind parity metrics are not)
    tested: bool = False      # its gap gets a permutation test (means of a per-row value)
    per_class: bool = False   # one metric per class: `<task>_<kind>_<class>`
    median_of: str | None = None   # a median of this per-row statistic (not a sum; the bootstrap finds it)
    between: str | None = None     # a between-groups distance of this per-class kind's values (max over pairs)
    needs: Callable[[TaskData], bool] = lambda data: True            # computed at all (ECE needs probabilities)
    unavailable: Callable[[TaskData], str | None] = lambda data: None  # null with this reason


KINDS: tuple[MetricKind, ...] = (
    MetricKind("mae", "mean absolute error (years)", ("regression",), "lower", True, "years", ".2f",
               statistics=lambda d: {"abs_err": np.abs(_error(d))},
               from_sums=lambda col, d, c: _divide(col("abs_err"), col("n")),
               reference=_sk("mean_absolute_error"), tested=True),
    MetricKind("median_ae", "median absolute error (years)", ("regression",), "lower", True, "years", ".2f",
               statistics=lambda d: {"abs_err": np.abs(_error(d))}, reference=_sk("median_absolute_error"),
               median_of="abs_err"),
    MetricKind("bias", "mean signed error (years, + = over-estimate)", ("regression",), "zero", False, "years", "+.2f",
               statistics=lambda d: {"signed_err": _error(d)},
               from_sums=lambda col, d, c: _divide(col("signed_err"), col("n")),
               reference=lambda d, rows, c: float(np.mean(_error(d)[rows])), tested=True),
    MetricKind("cs5", f"cumulative score: share with absolute error <= {CS_YEARS:g} years", ("regression",), "higher", True,
               "share", ".1%",
               statistics=lambda d: {"within_cs": (np.abs(_error(d)) <= CS_YEARS).astype(np.float64)},
               from_sums=lambda col, d, c: _divide(col("within_cs"), col("n")),
               reference=lambda d, rows, c: float(np.mean(np.abs(_error(d)[rows]) <= CS_YEARS)), tested=True,
               unavailable=lambda d: (f"the true {d.task}s are bin centres (age bins only), so being within "
                                      f"{CS_YEARS:g} years of them says nothing") if d.binned_truth else None),
    MetricKind("acc", "accuracy", ("classification",), "higher", True, "share", ".3f",
               statistics=lambda d: {"correct": _correct(d)},
               from_sums=lambda col, d, c: _divide(col("correct"), col("n")),
               reference=_sk("accuracy_score"), tested=True),
    MetricKind("macro_f1", "macro-F1", ("classification",), "higher", True, "", ".3f",
               statistics=_class_counts, from_sums=_macro_f1_from_sums,
               reference=_sk("f1_score", average="macro", zero_division=0)),
    MetricKind("ece", "expected calibration error", ("classification",), "lower", True, "", ".3f",
               statistics=_ece_statistics, from_sums=_ece_from_sums, reference=_ece_reference,
               needs=lambda d: d.confidence is not None),
    MetricKind("selection_rate", "share predicted as the class", ("classification",), "none", True, "share", ".3f",
               statistics=_class_counts, from_sums=lambda col, d, c: _divide(col(f"pred_{c}"), col("n")),
               reference=_selection_reference, per_group=False, per_class=True),
    MetricKind("tpr", "true positive rate of the class", ("classification",), "higher", True, "share", ".3f",
               statistics=_class_counts, from_sums=lambda col, d, c: _divide(col(f"tp_{c}"), col(f"true_{c}")),
               reference=_fairlearn_rate("true_positive_rate", 1), per_group=False, per_class=True),
    MetricKind("fpr", "false positive rate of the class", ("classification",), "lower", True, "share", ".3f",
               statistics=_class_counts,
               from_sums=lambda col, d, c: _divide(col(f"pred_{c}") - col(f"tp_{c}"), col("n") - col(f"true_{c}")),
               reference=_fairlearn_rate("false_positive_rate", 0), per_group=False, per_class=True),
    # A classifier whose truth the data lacks: what it predicts, per group (parity of predictions, not errors).
    MetricKind("selection_rate", "share predicted as the class", ("predicted",), "none", True, "share", ".3f",
               statistics=_class_counts, from_sums=lambda col, d, c: _divide(col(f"pred_{c}"), col("n")),
               reference=_selection_reference, per_class=True),
    MetricKind("prediction_tvd", "largest total-variation distance between two groups' predicted-class shares",
               ("predicted",), "lower", False, "share", ".3f", statistics=_class_counts, per_group=False,
               tested=True, between="selection_rate"),
)


@dataclass(frozen=True)
class MetricSpec:
    """One metric of one task, e.g. `age_mae` (a per-class kind: `gender_tpr`, values `gender_tpr_<class>`)."""

    name: str
    task: str
    kind: str
    title: str
    unit: str
    fmt: str
    direction: Direction
    has_ratio: bool
    per_group: bool
    tested: bool
    definition: MetricKind = field(repr=False, compare=False)

    @property
    def lower_is_better(self) -> bool:
        """True where a smaller value is better (errors); signed metrics are compared by magnitude."""
        return self.direction not in ("higher", "none")

    @property
    def per_class(self) -> bool:
        """True for a kind with one value per class (`<name>_<class>`)."""
        return self.definition.per_class

    def names(self, classes: Iterable[str] = ()) -> list[str]:
        """Return the names of its values: itself, or `<name>_<class>` for each class."""
        return [f"{self.name}_{c}" for c in classes] if self.per_class else [self.name]


def _instance(task: str, kind: MetricKind) -> MetricSpec:
    return MetricSpec(f"{task}_{kind.kind}", task, kind.kind, kind.title, kind.unit, kind.fmt, kind.direction,
                      kind.has_ratio, kind.per_group, kind.tested, kind)


def metrics_for(tasks: Mapping[str, str]) -> list[MetricSpec]:
    """Return the specs of every metric of `tasks` (task -> "regression" | "classification" | "predicted")."""
    return [_instance(task, kind) for task, task_kind in tasks.items() for kind in KINDS if task_kind in kind.task_kinds]


def default_task_kind(task: str) -> TaskKind:
    """Return the kind a task has when it has both a truth and a prediction (age: regression)."""
    return "regression" if task == AGE else "classification"


DEFAULT_TASKS: dict[str, str] = {AGE: "regression", **{t: "classification" for t in CLASSIFICATION_TASKS}}


def parse(name: str, task_kind: str | None = None) -> tuple[MetricSpec, str | None] | None:
    """Return (spec, class) of a metric value name such as `age_mae` or `race_tpr_White`; None if it is none.

    Task names may contain underscores; the kind is found from the end of the name (a per-class
    kind anywhere before the class name). `task_kind` picks among kinds of the same name.
    """
    for kind in sorted(KINDS, key=lambda k: -len(k.kind)):
        if task_kind is not None and task_kind not in kind.task_kinds:
            continue
        if not kind.per_class and name.endswith(f"_{kind.kind}"):
            task = name[: -len(kind.kind) - 1]
            if task and (task_kind is not None or default_task_kind(task) in kind.task_kinds):
                return _instance(task, kind), None
        elif kind.per_class and f"_{kind.kind}_" in name:
            task, _, cls = name.partition(f"_{kind.kind}_")
            if task and cls and (task_kind is not None or default_task_kind(task) in kind.task_kinds):
                return _instance(task, kind), cls
    return None


class _MetricTable(Mapping):
    """`METRICS[name]` for any task's metric; iterating lists the metrics of the default tasks."""

    def __init__(self) -> None:
        self._listed = {s.name: s for s in metrics_for(DEFAULT_TASKS) if not s.per_class}

    def __getitem__(self, name: str) -> MetricSpec:
        if name in self._listed:
            return self._listed[name]
        found = parse(str(name))
        if found is None or found[0].per_class:
            raise KeyError(name)
        return found[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._listed)

    def __len__(self) -> int:
        return len(self._listed)


METRICS: Mapping[str, MetricSpec] = _MetricTable()
# The headline metric of each task kind: overall tables, trackers and sweep summaries show these.
HEADLINE = {"regression": "mae", "classification": "acc", "predicted": "prediction_tvd"}
PRIMARY = {task: f"{task}_{HEADLINE[kind]}" for task, kind in DEFAULT_TASKS.items()}


def spec(name: str) -> MetricSpec:
    """Return the spec of metric `name` (any task's `<task>_<kind>`); KeyError names the known kinds."""
    try:
        return METRICS[name]
    except KeyError:
        kinds = ", ".join(dict.fromkeys(k.kind for k in KINDS if not k.per_class))
        raise KeyError(f"unknown metric '{name}'; known: <task>_<kind> with kind one of {kinds}, "
                       f"e.g. {', '.join(METRICS)}") from None


def _order(s: MetricSpec) -> tuple[int, int]:
    tasks = list(DEFAULT_TASKS)
    return (tasks.index(s.task) if s.task in tasks else len(tasks), [k.kind for k in KINDS].index(s.kind))


def group_metrics(names: Iterable[str]) -> list[str]:
    """Return the names among `names` that are reported per group (one value per task), in table order."""
    found = []
    for name in dict.fromkeys(names):
        parsed = parse(str(name))
        if parsed is not None and parsed[1] is None and parsed[0].per_group:
            found.append(parsed[0])
    return [s.name for s in sorted(found, key=_order)]


def primary_metrics(tasks: Iterable[str] | Mapping[str, str] = (AGE, "gender", "race")) -> list[str]:
    """Return the headline metric of each task (a mapping gives each task's kind; else the default kind)."""
    kinds = dict(tasks) if isinstance(tasks, Mapping) else {t: default_task_kind(t) for t in tasks}
    return [f"{task}_{HEADLINE[kind]}" for task, kind in kinds.items()]


# fairlearn's parity disparities of a classifier's positive label: the per-class rate each compares, and how.
PARITY_KEYS = {"demographic_parity_difference": ("selection_rate", "gap"),
               "demographic_parity_ratio": ("selection_rate", "ratio"),
               "equalized_odds_difference": ("tpr", "gap"),
               "true_positive_rate_difference": ("tpr", "gap"),
               "false_positive_rate_difference": ("fpr", "gap")}


def gap_spec(key: str) -> tuple[MetricSpec, str]:
    """Return (spec, "gap" | "ratio") of a fairness-JSON disparity key such as `age_mae_gap` or `race_acc_ratio`.

    A between-groups metric (`<task>_prediction_tvd`) is its own gap; a parity key
    (`gender_demographic_parity_difference`) gives the per-class rate it compares. KeyError if `key` is none of these.
    """
    for parity, (kind, what) in PARITY_KEYS.items():
        if key.endswith(f"_{parity}") and len(key) > len(parity) + 1:
            task = key[: -len(parity) - 1]
            return _instance(task, next(k for k in KINDS if k.kind == kind and "classification" in k.task_kinds)), what
    for suffix, what in (("_gap", "gap"), ("_ratio", "ratio")):
        if key.endswith(suffix):
            found = parse(key[: -len(suffix)]) or parse(key[: -len(suffix)], "predicted")
            if found is not None:
                return found[0], what
    found = parse(key, "predicted")
    if found is not None and found[0].definition.between:
        return found[0], "gap"
    raise KeyError(f"'{key}' is not a disparity key (<metric>_gap or <metric>_ratio)")


def table_markdown() -> str:
    """Return the metric table as Markdown (kind, tasks, meaning, direction, unit, ratio, tested): docs list metrics from it."""
    rows = ["| metric | task kinds | meaning | better | unit | ratio | gap tested |", "|---|---|---|---|---|---|---|"]
    for k in KINDS:
        name = f"`<task>_{k.kind}" + ("_<class>`" if k.per_class else "`")
        title = k.title.replace("|", "\\|")
        rows.append(f"| {name} | {', '.join(k.task_kinds)} | {title} | {k.direction} | {k.unit or 'score'} | "
                    f"{'yes' if k.has_ratio else 'no'} | {'yes' if k.tested else 'no'} |")
    return "\n".join(rows)


def format_value(name: str, value: float | None) -> str:
    """Return `value` of metric (or disparity key) `name` in its display format; "n/a" where undefined."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    try:
        metric, what = gap_spec(name)
        fmt = ".2f" if what == "ratio" else metric.fmt.lstrip("+") if what == "gap" else metric.fmt
    except KeyError:
        parsed = parse(name) or parse(name, "predicted")
        fmt = parsed[0].fmt if parsed else ".3g"
    return format(float(value), fmt)
