"""`python -m visage.evaluate predictions=<file> out=<json>`: auditing predictions made anywhere (no run, no torch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference

from tests.helpers import ROOT, call, run_cli


@pytest.fixture
def gender_only_csv(tmp_path: Path) -> Path:
    """Gender predictions of some API, with a skin-type column of the user's own (no age, race or sample id)."""
    rng = np.random.default_rng(1)
    n = 200
    skin = rng.choice(["darker", "lighter"], n, p=[0.4, 0.6])
    gender = rng.choice(["Male", "Female"], n)
    wrong = rng.random(n) < np.where(skin == "darker", 0.3, 0.05)
    pred = np.where(wrong, np.where(gender == "Male", "Female", "Male"), gender)
    path = tmp_path / "api.csv"
    pd.DataFrame({"skin_type": skin, "gender_true": gender, "gender_pred": pred}).to_csv(path, index=False)
    return path


def test_audit_of_a_gender_only_csv_with_a_custom_sensitive_column(gender_only_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    done = run_cli("visage.evaluate", f"predictions={gender_only_csv}", f"out={out}",
                   "evaluation.fairness.attributes=[skin_type]", "evaluation.fairness.n_boot=50",
                   "evaluation.fairness.min_group_size=10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    table = pd.read_csv(gender_only_csv)
    correct = (table["gender_true"] == table["gender_pred"]).groupby(table["skin_type"]).mean()
    groups = result["by_group"]["skin_type"]
    assert set(groups) == {"darker", "lighter"}
    for group in ("darker", "lighter"):
        assert groups[group]["gender_acc"] == pytest.approx(correct[group])
    assert "age_mae" not in result["overall"] and "race_acc" not in result["overall"]
    disparity = result["disparity"]["skin_type"]
    assert disparity["gender_acc_gap"] == pytest.approx(correct["lighter"] - correct["darker"])
    assert disparity["worst_group"]["gender_acc"] == "darker"
    assert disparity["gender_demographic_parity_difference"] == pytest.approx(demographic_parity_difference(
        table["gender_true"] == "Female", table["gender_pred"] == "Female", sensitive_features=table["skin_type"]))
    assert disparity["p_value"]["gender_acc_gap"] < 0.01


def test_audit_imports_no_torch(gender_only_csv: Path, tmp_path: Path) -> None:
    code = ("import sys, runpy; sys.argv = ['visage.evaluate', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('visage.evaluate', run_name='__main__')\n"
            "finally:\n    print('torch' in sys.modules)")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code, f"predictions={gender_only_csv}", f"out={tmp_path / 'a.json'}",
                           "evaluation.fairness.attributes=[skin_type]", "evaluation.fairness.n_boot=5"],
                          cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(("args", "message"), [
    (["evaluation.fairness.attributes=[skin]"],
     "error: unknown attribute 'skin': not a column of predictions={csv}; columns: skin_type, gender_true, gender_pred"),
    (["evaluation.fairness.attributes=[race*skin_type]"],
     "error: unknown attribute 'race': not a column of predictions={csv}; columns: skin_type, gender_true, gender_pred"),
    ([], "error: predictions={csv} has none of the grouping columns race, gender, age_bin; name yours with "
         "evaluation.fairness.attributes=[<column>, ...]"),
])
def test_unknown_attribute_is_one_line_exit_2(gender_only_csv: Path, tmp_path: Path, args: list[str], message: str,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "audit.json"
    assert call("evaluate", f"predictions={gender_only_csv}", f"out={out}", *args) == 2
    assert capsys.readouterr().err.strip().splitlines() == [message.format(csv=gender_only_csv)]
    assert not out.exists()


def test_missing_true_column_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "half.csv"
    pd.DataFrame({"gender": ["Male", "Female"], "gender_pred": ["Male", "Male"]}).to_csv(path, index=False)
    assert call("evaluate", f"predictions={path}", f"out={tmp_path / 'o.json'}") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: predictions={path} has gender_pred but no gender_true column; both are needed to score gender"]
    assert not (tmp_path / "o.json").exists()


def test_an_extra_sensitive_column_is_studied_with_its_intersection(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A skin-tone column of the user's own, named as a sensitive attribute: per group, gaps and race*skin_tone."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(4)
    n = 600
    race, skin = rng.choice(["White", "Black"], n), rng.choice(["I-II", "III-IV", "V-VI"], n)
    age = rng.integers(1, 80, n).astype(float)
    age_pred = age + rng.normal(0, 3, n) + np.where(skin == "V-VI", 6.0, 0.0)
    path = tmp_path / "skin.csv"
    pd.DataFrame({"race": race, "skin_tone": skin, "age_true": age, "age_pred": age_pred}).to_csv(path, index=False)
    out = tmp_path / "skin.json"
    assert call("evaluate", f"predictions={path}", f"out={out}", "sensitive_attributes=[race,skin_tone]",
                "evaluation.fairness.n_boot=30", "evaluation.fairness.n_perm=200") == 0
    result = json.loads(out.read_text())
    assert result["settings"]["attributes"] == ["race", "skin_tone", "race*skin_tone"]
    table = pd.read_csv(path)
    mae = (table["age_pred"] - table["age_true"]).abs().groupby(table["skin_tone"]).mean()
    for tone, value in mae.items():
        assert result["by_group"]["skin_tone"][tone]["age_mae"] == pytest.approx(value)
    disparity = result["disparity"]["skin_tone"]
    assert disparity["age_mae_gap"] == pytest.approx(mae.max() - mae.min())
    assert disparity["worst_group"]["age_mae"] == "V-VI" and disparity["p_value"]["age_mae_gap"] < 0.01
    cells = (table["age_pred"] - table["age_true"]).abs().groupby([table["race"], table["skin_tone"]]).mean()
    assert result["by_group"]["race*skin_tone"]["Black*V-VI"]["age_mae"] == pytest.approx(cells["Black", "V-VI"])
