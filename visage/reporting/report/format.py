"""How a report prints numbers and reads the fairness JSON, old and new shapes alike.

One rule for digits, so every number in the text is its JSON value rounded the same way: the display
format of its metric in the metric table (`visage.core.metric_specs.format_value`), p-values with 3
decimals (below 0.001 with 2 significant digits). A key a fairness file does not have reads "not
computed"; a value the evaluator marks undefined reads "undefined (<reason>)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from visage.core.metric_specs import METRICS, format_value, gap_spec, spec

NOT_COMPUTED = "not computed"
P_KEYS = ("p", "p_value", "p_adjusted")  # p-values: 3 decimals, small ones with 2 significant digits
TOO_FEW = "too few to judge"


def base_metric(key: str) -> str:
    """Return the metric behind a disparity or group key (`age_mae_gap`, `age_mae[Black]` -> `age_mae`)."""
    key = key.split("[", 1)[0]
    try:
        return gap_spec(key)[0].name
    except KeyError:
        return key


def is_number(value: Any) -> bool:
    """True for a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, key: str = "") -> str:
    """Return `value` in the display format of metric or disparity `key` (the metric table's); None reads "not computed".

    p-values and keys the metric table does not know print with 3 decimals; signs only where negative.
    """
    if not is_number(value):
        return NOT_COMPUTED if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if key in P_KEYS:
        return f"{value:.3f}" if value >= 0.001 or value == 0 else f"{value:.2g}"
    name = key.split("[", 1)[0]
    try:
        spec(name) if not name.endswith(("_gap", "_ratio")) else gap_spec(name)
    except KeyError:
        return f"{value:.3f}"
    return format_value(name, value).lstrip("+")


def unit(key: str) -> str:
    """Return the unit a value of metric or disparity `key` is stated in ("years", "" for shares and scores)."""
    try:
        metric, what = gap_spec(key) if key.endswith(("_gap", "_ratio")) else (spec(key), "value")
    except KeyError:
        return ""
    return metric.unit if what != "ratio" and metric.unit == "years" else ""


def interval(bounds: Sequence[Any] | None, key: str = "") -> str:
    """Return "[lo, hi]" with the digits of `key`, or "" where no interval was computed."""
    if not bounds or len(bounds) != 2 or not all(is_number(b) for b in bounds):
        return ""
    return f"[{number(float(bounds[0]), key)}, {number(float(bounds[1]), key)}]"


def with_interval(entry: Mapping[str, Any], key: str) -> str:
    """Return `entry[key]` and its interval from `entry["ci"]`, or why there is no value."""
    reason = (entry.get("undefined") or {}).get(key)
    if reason:
        return f"undefined ({reason})"
    if key not in entry:
        return NOT_COMPUTED
    value = entry[key]
    if value is None:
        return "undefined"
    ci = interval((entry.get("ci") or {}).get(key), key)
    return f"{number(value, key)} {ci}".strip()


def group_status(entry: Mapping[str, Any]) -> str:
    """Return "empty", "too few to judge" or "judged" for one group's entry of `by_group`."""
    if entry.get("empty") or entry.get("n") == 0:
        return "empty"
    return TOO_FEW if entry.get("small") else "judged"


def judged_groups(by_group: Mapping[str, Mapping[str, Any]], disparity: Mapping[str, Any] | None = None) -> list[str]:
    """Return the groups a gap compares: `groups_compared` when given, else the judged ones."""
    if disparity and disparity.get("groups_compared"):
        return list(disparity["groups_compared"])
    return [g for g, e in by_group.items() if group_status(e) == "judged"]


def best_group(by_group: Mapping[str, Mapping[str, Any]], metric: str, groups: Sequence[str]) -> str | None:
    """Return the group with the best value of `metric` among `groups` (None if no group has a value)."""
    values = {g: by_group[g].get(metric) for g in groups if g in by_group and is_number(by_group[g].get(metric))}
    if not values:
        return None
    direction = spec(metric).direction if metric in METRICS else "lower"
    key = {"lower": lambda g: values[g], "higher": lambda g: -values[g], "zero": lambda g: abs(values[g])}[direction]
    return min(values, key=key)


def pointer(*parts: Any) -> str:
    """Return the JSON pointer (RFC 6901) of `parts` inside report.json."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve_pointer(document: Any, path: str) -> Any:
    """Return the value at JSON pointer `path` of `document` (KeyError/IndexError if absent)."""
    node = document
    for raw in path.lstrip("/").split("/") if path != "/" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
