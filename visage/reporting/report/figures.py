"""The report's figures, as PNG bytes: matplotlib plots of aggregates (never a face).

Per run: a forest plot per attribute, a heat-map of gaps, signed age error against true age per
group, confusion matrices per group, reliability per group. Sweep figures live in `report_sweep_figures`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from visage.core.metric_specs import METRICS  # noqa: E402
from visage.reporting.report.document import Image  # noqa: E402
from visage.reporting.report.format import group_status, is_number, number  # noqa: E402

DPI = 90
JUDGED, SMALL = "#1f5f8b", "#a0a6ad"


def png(figure: plt.Figure) -> Image:
    """Return `figure` as PNG and PDF bytes (the PDF for LaTeX) and close it."""
    rendered = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tight_layout's "not compatible" notes on suptitles
        figure.tight_layout()
    for kind in ("png", "pdf"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=kind, dpi=DPI, metadata={"CreationDate": None} if kind == "pdf" else None)
        rendered[kind] = buffer.getvalue()
    plt.close(figure)
    return Image(**rendered)


def forest_plot(fairness: Mapping[str, Any], attribute: str, metrics: Sequence[str]) -> Image:
    """Per-group value and interval of each metric for one attribute; small groups grey and hollow."""
    by_group = fairness["by_group"][attribute]
    groups = list(by_group)[::-1]
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 0.9 + 0.28 * len(groups)),
                                sharey=True, squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for y, group in enumerate(groups):
            entry = by_group[group]
            value, ci = entry.get(metric), (entry.get("ci") or {}).get(metric)
            if not is_number(value):
                continue
            small = group_status(entry) != "judged"
            colour = SMALL if small else JUDGED
            if ci and all(is_number(b) for b in ci):
                axis.plot(ci, [y, y], color=colour, linewidth=1.6)
            axis.plot(value, y, "o", color=colour, markerfacecolor="white" if small else colour, markersize=5)
        overall = fairness.get("overall", {}).get(metric)
        if is_number(overall):
            axis.axvline(overall, color="#c0392b", linestyle="--", linewidth=1, label="overall")
        axis.set_title(f"{metric}: {METRICS[metric].title}" if metric in METRICS else metric, fontsize=9)
        axis.grid(axis="x", alpha=0.3)
    labels = [f"{g} (n={by_group[g].get('n', '?')})" for g in groups]
    axes[0][0].set_yticks(range(len(groups)), labels, fontsize=8)
    axes[0][0].legend(fontsize=7, loc="best")
    return png(figure)


def gap_heatmap(fairness: Mapping[str, Any], attributes: Sequence[str], metrics: Sequence[str]) -> Image | None:
    """Gaps (worst − best group) per attribute × metric, colour scaled per metric column; None with nothing to show."""
    if not attributes or not metrics:
        return None
    values = np.full((len(attributes), len(metrics)), np.nan)
    for i, attribute in enumerate(attributes):
        disparity = fairness.get("disparity", {}).get(attribute, {})
        for j, metric in enumerate(metrics):
            if is_number(disparity.get(f"{metric}_gap")):
                values[i, j] = disparity[f"{metric}_gap"]
    column_max = np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=0)
    scaled = values / np.where(column_max > 0, column_max, 1)
    figure, axis = plt.subplots(figsize=(1.2 + 1.1 * len(metrics), 0.8 + 0.5 * len(attributes)))
    axis.imshow(np.ma.masked_invalid(scaled), cmap="OrRd", vmin=0, vmax=1, aspect="auto")
    for i in range(len(attributes)):
        for j, metric in enumerate(metrics):
            text = number(float(values[i, j]), f"{metric}_gap") if not np.isnan(values[i, j]) else "n/a"
            dark = not np.isnan(scaled[i, j]) and scaled[i, j] > 0.6
            axis.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    axis.set_xticks(range(len(metrics)), metrics, rotation=35, ha="right", fontsize=8)
    axis.set_yticks(range(len(attributes)), attributes, fontsize=8)
    axis.set_title("Gap between groups (largest − smallest), colour scaled per metric", fontsize=10)
    return png(figure)


def signed_age_error(predictions: pd.DataFrame, by: str, width: int = 10) -> Image:
    """Mean signed age error (pred − true) per true-age band, one line per group of `by`."""
    error = predictions["age_pred"] - predictions["age_true"]
    band = (predictions["age_true"] // width * width).astype(int)
    figure, axis = plt.subplots(figsize=(7.5, 4))
    for group, part in error.groupby(predictions[by], observed=True):
        stats = part.groupby(band.loc[part.index]).agg(["mean", "count"])
        stats = stats[stats["count"] >= 3]
        axis.plot(stats.index + width / 2, stats["mean"], marker="o", markersize=4, label=f"{group} (n={len(part)})")
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_xlabel("true age (years, 10-year bands with ≥ 3 samples)")
    axis.set_ylabel("mean signed error (years)\n+ = predicted older")
    axis.set_title(f"Signed age error against true age, per {by}", fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    return png(figure)


def confusion_per_group(fairness: Mapping[str, Any], attribute: str, task: str) -> Image | None:
    """Row-normalised confusion matrix of `task` for each group of `attribute` (from the fairness JSON)."""
    by_group = fairness["by_group"].get(attribute, {})
    panels = [(g, e["confusion"][task]) for g, e in by_group.items() if (e.get("confusion") or {}).get(task)]
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9), squeeze=False)
    for axis, (group, table) in zip(axes[0], panels):
        classes = list(table)
        counts = np.array([[table[t].get(p, 0) for p in classes] for t in classes], dtype=float)
        rows = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(classes)):
            for j in range(len(classes)):
                axis.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                          color="white" if shares[i, j] > 0.6 else "black")
        axis.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7)
        axis.set_yticks(range(len(classes)), classes, fontsize=7)
        axis.set_title(f"{group} (n={by_group[group].get('n', '?')})", fontsize=8)
        axis.set_xlabel("predicted", fontsize=7)
    axes[0][0].set_ylabel("true", fontsize=7)
    figure.suptitle(f"{task} confusion per {attribute} (counts; colour = share of the true row)", fontsize=9)
    return png(figure)


def reliability_per_group(predictions: pd.DataFrame, task: str, by: str, n_bins: int = 10) -> Image:
    """Accuracy against confidence (10 bins) of the `task` classifier, one line per group of `by`."""
    confidence = predictions[f"{task}_prob"].astype(float)
    correct = (predictions[f"{task}_pred"] == predictions[f"{task}_true"]).astype(float)
    bins = np.clip((confidence * n_bins).astype(int), 0, n_bins - 1)
    figure, axis = plt.subplots(figsize=(5, 4.3))
    axis.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="perfectly calibrated")
    for group, rows in predictions.groupby(by, observed=True).groups.items():
        frame = pd.DataFrame({"c": confidence.loc[rows], "a": correct.loc[rows], "b": bins.loc[rows]})
        stats = frame.groupby("b").agg(c=("c", "mean"), a=("a", "mean"), n=("a", "size"))
        axis.plot(stats["c"], stats["a"], marker="o", markersize=4, label=f"{group} (n={len(rows)})")
    axis.set_xlim(0, 1)
    axis.set_ylim(-0.02, 1.02)
    axis.set_xlabel(f"confidence of the predicted {task}")
    axis.set_ylabel("accuracy")
    axis.set_title(f"Reliability of the {task} classifier per {by}", fontsize=10)
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    return png(figure)
