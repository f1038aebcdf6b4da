"""The summary every report opens with: the model and data, at most five key findings, one line for the rest.

Key findings are the tests beyond chance on their adjusted p-value, ranked by how far each observed
gap lies beyond its own permutation distribution (its z score; raw gap sizes of an intersection and
a single attribute do not compare), attributes before their intersections at equal evidence, each
gap stated in its metric's unit. Everything else folds into the last line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from visage.reporting.markdown import escape
from visage.reporting.report.families import ranked
from visage.reporting.report.findings import Finding
from visage.reporting.report.format import interval, number, unit

KEY_FINDINGS = 5


def _worst_best(fairness: Mapping[str, Any], attribute: str, key: str) -> str:
    """Return "worst X, best Y" of a gap's metric where the fairness result names them."""
    metric = key[: -len("_gap")] if key.endswith("_gap") else None
    disparity = (fairness.get("disparity") or {}).get(attribute) or {}
    worst = (disparity.get("worst_group") or {}).get(metric) if metric else None
    return f"; worst group {escape(worst)}" if worst else ""


def test_line(tests: Sequence[Mapping[str, Any]], index: int, fairness: Mapping[str, Any] | None) -> dict[str, Any]:
    """One key finding: what was tested, the gap in its unit with its interval, raw and adjusted p."""
    test, f = tests[index], Finding()
    key = str(test["metric"])
    value = f.ref(test.get("value"), "tests", index, "value")
    p, adjusted = f.ref(test.get("p_value"), "tests", index, "p_value"), f.ref(test.get("p_adjusted"), "tests", index, "p_adjusted")
    where = f"job {escape(test['job'])} against the baseline, " if test.get("job") is not None else ""
    ci = ""
    if fairness is not None and test.get("attribute"):
        bounds = (((fairness.get("disparity") or {}).get(test["attribute"]) or {}).get("ci") or {}).get(key)
        ci = f" {interval(bounds, key)}" if interval(bounds, key) else ""
    units = f" {unit(key)}" if unit(key) else ""
    extra = _worst_best(fairness, test["attribute"], key) if fairness is not None and test.get("attribute") else ""
    f.say(f"**{escape(test.get('attribute') or 'overall')} · `{key}`**: {where}{number(value, key)}{units}{ci}{extra}; "
          f"p = {number(p, 'p')}, adjusted p = {number(adjusted, 'p')} (family `{test['family']}`).")
    return f.done()


def build_summary(opening: dict[str, Any], tests: Sequence[Mapping[str, Any]], findings: Sequence[Mapping[str, Any]],
                  fairness: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Return `summary`: the opening line, at most five key findings, then one line for the rest."""
    beyond = [i for i in ranked(tests) if tests[i].get("beyond_chance")]
    key = beyond[:KEY_FINDINGS]
    summary = [opening, *[test_line(tests, i, fairness) for i in key]]
    judged = sum(1 for t in tests if t.get("p_value") is not None)
    rest = judged - len(key)
    more = len(beyond) - len(key)
    if not judged:
        text = "No test was run (no sensitive attribute with two groups large enough to compare, or no permutations)."
    elif more:
        text = f"{more} more of the other {rest} tests are beyond chance (see Findings and the tests table)."
    else:
        text = f"None of the other {rest} tests is beyond chance." if key else f"None of the {judged} tests is beyond chance."
    folded = [f for f in findings if f.get("vacuous")]
    if folded:
        text += (f" {len(folded)} finding(s) that state nothing (a zero gap, an undefined gap, a sampler that moved "
                 "nothing) are folded into the tables.")
    summary.append({"text": text, "refs": []})
    return summary
