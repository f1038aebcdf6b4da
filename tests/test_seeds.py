"""Seed semantics (`seed` varies training only) and the sweep summary by configuration over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from tests.helpers import TINY, call
from visage.reporting.summaries.seeds import split_seed, summarize_by_config
from visage.runner.builders import build_datamodule

FAST = [*TINY, "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=0", "evaluation.fairness.min_group_size=3"]


def test_seed_changes_neither_the_synthetic_data_nor_the_split(compose_train, tmp_path: Path) -> None:
    first, second = build_datamodule(compose_train("seed=0")), build_datamodule(compose_train("seed=1"))
    pd.testing.assert_frame_equal(first.dataset.labels, second.dataset.labels)
    for split in ("train", "val", "test"):
        assert np.array_equal(first.split_indices[split], second.split_indices[split])
    assert len(list((tmp_path / "exp" / "splits").glob("*.csv"))) == 1   # the second run reused the first's file
    # the training draws follow `seed`
    assert not np.array_equal(first.generator.get_state().numpy(), second.generator.get_state().numpy())


def test_seed_override_is_split_from_the_configuration() -> None:
    assert split_seed(["sampler=none", "seed=3", "loss=group_dro"]) == ("sampler=none loss=group_dro", "3")
    assert split_seed(["++seed=1"]) == ("", "1")
    assert split_seed(["data.seed=7"]) == ("data.seed=7", "")


def test_two_seeds_of_one_configuration_give_one_row_with_their_mean(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sweep_dir = tmp_path / "seeds"
    assert call("train", "-m", "seed=0,1", "sampler=race_age_balanced", *FAST,
                f"hydra.sweep.dir={sweep_dir}", f"paths.experiments_dir={tmp_path}") == 0
    table = summarize_by_config(sweep_dir)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["config"].startswith("sampler=race_age_balanced data.n_samples=240") and "seed=" not in row["config"]
    assert row["n_seeds"] == 2 and row["seeds"] == "0 1" and row["jobs"] == "0 1"
    jobs = [json.loads((sweep_dir / job / "metrics.json").read_text()) for job in ("0", "1")]
    values = [m["val"]["age_mae"] for m in jobs]
    assert values[0] != values[1]   # the seed changes training
    assert row["val_age_mae_mean"] == pytest.approx(np.mean(values))
    assert row["val_age_mae_sd"] == pytest.approx(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, df=1) * np.std(values, ddof=1) / np.sqrt(2)
    assert row["val_age_mae_ci_low"] == pytest.approx(np.mean(values) - half)
    gaps = [json.loads((sweep_dir / job / "fairness" / "test.json").read_text())["disparity"]["race"]["age_mae_gap"]
            for job in ("0", "1")]
    assert row["test_race_age_mae_gap_mean"] == pytest.approx(np.mean(gaps))
    assert bool(row["pareto"])
    on_disk = pd.read_csv(sweep_dir / "summary_by_config.csv")
    assert on_disk["n_seeds"].tolist() == [2]
    assert "sampler=race_age_balanced" in (sweep_dir / "summary_by_config.md").read_text()
    # The sweep report shows the seed spread beside each job's bootstrap interval width.
    assert call("report", f"sweep_dir={sweep_dir}", f"out={tmp_path / 'report'}") == 0
    seeds = json.loads((tmp_path / "report" / "report.json").read_text())["seeds"]
    (config,) = seeds["configs"]
    assert config["n_seeds"] == 2 and config["age_mae"]["mean"] == pytest.approx(np.mean(values))
    assert config["age_mae"]["bootstrap_ci_width"] > 0
    assert "Seeds: training noise beside sampling noise" in (tmp_path / "report" / "report.md").read_text()


def _fake_job(job: Path, overrides: list[str], mae: float | None, gap: float = 1.0) -> None:
    """Write a job directory as a finished (or, with `mae=None`, failed) sweep job leaves it."""
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if mae is None:
        (job / "failure.json").write_text(json.dumps({"type": "ConfigError", "message": "bad"}))
        return
    (job / "metrics.json").write_text(json.dumps({"val": {"n": 10, "age_mae": mae}, "objective": mae}))
    worst = "Black" if mae > 3 else "White"
    fairness = {"by_group": {"race": {worst: {"age_mae": mae + gap}}},
                "disparity": {"race": {"worst_group": {"age_mae": worst}, "age_mae_gap": gap}}}
    (job / "fairness").mkdir()
    (job / "fairness" / "val.json").write_text(json.dumps(fairness))


def test_configurations_are_grouped_failures_counted_and_the_front_taken_on_means(tmp_path: Path) -> None:
    jobs = [(["sampler=none", "seed=0"], 3.0, 2.0), (["sampler=none", "seed=1"], 5.0, 2.0),
            (["sampler=balanced", "seed=0"], 3.5, 1.0), (["sampler=balanced", "seed=1"], None, 0.0),
            (["sampler=worse", "seed=0"], 4.5, 3.0)]
    for number, (overrides, mae, gap) in enumerate(jobs):
        _fake_job(tmp_path / str(number), overrides, mae, gap)
    table = summarize_by_config(tmp_path, report_split=None).set_index("config")
    assert table.loc["sampler=none", "n_seeds"] == 2 and table.loc["sampler=none", "val_age_mae_mean"] == 4.0
    assert table.loc["sampler=balanced", "n_seeds"] == 1 and table.loc["sampler=balanced", "n_failed"] == 1
    assert np.isnan(table.loc["sampler=balanced", "val_age_mae_sd"])   # one seed: no spread to report
    assert table.loc["sampler=none", "val_race_worst_age_mae_group"] == "White (1/2)"
    assert table.loc["sampler=none", "val_race_worst_age_mae_mean"] == 6.0
    # none (4.0, gap 2) and balanced (3.5, gap 1): balanced dominates; worse (4.5, gap 3) is dominated
    assert table["pareto"].to_dict() == {"sampler=none": False, "sampler=balanced": True, "sampler=worse": False}
