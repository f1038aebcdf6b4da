"""The model card's text sections, after Mitchell et al. (2019) and the Hugging Face model card template.

Everything specific to a run is read from its config, metrics and fairness files; the rest is the
standing text of visage's scope, which a researcher edits in the final write-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visage.core.metric_specs import METRICS, group_metrics
from visage.core.names import INTERSECTION
from visage.reporting.markdown import escape
from visage.reporting.report.document import Block, Bullets, Code, Heading, Paragraph, Table
from visage.reporting.report.format import NOT_COMPUTED, number
from visage.reporting.report.load import RunFiles

SECTIONS = ("Summary", "Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data",
            "Quantitative analyses", "Findings", "Bias, risks, and limitations", "Ethical considerations",
            "Caveats and recommendations", "Provenance")


def _target(node: Any) -> str:
    return str(node.get("_target_", "unknown")).rsplit(".", 1)[-1] if isinstance(node, Mapping) else "unknown"


def model_details(run: RunFiles) -> list[Block]:
    """Backbone, heads, losses, sampler, optimiser and the run's overrides."""
    c = run.config
    backbone, model, loss = c.get("backbone") or {}, c.get("model") or {}, c.get("loss") or {}
    classes = (run.metrics.get("dataset") or {}).get("classes") or {}
    heads = [f"{task} ({len(names)} classes: {', '.join(names)})" for task, names in classes.items()]
    if "age_true" in run.predictions:
        heads.insert(0, f"age ({_target(c.get('age_loss'))}, loss `{(c.get('age_loss') or {}).get('loss', 'unknown')}`)")
    optimizer = model.get("optimizer") or {}
    sampler = run.training_distribution or {}
    items = [
        f"**Backbone**: `{backbone.get('name', 'unknown')}` (timm), pretrained: {backbone.get('pretrained', 'unknown')}; "
        f"network `{_target(model.get('net'))}`; input {(c.get('data') or {}).get('image_size', 'unknown')} px.",
        "**Heads**: " + ("; ".join(heads) if heads else "unknown") + ".",
        "**Loss weights**: " + (", ".join(f"{k} {v}" for k, v in (loss.get("weights") or {}).items()) or "unknown") + ".",
        f"**Optimiser**: `{_target(optimizer)}` lr {optimizer.get('lr', 'unknown')}, weight decay "
        f"{optimizer.get('weight_decay', 'unknown')}; {(c.get('trainer') or {}).get('max_epochs', 'unknown')} epoch(s), "
        f"seed {c.get('seed', 'unknown')}.",
        f"**Sampler**: `{_target(c.get('sampler'))}`"
        + (f", mode `{sampler.get('mode')}`, {sampler.get('samples_drawn')} samples drawn per epoch" if sampler else "") + ".",
        "**Overrides of this run**: " + (" ".join(f"`{o}`" for o in run.overrides) if run.overrides else "none (defaults)") + ".",
        f"**Model type**: a face-attribute model from visage (`python -m visage.train`); run **{escape(run.name)}**.",
    ]
    return [Heading(2, "Model details"), Bullets(items)]


NOT_SUPPLIED = ("**Not supplied.** This is an audit of a predictions file alone: no training run stands behind it, "
                "and no model description was given (pass `about=<markdown file>`). Nothing about the model is assumed.")


def audit_details(run: RunFiles) -> list[Block]:
    """Model details of an audit: the `about=` file's text as supplied, else marked as not supplied."""
    tasks = sorted({c[: -len("_pred")] for c in run.predictions.columns if c.endswith("_pred")})
    blocks: list[Block] = [Heading(2, "Model details"),
                           Paragraph(f"Audit of the predictions file **{escape(run.name)}** ({len(run.predictions)} rows; "
                                     f"tasks predicted: {', '.join(f'`{t}`' for t in tasks) or 'none'}).")]
    if not run.about:
        return blocks + [Paragraph(NOT_SUPPLIED)]
    return blocks + [Paragraph("As supplied with `about=` (not checked by visage):"), Code(run.about)]


def intended_use(run: RunFiles) -> list[Block]:
    """Intended and out-of-scope uses."""
    card = (run.config.get("data") or {}).get("card") or {}
    return [Heading(2, "Intended use"),
            Paragraph("**Intended**: research and teaching on *how* face-attribute models err across groups: comparing "
                      "backbones, losses and samplers by per-group errors and gaps, on data whose biases are known "
                      f"(dataset use: {_text(card, 'uses')})."),
            Paragraph("**Out of scope**: any decision about a person (hiring, policing, access, age verification, "
                      "surveillance, marketing by inferred race or gender); inferring anyone's identity, race or gender "
                      "as a fact; use on faces of people who did not agree to it; use outside the data it was "
                      "evaluated on without a new evaluation.")]


def factors(run: RunFiles) -> list[Block]:
    """Which groups are evaluated and why; what the labels are and are not."""
    fairness = run.report_fairness()
    classes = (run.metrics.get("dataset") or {}).get("classes") or {}
    data = run.config.get("data") or {}
    harmonise = data.get("harmonize_to")
    bins = (run.config.get("evaluation") or {}).get("age_bins")
    items = [f"**{escape(task)}**: {', '.join(map(escape, names))}" for task, names in classes.items()]
    if not classes:
        items = [f"**{escape(a)}**: {', '.join(map(escape, groups))}" for a, groups in fairness.get("by_group", {}).items()
                 if INTERSECTION not in a]
    if bins:
        items.append(f"**age_bin**: bins starting at {', '.join(str(b) for b in bins)} years")
    return [Heading(2, "Factors"),
            Paragraph("Groups evaluated (`evaluation.fairness.attributes`): "
                      + (", ".join(f"`{a}`" for a in fairness.get("by_group", {})) or "none: the data has no sensitive attribute "
                         "column, so no group is compared") + ". Unitary groups show who the model "
                      "fails; intersections show failures that averages over one attribute hide (a gap for older faces of one "
                      "race can vanish in both the race and the age tables)."),
            Paragraph("Race and gender are **labels annotated by others** (dataset creators or annotators), not the "
                      "identities of the people pictured; the label taxonomy is the dataset's own:"),
            Bullets(items or ["none"]),
            Paragraph(f"Label harmonisation: {'folded into ' + harmonise + ' classes (see the data card)' if harmonise else 'none'}. "
                      f"Dataset labels: {_text(data.get('card') or {}, 'labels')}.")]


def metrics_section(run: RunFiles) -> list[Block]:
    """Why these metrics, decision thresholds, and how uncertainty is shown."""
    fairness = run.report_fairness()
    settings = fairness.get("settings") or {}
    rows = [[f"`{m}`", METRICS[m].title, {"lower": "lower", "higher": "higher", "zero": "closer to 0"}[METRICS[m].direction]]
            for m in group_metrics(fairness.get("overall", {}))]
    positive = settings.get("positive") or {}
    return [Heading(2, "Metrics"),
            Table(["metric", "meaning", "better"], rows),
            Paragraph("Age errors are in years: MAE for size, median for robustness to outliers, mean signed error for "
                      "direction (a group read as older or younger). Accuracy and macro-F1 for the classifiers, expected "
                      "calibration error (10 confidence bins) for whether their probabilities can be trusted."),
            Paragraph("**Decision thresholds**: a class is predicted as the most probable one (arg-max); demographic "
                      "parity and equalized odds treat "
                      + (", ".join(f"{t}={v}" for t, v in positive.items()) or NOT_COMPUTED)
                      + " as the selected class; race is scored one-vs-rest."),
            Paragraph(f"**Uncertainty**: percentile bootstrap intervals at {settings.get('ci', NOT_COMPUTED)} from "
                      f"{settings.get('n_boot', NOT_COMPUTED)} resamples (seed {settings.get('seed', NOT_COMPUTED)}), for "
                      "every value and gap. A gap is the largest minus the smallest group value over the groups large "
                      f"enough to judge (n ≥ {settings.get('min_group_size', NOT_COMPUTED)}); a permutation test of the gap "
                      + (f"({settings['n_perm']} permutations)" if settings.get("n_perm") else "(not computed in this file)")
                      + " says whether it is beyond chance. An undefined value is shown as such, never as 0.")]


def find_datacard(name: str, run_dir: Path) -> Path | None:
    """Return the data card `datacards/<name>.md` from the working directory or visage's checkout."""
    roots = [Path.cwd(), Path(__file__).resolve().parents[2], *run_dir.resolve().parents]
    return next((root / "datacards" / f"{name}.md" for root in roots if (root / "datacards" / f"{name}.md").is_file()), None)


def datacard_summary(card: Path | None) -> list[str]:
    """Return the card's composition bullets and its consent and license lines."""
    if card is None:
        return []
    lines, keep, section = card.read_text().splitlines(), [], ""
    for line in lines:
        section = line[3:].strip() if line.startswith("## ") else section
        if (section == "Composition" and line.startswith("- ")) or line.startswith(("Consent:", "License:")):
            keep.append(line.removeprefix("- "))
    return keep


def evaluation_data(run: RunFiles, card: Path | None, out_dir: Path) -> list[Block]:
    """The evaluation split(s), the dataset and a summary of its card."""
    link = f"`datacards/{card.name}`" if card else \
        f"none found (write one with `python -m visage.datacard data={run.dataset}`)"
    n = {s: (f or {}).get("n", NOT_COMPUTED) for s, f in run.fairness.items()}
    changed = [o for o in run.overrides if o.startswith(("data.", "data="))]
    note = (" The card describes the dataset config's defaults; this run changed " + ", ".join(f"`{o}`" for o in changed)
            + ", so its counts differ from the card's.") if changed else ""
    return [Heading(2, "Evaluation data"),
            Paragraph(f"Dataset **{run.dataset}**; reported split `{run.split}` (n = {n.get(run.split)}), selection split "
                      f"`{run.select_split}` (n = {n.get(run.select_split, NOT_COMPUTED)}), held out from training by the "
                      f"run's split files. Data card: {link}.{note}"),
            Bullets(datacard_summary(card) or ["no data card summary available"])]


def _order(attribute: str, group: str) -> tuple[int, str]:
    """Sort key: age bins by their first year ("3-9" before "10-19"), other groups by name."""
    digits = group.split("-")[0].rstrip("+")
    return (int(digits), group) if attribute == "age_bin" and digits.isdigit() else (0, group)


def _text(card: Mapping[str, Any], key: str) -> str:
    """Return a data-card field without its final full stop, or "unknown"."""
    return str(card.get(key) or "unknown").strip().rstrip(".")


def training_data(run: RunFiles) -> list[Block]:
    """The training split's composition and what the sampler made of it."""
    distribution = run.training_distribution
    blocks: list[Block] = [Heading(2, "Training data"),
                           Paragraph(f"The training split of **{run.dataset}** (same data card). The sampler decides what "
                                     "training actually saw; per group, its share of the training split and of what "
                                     "training saw (samples drawn × loss weight):")]
    if not distribution:
        return blocks + [Paragraph(f"Training distribution: {NOT_COMPUTED} (no training_distribution.json).")]
    rows = [[escape(attribute), escape(group), str(v.get("available", "")), number(v.get("data_share"), "share"),
             number(v.get("trained_share"), "share")]
            for attribute, groups in distribution.items() if isinstance(groups, dict)
            for group, v in sorted(groups.items(), key=lambda item: _order(attribute, item[0])) if isinstance(v, dict)]
    return blocks + [Table(["attribute", "group", "training samples", "share of data", "share seen in training"], rows)]


def ethics(run: RunFiles) -> list[Block]:
    """Bias, risks and limitations (HF), and ethical considerations (Mitchell et al.)."""
    card = (run.config.get("data") or {}).get("card") or {}
    return [Heading(2, "Bias, risks, and limitations"),
            Bullets(["Predicting race and gender from a face is itself contested: the classes are a coarse, "
                     "externally assigned taxonomy, and a prediction can misgender or mislabel a person and reinforce "
                     "stereotypes. The classifiers exist here to *measure* bias, not to be deployed.",
                     "Errors are unequal across groups (see Findings); a low overall error hides them.",
                     "Age, gender and race labels of the evaluation data are themselves noisy; per-group noise floors "
                     "bound what any model can reach.",
                     "Every output is an estimate with uncertainty, never a fact about a person."]),
            Heading(2, "Ethical considerations"),
            Bullets(["Face images are personal and biometric data. Consent for the evaluation data: "
                     f"{_text(card, 'consent')}; license: {_text(card, 'license')}. Real datasets "
                     "(UTKFace, FairFace) were scraped from the web under research licenses; check them before any use.",
                     "No raw face is released in this report: only labels, predictions and aggregates, and plots of them.",
                     "Small groups are reported, not hidden, but their numbers are too uncertain to support claims.",
                     "Models are chosen on validation data; test numbers are reported, never used to choose."])]


def caveats(run: RunFiles, findings: list[dict[str, Any]]) -> list[Block]:
    """Caveats drawn from the numbers, and recommendations."""
    fairness = run.report_fairness()
    small = sum(1 for groups in fairness["by_group"].values() for e in groups.values() if e.get("small"))
    synthetic = run.dataset == "synthetic"
    items = [f"{small} group(s) across all attributes are too few to judge on `{run.split}`; their intervals are wide.",
             "Synthetic faces show whether a method recovers planted biases; they say nothing about real-world "
             "performance." if synthetic else f"Results hold for {run.dataset}; other populations need their own evaluation.",
             f"Warnings of the evaluation: {'; '.join(fairness.get('warnings') or []) or 'none'}."]
    return [Heading(2, "Caveats and recommendations"), Bullets(items),
            Paragraph("**Recommendations**: report per-group errors with intervals beside every overall number; collect or "
                      "weight data for the worst groups named in the Findings and check the change with a paired "
                      "comparison (`python -m visage.report sweep_dir=<dir>`); do not use the race or gender outputs to make "
                      f"decisions about people. {len(findings)} findings above are traceable to `report.json`.")]
