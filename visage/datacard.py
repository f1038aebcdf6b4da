"""`python -m visage.datacard data=<name> [data.root=...]`: write `datacards/<name>.md` and its age plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from visage.data.base import FaceDataset
from visage.data.build import build_dataset
from visage.reporting.datacards.card import CardInput, age_plot_attribute, plot_age_histograms, render_card
from visage.runner.cli import run_command, usage_errors_exit

VERIFIED_NOTE = ("Every image was decoded once when the index was built (pixels discarded); files that pass the "
                 "header check but do not decode are skipped, so every count in this card is of usable images.")


def card_input(dataset: FaceDataset, card: dict) -> CardInput:
    """Return the data card input of `dataset`: labels with class names, skips, mappings, facts.

    Building the dataset's index is all this needs: no training cache is allocated.
    """
    labels = pd.DataFrame({task: pd.Categorical.from_codes(dataset.labels[task], categories=list(names))
                           for task, names in dataset.task_classes.items()})
    if dataset.has_age:
        labels["age"] = dataset.labels["age"].astype(float).to_numpy()
    for name in dataset.sensitive_attributes:  # label columns that are no task (a table's skin_tone, site)
        if name not in labels and name in dataset.labels:
            labels[name] = dataset.labels[name].astype(str).to_numpy()
    skipped = getattr(dataset, "skipped", pd.DataFrame(columns=["file", "reason"]))
    facts = dataset.describe()
    extra = {k.replace("_", " "): v for k, v in facts.items() if k != "skipped" and isinstance(v, Mapping)}
    if hasattr(dataset, "biases"):
        extra["planted biases"] = {k: v for k, v in vars(dataset.biases).items() if v}
    notes = [VERIFIED_NOTE] if facts.get("images_verified") else []
    return CardInput(dataset.name, labels, card, skipped, getattr(dataset, "label_mapping", {}), extra, notes,
                     dataset.sensitive_attributes)


def write_card(dataset: FaceDataset, card: dict, out_dir: Path, age_bins: list[int]) -> Path:
    """Write `<out_dir>/<name>.md` and `<name>_age.png`; return the card's path."""
    data = card_input(dataset, card)
    by = age_plot_attribute(data, data.labels)
    plot = plot_age_histograms(data.labels, out_dir / f"{dataset.name}_age.png", by) if dataset.has_age and by else None
    path = out_dir / f"{dataset.name}.md"
    path.write_text(render_card(data, age_bins, plot.name if plot else None))
    return path


def run(cfg: DictConfig) -> None:
    """Build the configured dataset's index and write its data card."""
    with usage_errors_exit():
        dataset = build_dataset(cfg.data)
        card = OmegaConf.to_container(cfg.data.get("card") or {}, resolve=True)
        path = write_card(dataset, card, Path(cfg.out_dir), list(cfg.age_bins))
    print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.datacard [key=value ...]`: parse the command line (`visage.runner.cli`) and write the data card."""
    run_command("datacard", run, argv)


if __name__ == "__main__":
    main()
