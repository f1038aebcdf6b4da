"""What was found, first: the summary, its ranking, families with adjusted p-values, and vacuous findings folded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.report_tables import FAST_FAIRNESS, predictions_table, write_table
from visage.fairness.audit import audit_settings
from visage.fairness.evaluation import evaluate_predictions
from visage.reporting.report.build import build_audit_report
from visage.reporting.report.families import gap_family, ranked, z_score
from visage.reporting.report.format import number, resolve_pointer
from visage.reporting.report.summary import KEY_FINDINGS


def _fairness(seed: int, n_perm: int, n: int) -> dict:
    table = predictions_table(seed=seed, n=n)
    settings = audit_settings(table, {**FAST_FAIRNESS, "n_boot": 1, "n_perm": n_perm, "seed": seed}, "test")
    return evaluate_predictions(table, "test", settings)


def test_a_planted_gap_is_the_first_summary_finding_in_years(tmp_path) -> None:
    path = write_table(predictions_table(seed=1, planted=4.0), tmp_path / "planted.csv")
    _, record = build_audit_report(path, tmp_path / "out", fairness={**FAST_FAIRNESS, "n_perm": 999})
    summary = record["summary"]
    assert 2 <= len(summary) <= KEY_FINDINGS + 2
    first = summary[1]
    test = resolve_pointer(record, first["refs"][0]["pointer"].rsplit("/", 1)[0])
    assert test["attribute"] == "race" and test["metric"] in ("age_mae_gap", "age_bias_gap") and test["beyond_chance"]
    assert f"{number(test['value'], test['metric'])} years" in first["text"]
    for line in summary:
        for ref in line["refs"]:
            assert resolve_pointer(record, ref["pointer"]) == ref["value"]
    beyond = [t for t in record["tests"] if t["beyond_chance"]]
    key = len(summary) - 2
    assert key == min(KEY_FINDINGS, len(beyond))
    rest = sum(1 for t in record["tests"] if t["p_value"] is not None) - key
    assert summary[-1]["text"].startswith(f"{len(beyond) - key} more of the other {rest} tests" if len(beyond) > key
                                          else f"None of the other {rest} tests is beyond chance")


def test_ranking_by_evidence_puts_attributes_before_intersections_at_equal_p() -> None:
    tests = [{"attribute": "race*gender", "p_value": 0.001, "value": 9.0}, {"attribute": "race", "p_value": 0.001, "value": 1.0},
             {"attribute": "gender", "p_value": 0.0001, "value": 0.5}, {"attribute": "race", "p_value": 0.2, "value": 20.0}]
    assert ranked(tests) == [2, 1, 0, 3]
    assert z_score(0.05) == pytest.approx(1.6448536) and z_score(None) is None and z_score(1.0) is None


def test_holm_keeps_false_findings_at_alpha_on_null_tables() -> None:
    """On tables with no planted difference, few reports hold any finding beyond chance with Holm; many without."""
    corrected, raw = [], []
    for seed in range(16):
        fairness = _fairness(seed, n_perm=399, n=400)
        corrected.append(any(t["beyond_chance"] for t in gap_family(fairness, "holm", 0.05)["tests"]))
        raw.append(any(t["beyond_chance"] for t in gap_family(fairness, "none", 0.05)["tests"]))
    share, n = float(np.mean(corrected)), len(corrected)
    assert share <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n), (share, float(np.mean(raw)))
    assert np.mean(raw) > share   # uncorrected, the same tables show "findings"
