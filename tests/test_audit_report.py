"""Audit reports: `python -m visage.report predictions=<file>` writes the same report for any model's predictions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import call, run_cli
from tests.report_tables import FAST_FAIRNESS, predictions_table, write_table
from visage.reporting.markdown import escape
from visage.reporting.report.build import build_audit_report
from visage.reporting.report.render_md import to_markdown
from visage.reporting.report.sections import NOT_SUPPLIED

FAIRNESS = [f"evaluation.fairness.{k}={v}" for k, v in FAST_FAIRNESS.items() if k != "attributes"]


@pytest.fixture(scope="module")
def audit_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit")
    table = predictions_table(seed=2, planted=3.0)
    table.loc[table["race"] == "Indian", "race"] = "<script>alert(1)</script>*x*|y"
    write_table(table, root / "other model.parquet")
    (root / "about.md").write_text("A ResNet-50 from *another lab*, trained on faces of consenting adults.\n")
    done = run_cli("visage.report", f"predictions={root / 'other model.parquet'}", f"out={root / 'out'}",
                   f"about={root / 'about.md'}", "correction=bh", *FAIRNESS, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "out"


def test_audit_report_has_the_model_card_without_training_sections(audit_report: Path) -> None:
    markdown = (audit_report / "report.md").read_text()
    assert {"report.md", "report.html", "report.json", "report.tex"} <= {p.name for p in audit_report.iterdir()}
    assert markdown.startswith("# Audit report: other model.parquet\n\n## Summary\n")
    assert "## Training data" not in markdown and "## Model details" in markdown
    assert "A ResNet-50 from *another lab*" in markdown and NOT_SUPPLIED not in markdown
    record = json.loads((audit_report / "report.json").read_text())
    assert record["kind"] == "audit" and record["families"]["gaps"]["correction"] == "bh"
    assert record["provenance"]["files"]["predictions"]["path"] == "other model.parquet"
    assert re.fullmatch(r"[0-9a-f]{64}", record["provenance"]["files"]["predictions"]["sha256"])
    assert str(audit_report.parent) not in (audit_report / "report.json").read_text()


def test_group_names_from_the_data_are_escaped_in_every_format(audit_report: Path) -> None:
    name = "<script>alert(1)</script>*x*|y"
    page = (audit_report / "report.html").read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;*x*|y" in page
    assert f"| {escape(name)} |" in (audit_report / "report.md").read_text()
    assert name not in (audit_report / "report.tex").read_text()


def test_model_details_say_not_supplied_without_about(tmp_path: Path) -> None:
    path = write_table(predictions_table(seed=4), tmp_path / "plain.csv")
    blocks, record = build_audit_report(path, tmp_path / "out", fairness=FAST_FAIRNESS)
    assert NOT_SUPPLIED in to_markdown(blocks) and "model details not supplied" in record["summary"][0]["text"]


def test_a_file_with_no_attribute_column_says_so(tmp_path: Path) -> None:
    path = write_table(predictions_table(seed=5).drop(columns=["race", "gender"]), tmp_path / "bare.csv")
    blocks, record = build_audit_report(path, tmp_path / "out", fairness={"n_boot": 10, "n_perm": 99})
    markdown = to_markdown(blocks)
    assert "no sensitive attribute" in markdown and record["tests"] == [] and record["families"]["gaps"]["size"] == 0
    assert record["summary"][-1]["text"].startswith("No test was run")


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    good = write_table(predictions_table(seed=6, n=200), tmp_path / "p.csv")
    bare = write_table(predictions_table(seed=6, n=50)[["sample_id", "race", "age_true"]], tmp_path / "bare.csv")
    cases = {("correction=bonferroni",): "correction", ("alpha=1.5",): "alpha", (): "age_true but no age_pred"}
    for extra, named in cases.items():
        source = bare if not extra else good
        code, err = call("report", f"predictions={source}", f"out={tmp_path / 'out'}", *extra), capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and named in lines[0], (extra, err[-500:])
    assert not (tmp_path / "out").exists()


def test_emotion_predictions_without_truth_are_reported_by_parity_and_an_emotion_run_without_groups_works(
        tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n, classes = 600, ["Angry", "Happy", "Sad", "Neutral"]
    faces = pd.DataFrame({"sample_id": range(n), "race": rng.choice(["White", "Black"], n), "age_true": rng.uniform(10, 70, n)})
    faces["age_pred"] = faces["age_true"] + rng.normal(0, 5, n)
    faces["emotion_pred"] = np.where((faces["race"] == "Black") & (rng.random(n) < 0.3), "Angry", rng.choice(classes, n))
    _, record = build_audit_report(write_table(faces, tmp_path / "faces.csv"), tmp_path / "a",
                                   fairness={"n_boot": 20, "n_perm": 999, "attributes": ["race"]})
    first = record["summary"][1]
    assert "`emotion_prediction_tvd`" in first["text"] and "race" in first["text"]
    shares = record["run"]["fairness"]["faces"]["by_group"]["race"]
    assert shares["Black"]["emotion_selection_rate_Angry"] == pytest.approx(
        float((faces.loc[faces["race"] == "Black", "emotion_pred"] == "Angry").mean()))
    fer = pd.DataFrame({"sample_id": range(n), "emotion_true": rng.choice(classes, n)})
    fer["emotion_pred"], fer["emotion_prob"] = rng.choice(classes, n), rng.uniform(0.3, 1, n)
    blocks, record = build_audit_report(write_table(fer, tmp_path / "fer.csv"), tmp_path / "b", fairness={"n_boot": 10})
    assert "no sensitive attribute" in to_markdown(blocks) and "`emotion_acc`" in to_markdown(blocks)
