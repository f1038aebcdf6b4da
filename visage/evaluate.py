"""`python -m visage.evaluate run=<run dir> [data=<dataset>]`: (re)compute a run's fairness results.

Without `data` the saved predictions are re-scored (no model is loaded); with `data` the run's best
checkpoint predicts that dataset, and results are written as `<data.name>-<split>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
import lightning.pytorch as pl
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from visage.cli import CONFIG_DIR, run_entry_point, usage_errors_exit
from visage.errors import ConfigError
from visage.fairness.evaluation import evaluate_predictions
from visage.run_files import fairness_path, predictions_path, write_json
from visage.scoring import fairness_settings, score_split
from visage.train import build_datamodule, build_module


def load_run(run: str) -> tuple[Path, DictConfig, dict[str, Any]]:
    """Return the run directory, its saved config and its metrics.json; ConfigError if it is not a run."""
    run_dir = Path(run).expanduser()
    config_file, metrics_file = run_dir / ".hydra" / "config.yaml", run_dir / "metrics.json"
    if not config_file.is_file() or not metrics_file.is_file():
        raise ConfigError(f"run={run} is not a finished visage run (needs .hydra/config.yaml and metrics.json)")
    return run_dir, OmegaConf.load(config_file), json.loads(metrics_file.read_text())


def rescore_saved(run_dir: Path, run_cfg: DictConfig, classes: dict[str, list[str]], splits: list[str]) -> None:
    """Recompute fairness/<split>.json from predictions/<split>.parquet."""
    settings = fairness_settings(run_cfg.evaluation, classes)
    for split in splits:
        path = predictions_path(run_dir, split)
        if not path.is_file():
            raise ConfigError(f"split '{split}' has no predictions in {run_dir}; available: "
                              + ", ".join(p.stem for p in (run_dir / "predictions").glob("*.parquet")))
        result = evaluate_predictions(pd.read_parquet(path), split, settings, class_names=classes)
        write_json(fairness_path(run_dir, split), result)
        print(f"wrote {fairness_path(run_dir, split)}")


def score_other_dataset(run_dir: Path, run_cfg: DictConfig, classes: dict[str, list[str]], splits: list[str]) -> None:
    """Predict another dataset with the run's best checkpoint and score it (cross-dataset evaluation)."""
    datamodule = build_datamodule(run_cfg)
    dataset = datamodule.dataset
    for task, names in classes.items():
        theirs = list(dataset.task_classes.get(task, ()))
        if theirs != list(names):
            raise ConfigError(f"{task} classes of data '{dataset.name}' ({', '.join(theirs)}) differ from the run's "
                              f"({', '.join(classes[task])}); map them to the run's label space first")
    module = build_module(run_cfg, datamodule)
    checkpoint = run_dir / "checkpoints" / "best.ckpt"
    if not checkpoint.is_file():
        raise ConfigError(f"run={run_dir} has no checkpoints/best.ckpt to predict with")
    module.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"])
    trainer = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False)
    for split in splits:
        name = f"{dataset.name}-{split}"
        score_split(trainer, module, datamodule, split, run_cfg.evaluation, run_dir, name=name)
        print(f"wrote {fairness_path(run_dir, name)}")


def _set_values(node: DictConfig) -> dict[str, Any]:
    return {k: v for k, v in OmegaConf.to_container(node).items() if v is not None}


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Evaluate a trained run on its own saved predictions or on another dataset."""
    with usage_errors_exit():
        run_dir, run_cfg, metrics = load_run(cfg.run)
        classes = metrics["dataset"]["classes"]
        with open_dict(run_cfg):
            run_cfg.evaluation.fairness = OmegaConf.merge(run_cfg.evaluation.fairness,
                                                          _set_values(cfg.evaluation.fairness))
            run_cfg.datamodule = OmegaConf.merge(run_cfg.datamodule, _set_values(cfg.datamodule))
            if cfg.get("data") is not None:
                run_cfg.data = cfg.data
        if cfg.get("data") is None:
            rescore_saved(run_dir, run_cfg, classes, list(cfg.splits or run_cfg.evaluation.splits))
        else:
            score_other_dataset(run_dir, run_cfg, classes, list(cfg.splits or ["test"]))


if __name__ == "__main__":
    run_entry_point(main, config_name="evaluate")
