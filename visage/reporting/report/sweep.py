"""The sweep part of a report: one row per job, the Pareto front on validation, paired differences to a baseline.

Jobs are chosen on the selection split (validation): the Pareto front of overall error against the
worst-group gap and the selected job (lowest objective) are computed there; the reported split's
numbers stand beside them, and paired differences to the baseline job are computed on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from visage.core.errors import ConfigError
from visage.fairness.multiple_testing import permutations_for
from visage.fairness.objectives import minimised_sign
from visage.fairness.paired import paired_differences
from visage.fairness.settings import FairnessSettings
from visage.reporting.markdown import code, escape
from visage.reporting.report.document import Block, Figure, Heading, Image, Paragraph, Table
from visage.reporting.report.figures import png
from visage.reporting.report.findings import Finding, headline
from visage.reporting.report.format import NOT_COMPUTED, interval, is_number, number
from visage.reporting.report.load import RunFiles
from visage.reporting.summaries.jobs import Job, job_numbers
from visage.reporting.summaries.sweep import pareto_front


def varied_overrides(jobs: Sequence[Job]) -> dict[str, str]:
    """Return each job's overrides that not every job shares (what the sweep varied)."""
    common = set.intersection(*(set(j.overrides) for j in jobs)) if jobs else set()
    return {j.name: " ".join(o for o in j.overrides if o not in common) or "(defaults)" for j in jobs}


def job_row(job: Job, run: RunFiles | None, metric: str, attribute: str) -> dict[str, Any]:
    """Return one job's row of the report: its status, objective, and overall value and gap on both splits."""
    row: dict[str, Any] = {"job": job.name, "overrides": job.overrides, "status": job.status, "error": job.error}
    if run is None:
        return row
    splits = list(dict.fromkeys([run.select_split, run.split]))
    numbers = job_numbers(job, splits, [attribute], [metric])
    row["objective"] = numbers["objective"]
    for split in splits:
        g = numbers[split]["gaps"][attribute][metric]
        row[split] = {metric: numbers[split]["overall"].get(metric), f"{metric}_ci": numbers[split]["ci"].get(metric),
                      f"{attribute}_{metric}_gap": g["gap"], f"{attribute}_{metric}_gap_ci": g["gap_ci"],
                      f"{attribute}_worst": g["worst"]}
    return row


def shown_differences(result: Mapping[str, Any], attribute: str) -> dict[str, Any]:
    """Return the differences a sweep report shows (headline metrics: overall, per group of `attribute`, gap), flat.

    Keys like `age_mae`, `age_mae[Black]`, `age_mae_gap`; each `{"a", "b", "difference", "ci", "p_value"}`.
    """
    def flat(entry: Mapping[str, Any], reason: str) -> dict[str, Any]:
        ci = entry.get("ci")
        out = {"a": entry.get("run"), "b": entry.get("baseline"), "difference": entry.get("difference"),
               "ci": ci if ci and all(v is not None for v in ci) else None, "p_value": entry.get("p_value")}
        return out if out["difference"] is not None else {**out, "undefined": reason}

    groups = result["by_group"].get(attribute, {})
    disparity = result["disparity"].get(attribute, {})
    differences: dict[str, Any] = {}
    for metric in [m for m in headline({"overall": dict.fromkeys(result["metrics"])})]:
        differences[metric] = flat(result["overall"][metric], "undefined overall")
        for group, entry in groups.items():
            differences[f"{metric}[{group}]"] = flat(entry[metric], "no sample in this group")
        if f"{metric}_gap" in disparity:
            differences[f"{metric}_gap"] = flat(disparity[f"{metric}_gap"], f"fewer than 2 {attribute} groups large enough")
    return differences


def paired_record(a: RunFiles, b: RunFiles, attribute: str, settings: FairnessSettings) -> dict[str, Any]:
    """Return job a − baseline b on the reported split: n, settings and the shown differences (or why there are none)."""
    base = {"attribute": attribute, "n_boot": settings.n_boot, "n_perm": settings.n_perm, "ci_level": settings.ci,
            "seed": settings.seed}
    try:
        result = paired_differences(a.predictions, b.predictions, settings)
    except ConfigError as error:
        return {**base, "n": 0, "groups_compared": [], "differences": {}, "undefined": str(error)}
    return {**base, "n": result["n"], "scope": result.get("scope"),
            "groups_compared": result["disparity"].get(attribute, {}).get("groups_compared", []),
            "differences": shown_differences(result, attribute)}


def sweep_record(jobs: Sequence[Job], runs: Mapping[str, RunFiles], *, metric: str, attribute: str,
                 baseline: str, select: str, split: str, n_boot: int, seed: int, n_perm: int = 1000) -> dict[str, Any]:
    """Return the sweep part of report.json: rows, Pareto front (on `select`), selected job, paired differences."""
    rows = {j.name: job_row(j, runs.get(j.name), metric, attribute) for j in jobs}
    ok = [name for name in rows if name in runs]
    gap_key = f"{attribute}_{metric}_gap"
    values = lambda key: np.array([rows[n][select].get(key) if is_number(rows[n][select].get(key)) else np.nan  # noqa: E731
                                   for n in ok], dtype=float)
    sign = minimised_sign(metric)  # an accuracy is maximised: the front and the selection minimise its negation
    front = pareto_front(sign * values(metric), values(gap_key)) if ok else np.array([], dtype=bool)
    for name, on_front in zip(ok, front):
        rows[name]["pareto"] = bool(on_front)
    objective = {n: rows[n]["objective"] if is_number(rows[n].get("objective")) else sign * rows[n][select][metric]
                 if is_number(rows[n][select].get(metric)) else None for n in ok}
    selected = min((n for n in ok if is_number(objective[n])), key=lambda n: objective[n], default=None)
    saved = ((runs[baseline].fairness.get(split) or {}).get("settings") or {}) if baseline in runs else {}
    family = max(0, len(ok) - 1) * 2 * len(headline(runs[baseline].fairness.get(split) or {})) if baseline in runs else 0
    settings = FairnessSettings(attributes=[attribute], n_boot=n_boot, ci=float(saved.get("ci", 0.95)), seed=seed,
                                min_group_size=int(saved.get("min_group_size", 30)), n_perm=permutations_for(family, n_perm))
    paired = {name: paired_record(runs[name], runs[baseline], attribute, settings)
              for name in ok if name != baseline and baseline in runs}
    return {"metric": metric, "attribute": attribute, "select_split": select, "split": split, "baseline": baseline,
            "selected": selected, "varied": varied_overrides(jobs), "jobs": rows, "paired": paired}


def pareto_figure(record: Mapping[str, Any]) -> Image:
    """Overall error against worst-group gap per job, on the selection and the reported split; front on selection."""
    metric, gap_key = record["metric"], f"{record['attribute']}_{record['metric']}_gap"
    ok = [r for r in record["jobs"].values() if r["status"] == "ok"]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for axis, split in zip(axes, (record["select_split"], record["split"])):
        for row in ok:
            x, y = row[split].get(metric), row[split].get(gap_key)
            if not (is_number(x) and is_number(y)):
                continue
            colour = "#c0392b" if row.get("pareto") else "#1f5f8b"
            axis.plot(x, y, "*" if row["job"] == record["selected"] else "o", color=colour, markersize=12 if
                      row["job"] == record["selected"] else 7)
            axis.annotate(f"job {row['job']}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        front = sorted((r[split][metric], r[split][gap_key]) for r in ok if r.get("pareto")
                       and is_number(r[split].get(metric)) and is_number(r[split].get(gap_key)))
        if front and split == record["select_split"]:
            axis.plot(*zip(*front), color="#c0392b", linestyle="--", linewidth=1, label="Pareto front")
            axis.legend(fontsize=8)
        axis.xaxis.set_major_locator(MaxNLocator(4))
        axis.set_xlabel(f"overall {metric} ({split})")
        axis.set_ylabel(f"{record['attribute']} gap of {metric} ({split})")
        axis.set_title(f"{split}: " + ("chooses (front, ★ selected)" if split == record["select_split"] else "reported"),
                       fontsize=10)
        axis.grid(alpha=0.3)
    return png(figure)


def paired_figure(record: Mapping[str, Any]) -> Image | None:
    """Paired differences (job − baseline) with intervals, one row per job and quantity."""
    metric, baseline = record["metric"], record["baseline"]
    keys = [metric, f"{metric}_gap"]
    rows = [(f"job {job}: {key}", d["differences"].get(key)) for job, d in record["paired"].items() for key in keys]
    rows = [(label, v) for label, v in rows if v and is_number(v.get("difference"))]
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(7, 0.9 + 0.45 * len(rows)))
    for y, (_label, value) in enumerate(rows[::-1]):
        if value.get("ci"):
            axis.plot(value["ci"], [y, y], color="#1f5f8b", linewidth=1.8)
        axis.plot(value["difference"], y, "o", color="#1f5f8b")
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_yticks(range(len(rows)), [label for label, _ in rows[::-1]], fontsize=8)
    axis.set_xlabel(f"difference to baseline job {baseline} ({record['split']}; < 0 = lower {metric} or gap)")
    axis.set_title("Paired differences with paired bootstrap intervals", fontsize=10)
    axis.grid(axis="x", alpha=0.3)
    return png(figure)


def _paired_test(tests: Sequence[Mapping[str, Any]], job: str, key: str) -> tuple[int, Mapping[str, Any]] | None:
    return next(((i, t) for i, t in enumerate(tests) if t.get("family") == "paired" and t.get("job") == job
                 and t.get("metric") == key), None)


def sweep_blocks(record: Mapping[str, Any], tests: Sequence[Mapping[str, Any]] = ()) -> list[Block]:
    """The sweep section: table of jobs, Pareto figure, paired-difference table and figure."""
    metric, attribute, select, split = record["metric"], record["attribute"], record["select_split"], record["split"]
    gap_key = f"{attribute}_{metric}_gap"
    rows = []
    for row in record["jobs"].values():
        if row["status"] != "ok":
            rows.append([row["job"], f"`{record['varied'][row['job']]}`", row["status"], escape(row["error"]), "", "", "", "",
                         ""])
            continue
        s, t = row[select], row[split]
        marks = " ".join(m for m, on in (("front", row.get("pareto")), ("selected", row["job"] == record["selected"]),
                                         ("baseline", row["job"] == record["baseline"])) if on)
        rows.append([row["job"], f"`{record['varied'][row['job']]}`", "ok", marks or "–", number(row.get("objective")),
                     number(s[metric], metric), number(s[gap_key], f"{metric}_gap"),
                     f"{number(t[metric], metric)} {interval(t[f'{metric}_ci'], metric)}",
                     f"{number(t[gap_key], f'{metric}_gap')} {interval(t[f'{gap_key}_ci'], f'{metric}_gap')} "
                     f"(worst {escape(t[f'{attribute}_worst'] or 'none')})"])
    blocks: list[Block] = [
        Heading(2, "Sweep"),
        Paragraph(f"{len(record['jobs'])} jobs. The Pareto front (overall `{metric}` against its `{attribute}` gap, both "
                  f"lower is better) and the selected job (lowest objective) are computed on **{select}**; **{split}** "
                  "numbers are reported beside them and never used to choose."),
        Table(["job", "varied overrides", "status", "marks", f"objective ({select})", f"{metric} ({select})",
               f"{attribute} gap ({select})", f"{metric} ({split}) [CI]", f"{attribute} gap ({split}) [CI]"], rows,
              name="sweep_jobs", caption="Jobs of the sweep"),
        Figure("sweep_pareto.png", f"Overall {metric} against {attribute} gap per job", pareto_figure(record)),
        Heading(3, f"Paired differences against baseline job {record['baseline']}"),
    ]
    table = []
    for job, paired in record["paired"].items():
        for key, d in paired["differences"].items():
            change = f"{number(d['difference'], key)} {interval(d['ci'], key)}".strip() if d["difference"] is not None \
                else f"undefined ({d.get('undefined', NOT_COMPUTED)})"
            found = _paired_test(tests, job, key)
            adjusted = number(found[1].get("p_adjusted"), "p") + (" (beyond chance)" if found[1].get("beyond_chance") else "") \
                if found else "–"
            table.append([job, code(key), number(d["a"], key), number(d["b"], key), change,
                          number(d.get("p_value"), "p"), adjusted])
    figure = paired_figure(record)
    if not table:
        return blocks + [Paragraph(f"Paired differences: {NOT_COMPUTED} (no second finished job).")]
    n = next(iter(record["paired"].values()))
    not_paired = [f"job {job}: {p['undefined']}" for job, p in record["paired"].items() if p.get("undefined")]
    blocks += [Paragraph("Not paired: " + "; ".join(not_paired))] if not_paired else []
    blocks.append(Paragraph(f"Each job minus the baseline on the same {n['n']} `{split}` samples (joined on `sample_id`); "
                            f"{n['n_boot']} paired bootstrap resamples draw the same rows for both, {n['ci_level']} intervals; "
                            f"p from a paired sign-flip permutation test ({n.get('n_perm', 0)} random swaps of job and baseline "
                            f"per sample), adjusted as family `paired`. Gaps over the {attribute} groups with at least the "
                            "minimum group size. These intervals and p-values cover the variation of the test samples, not "
                            "of training seeds (see the seed section where the sweep repeated seeds)."))
    return blocks + ([Figure("sweep_paired.png", "Paired differences to the baseline", figure)] if figure else []) + [
        Table(["job", "quantity", "job value", "baseline value", "difference [CI]", "p", "adjusted p"], table,
              name="paired", caption="Paired differences against the baseline job")]


def sweep_findings(record: Mapping[str, Any], tests: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Findings of a sweep: the selected job, the front, and each job's paired change against the baseline."""
    metric, attribute, select = record["metric"], record["attribute"], record["select_split"]
    found = []
    if record["selected"] is not None:
        f = Finding()
        objective = f.ref(record["jobs"][record["selected"]].get("objective"), "sweep", "jobs", record["selected"], "objective")
        front = [n for n, r in record["jobs"].items() if r.get("pareto")]
        f.say(f"Job {record['selected']} (`{record['varied'][record['selected']]}`) has the lowest {select} objective "
              f"({number(objective)}) and is the one this report's model card describes. On the {select} Pareto front of "
              f"overall {metric} against {attribute} gap: job(s) {', '.join(front) or 'none'}.")
        found.append(f.done())
    for job, paired in record["paired"].items():
        f = Finding()
        parts = []
        for key in (metric, f"{metric}_gap"):
            d = paired["differences"].get(key)
            if not d or d["difference"] is None:
                parts.append(f"{key}: undefined ({(d or {}).get('undefined', NOT_COMPUTED)})")
                continue
            f.ref(d["difference"], "sweep", "paired", job, "differences", key, "difference")
            verdict = "no clear change"
            if d["ci"]:
                f.ref(d["ci"], "sweep", "paired", job, "differences", key, "ci")
            hit = _paired_test(tests, job, key)
            if hit and hit[1].get("p_adjusted") is not None:
                index, test = hit
                p = f.ref(test["p_value"], "tests", index, "p_value")
                adjusted = f.ref(test["p_adjusted"], "tests", index, "p_adjusted")
                change = "lower" if d["difference"] < 0 else "higher"
                verdict = (f"{change}, beyond chance" if test.get("beyond_chance") else "not distinguishable from chance") + \
                    f"; p = {number(p, 'p')}, adjusted p = {number(adjusted, 'p')}"
            parts.append(f"{key} {number(d['difference'], key)} {interval(d['ci'], key)} ({verdict})")
        f.say(f"Job {job} (`{record['varied'][job]}`) against baseline job {record['baseline']}, paired on "
              f"{paired['n']} {record['split']} samples: " + "; ".join(parts) + ".")
        done = f.done()
        if all(d is not None and d.get("difference") == 0 for d in (paired["differences"].get(k) for k in (metric, f"{metric}_gap"))):
            done["vacuous"] = True  # the same model as the baseline: nothing changed
        found.append(done)
    return found
