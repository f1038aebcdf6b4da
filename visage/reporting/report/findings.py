"""Findings written from the numbers: each sentence carries JSON pointers to the values it states.

A finding is `{"text": ..., "refs": [{"pointer": "/run/fairness/test/...", "value": ...}]}`; every
number in its text is one of those values printed with `report_format.number`, so a reader (and a
test) can trace each claim to `report.json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from visage.core.metric_specs import METRICS, primary_metrics
from visage.reporting.report_format import (
    TOO_FEW,
    best_group,
    group_status,
    interval,
    is_number,
    judged_groups,
    number,
    pointer,
)

ALPHA = 0.05
LISTED = 12  # small groups named per attribute; the tables list them all


class Finding:
    """Collects the text and references of one finding."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.refs: list[dict[str, Any]] = []

    def ref(self, value: Any, *path: Any) -> Any:
        """Record that the text states `value`, found at `path` of report.json; return it."""
        self.refs.append({"pointer": pointer(*path), "value": value})
        return value

    def say(self, text: str) -> Finding:
        """Append a piece of text."""
        self.parts.append(text)
        return self

    def done(self) -> dict[str, Any]:
        """Return the finding as JSON."""
        return {"text": " ".join(self.parts), "refs": self.refs}


def gap_finding(run: Mapping[str, Any], attribute: str, metric: str, base: Sequence[Any]) -> dict[str, Any] | None:
    """The worst group of `attribute` on `metric`, the gap with interval, its p-value, and validation's worst."""
    split = run["split"]
    fairness = run["fairness"][split]
    by_group, disparity = fairness["by_group"].get(attribute, {}), fairness.get("disparity", {}).get(attribute, {})
    at = (*base, "fairness", split)
    worst = (disparity.get("worst_group") or {}).get(metric)
    f = Finding()
    reason = (disparity.get("undefined") or {}).get(f"{metric}_gap")
    if (not worst or worst not in by_group) and reason:
        f.ref(reason, *at, "disparity", attribute, "undefined", f"{metric}_gap")
        return f.say(f"**{attribute} · {metric}**: no worst group or gap on {split}; the gap is undefined ({reason}).").done()
    if not worst or worst not in by_group or not is_number(by_group[worst].get(metric)):
        return None
    title = METRICS[metric].title if metric in METRICS else metric
    value = f.ref(by_group[worst][metric], *at, "by_group", attribute, worst, metric)
    f.say(f"**{attribute} · {metric}** ({title}): worst group on {split} is **{worst}** at {number(value, metric)}")
    bounds = (by_group[worst].get("ci") or {}).get(metric)
    if bounds:
        f.say(interval(f.ref(bounds, *at, "by_group", attribute, worst, "ci", metric), metric))
    if group_status(by_group[worst]) != "judged":
        f.say(f"({TOO_FEW}: n = {f.ref(by_group[worst].get('n'), *at, 'by_group', attribute, worst, 'n')})")
    best = best_group(by_group, metric, judged_groups(by_group, disparity))
    if best and best != worst:
        best_value = f.ref(by_group[best][metric], *at, "by_group", attribute, best, metric)
        f.say(f"against {number(best_value, metric)} for {best}, the best judged group.")
    else:
        f.parts[-1] += "."
    gap_key = f"{metric}_gap"
    reason = (disparity.get("undefined") or {}).get(gap_key)
    if reason:
        f.say(f"The gap is undefined ({f.ref(reason, *at, 'disparity', attribute, 'undefined', gap_key)}).")
    elif is_number(disparity.get(gap_key)):
        gap = f.ref(disparity[gap_key], *at, "disparity", attribute, gap_key)
        bounds = (disparity.get("ci") or {}).get(gap_key)
        ci = f" {interval(f.ref(bounds, *at, 'disparity', attribute, 'ci', gap_key), gap_key)}" if bounds else ""
        f.say(f"Gap {number(gap, gap_key)}{ci}.")
        p = (disparity.get("p_value") or {}).get(gap_key)
        if is_number(p):
            f.ref(p, *at, "disparity", attribute, "p_value", gap_key)
            verdict = "beyond chance" if p < ALPHA else "not distinguishable from chance"
            f.say(f"Permutation p = {number(p, 'p')}: {verdict} at {ALPHA}.")
        else:
            f.say("Permutation p-value: not computed.")
    else:
        f.say("Gap: not computed.")
    select = run.get("select_split")
    val = (run["fairness"].get(select) or {}) if select and select != split else {}
    val_worst = ((val.get("disparity") or {}).get(attribute, {}).get("worst_group") or {}).get(metric)
    if val_worst:
        f.ref(val_worst, *base, "fairness", select, "disparity", attribute, "worst_group", metric)
        f.say(f"On {select} the worst group is {val_worst}" + (" too." if val_worst == worst else ", so the ranking is not stable."))
    return f.done()


def small_group_findings(run: Mapping[str, Any], base: Sequence[Any]) -> list[dict[str, Any]]:
    """One finding per attribute listing the groups too small to judge and the empty ones."""
    split = run["split"]
    fairness = run["fairness"][split]
    least = (fairness.get("settings") or {}).get("min_group_size")
    found = []
    for attribute, by_group in fairness["by_group"].items():
        small = [g for g, e in by_group.items() if group_status(e) == TOO_FEW]
        empty = [g for g, e in by_group.items() if group_status(e) == "empty"]
        if not small and not empty:
            continue
        f = Finding()
        at = (*base, "fairness", split, "by_group", attribute)
        names = ", ".join(f"{g} (n = {f.ref(by_group[g].get('n'), *at, g, 'n')})" for g in small[:LISTED])
        names += f" and {len(small) - LISTED} more (see the tables)" if len(small) > LISTED else ""
        limit = f" (fewer than {least} samples)" if least else ""
        f.say(f"**{attribute}**: {len(small)} of {len(by_group)} groups are {TOO_FEW}{limit}" + (f": {names}." if small else "."))
        if empty:
            f.say(f"{len(empty)} have no {split} sample: {', '.join(empty)}.")
        found.append(f.done())
    return found


def noise_floor_findings(run: Mapping[str, Any], base: Sequence[Any]) -> list[dict[str, Any]]:
    """Where the model's age error is at, or how far above, the noise floor of the evaluated labels."""
    split = run["split"]
    fairness, floor = run["fairness"][split], run.get("noise_floor") or {}
    overall = fairness.get("overall", {})
    if not is_number(floor.get("age_mae")) or not is_number(overall.get("age_mae")):
        return []
    f = Finding()
    mae = f.ref(overall["age_mae"], *base, "fairness", split, "overall", "age_mae")
    f.ref(floor["age_mae"], *base, "noise_floor", "age_mae")
    f.say(f"Overall {split} age MAE {number(mae, 'age_mae')} against a label-noise floor of "
          f"{number(floor['age_mae'], 'age_mae')} (what a perfect model would still score on these noisy labels): "
          f"{number(mae - floor['age_mae'], 'age_mae')} years of error a better model could still remove.")
    found = [f.done()]
    races = fairness["by_group"].get("race", {})
    at_floor = []
    g = Finding()
    for race, values in (floor.get("by_race") or {}).items():
        bounds = (races.get(race, {}).get("ci") or {}).get("age_mae")
        if is_number(values.get("age_mae")) and bounds and is_number(bounds[0]) and bounds[0] <= values["age_mae"]:
            g.ref(values["age_mae"], *base, "noise_floor", "by_race", race, "age_mae")
            g.ref(bounds, *base, "fairness", split, "by_group", "race", race, "ci", "age_mae")
            at_floor.append(f"{race} (floor {number(values['age_mae'], 'age_mae')}, interval {interval(bounds, 'age_mae')})")
    if floor.get("by_race"):
        g.say("Groups whose age-MAE interval reaches their own noise floor (the remaining error is label noise): "
              + (", ".join(at_floor) + "." if at_floor else "none: every race's error is above its floor."))
        found.append(g.done())
    return found


def training_shift_finding(run: Mapping[str, Any], base: Sequence[Any]) -> dict[str, Any] | None:
    """The group whose share of what training saw moved most from its share of the data."""
    distribution = run.get("training_distribution") or {}
    moves = [(abs(v["trained_share"] - v["data_share"]), attribute, group) for attribute in ("race", "gender", "age_bin")
             for group, v in (distribution.get(attribute) or {}).items()
             if is_number(v.get("trained_share")) and is_number(v.get("data_share"))]
    if not moves:
        return None
    _, attribute, group = max(moves)
    f = Finding()
    at = (*base, "training_distribution", attribute, group)
    data, trained = f.ref(distribution[attribute][group]["data_share"], *at, "data_share"), f.ref(
        distribution[attribute][group]["trained_share"], *at, "trained_share")
    f.say(f"The sampler (`{distribution.get('sampler', 'unknown')}`, mode `{distribution.get('mode', 'unknown')}`) moved "
          f"{attribute} {group} most: {number(data, 'share')} of the training data, {number(trained, 'share')} of what "
          "training saw.")
    return f.done()


def run_findings(run: Mapping[str, Any], base: Sequence[Any] = ("run",)) -> list[dict[str, Any]]:
    """Return every finding of one run, in reading order."""
    fairness = run["fairness"][run["split"]]
    present = set(fairness.get("overall", {}))
    found = []
    for attribute in fairness.get("by_group", {}):
        for metric in primary_metrics():
            if metric in present:
                found.append(gap_finding(run, attribute, metric, base))
    found += noise_floor_findings(run, base)
    found += small_group_findings(run, base)
    found.append(training_shift_finding(run, base))
    return [f for f in found if f]
