"""Every `python -m visage.<command>`: its config, one-line description, example and command-line extras.

The one place `--help` takes its words from (its keys and defaults come from the composed config).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    """One command of the command line.

    Attributes:
        name: the module under `visage` (`python -m visage.<name>`) and its config `conf/<name>.yaml`.
        summary: what it does, in one line.
        example: one command line that works.
        positional: the key a lone positional argument sets (e.g. `predict photo.jpg` sets `input`).
        positional_what: what that argument is, for the error when there are more.
        renamed: old key -> new key; the old name still works, with a deprecation warning.
        hydra_app: run as a Hydra application (`-m` sweeps, run directories, Hydra's flags).
    """

    name: str
    summary: str
    example: str
    positional: str | None = None
    positional_what: str = ""
    renamed: Mapping[str, str] = field(default_factory=dict)
    hydra_app: bool = False


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("train", "train, predict and score one configuration; -m sweeps over lists of values",
            "python -m visage.train experiment=example trainer.max_epochs=3", hydra_app=True),
    Command("evaluate", "re-score a run's predictions, score it on other data, or audit a predictions file",
            "python -m visage.evaluate run=experiments/runs/<run> data=utkface data.root=data/UTKFace"),
    Command("compare", "paired differences (run - baseline) of every metric and gap on the same samples",
            "python -m visage.compare run=experiments/runs/<a> baseline=experiments/runs/<b>",
            renamed={"sweep": "sweep_dir"}),
    Command("report", "the fairness and ethics report (Markdown, HTML, JSON) of a run or a sweep, from saved files",
            "python -m visage.report sweep_dir=experiments/sweeps/<sweep> correction=bh alpha=0.1",
            renamed={"sweep": "sweep_dir"}),
    Command("summarize", "a sweep's summary per job and over seeds (summary.md, summary_by_config.md)",
            "python -m visage.summarize sweep_dir=experiments/sweeps/<sweep> metric=age_mae",
            renamed={"sweep": "sweep_dir"}),
    Command("datacard", "a dataset's data card (datacards/<name>.md and its age histogram)",
            "python -m visage.datacard data=utkface data.root=data/UTKFace"),
    Command("predict", "one prediction JSON line per image of a file or folder",
            "python -m visage.predict photo.jpg run=experiments/runs/<run> detector=yunet",
            positional="input", positional_what="image or folder"),
    Command("export", "export a run's best checkpoint as ONNX or TorchScript, with model.json",
            "python -m visage.export run=experiments/runs/<run> format=onnx"),
    Command("serve", "the JSON API (POST /predict, GET /health) on loopback",
            "python -m visage.serve run=experiments/runs/<run> port=8000"),
    Command("demo", "the Streamlit demo on loopback",
            "python -m visage.demo runs=[experiments/runs] port=8501"),
    Command("video", "detect, track and smooth faces in a video; prints each track's jitter",
            "python -m visage.video clip.mp4 run=experiments/runs/<run> out=overlay.mp4",
            positional="source", positional_what="video file or camera index"),
)}
