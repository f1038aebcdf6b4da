"""`python -m visage.report`: the model card of a run and the comparison of a sweep, from saved files only."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, TINY, call, run_cli, train_tiny_run
from visage.core.metric_specs import group_metrics
from visage.reporting.markdown import escape
from visage.reporting.report.format import interval, number, resolve_pointer
from visage.reporting.report.sections import SECTIONS
from visage.reporting.summaries.sweep import pareto_front

# Enough faces that four races reach min_group_size=30 on val and test, so gaps and a Pareto front are defined.
FAST = [*TINY, "data.n_samples=2000", "evaluation.fairness.n_boot=100", "evaluation.fairness.n_perm=200"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny trained run directory, laid out as a CLI run leaves it (with .hydra/)."""
    return train_tiny_run(tmp_path_factory.mktemp("report") / "run", *FAST[len(TINY):])


@pytest.fixture(scope="module")
def run_report(trained_run: Path) -> Path:
    """The report of the trained run, built by the command."""
    out = trained_run.parent / "reports" / "run"
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        assert call("report", f"run={trained_run}", f"out={out}") == 0
    assert "wrote" in stdout.getvalue()
    return out


def _rows(markdown: str, first_cell: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith(f"| {first_cell} |")]


def test_run_report_has_every_model_card_section(run_report: Path) -> None:
    markdown = (run_report / "report.md").read_text()
    for section in SECTIONS:
        assert f"\n## {section}\n" in markdown, section
    assert "labels annotated by others" in markdown and "no raw face" in markdown.lower()
    assert {"report.md", "report.html", "report.json", "report.tex"} <= {p.name for p in run_report.iterdir()}
    assert markdown.index("\n## Summary\n") < markdown.index("\n## Model details\n")


def test_every_group_of_every_attribute_appears_with_its_exact_numbers(trained_run: Path, run_report: Path) -> None:
    markdown = (run_report / "report.md").read_text()
    fairness = json.loads((trained_run / "fairness" / "test.json").read_text())
    metrics = group_metrics(fairness["overall"])
    assert set(fairness["by_group"]) == {"race", "gender", "age_bin", "race*gender", "race*age_bin"}
    for attribute, groups in fairness["by_group"].items():
        for group, entry in groups.items():
            rows = _rows(markdown, escape(group))
            assert rows, f"{attribute} {group} missing"
            assert all(f"| {entry['n']} |" in row for row in rows[:3])
            if entry["small"] and not entry["empty"]:
                assert all("too few to judge" in row for row in rows[:3]), group
            text = "\n".join(rows)
            for metric in metrics:
                value, ci = entry.get(metric), entry.get("ci", {}).get(metric)
                if value is not None:
                    assert f"{number(value, metric)} {interval(ci, metric)}" in text, (attribute, group, metric)
        for metric in metrics:
            gap = fairness["disparity"][attribute].get(f"{metric}_gap")
            if gap is not None:
                assert number(gap, f"{metric}_gap") in markdown
    for metric in metrics:
        assert number(fairness["overall"][metric], metric) in markdown


def test_findings_trace_to_values_in_report_json(run_report: Path) -> None:
    record = json.loads((run_report / "report.json").read_text())
    assert record["kind"] == "run" and record["findings"]
    for finding in [*record["findings"], *record["summary"]]:
        if not finding.get("vacuous"):
            assert finding["text"] in (run_report / "report.md").read_text()
        for ref in finding["refs"]:
            value = resolve_pointer(record, ref["pointer"])
            assert value == ref["value"], ref
            key = "p" if "/p_value/" in ref["pointer"] else ref["pointer"].rsplit("/", 1)[-1]
            if re.fullmatch(r"/tests/\d+/value", ref["pointer"]):   # a test's value prints in its metric's format
                key = resolve_pointer(record, ref["pointer"].rsplit("/", 1)[0])["metric"]
            if isinstance(value, float):
                assert number(value, key) in finding["text"], (finding, ref)
    provenance = record["provenance"]
    assert provenance["files"]["checkpoint"]["sha256"] and provenance["files"]["predictions"]["sha256"]
    assert provenance["visage_version"] and provenance["dataset"] == "synthetic" and provenance["config"]["seed"] == 42


def test_nothing_of_the_machine_is_in_the_report(trained_run: Path, run_report: Path) -> None:
    import socket

    record = json.loads((run_report / "report.json").read_text())
    assert record["provenance"]["files"]["predictions"]["path"] == "predictions/test.parquet"
    for name in ("report.md", "report.html", "report.json", "report.tex"):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (run_report / name).read_text())
        for secret in (str(trained_run.parent), str(Path.home()) + "/", "/tmp/"):
            assert secret not in text, (name, secret)
        assert not re.search(rf"\b{re.escape(socket.gethostname())}\b", text), name


def test_html_is_one_file_with_no_external_src_or_href(run_report: Path) -> None:
    page = (run_report / "report.html").read_text()
    targets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, flags=re.IGNORECASE)
    assert targets and all(t.startswith(("data:image/png;base64,", "#")) for t in targets), \
        [t[:40] for t in targets if not t.startswith(("data:", "#"))]
    record = json.loads((run_report / "report.json").read_text())
    assert page.count("<img ") == len(record["figures"]) >= 8
    assert "<script" not in page and "<link" not in page and "url(" not in page


def test_missing_predictions_unknown_argument_and_missing_dir_are_one_line_exit_2(
        trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken, ignore=shutil.ignore_patterns("*.ckpt"))
    (broken / "predictions" / "test.parquet").unlink()
    cases = {f"run={broken}": "predictions/test.parquet", f"run={tmp_path / 'nope'}": "nope",
             "colour=blue": "colour", f"sweep_dir={tmp_path / 'nope'}": "nope"}
    for argument, named in cases.items():
        code, err = call("report", argument, f"out={tmp_path / 'out'}"), capsys.readouterr().err
        assert code == 2, (argument, err[-2000:])
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], (argument, lines)
    assert not (tmp_path / "out").exists()


def test_reporting_imports_no_torch_even_while_building(run_report: Path, trained_run: Path, tmp_path: Path) -> None:
    code = ("import sys\nfrom visage.report import main\n"
            f"main(['run={trained_run}', 'out={tmp_path / 'r'}'])\n"
            "print(sorted(m for m in ('torch', 'lightning', 'timm') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _fake_sweep(trained_run: Path, root: Path) -> Path:
    """A sweep dir of copies of the run: job 1 the same model (paired difference 0), job 2 failed."""
    for job, sampler in enumerate(["none", "race_age_balanced", "broken"]):
        target = root / str(job)
        shutil.copytree(trained_run, target, ignore=shutil.ignore_patterns("*.ckpt"))
        (target / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"sampler={sampler}", *FAST]))
    (root / "2" / "failure.json").write_text(json.dumps({"type": "ValueError", "message": "planted"}))
    return root


def test_sweep_report_has_one_row_per_job_marks_the_front_and_pairs_against_the_baseline(
        trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    sweep = _fake_sweep(trained_run, tmp_path / "sweep")
    assert call("report", f"sweep_dir={sweep}", f"out={tmp_path / 'r'}", "n_boot=200",
                "evaluation.fairness.n_perm=100") == 0
    markdown = (tmp_path / "r" / "report.md").read_text()
    rows = {job: _rows(markdown, job) for job in "012"}
    assert all(len(r) >= 1 for r in rows.values())
    assert "`sampler=none`" in rows["0"][0] and "front" in rows["0"][0] and "baseline" in rows["0"][0]
    assert "failed" in rows["2"][0] and "planted" in rows["2"][0]
    record = json.loads((tmp_path / "r" / "report.json").read_text())
    assert set(record["sweep"]["jobs"]) == {"0", "1", "2"} and record["sweep"]["selected"] == "0"
    paired = record["sweep"]["paired"]["1"]["differences"]["age_mae"]
    assert paired["difference"] == 0 and paired["ci"] == [0, 0] and paired["p_value"] == 1.0   # the same model
    assert record["families"]["paired"]["size"] == sum(1 for t in record["tests"] if t["family"] == "paired"
                                                       and t["p_value"] is not None) > 0
    assert "0.00 [0.00, 0.00]" in markdown
    assert markdown.index("\n## Summary\n") < markdown.index("\n## Sweep\n")   # what was found comes first
    for section in SECTIONS[1:]:
        assert f"\n### {section}\n" in markdown, section
    capsys.readouterr()
    assert call("report", f"sweep_dir={sweep}", "attribute=hair", f"out={tmp_path / 'x'}") == 2
    assert capsys.readouterr().err.strip() == "error: unknown attribute 'hair'; available: age_bin, gender, race"


def test_new_fairness_keys_are_shown_and_missing_ones_read_not_computed(trained_run: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("*.ckpt"))
    path = run / "fairness" / "test.json"
    fairness = json.loads(path.read_text())
    fairness["by_group"]["race"]["White"]["race_ece"] = None
    fairness["by_group"]["race"]["White"]["undefined"] = {"race_ece": "no confident prediction"}
    fairness["disparity"]["race"]["p_value"] = {"age_mae_gap": 0.0123}
    fairness["disparity"]["race"]["age_bias_gap"] = None
    fairness["disparity"]["race"]["undefined"] = {"age_bias_gap": "fewer than two groups"}
    del fairness["disparity"]["gender"]["age_mae_gap"]
    path.write_text(json.dumps(fairness))
    assert call("report", f"run={run}", f"out={tmp_path / 'r'}") == 0
    markdown = (tmp_path / "r" / "report.md").read_text()
    assert "undefined (no confident prediction)" in _rows(markdown, "White")[2]
    assert "undefined (fewer than two groups)" in markdown and "| 0.012 |" in markdown
    assert "Permutation p = 0.012, adjusted p = " in markdown
    assert re.search(r"\| `age_mae` \| not computed \|", markdown)


@pytest.mark.slow
def test_report_of_a_real_two_job_sweep(tmp_path: Path) -> None:
    done = run_cli("visage.train", "-m", "sampler=none,race_age_balanced", *FAST, f"hydra.sweep.dir={tmp_path / 'sweep'}",
                   f"paths.experiments_dir={tmp_path}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    done = run_cli("visage.report", f"sweep_dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "reports" / "sweep" / "report.json").read_text())
    jobs = record["sweep"]["jobs"]
    errors = [jobs[j]["val"]["age_mae"] for j in ("0", "1")]
    gaps = [jobs[j]["val"]["race_age_mae_gap"] for j in ("0", "1")]
    import numpy as np

    assert [jobs[j]["pareto"] for j in ("0", "1")] == list(pareto_front(np.array(errors), np.array(gaps)))
    assert "1" in record["sweep"]["paired"] and "sampler=race_age_balanced" in record["sweep"]["varied"]["1"]
