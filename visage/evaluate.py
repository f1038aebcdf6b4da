"""`python -m visage.evaluate`: (re)compute fairness results of a run, or audit any predictions file.

- `run=<run dir>`: re-score the run's saved predictions (no model is loaded).
- `run=<run dir> data=<dataset>`: the run's best checkpoint predicts that dataset; results are written
  as `<data.name>-<split>` (cross-dataset evaluation).
- `predictions=<file.csv|file.parquet> out=<file.json>`: score predictions made anywhere (no run
  directory, config or torch); sensitive attributes are the columns `evaluation.fairness.attributes` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import pandas as pd
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.core.errors import ConfigError
from visage.core.run_files import fairness_path, predictions_path, write_json
from visage.fairness.audit import audit
from visage.fairness.evaluation import evaluate_predictions
from visage.fairness.settings import settings_from_config, validate_settings
from visage.runner.cli import CONFIG_DIR, run_entry_point, usage_errors_exit


def rescore_saved(run_dir: Path, run_cfg: DictConfig, classes: dict[str, list[str]], splits: list[str]) -> None:
    """Recompute fairness/<split>.json from predictions/<split>.parquet."""
    settings = settings_from_config(run_cfg.evaluation, classes)
    validate_settings(settings, classes=classes)
    for split in splits:
        path = predictions_path(run_dir, split)
        if not path.is_file():
            raise ConfigError(f"split '{split}' has no predictions in {run_dir}; available: "
                              + ", ".join(p.stem for p in (run_dir / "predictions").glob("*.parquet")))
        result = evaluate_predictions(pd.read_parquet(path), split, settings, class_names=classes)
        write_json(fairness_path(run_dir, split), result)
        print(f"wrote {fairness_path(run_dir, split)}")


def score_other_dataset(run: Any, run_cfg: DictConfig, splits: list[str]) -> None:
    """Predict another dataset with the run's best checkpoint and score it (cross-dataset evaluation)."""
    import lightning.pytorch as pl  # the training stack is only loaded when a model predicts

    from visage.runner.builders import build_datamodule
    from visage.runner.scoring import score_split

    datamodule = build_datamodule(run_cfg)
    dataset = datamodule.dataset
    for task, names in run.classes.items():
        theirs = list(dataset.task_classes.get(task, ()))
        if theirs != list(names):
            raise ConfigError(f"{task} classes of data '{dataset.name}' ({', '.join(theirs)}) differ from the run's "
                              f"({', '.join(names)}); map them to the run's label space first")
    trainer = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False)
    for split in splits:
        name = f"{dataset.name}-{split}"
        score_split(trainer, run.module, datamodule, split, run_cfg.evaluation, run.run_dir, name=name)
        print(f"wrote {fairness_path(run.run_dir, name)}")


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
    result = audit(cfg.predictions, _set_values(cfg.evaluation.fairness))
    write_json(out, result)
    print(f"wrote {out}")


def evaluate_run(cfg: DictConfig) -> None:
    """Re-score a run's saved predictions, or score another dataset with its checkpoint."""
    from visage.runner.load_run import load_run  # imports torch: only for runs

    other_data = cfg.get("data") is not None
    run = load_run(cfg.run, module=other_data)
    run_cfg = run.config
    with open_dict(run_cfg):
        run_cfg.evaluation.fairness = OmegaConf.merge(run_cfg.evaluation.fairness, _set_values(cfg.evaluation.fairness))
        run_cfg.datamodule = OmegaConf.merge(run_cfg.datamodule, _set_values(cfg.datamodule))
        if other_data:
            run_cfg.data = cfg.data
    if other_data:
        score_other_dataset(run, run_cfg, list(cfg.splits or ["test"]))
    else:
        rescore_saved(run.run_dir, run_cfg, run.classes, list(cfg.splits or run_cfg.evaluation.splits))


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Evaluate a trained run, or audit a predictions file."""
    with usage_errors_exit():
        if (cfg.get("run") is None) == (cfg.get("predictions") is None):
            raise ConfigError("give run=<run dir> or predictions=<file.csv|file.parquet> out=<file.json>")
        if cfg.get("predictions") is not None:
            audit_file(cfg)
        else:
            evaluate_run(cfg)


if __name__ == "__main__":
    run_entry_point(main, config_name="evaluate")
