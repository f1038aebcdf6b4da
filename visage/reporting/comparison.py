"""`compare.md`: the paired differences of `visage.fairness.paired.paired_differences` as Markdown tables.

The differences' p-values form one family (`paired`), adjusted with the chosen correction; bold marks a
difference whose adjusted p-value is below alpha.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visage.core.metric_specs import group_metrics, spec
from visage.fairness.multiple_testing import adjust
from visage.reporting.markdown import escape, table_lines


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def paired_tests(result: Mapping[str, Any], correction: str, alpha: float) -> dict[str, Any]:
    """Return `{"families": {"paired": ...}, "tests": [...]}`: the overall and gap differences, adjusted as one family.

    Per-group differences keep their raw p-value beside their interval (descriptive, not in the family).
    """
    entries = [("overall", None, m, e) for m, e in result["overall"].items()]
    entries += [(attribute, None, key, e) for attribute, gaps in result["disparity"].items()
                for key, e in gaps.items() if key != "groups_compared"]
    tests = [{"id": "/".join(str(x) for x in (a, g, m) if x is not None), "family": "paired", "attribute": a,
              "group": g, "metric": m, "value": e["difference"], "p_value": e.get("p_value")} for a, g, m, e in entries]
    for test, p in zip(tests, adjust([t["p_value"] for t in tests], correction)):
        test["p_adjusted"] = p
        test["beyond_chance"] = None if p is None else bool(p < alpha)
    size = sum(1 for t in tests if t["p_value"] is not None)
    return {"families": {"paired": {"correction": correction, "alpha": alpha, "size": size}}, "tests": tests}


def paired_markdown(result: Mapping[str, Any], run: str, baseline: str) -> str:
    """Return `compare.md`: overall metrics, gaps per attribute, headline metrics per group, raw and adjusted p."""
    level = round(100 * result["settings"]["ci"])
    adjusted = {t["id"]: t for t in result.get("tests", [])}
    family = (result.get("families") or {}).get("paired") or {}
    head = ["run (a)", "baseline (b)", "a − b", f"{level}% paired CI", "p", "adjusted p"]

    def cells(test_id: str, entry: Mapping[str, Any]) -> list[str]:
        low, high = entry["ci"]
        test = adjusted.get(test_id, {})
        difference = _number(entry["difference"])
        return [_number(entry["run"]), _number(entry["baseline"]),
                f"**{difference}**" if test.get("beyond_chance") else difference,
                "—" if low is None else f"[{low:.3f}, {high:.3f}]", _number(entry.get("p_value")),
                _number(test.get("p_adjusted"))]

    lines = [f"# Paired comparison: {escape(run)} − {escape(baseline)}", "",
             f"Split `{result['split']}`, {result['n']} samples scored by both runs. Differences are a − b; intervals "
             f"are paired bootstrap percentiles ({result['settings']['n_boot']} resamples, the same samples for both "
             f"runs); p is a paired sign-flip permutation test ({result.get('n_perm', 0)} swaps of a and b per sample). "
             f"Both cover {result.get('scope', 'the variation of the test samples, not of training seeds')}. "
             f"The {family.get('size', 0)} p-values of the overall and gap differences are one family, adjusted with "
             f"`{family.get('correction', 'none')}`; **bold**: adjusted p < {family.get('alpha', 0.05)}. Per-group "
             "differences are descriptive (raw p only).", "", "## Overall", ""]
    lines += table_lines(["metric", *head], [[m, *cells(f"overall/{m}", e)] for m, e in result["overall"].items()]) + [""]
    lines += ["## Gaps (worst − best compared group)", ""]
    rows = [[escape(attribute), key, *cells(f"{attribute}/{key}", entry)] for attribute, gaps in result["disparity"].items()
            for key, entry in gaps.items() if key != "groups_compared"]
    lines += table_lines(["attribute", "gap", *head], rows) + [""]
    headline = [m for m in group_metrics(result["metrics"]) if spec(m).kind in ("mae", "acc")]
    lines += ["## Per group", ""]
    rows = [[escape(attribute), escape(group), str(values["n"]), m, *cells(f"{attribute}/{group}/{m}", values[m])]
            for attribute, groups in result["by_group"].items() for group, values in groups.items()
            if values["n"] > 0 for m in headline]
    lines += table_lines(["attribute", "group", "n", "metric", *head], rows) + [""]
    return "\n".join(lines)
