"""Findings written from the numbers: each sentence carries JSON pointers to the values it states.

A finding is `{"text": ..., "refs": [{"pointer": "/run/fairness/test/...", "value": ...}]}`; every
number in its text is one of those values printed with `report_format.number`, so a reader (and a
test) can trace each claim to `report.json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from visage.core.metric_specs import METRICS, group_metrics, spec
from visage.reporting.markdown import escape
from visage.reporting.report.format import (
    TOO_FEW,
    best_group,
    group_status,
    interval,
    is_number,
    judged_groups,
    number,
    pointer,
    unit,
)

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


def test_verdict(f: Finding, tests: Sequence[Mapping[str, Any]], attribute: str, key: str) -> str:
    """Return the raw and adjusted permutation p of one gap's test and its verdict at the family's alpha."""
    index = next((i for i, t in enumerate(tests) if t.get("attribute") == attribute and t.get("metric") == key), None)
    if index is None or not is_number(tests[index].get("p_value")):
        return "Permutation p-value: not computed."
    test = tests[index]
    p, adjusted = f.ref(test["p_value"], "tests", index, "p_value"), f.ref(test.get("p_adjusted"), "tests", index, "p_adjusted")
    verdict = "beyond chance" if test.get("beyond_chance") else "not distinguishable from chance"
    return f"Permutation p = {number(p, 'p')}, adjusted p = {number(adjusted, 'p')}: {verdict} (family `{test.get('family')}`)."


def gap_finding(run: Mapping[str, Any], attribute: str, metric: str, base: Sequence[Any],
                tests: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any] | None:
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
        return f.say(f"**{escape(attribute)} · {metric}**: no worst group or gap on {split}; the gap is undefined "
                     f"({escape(reason)}).").done()
    if not worst or worst not in by_group or not is_number(by_group[worst].get(metric)):
        return None
    title = METRICS[metric].title if metric in METRICS else metric
    value = f.ref(by_group[worst][metric], *at, "by_group", attribute, worst, metric)
    f.say(f"**{escape(attribute)} · {metric}** ({title}): worst group on {split} is **{escape(worst)}** at "
          f"{number(value, metric)}{_unit(metric)}")
    bounds = (by_group[worst].get("ci") or {}).get(metric)
    if bounds:
        f.say(interval(f.ref(bounds, *at, "by_group", attribute, worst, "ci", metric), metric))
    if group_status(by_group[worst]) != "judged":
        f.say(f"({TOO_FEW}: n = {f.ref(by_group[worst].get('n'), *at, 'by_group', attribute, worst, 'n')})")
    best = best_group(by_group, metric, judged_groups(by_group, disparity))
    if best and best != worst:
        best_value = f.ref(by_group[best][metric], *at, "by_group", attribute, best, metric)
        f.say(f"against {number(best_value, metric)} for {escape(best)}, the best judged group.")
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
        f.say(f"Gap {number(gap, gap_key)}{_unit(gap_key)}{ci}.")
        f.say(test_verdict(f, tests, attribute, gap_key))
    else:
        f.say("Gap: not computed.")
    select = run.get("select_split")
    val = (run["fairness"].get(select) or {}) if select and select != split else {}
    val_worst = ((val.get("disparity") or {}).get(attribute, {}).get("worst_group") or {}).get(metric)
    if val_worst:
        f.ref(val_worst, *base, "fairness", select, "disparity", attribute, "worst_group", metric)
        f.say(f"On {select} the worst group is {escape(val_worst)}"
              + (" too." if val_worst == worst else ", so the ranking is not stable."))
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
        names = ", ".join(f"{escape(g)} (n = {f.ref(by_group[g].get('n'), *at, g, 'n')})" for g in small[:LISTED])
        names += f" and {len(small) - LISTED} more (see the tables)" if len(small) > LISTED else ""
        limit = f" (fewer than {least} samples)" if least else ""
        f.say(f"**{escape(attribute)}**: {len(small)} of {len(by_group)} groups are {TOO_FEW}{limit}"
              + (f": {names}." if small else "."))
        if empty:
            f.say(f"{len(empty)} have no {split} sample: {', '.join(map(escape, empty))}.")
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
            at_floor.append(f"{escape(race)} (floor {number(values['age_mae'], 'age_mae')}, interval {interval(bounds, 'age_mae')})")
    if floor.get("by_race"):
        g.say("Groups whose age-MAE interval reaches their own noise floor (the remaining error is label noise): "
              + (", ".join(at_floor) + "." if at_floor else "none: every race's error is above its floor."))
        found.append(g.done())
    return found


def training_shift_finding(run: Mapping[str, Any], base: Sequence[Any]) -> dict[str, Any] | None:
    """The group whose share of what training saw moved most from its share of the data."""
    distribution = run.get("training_distribution") or {}
    moves = [(abs(v["trained_share"] - v["data_share"]), attribute, group)
             for attribute, groups in distribution.items() if isinstance(groups, Mapping)  # one entry per attribute
             for group, v in groups.items()
             if isinstance(v, Mapping) and is_number(v.get("trained_share")) and is_number(v.get("data_share"))]
    if not moves:
        return None
    moved, attribute, group = max(moves)
    f = Finding()
    if moved < 5e-4:
        f.ref(distribution.get("sampler", "unknown"), *base, "training_distribution", "sampler")
        return {**f.say(f"The sampler (`{distribution.get('sampler', 'unknown')}`) left every group's share of what "
                        "training saw at its share of the data.").done(), "vacuous": True}
    at = (*base, "training_distribution", attribute, group)
    data, trained = f.ref(distribution[attribute][group]["data_share"], *at, "data_share"), f.ref(
        distribution[attribute][group]["trained_share"], *at, "trained_share")
    f.say(f"The sampler (`{distribution.get('sampler', 'unknown')}`, mode `{distribution.get('mode', 'unknown')}`) moved "
          f"{escape(attribute)} {escape(group)} most: {number(data, 'share')} of the training data, "
          f"{number(trained, 'share')} of what "
          "training saw.")
    return f.done()


def headline(fairness: Mapping[str, Any]) -> list[str]:
    """Return the headline metric of each task the fairness result scores (its MAE or accuracy)."""
    return [m for m in group_metrics(fairness.get("overall", {})) if spec(m).kind in ("mae", "acc")]


def _unit(key: str) -> str:
    return f" {unit(key)}" if unit(key) else ""


def vacuous(finding: Mapping[str, Any]) -> bool:
    """True for a finding that states nothing: a gap of exactly 0, or an undefined gap (said once per attribute)."""
    return bool(finding.get("vacuous"))


def run_findings(run: Mapping[str, Any], base: Sequence[Any] = ("run",), tests: Sequence[Mapping[str, Any]] = ()
                 ) -> list[dict[str, Any]]:
    """Return every finding of one run in reading order; findings that state nothing are marked `vacuous`."""
    fairness = run["fairness"][run["split"]]
    found = []
    for attribute in fairness.get("by_group", {}):
        disparity = (fairness.get("disparity") or {}).get(attribute) or {}
        undefined = []
        for metric in headline(fairness):
            finding = gap_finding(run, attribute, metric, base, tests)
            if finding is None:
                continue
            if (disparity.get("undefined") or {}).get(f"{metric}_gap") and not (disparity.get("worst_group") or {}).get(metric):
                undefined.append(metric)
                continue
            if disparity.get(f"{metric}_gap") == 0:
                finding["vacuous"] = True
            found.append(finding)
        if undefined:
            f = Finding()
            reason = f.ref(disparity["undefined"][f"{undefined[0]}_gap"], *base, "fairness", run["split"], "disparity",
                           attribute, "undefined", f"{undefined[0]}_gap")
            f.say(f"**{escape(attribute)}**: the gaps of {', '.join(undefined)} are undefined on {run['split']} "
                  f"({escape(reason)}).")
            found.append({**f.done(), "vacuous": True})
    found += noise_floor_findings(run, base)
    found += small_group_findings(run, base)
    found.append(training_shift_finding(run, base))
    return [f for f in found if f]
