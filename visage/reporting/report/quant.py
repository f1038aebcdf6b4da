"""The "Quantitative analyses" section: every group of every attribute, every value with its interval.

Unitary attributes first, then intersections (`race*gender`); per attribute a forest plot, one table
per task (groups too small to judge are marked, empty ones listed) and the disparity table, then a
heat-map of gaps and the plots read from the predictions (signed age error, confusion, reliability).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visage.core.metric_specs import METRICS, group_metrics, primary_metrics
from visage.core.names import INTERSECTION
from visage.reporting import report_figures as figs
from visage.reporting.report_document import Block, Figure, Heading, Paragraph, Table
from visage.reporting.report_format import NOT_COMPUTED, group_status, number, with_interval
from visage.reporting.report_load import RunFiles

PARITY = ("gender_demographic_parity_difference", "gender_demographic_parity_ratio", "gender_equalized_odds_difference",
          "gender_true_positive_rate_difference", "gender_false_positive_rate_difference")


def _slug(attribute: str) -> str:
    return attribute.replace(INTERSECTION, "_x_")


def overall_table(run: RunFiles) -> Table:
    """Overall metrics on the selection split and the reported split, with intervals."""
    splits = list(dict.fromkeys([run.select_split, run.split]))
    metrics = group_metrics(run.report_fairness().get("overall", {}))
    rows = []
    for metric in metrics:
        cells = [with_interval((run.fairness.get(s) or {}).get("overall", {}), metric) if run.fairness.get(s) else NOT_COMPUTED
                 for s in splits]
        rows.append([f"`{metric}`", METRICS[metric].title, *cells])
    return Table(["metric", "meaning", *[f"{s} (n = {(run.fairness.get(s) or {}).get('n', '?')})" for s in splits]], rows)


def group_tables(fairness: Mapping[str, Any], attribute: str) -> list[Block]:
    """One table per task: each group's n, status and every metric of the task with its interval."""
    by_group = fairness["by_group"][attribute]
    metrics = group_metrics(fairness.get("overall", {}))
    blocks: list[Block] = []
    for task in dict.fromkeys(METRICS[m].task for m in metrics):
        columns = [m for m in metrics if METRICS[m].task == task]
        rows = [[group, str(entry.get("n", NOT_COMPUTED)), group_status(entry),
                 *[with_interval(entry, m) for m in columns]] for group, entry in by_group.items()]
        blocks.append(Table([attribute, "n", "status", *[f"`{m}`" for m in columns]], rows))
    return blocks


def _p_value(p_values: Mapping[str, Any], key: str) -> str:
    """Return a permutation p-value, "undefined" where the test ran but the gap is undefined, else "not computed"."""
    if key not in p_values:
        return NOT_COMPUTED
    return "undefined" if p_values[key] is None else number(p_values[key], "p")


def disparity_table(fairness: Mapping[str, Any], attribute: str) -> Table:
    """Gap, ratio, worst group and (where computed) permutation p-value of every metric."""
    disparity = fairness.get("disparity", {}).get(attribute, {})
    worst = disparity.get("worst_group") or {}
    p_values = disparity.get("p_value") or {}
    rows = []
    for metric in group_metrics(fairness.get("overall", {})):
        ratio = with_interval(disparity, f"{metric}_ratio") if METRICS[metric].has_ratio else "–"
        rows.append([f"`{metric}`", with_interval(disparity, f"{metric}_gap"), ratio, worst.get(metric) or "none",
                     _p_value(p_values, f"{metric}_gap")])
    for key in PARITY:
        if key in disparity or key in (disparity.get("undefined") or {}):
            rows.append([f"`{key}`", with_interval(disparity, key), "–", "–", _p_value(p_values, key)])
    return Table(["metric", "gap (worst − best) [CI]", "ratio (min / max) [CI]", "worst group", "permutation p"], rows)


def attribute_blocks(fairness: Mapping[str, Any], attribute: str) -> list[Block]:
    """Heading, forest plot, per-task tables and disparity table of one attribute."""
    disparity = fairness.get("disparity", {}).get(attribute, {})
    by_group = fairness["by_group"][attribute]
    compared, excluded = disparity.get("groups_compared"), disparity.get("groups_excluded")
    judged = [g for g, e in by_group.items() if group_status(e) == "judged"]
    note = (f"Gaps compare {', '.join(compared)}" if compared else f"{len(judged)} of {len(by_group)} groups are large enough "
            "to judge") + (f"; excluded: {', '.join(excluded)}" if excluded else "") + "."
    metrics = [m for m in primary_metrics() if m in fairness.get("overall", {})]
    return [Heading(4, f"{attribute}"), Paragraph(note),
            Figure(f"forest_{_slug(attribute)}.png", f"Per-{attribute} {', '.join(metrics)} with "
                   f"{(fairness.get('settings') or {}).get('ci', 'bootstrap')} intervals; hollow grey: too few to judge; "
                   "dashed red: overall",
                   figs.forest_plot(fairness, attribute, metrics)),
            *group_tables(fairness, attribute), Paragraph(f"Disparities across {attribute}:"),
            disparity_table(fairness, attribute)]


def prediction_figures(run: RunFiles) -> list[Block]:
    """Figures read from the predictions table and confusion counts."""
    table, fairness, blocks = run.predictions, run.report_fairness(), []
    by = "race" if "race" in table else next((c for c in ("gender", "age_bin") if c in table), None)
    if by and {"age_true", "age_pred"} <= set(table.columns):
        blocks.append(Figure(f"age_error_by_{by}.png", f"Signed age error against true age, per {by} ({run.split})",
                             figs.signed_age_error(table, by)))
    tasks = [t for t in ("gender", "race", "emotion") if f"{t}_pred" in table and f"{t}_prob" in table]
    for task in tasks:
        other = "race" if task != "race" else "gender"
        image = figs.confusion_per_group(fairness, other, task) if other in fairness.get("by_group", {}) else None
        if image:
            blocks.append(Figure(f"confusion_{task}_by_{other}.png", f"{task} confusion matrices per {other}", image))
        if by:
            blocks.append(Figure(f"reliability_{task}_by_{by}.png", f"Reliability of the {task} classifier per {by}",
                                 figs.reliability_per_group(table, task, by)))
    return blocks


def quantitative_section(run: RunFiles) -> list[Block]:
    """The whole "Quantitative analyses" section of the model card."""
    fairness = run.report_fairness()
    attributes = list(fairness.get("by_group", {}))
    settings = fairness.get("settings") or {}
    blocks: list[Block] = [
        Heading(2, "Quantitative analyses"),
        Paragraph(f"Reported on the **{run.split}** split (n = {fairness.get('n', '?')}); the model and any threshold were "
                  f"chosen on **{run.select_split}**, shown beside it. Every value has its {settings.get('ci', 'unknown')} "
                  f"bootstrap interval ({settings.get('n_boot', 'unknown')} resamples) in brackets; groups with fewer than "
                  f"{settings.get('min_group_size', 'unknown')} samples are marked *too few to judge* and empty groups *empty*."),
        Heading(3, "Overall"), overall_table(run),
        Heading(3, "Unitary groups"),
    ]
    for attribute in [a for a in attributes if INTERSECTION not in a]:
        blocks += attribute_blocks(fairness, attribute)
    intersections = [a for a in attributes if INTERSECTION in a]
    if intersections:
        blocks.append(Heading(3, "Intersectional groups"))
        for attribute in intersections:
            blocks += attribute_blocks(fairness, attribute)
    metrics = group_metrics(fairness.get("overall", {}))
    blocks += [Heading(3, "Gaps at a glance"),
               Figure("gap_heatmap.png", "Gap (worst − best group) per attribute and metric",
                      figs.gap_heatmap(fairness, attributes, metrics)),
               Heading(3, "Errors, confusions and calibration per group"), *prediction_figures(run)]
    return blocks
