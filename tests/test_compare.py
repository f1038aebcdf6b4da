"""`python -m visage.compare`: paired differences of two runs on the same samples, by hand and end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import call, run_cli, train_tiny_run
from visage.fairness.bootstrap import fairlearn_seeds, resample_indices
from visage.fairness.paired import paired_differences
from visage.fairness.settings import FairnessSettings


def _train(root: Path, name: str, *overrides: str) -> Path:
    return train_tiny_run(root / name, "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20",
                          "evaluation.fairness.min_group_size=5", *overrides)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    return _train(root, "plain"), _train(root, "balanced", "sampler=race_age_balanced")


def paired_predictions(seed: int, n: int, *, noise_a: float, noise_b: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return two runs' age predictions on the same `n` samples (races A/B), with Gaussian errors of these sizes."""
    rng = np.random.default_rng(seed)
    truth = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "race": rng.choice(["A", "B"], n),
                          "age_true": rng.uniform(0, 80, n)})
    a = truth.assign(age_pred=truth["age_true"] + rng.normal(0, noise_a, n))
    b = truth.assign(age_pred=truth["age_true"] + rng.normal(0, noise_b, n))
    return a, b


def test_paired_differences_by_hand() -> None:
    n = 300
    a, b = paired_predictions(0, n, noise_a=2, noise_b=4)
    settings = FairnessSettings(attributes=("race",), n_boot=50, seed=4, min_group_size=10, n_perm=0)
    result = paired_differences(a, b.sample(frac=1, random_state=1), settings)  # any row order: joined on sample_id
    err_a, err_b = (a["age_pred"] - a["age_true"]).abs(), (b["age_pred"] - b["age_true"]).abs()
    overall = result["overall"]["age_mae"]
    assert overall["difference"] == pytest.approx(err_a.mean() - err_b.mean())
    draws = [resample_indices(n, int(s)) for s in fairlearn_seeds(50, 4)]
    diffs = [err_a.to_numpy()[d].mean() - err_b.to_numpy()[d].mean() for d in draws]
    assert overall["ci"] == pytest.approx(list(np.quantile(diffs, [0.025, 0.975])))
    group_a = err_a[a["race"] == "A"].mean() - err_b[a["race"] == "A"].mean()
    assert result["by_group"]["race"]["A"]["age_mae"]["difference"] == pytest.approx(group_a)

    def gap(err: pd.Series, rows: np.ndarray) -> float:
        means = err.to_numpy()[rows].__array__()
        races = a["race"].to_numpy()[rows]
        return abs(means[races == "A"].mean() - means[races == "B"].mean())

    gaps = [gap(err_a, d) - gap(err_b, d) for d in draws]
    entry = result["disparity"]["race"]["age_mae_gap"]
    assert entry["difference"] == pytest.approx(gap(err_a, np.arange(n)) - gap(err_b, np.arange(n)))
    assert entry["ci"] == pytest.approx(list(np.quantile(gaps, [0.025, 0.975])))


def test_compare_two_runs_on_the_same_samples(two_runs: tuple[Path, Path]) -> None:
    plain, balanced = two_runs
    done = run_cli("visage.compare", f"run={balanced}", f"baseline={plain}", "evaluation.fairness.n_boot=100",
                   cwd=plain.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((balanced / "compare" / "plain" / "compare.json").read_text())
    fair_a = json.loads((balanced / "fairness" / "test.json").read_text())
    fair_b = json.loads((plain / "fairness" / "test.json").read_text())
    assert result["split"] == "test" and result["n"] == fair_a["n"]
    assert result["overall"]["age_mae"]["difference"] == pytest.approx(
        fair_a["overall"]["age_mae"] - fair_b["overall"]["age_mae"])
    low, high = result["overall"]["age_mae"]["ci"]
    assert low <= result["overall"]["age_mae"]["difference"] <= high
    for group in ("White", "Black"):
        assert result["by_group"]["race"][group]["race_acc"]["difference"] == pytest.approx(
            fair_a["by_group"]["race"][group]["race_acc"] - fair_b["by_group"]["race"][group]["race_acc"])
    gap_a, gap_b = fair_a["disparity"]["race"]["age_mae_gap"], fair_b["disparity"]["race"]["age_mae_gap"]
    if gap_a is not None and gap_b is not None:
        assert result["disparity"]["race"]["age_mae_gap"]["difference"] == pytest.approx(gap_a - gap_b)
    markdown = (balanced / "compare" / "plain" / "compare.md").read_text()
    assert markdown.startswith("# Paired comparison: balanced − plain")
    assert "| age_mae |" in markdown


def test_runs_on_different_samples_are_refused(two_runs: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    plain, balanced = two_runs
    other = tmp_path / "other"
    shutil.copytree(balanced, other, ignore=shutil.ignore_patterns("compare", "*.ckpt"))
    predictions = other / "predictions" / "test.parquet"
    pd.read_parquet(predictions).iloc[5:].to_parquet(predictions)
    assert call("compare", f"run={other}", f"baseline={plain}") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: the runs were scored on different samples (0 only in the run, 5 only in the baseline, "
        f"{len(pd.read_parquet(predictions))} shared); compare runs on the same split of the same data"]
    assert not (other / "compare").exists()


def test_sweep_jobs_are_compared_with_a_baseline_job(two_runs: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    for job, run in enumerate(two_runs):
        shutil.copytree(run, sweep / str(job), ignore=shutil.ignore_patterns("compare", "*.ckpt"))
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text("[]\n")
    assert call("compare", f"sweep_dir={sweep}", "baseline=0", "evaluation.fairness.n_boot=20") == 0
    assert (sweep / "1" / "compare" / "0" / "compare.json").is_file()
    assert not (sweep / "0" / "compare").exists()
    capsys.readouterr()
    assert call("compare", f"sweep_dir={sweep}", "baseline=7") == 2
    assert capsys.readouterr().err.strip().splitlines() == ["error: unknown baseline job '7'; available: 0, 1"]


def test_paired_sign_flip_p_value_by_hand() -> None:
    n = 400
    a, b = paired_predictions(1, n, noise_a=3, noise_b=3.3)
    settings = FairnessSettings(attributes=("race",), n_boot=20, seed=7, min_group_size=10, n_perm=300)
    result = paired_differences(a, b, settings)
    d = ((a["age_pred"] - a["age_true"]).abs() - (b["age_pred"] - b["age_true"]).abs()).to_numpy()
    flips = np.random.default_rng(7).integers(0, 2, size=(300, n)).astype(float)
    permuted = ((1 - 2 * flips) * d).mean(axis=1)   # swapping a and b of a sample flips the sign of its difference
    expected = (1 + int((np.abs(permuted) >= abs(d.mean()) - 1e-9).sum())) / 301
    assert result["overall"]["age_mae"]["p_value"] == pytest.approx(expected)
    assert result["overall"]["age_median_ae"]["p_value"] is None   # medians: interval only
    assert 0 < result["disparity"]["race"]["age_mae_gap"]["p_value"] <= 1
    assert "not the variation of training seeds" in result["scope"]
    same = paired_differences(a, a, settings)
    assert same["overall"]["age_mae"]["p_value"] == 1.0
