"""Building a report: a run's model card, a sweep's comparison plus the selected job's model card, or an audit.

`build_run_report`, `build_sweep_report` and `build_audit_report` return the blocks and the report.json
record; `visage.reporting.report.write.write_report` renders them (md, html, tex, json, figures, tables).
Every record carries `families` and `tests` (the p-values the report judges by, adjusted per family),
`summary` (what was found, first) and `findings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from visage.core.errors import ConfigError, unknown_choice
from visage.fairness.multiple_testing import validate_correction
from visage.reporting.markdown import code, escape
from visage.reporting.report import sections
from visage.reporting.report.document import Block, Bullets, Code, Heading, Paragraph
from visage.reporting.report.families import family_lines, gap_family, paired_family
from visage.reporting.report.findings import run_findings
from visage.reporting.report.load import RunFiles, load_run
from visage.reporting.report.provenance import provenance, provenance_section
from visage.reporting.report.quant import quantitative_section
from visage.reporting.report.seeds import seed_blocks, seed_record
from visage.reporting.report.summary import build_summary
from visage.reporting.report.sweep import sweep_blocks, sweep_findings, sweep_record
from visage.reporting.summaries.jobs import sweep_jobs

DEFAULT_CORRECTION, DEFAULT_ALPHA = "holm", 0.05


def noise_floor(run: RunFiles) -> dict[str, Any] | None:
    """Return the age MAE a perfect model would still score on the reported split's noisy labels, overall and per race.

    Computed from the synthetic set's true ages (`age_latent`) where the predictions carry them, else taken from
    metrics.json (the split's floor overall, the dataset's per race); None for data with no known floor.
    """
    table = run.predictions
    if {"age_true", "age_latent"} <= set(table.columns):
        noise = (table["age_true"] - table["age_latent"]).abs()
        by_race = noise.groupby(table["race"]).mean() if "race" in table else {}
        return {"source": f"predictions/{run.split}.parquet (|age label − true age|)", "age_mae": float(noise.mean()),
                "by_race": {str(g): {"age_mae": float(v)} for g, v in dict(by_race).items()}}
    floor = (run.metrics.get(run.split) or {}).get("age_noise_floor")
    if floor is None:
        return None
    by_race = ((run.metrics.get("dataset") or {}).get("noise_floor") or {}).get("by_race") or {}
    return {"source": "metrics.json", "age_mae": floor, "by_race": by_race}


def run_record(run: RunFiles) -> dict[str, Any]:
    """Return the numbers of one run that its report is written from."""
    return {"name": run.name, "split": run.split, "select_split": None if run.is_audit else run.select_split,
            "metrics": run.metrics, "fairness": run.fairness, "training_distribution": run.training_distribution,
            "noise_floor": noise_floor(run)}


def opening_line(run: RunFiles) -> dict[str, Any]:
    """The summary's first line: which model, which data, which split and how many samples."""
    fairness = run.report_fairness()
    attributes = list(fairness.get("by_group", {}))
    tasks = sorted({c[: -len("_pred")] for c in run.predictions.columns if c.endswith("_pred")})
    backbone = (run.config.get("backbone") or {}).get("name")
    model = (f"Audit of predictions file **{escape(run.name)}** (model details "
             + ("as supplied with `about=`" if run.about else "not supplied") + ")") if run.is_audit else \
        f"Model **{escape(run.name)}**" + (f" ({code(backbone)})" if backbone else "")
    groups = (", ".join(code(a) for a in attributes) if attributes else
              "no sensitive attribute (no group is compared)")
    data = "its own rows" if run.is_audit else f"**{escape(run.dataset)}** `{run.split}`"
    text = (f"{model}, tasks {', '.join(f'`{t}`' for t in tasks) or 'none'}, evaluated on {data} "
            f"(n = {fairness.get('n', len(run.predictions))}) across {groups}.")
    return {"text": text, "refs": [{"pointer": "/run/name", "value": run.name}]}


def add_tests(record: dict[str, Any], *families: Mapping[str, Any]) -> None:
    """Put the families' tests into `record` (families, tests), in order."""
    record["families"], record["tests"] = {}, []
    for family in families:
        record["families"].update(family["families"])
        record["tests"].extend(family["tests"])


def findings_blocks(findings: Sequence[dict[str, Any]]) -> list[Block]:
    """The Findings section: one bullet per finding that states something; the others are counted."""
    shown = [f["text"] for f in findings if not f.get("vacuous")]
    folded = sum(1 for f in findings if f.get("vacuous"))
    return [Heading(2, "Findings"),
            Paragraph("Written from the numbers; each finding's values are listed with their JSON pointers under "
                      "`findings` in `report.json`. \"Beyond chance\" is decided on the adjusted p-value of its family."
                      + (f" {folded} finding(s) that state nothing are folded (see `report.json`)." if folded else "")),
            Bullets(shown or ["none"])]


def summary_blocks(summary: Sequence[Mapping[str, Any]]) -> list[Block]:
    """The Summary section every report opens with."""
    return [Heading(2, "Summary"), Bullets([s["text"] for s in summary])]


def model_card(run: RunFiles, out_dir: Path, record: dict[str, Any], level_title: str) -> tuple[list[Block], dict]:
    """Return the model card blocks of one run (or audit) and its provenance record."""
    card = None if run.is_audit else sections.find_datacard(run.dataset, run.run_dir)
    prov = provenance(run, card)
    findings = record["findings"]
    source = "predictions file" if run.is_audit else "run's saved predictions, fairness results, config and data card"
    blocks: list[Block] = [Heading(1, level_title),
                           Paragraph("Generated by `python -m visage.report` after *Model Cards for Model Reporting* "
                                     "(Mitchell et al., 2019) and the Hugging Face model card template, from the "
                                     f"{source}. No face image is shown.")]
    if run.is_audit:
        blocks += [*sections.audit_details(run), *sections.intended_use(run), *sections.factors(run),
                   *sections.metrics_section(run),
                   Heading(2, "Evaluation data"),
                   Paragraph(f"The predictions file **{escape(run.name)}** ({len(run.predictions)} rows). No training "
                             "run stands behind it, so training data, the sampler and model selection are not reported.")]
    else:
        blocks += [*sections.model_details(run), *sections.intended_use(run), *sections.factors(run),
                   *sections.metrics_section(run), *sections.evaluation_data(run, card, out_dir),
                   *sections.training_data(run)]
    gaps = {"gaps": record["families"]["gaps"]}
    blocks += [*quantitative_section(run, gaps, [t for t in record["tests"] if t["family"] == "gaps"]),
               *findings_blocks(findings), *sections.ethics(run), *sections.caveats(run, findings),
               *provenance_section(prov)]
    return blocks, prov


def _with_summary(blocks: list[Block], record: dict[str, Any], run: RunFiles) -> list[Block]:
    """Put the summary (and the `about=` context) right below the first heading."""
    return [blocks[0], *summary_blocks(record["summary"]), *context_blocks(run), *blocks[1:]]


def build_run_report(run_dir: str | Path, out_dir: Path, *, split: str = "test", select: str = "val",
                     correction: str = DEFAULT_CORRECTION, alpha: float = DEFAULT_ALPHA, about: str | Path | None = None,
                     fairness: Mapping[str, Any] | None = None) -> tuple[list[Block], dict[str, Any]]:
    """Return the blocks and report.json record of one run's model card.

    The run's saved fairness result is reported as it is (`fairness` overrides are for audits and sweeps);
    `about` is a Markdown file of the study's context, shown below the summary.
    """
    validate_correction(correction, alpha)
    run = load_run(run_dir, split, select)
    run.about = read_about(about)
    return _single_report(run, out_dir, correction, alpha, f"Model card: {escape(run.name)}", "run")


def read_about(about: str | Path | None) -> str | None:
    """Return the text of the `about=` Markdown file; ConfigError where it is not a file."""
    if about is None:
        return None
    path = Path(about).expanduser()
    if not path.is_file():
        raise ConfigError(f"about={about} is not a file (give a Markdown file describing the model or study)")
    return path.read_text()


def context_blocks(run: RunFiles) -> list[Block]:
    """The `about=` text of a run or sweep report, as supplied."""
    return [Heading(2, "Context"), Paragraph("As supplied with `about=` (not checked by visage):"), Code(run.about)] \
        if run.about and not run.is_audit else []


def build_audit_report(predictions: str | Path, out_dir: Path, *, fairness: Mapping[str, Any] | None = None,
                       about: str | Path | None = None, correction: str = DEFAULT_CORRECTION, alpha: float = DEFAULT_ALPHA
                       ) -> tuple[list[Block], dict[str, Any]]:
    """Return the blocks and report.json record of an audit: a predictions file alone, any model's.

    Args:
        predictions: a CSV or Parquet file with `<task>_true`/`<task>_pred` column pairs and group columns.
        out_dir: where the report is written.
        fairness: `evaluation.fairness` settings (attributes, n_boot, n_perm, positive, ...).
        about: a Markdown file describing the model; without it the model details say "not supplied".
        correction: multiple-testing correction of the family (holm, bh, none).
        alpha: level the adjusted p-values are judged at.
    """
    from visage.fairness.audit import audit_settings, check_columns, read_predictions_file
    from visage.fairness.evaluation import evaluate_predictions

    validate_correction(correction, alpha)
    path = Path(predictions).expanduser()
    table = read_predictions_file(path)
    source = f"predictions={path.name}"
    check_columns(table, source)
    text = read_about(about)
    settings = audit_settings(table, dict(fairness or {}), source, require_attribute=False)
    result = evaluate_predictions(table, path.stem, settings)
    run = RunFiles(run_dir=None, split=path.stem, select_split=path.stem, config={}, overrides=[], metrics={},
                   fairness={path.stem: result}, predictions=table, files={"predictions": path}, source_name=path.name,
                   about=text)
    return _single_report(run, out_dir, correction, alpha, f"Audit report: {escape(path.name)}", "audit")


def _single_report(run: RunFiles, out_dir: Path, correction: str, alpha: float, title: str, kind: str
                   ) -> tuple[list[Block], dict[str, Any]]:
    record: dict[str, Any] = {"kind": kind, "name": run.name, "run": run_record(run)}
    add_tests(record, gap_family(run.report_fairness(), correction, alpha))
    record["findings"] = run_findings(record["run"], tests=record["tests"])
    record["summary"] = build_summary(opening_line(run), record["tests"], record["findings"], run.report_fairness())
    blocks, record["provenance"] = model_card(run, out_dir, record, title)
    return _with_summary(blocks, record, run), record


def build_sweep_report(sweep_dir: str | Path, out_dir: Path, *, split: str = "test", select: str = "val",
                       baseline: str | None = None, metric: str = "age_mae", attribute: str | None = None,
                       n_boot: int = 1000, n_perm: int | None = None, correction: str = DEFAULT_CORRECTION,
                       alpha: float = DEFAULT_ALPHA, about: str | Path | None = None,
                       fairness: Mapping[str, Any] | None = None) -> tuple[list[Block], dict[str, Any]]:
    """Return the blocks and report.json record of a sweep: jobs, front, paired differences, selected model card.

    `n_perm` (else `fairness["n_perm"]`, else 1000) sign-flip permutations test each paired difference.
    `attribute` (else the baseline's first studied attribute) is the one whose gap the comparison shows.
    """
    validate_correction(correction, alpha)
    n_perm = int(n_perm if n_perm is not None else (fairness or {}).get("n_perm") or 1000)
    context = read_about(about)
    sweep_dir = Path(sweep_dir)
    jobs = sweep_jobs(sweep_dir, split, required=True)
    runs = {j.name: load_run(j.job_dir, split, select) for j in jobs if j.status == "ok"}
    if not runs:
        raise ConfigError(f"sweep_dir={sweep_dir} has no finished job with predictions for split '{split}'")
    names = [j.name for j in jobs]
    baseline = baseline if baseline is not None else next(n for n in names if n in runs)
    if baseline not in runs:
        raise ConfigError(f"baseline={baseline} is not a finished job of {sweep_dir.name}; finished: {', '.join(runs)}")
    attributes = list((runs[baseline].fairness[split] or {}).get("by_group", {}))
    if attribute is None:  # the baseline's first attribute studied that its predictions carry
        attribute = next((a for a in attributes if a in runs[baseline].predictions), "")
    if attribute not in attributes or attribute not in runs[baseline].predictions:
        raise unknown_choice("attribute", attribute, [a for a in attributes if a in runs[baseline].predictions])
    seed = int(((runs[baseline].fairness[split] or {}).get("settings") or {}).get("seed", 0))
    sweep = sweep_record(jobs, runs, metric=metric, attribute=attribute, baseline=baseline, select=select, split=split,
                         n_boot=n_boot, seed=seed, n_perm=n_perm)
    selected = runs[sweep["selected"] or baseline]
    selected.about = context
    record: dict[str, Any] = {"kind": "sweep", "name": sweep_dir.name, "sweep": sweep,
                              "seeds": seed_record(sweep_dir, sweep), "run": run_record(selected)}
    add_tests(record, gap_family(selected.report_fairness(), correction, alpha),
              paired_family(sweep["paired"], correction, alpha))
    record["findings"] = sweep_findings(sweep, record["tests"]) + run_findings(record["run"], tests=record["tests"])
    opening = opening_line(selected)
    opening["text"] = (f"Sweep **{escape(sweep_dir.name)}** of {len(jobs)} jobs ({len(runs)} finished), baseline job "
                       f"{baseline}, selected job {selected.name} on `{select}`. " + opening["text"])
    record["summary"] = build_summary(opening, record["tests"], record["findings"], selected.report_fairness())
    card, record["provenance"] = model_card(selected, out_dir, record, f"Selected model: job {escape(selected.name)}")
    record["provenance"]["jobs"] = {name: run.name for name, run in runs.items()}
    record["provenance"]["sweep"] = sweep_dir.name
    head = [Heading(1, f"Fairness report: sweep {escape(sweep_dir.name)}"), *summary_blocks(record["summary"]),
            *context_blocks(selected),
            Paragraph(f"A sweep of {len(jobs)} jobs in **{escape(sweep_dir.name)}**, compared on the same `{split}` samples "
                      f"against baseline job {baseline}; below it, the model card of the job selected on `{select}`."),
            *sweep_blocks(sweep, record["tests"]),
            Bullets(family_lines({"paired": record["families"]["paired"]}, record["tests"],
                                 {"paired": next(iter(sweep["paired"].values()), {}).get("n_perm", n_perm)})),
            *seed_blocks(record["seeds"])]
    for block in card:  # the selected job's card sits one level below the sweep
        if isinstance(block, Heading):
            block.level = min(block.level + 1, 5) if block.level > 1 else 2
    return head + card, record
