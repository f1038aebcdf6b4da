"""Tests judged as families: every p-value a report judges by, with its adjusted p, and the summary's ranking.

The gap and parity tests of the reported split are family `gaps` (`visage.fairness.multiple_testing`);
a sweep report adds family `paired`, the differences against the baseline job. "Beyond chance" is
decided on the adjusted p-value (Holm by default: family-wise error rate; Benjamini-Hochberg: false
discovery rate, valid under positive dependence; or none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scipy import stats

from visage.core.names import INTERSECTION
from visage.fairness.multiple_testing import adjust, enough_permutations, family_tests
from visage.reporting.report.format import is_number

CORRECTION_NAMES = {"holm": "Holm (family-wise error rate)",
                    "bh": "Benjamini-Hochberg (false-discovery rate, valid under positive dependence)",
                    "none": "none (each test at alpha on its own)"}


def gap_family(fairness: Mapping[str, Any], correction: str, alpha: float) -> dict[str, Any]:
    """Return `{"families": {"gaps": ...}, "tests": [...]}` of one fairness result, each test with a `z` score."""
    result = family_tests(dict(fairness), family="gaps", correction=correction, alpha=alpha)
    for test in result["tests"]:
        test.setdefault("z", z_score(test.get("p_value")))
    return result


def paired_family(paired: Mapping[str, Mapping[str, Any]], correction: str, alpha: float) -> dict[str, Any]:
    """Return family `paired`: each job's overall and gap difference against the baseline (per-group ones are descriptive)."""
    tests = [{"id": f"paired/{job}/{key}", "family": "paired", "metric": key,
              "attribute": result.get("attribute") if key.endswith("_gap") else None,
              "job": job, "value": d.get("difference"), "p_value": d.get("p_value")}
             for job, result in paired.items() for key, d in (result.get("differences") or {}).items() if "[" not in key]
    adjusted = adjust([t["p_value"] for t in tests], correction)
    for test, p in zip(tests, adjusted):
        test["p_adjusted"] = p
        test["beyond_chance"] = None if p is None else bool(p < alpha)
        test["z"] = z_score(test["p_value"])
    size = sum(1 for t in tests if t["p_value"] is not None)
    return {"families": {"paired": {"correction": correction, "alpha": alpha, "size": size}}, "tests": tests}


def z_score(p: float | None) -> float | None:
    """Return the standard-normal score whose upper tail is `p`: how far beyond its null distribution a statistic lies."""
    return float(stats.norm.isf(p)) if is_number(p) and 0 < p < 1 else None


def ranked(tests: Sequence[Mapping[str, Any]]) -> list[int]:
    """Return the indices of `tests` by evidence: larger z first, attributes before their intersections at equal z."""
    def key(i: int) -> tuple[float, int, float]:
        test = tests[i]
        z = test.get("z") if is_number(test.get("z")) else z_score(test.get("p_value"))
        value = abs(test["value"]) if is_number(test.get("value")) else 0.0
        return (-(z if z is not None else -1e9), INTERSECTION in str(test.get("attribute") or ""), -value)

    return sorted(range(len(tests)), key=key)


def family_lines(families: Mapping[str, Mapping[str, Any]], tests: Sequence[Mapping[str, Any]],
                 n_perm: Mapping[str, int | None] | None = None) -> list[str]:
    """Return one sentence per family: its size, correction, how many tests are beyond chance, and resolution warnings."""
    lines = []
    for name, family in families.items():
        beyond = sum(1 for t in tests if t.get("family") == name and t.get("beyond_chance"))
        correction = CORRECTION_NAMES.get(family["correction"], family["correction"])
        warning = enough_permutations(family["size"], int((n_perm or {}).get(name) or 0), family["alpha"]) \
            if family["correction"] != "none" else None
        lines.append(f"Family `{name}`: {family['size']} test(s), correction {correction}, alpha {family['alpha']}; "
                     f"{beyond} beyond chance on the adjusted p-value." + (f" **Warning**: {warning}" if warning else ""))
    return lines
