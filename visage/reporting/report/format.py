"""How a report prints numbers and reads the fairness JSON, old and new shapes alike.

One rule for digits, so every number in the text is its JSON value rounded the same way: ages and
their errors in years with 2 decimals, rates, ratios and p-values with 3. A key a fairness file does
not have reads "not computed"; a value the evaluator marks undefined reads "undefined (<reason>)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from visage.core.metric_specs import METRICS, spec

NOT_COMPUTED = "not computed"
TOO_FEW = "too few to judge"


def base_metric(key: str) -> str:
    """Return the metric behind a disparity or group key (`age_mae_gap`, `age_mae[Black]` -> `age_mae`)."""
    key = key.split("[", 1)[0]
    for suffix in ("_gap", "_ratio"):
        if key.endswith(suffix) and key[: -len(suffix)] in METRICS:
            return key[: -len(suffix)]
    return key


def digits(key: str) -> int:
    """Return the decimals printed for metric or disparity `key` (2 for years, 3 otherwise)."""
    name = base_metric(key)
    if key.endswith("_ratio") or name not in METRICS:
        return 3
    return 2 if spec(name).task == "age" else 3


def is_number(value: Any) -> bool:
    """True for a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, key: str = "") -> str:
    """Return `value` printed with the digits of `key`; None reads "not computed"."""
    if not is_number(value):
        return NOT_COMPUTED if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits(key)}f}"


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
