"""The "Quantitative analyses" section: every group of every attribute, every value with its interval.

Unitary attributes first, then intersections (`race*gender`); per attribute a forest plot, one table
per task (groups too small to judge are marked, empty ones listed) and the disparity table, then a
heat-map of gaps and the plots read from the predictions (signed age error, confusion, reliability).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visage.core.metric_specs import METRICS, group_metrics
from visage.core.names import INTERSECTION
from visage.fairness.disparity import PARITY
from visage.reporting.markdown import escape
from visage.reporting.report import figures as figs
from visage.reporting.report.document import Block, Bullets, Figure, Heading, Paragraph, Table
from visage.reporting.report.families import family_lines
from visage.reporting.report.findings import headline
from visage.reporting.report.format import NOT_COMPUTED, group_status, number, with_interval
from visage.reporting.report.load import RunFiles

NO_ATTRIBUTE = ("The evaluated data has no sensitive attribute column (`evaluation.fairness.attributes` found none in the "
                "predictions), so no group is compared and no gap is tested; only overall values are reported.")


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
    return Table(["metric", "meaning", *[f"{s} (n = {(run.fairness.get(s) or {}).get('n', '?')})" for s in splits]], rows,
                 name="overall", caption="Overall metrics with intervals")


def group_tables(fairness: Mapping[str, Any], attribute: str) -> list[Block]:
    """One table per task: each group's n, status and every metric of the task with its interval."""
    by_group = fairness["by_group"][attribute]
    metrics = group_metrics(fairness.get("overall", {}))
    blocks: list[Block] = []
    for task in dict.fromkeys(METRICS[m].task for m in metrics):
        columns = [m for m in metrics if METRICS[m].task == task]
        rows = [[escape(group), str(entry.get("n", NOT_COMPUTED)), group_status(entry),
                 *[with_interval(entry, m) for m in columns]] for group, entry in by_group.items()]
        blocks.append(Table([escape(attribute), "n", "status", *[f"`{m}`" for m in columns]], rows,
                            name=f"groups_{_slug(attribute)}_{task}", caption=f"{task} per {attribute} group with intervals"))
    for task, columns in predicted_shares(fairness).items():
        rows = [[escape(group), str(entry.get("n", NOT_COMPUTED)), group_status(entry),
                 *[with_interval(entry, c) for c in columns]] for group, entry in by_group.items()]
        blocks.append(Table([escape(attribute), "n", "status", *[f"share predicted {escape(c.rsplit('_selection_rate_', 1)[1])}"
                                                                  for c in columns]], rows,
                            name=f"shares_{_slug(attribute)}_{task}", caption=f"Predicted {task} shares per {attribute} group"))
    return blocks


def predicted_shares(fairness: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return, per task the data has no truth for, its per-class prediction-share keys (`<task>_selection_rate_<class>`)."""
    shares: dict[str, list[str]] = {}
    for key in fairness.get("overall", {}):
        if "_selection_rate_" in key:
            shares.setdefault(key.split("_selection_rate_", 1)[0], []).append(key)
    return shares


PREDICTED = ("**{tasks}**: the data holds no truth for {it}, so it is scored by what the model predicts: per group the share "
             "of each predicted class with its interval, and one omnibus permutation test per attribute "
             "(`<task>_prediction_tvd`: the largest total-variation distance between two groups' predicted-class "
             "distributions). This measures parity of predictions, which differing base rates between the groups can "
             "explain; it is not an error rate. Per-class differences and ratios are descriptive (not tested).")


def _p_cells(tests: Mapping[tuple[str, str], Mapping[str, Any]], attribute: str, key: str) -> list[str]:
    """Return the raw and adjusted p of a tested key, "not tested" where the family holds no test of it."""
    test = tests.get((attribute, key))
    if test is None:
        return ["not tested", "–"]
    if test.get("p_value") is None:
        return ["undefined", "–"]
    verdict = " (beyond chance)" if test.get("beyond_chance") else ""
    return [number(test["p_value"], "p"), number(test.get("p_adjusted"), "p") + verdict]


def disparity_table(fairness: Mapping[str, Any], attribute: str, tests: Mapping[tuple[str, str], Mapping[str, Any]]
                    ) -> Table:
    """Gap, ratio, worst group and (where tested) raw and adjusted permutation p-value of every metric."""
    disparity = fairness.get("disparity", {}).get(attribute, {})
    worst = disparity.get("worst_group") or {}
    rows = []
    for metric in group_metrics(fairness.get("overall", {})):
        ratio = with_interval(disparity, f"{metric}_ratio") if METRICS[metric].has_ratio else "–"
        rows.append([f"`{metric}`", with_interval(disparity, f"{metric}_gap"), ratio, escape(worst.get(metric) or "none"),
                     *_p_cells(tests, attribute, f"{metric}_gap")])
    parity = [k for k in disparity if k.endswith(PARITY)] + [k for k in (disparity.get("undefined") or {})
                                                                if k.endswith(PARITY) and k not in disparity]
    for key in dict.fromkeys(parity):
        rows.append([f"`{key}`", with_interval(disparity, key), "–", "–", *_p_cells(tests, attribute, key)])
    for key in [k for k in disparity if "_selection_rate_" in k and k.endswith("_gap")]:
        rows.append([f"`{key}`", with_interval(disparity, key), with_interval(disparity, key.removesuffix("_gap") + "_ratio"),
                     "–", "descriptive", "–"])
    named = {t[1] for t in tests if t[0] == attribute} - {r[0].strip("`") for r in rows}
    for key in sorted(named):  # tested keys of other shapes (e.g. a predicted task's prediction_tvd)
        rows.append([f"`{key}`", with_interval(disparity, key), "–", "–", *_p_cells(tests, attribute, key)])
    return Table(["metric", "gap (worst − best) [CI]", "ratio (min / max) [CI]", "worst group", "permutation p",
                  "adjusted p"], rows, name=f"gaps_{_slug(attribute)}", caption=f"Disparities across {attribute}")


def attribute_blocks(fairness: Mapping[str, Any], attribute: str, tests: Mapping[tuple[str, str], Mapping[str, Any]]
                     ) -> list[Block]:
    """Heading, forest plot, per-task tables and disparity table of one attribute."""
    disparity = fairness.get("disparity", {}).get(attribute, {})
    by_group = fairness["by_group"][attribute]
    compared, excluded = disparity.get("groups_compared"), disparity.get("groups_excluded")
    judged = [g for g, e in by_group.items() if group_status(e) == "judged"]
    note = (f"Gaps compare {', '.join(map(escape, compared))}" if compared else f"{len(judged)} of {len(by_group)} groups "
            "are large enough to judge") + (f"; excluded: {', '.join(map(escape, excluded))}" if excluded else "") + "."
    metrics = headline(fairness)
    return [Heading(4, escape(attribute)), Paragraph(note),
            Figure(f"forest_{_slug(attribute)}.png", f"Per-{escape(attribute)} {', '.join(metrics)} with "
                   f"{(fairness.get('settings') or {}).get('ci', 'bootstrap')} intervals; hollow grey: too few to judge; "
                   "dashed red: overall",
                   figs.forest_plot(fairness, attribute, metrics)),
            *group_tables(fairness, attribute), Paragraph(f"Disparities across {escape(attribute)}:"),
            disparity_table(fairness, attribute, tests)]


def prediction_figures(run: RunFiles) -> list[Block]:
    """Figures read from the predictions table and confusion counts."""
    table, fairness, blocks = run.predictions, run.report_fairness(), []
    unitary = [a for a in fairness.get("by_group", {}) if INTERSECTION not in a and a in table]
    by = unitary[0] if unitary else None
    if by and {"age_true", "age_pred"} <= set(table.columns):
        blocks.append(Figure(f"age_error_by_{by}.png", f"Signed age error against true age, per {escape(by)} ({run.split})",
                             figs.signed_age_error(table, by)))
    tasks = [c[: -len("_pred")] for c in table.columns if c.endswith("_pred") and c != "age_pred"
             and f"{c[: -len('_pred')]}_prob" in table and f"{c[: -len('_pred')]}_true" in table]
    for task in tasks:
        other = next((a for a in unitary if a != task), None)
        image = figs.confusion_per_group(fairness, other, task) if other else None
        if image:
            blocks.append(Figure(f"confusion_{task}_by_{other}.png", f"{task} confusion matrices per {other}", image))
        if by:
            blocks.append(Figure(f"reliability_{task}_by_{by}.png", f"Reliability of the {task} classifier per {by}",
                                 figs.reliability_per_group(table, task, by)))
    return blocks


def tests_section(families: Mapping[str, Any], tests: list[Mapping[str, Any]], n_perm: Mapping[str, Any] | None = None
                  ) -> list[Block]:
    """The family table: every test the report judges by, with raw and adjusted p-values."""
    rows = [[f"`{t['id']}`", t["family"], escape(t.get("attribute") or "–"), f"`{t['metric']}`",
             number(t.get("value"), str(t["metric"])),
             number(t.get("p_value"), "p"), number(t.get("p_adjusted"), "p"),
             {True: "yes", False: "no"}.get(t.get("beyond_chance"), "undefined")] for t in tests]
    blocks: list[Block] = [Heading(3, "Tests and their families"), Bullets(family_lines(families, tests, n_perm) or ["no test"])]
    if rows:
        blocks.append(Table(["test", "family", "attribute", "metric", "value", "p", "adjusted p", "beyond chance"], rows,
                            name="tests", caption="Every test judged, raw and adjusted p"))
    return blocks


def quantitative_section(run: RunFiles, families: Mapping[str, Any], tests: list[Mapping[str, Any]]) -> list[Block]:
    """The whole "Quantitative analyses" section of the model card."""
    fairness = run.report_fairness()
    by_test = {(str(t.get("attribute")), str(t["metric"])): t for t in tests if t.get("family") == "gaps"}
    settings = fairness.get("settings") or {}
    n_perm = {"gaps": settings.get("n_perm_used", settings.get("n_perm"))}
    attributes = list(fairness.get("by_group", {}))
    blocks: list[Block] = [
        Heading(2, "Quantitative analyses"),
        Paragraph(f"Reported on the **{run.split}** split (n = {fairness.get('n', '?')})"
                  + ("" if run.is_audit else f"; the model and any threshold were chosen on **{run.select_split}**, shown beside it")
                  + f". Every value has its {settings.get('ci', 'unknown')} "
                  f"bootstrap interval ({settings.get('n_boot', 'unknown')} resamples) in brackets; groups with fewer than "
                  f"{settings.get('min_group_size', 'unknown')} samples are marked *too few to judge* and empty groups *empty*."),
        Heading(3, "Overall"), overall_table(run),
    ]
    predicted = list(predicted_shares(fairness))
    if predicted:
        blocks.append(Paragraph(PREDICTED.format(tasks=", ".join(f"`{t}`" for t in predicted),
                                                 it="it" if len(predicted) == 1 else "them")))
    if not attributes:
        return blocks + [Paragraph(NO_ATTRIBUTE), *tests_section(families, tests, n_perm)]
    blocks.append(Heading(3, "Unitary groups"))
    for attribute in [a for a in attributes if INTERSECTION not in a]:
        blocks += attribute_blocks(fairness, attribute, by_test)
    intersections = [a for a in attributes if INTERSECTION in a]
    if intersections:
        blocks.append(Heading(3, "Intersectional groups"))
        for attribute in intersections:
            blocks += attribute_blocks(fairness, attribute, by_test)
    blocks += tests_section(families, tests, n_perm)
    heatmap = figs.gap_heatmap(fairness, attributes, group_metrics(fairness.get("overall", {})))
    if heatmap is not None:
        blocks += [Heading(3, "Gaps at a glance"),
                   Figure("gap_heatmap.png", "Gap (worst − best group) per attribute and metric", heatmap)]
    return blocks + [Heading(3, "Errors, confusions and calibration per group"), *prediction_figures(run)]
