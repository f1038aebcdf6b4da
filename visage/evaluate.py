"""`python -m visage.evaluate`: (re)compute fairness results of a run, or audit any predictions file.

- `run=<run dir>`: re-score the run's saved predictions (no model is loaded).
- `run=<run dir> data=<dataset>`: the run's best checkpoint predicts that dataset; results are written
  as `<data.name>-<split>` (cross-dataset evaluation). A task the data does not label (an emotion
  model on UTKFace) is scored by its predictions per group (prediction parity), the faces shown as
  the run's training faces were (48 px grayscale for a FER2013 model).
- `predictions=<file.csv|file.parquet> out=<file.json>`: score predictions made anywhere (no run
  directory, config or torch); sensitive attributes are the columns `evaluation.fairness.attributes` names,
  or `sensitive_attributes=[...]` (then also the first one's intersection with each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.core.errors import ConfigError
from visage.core.run_files import fairness_path, predictions_path, write_json
from visage.fairness.audit import audit
from visage.fairness.evaluation import evaluate_predictions
from visage.fairness.settings import settings_from_config, validate_settings
from visage.runner.cli import run_command, usage_errors_exit


def rescore_saved(run_dir: Path, run_cfg: DictConfig, classes: dict[str, list[str]], splits: list[str]) -> None:
    """Recompute fairness/<split>.json from predictions/<split>.parquet."""
    sensitive = run_cfg.data.get("sensitive_attributes") if "data" in run_cfg else None
    settings = settings_from_config(run_cfg.evaluation, classes, None if sensitive is None else list(sensitive))
    validate_settings(settings, classes=classes)
    for split in splits:
        path = predictions_path(run_dir, split)
        if not path.is_file():
            raise ConfigError(f"split '{split}' has no predictions in {run_dir}; available: "
                              + ", ".join(p.stem for p in (run_dir / "predictions").glob("*.parquet")))
        result = evaluate_predictions(pd.read_parquet(path), split, settings, class_names=classes)
        write_json(fairness_path(run_dir, split), result)
        print(f"wrote {fairness_path(run_dir, split)}")


def native_look(data_cfg: DictConfig) -> dict[str, Any] | None:
    """Return how the faces of a run's training data looked before resizing (FER2013: 48 px gray), if the dataset says."""
    from hydra.utils import get_class

    try:
        return getattr(get_class(str(data_cfg._target_)), "native_look", None)
    except Exception:  # a dataset class that cannot be imported here says nothing about its look
        return None


def score_other_dataset(run: Any, run_cfg: DictConfig, splits: list[str], look: dict[str, Any] | None = None) -> None:
    """Predict another dataset with the run's best checkpoint and score it (cross-dataset evaluation).

    A task both label is scored against the data's truth (their classes must agree); a task the run
    predicts but the data does not label (emotion on UTKFace) is scored by what the model predicts
    per group: prediction parity by the data's sensitive attributes. The faces are shown as the run's
    training faces were (`look`: e.g. 48 px grayscale for a FER2013 model) at the run's image size.
    """
    import lightning.pytorch as pl  # the training stack is only loaded when a model predicts

    from visage.runner.builders import build_datamodule
    from visage.runner.scoring import AsTrained, predict_as_trained, score_table

    datamodule = build_datamodule(run_cfg)
    dataset = datamodule.dataset
    for task, names in run.classes.items():
        theirs = list(dataset.task_classes.get(task, ()))
        if theirs and theirs != list(names):
            raise ConfigError(f"{task} classes of data '{dataset.name}' ({', '.join(theirs)}) differ from the run's "
                              f"({', '.join(names)}); map them to the run's label space first")
    scored = [t for t in run.classes if t in dataset.task_classes] + (["age"] if run.has_age and dataset.has_age else [])
    predicted = [t for t in run.classes if t not in dataset.task_classes]
    if not scored and not predicted:
        raise ConfigError(f"data '{dataset.name}' labels none of the run's tasks and the run predicts none")
    view = AsTrained(dataset, run.classes, run.has_age, look, run.image_size)
    trainer = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False)
    for split in splits:
        name = f"{dataset.name}-{split}"
        table = predict_as_trained(trainer, run.module, datamodule, split, view, run.classes, list(run_cfg.evaluation.age_bins))
        score_table(table, name, run_cfg.evaluation, run.run_dir, dataset.task_classes,
                    getattr(dataset, "sensitive_attributes", None))
        print(f"wrote {fairness_path(run.run_dir, name)}"
              + (f" (prediction parity of {', '.join(predicted)}: the data has no truth for it)" if predicted else ""))


def _set_values(node: DictConfig) -> dict[str, Any]:
    """Return the keys of an override node the user set (nested nulls dropped, empty mappings too)."""
    def kept(value: Any) -> Any:
        return {k: kept(v) for k, v in value.items() if v is not None} if isinstance(value, dict) else value

    return {k: v for k, v in kept(OmegaConf.to_container(node)).items() if v is not None and v != {}}


def audit_file(cfg: DictConfig) -> None:
    """Score a predictions file made anywhere and write the fairness JSON to `out`."""
    if not cfg.get("out"):
        raise ConfigError("predictions= needs out=<file.json> to write the result to")
    out = Path(cfg.out)
    if out.suffix != ".json":
        raise ConfigError(f"out={cfg.out} must be a .json file")
    sensitive = cfg.get("sensitive_attributes")
    result = audit(cfg.predictions, _set_values(cfg.evaluation.fairness), None if sensitive is None else list(sensitive))
    write_json(out, result)
    print(f"wrote {out}")


def evaluate_run(cfg: DictConfig) -> None:
    """Re-score a run's saved predictions, or score another dataset with its checkpoint."""
    from visage.runner.load_run import load_run  # imports torch: only for runs

    other_data = cfg.get("data") is not None
    run = load_run(cfg.run, module=other_data)
    run_cfg = run.config
    look = native_look(run_cfg.data) if other_data else None
    with open_dict(run_cfg):
        run_cfg.evaluation.fairness = OmegaConf.merge(run_cfg.evaluation.fairness, _set_values(cfg.evaluation.fairness))
        run_cfg.datamodule = OmegaConf.merge(run_cfg.datamodule, _set_values(cfg.datamodule))
        if other_data:
            run_cfg.data = cfg.data
            run_cfg.data.image_size = run.image_size  # the model sees faces at the size it was trained on
    if other_data:
        score_other_dataset(run, run_cfg, list(cfg.splits or ["test"]), look)
    else:
        rescore_saved(run.run_dir, run_cfg, run.classes, list(cfg.splits or run_cfg.evaluation.splits))


def run(cfg: DictConfig) -> None:
    """Evaluate a trained run, or audit a predictions file."""
    with usage_errors_exit():
        if (cfg.get("run") is None) == (cfg.get("predictions") is None):
            raise ConfigError("give run=<run dir> or predictions=<file.csv|file.parquet> out=<file.json>")
        if cfg.get("predictions") is not None:
            audit_file(cfg)
        else:
            evaluate_run(cfg)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.evaluate [key=value ...]`: parse the command line (`visage.runner.cli`) and evaluate."""
    run_command("evaluate", run, argv)


if __name__ == "__main__":
    main()
