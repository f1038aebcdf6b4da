"""The command line of every `python -m visage.<command>`: one parser, `--help`, one-line refusals (exit 2).

Most cases call the command's `main(argv)` in-process (parsing and composing take a fraction of a
second); a few run the real `python -m` entry points.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from tests.helpers import ROOT, TINY, call, run_cli, tiny
from visage.runner.cli import CONFIG_DIR, parse_command_line
from visage.runner.commands import COMMANDS
from visage.runner.sweep_jobs import resume_overrides

ALL = sorted(COMMANDS)


def test_every_command_of_the_package_is_in_the_table() -> None:
    modules = {p.stem for p in (ROOT / "visage").glob("*.py") if p.stem != "__init__"}
    assert modules == set(COMMANDS)
    assert all((CONFIG_DIR / f"{name}.yaml").is_file() for name in COMMANDS)


@pytest.mark.parametrize("command", ALL)
def test_help_exits_0_with_the_keys_their_defaults_and_an_example(command: str, capsys) -> None:
    assert call(command, "--help") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m visage.{command}")
    assert COMMANDS[command].summary in out
    assert out.rstrip().endswith(f"example:\n  {COMMANDS[command].example}")
    own = OmegaConf.load(CONFIG_DIR / f"{command}.yaml")
    keys = [k for k in own if k not in ("defaults", "hydra")]
    shown = {line.split()[0]: line.split(maxsplit=1)[1] for line in out.splitlines()
             if line.startswith("  ") and len(line.split()) >= 2}
    for key, value in OmegaConf.to_container(own, resolve=False).items():
        if key in keys and not isinstance(value, dict):
            assert key in shown, key
            assert shown[key].startswith("null" if value is None else str(value).lower() if isinstance(value, bool)
                                         else "[" if isinstance(value, list) else str(value)), (key, shown[key])


# Per command: an unknown key, a wrong type and an out-of-range value, each with the words its one line names.
BAD = {
    "train": [("colour=blue", "unknown train key 'colour'"),
              ("trainer.max_epochs=abc", "trainer.max_epochs=abc must be a whole number"),
              ("evaluation.fairness.n_boot=-1", "fairness n_boot=-1 must be a positive number")],
    "evaluate": [("colour=blue", "unknown evaluate key 'colour'"),
                 ("evaluation.fairness.n_boot=abc", "fairness n_boot=abc must be a whole number"),
                 ("evaluation.fairness.ci=2", "fairness ci=2 must be in (0, 1)")],
    "compare": [("colour=blue", "unknown compare key 'colour'"),
                ("evaluation.fairness.n_boot=1.5", "fairness n_boot=1.5 must be a whole number"),
                ("alpha=2", "alpha=2 must be in (0, 1)")],
    "report": [("colour=blue", "unknown report key 'colour'"),
               ("n_boot=abc", "n_boot=abc must be a whole number"),
               ("alpha=2", "alpha=2 must be in (0, 1)"),
               ("n_boot=-1", "n_boot=-1 must be a positive whole number"),
               ("alpha=0", "alpha=0 must be in (0, 1)")],
    "summarize": [("colour=blue", "unknown summarize key 'colour'"),
                  ("metric=[age_mae]", "metric=[age_mae] must be a text value")],
    "datacard": [("colour=blue", "unknown datacard key 'colour'"),
                 ("age_bins=5", "age_bins=5 must be a list"),
                 ("seed=true", "seed=true must be a whole number")],
    "predict": [("colour=blue", "unknown predict key 'colour'"),
                ("explain=yes", "explain=yes must be true or false"),
                ("batch_size=0", "batch_size=0 must be >= 1")],
    "export": [("colour=blue", "unknown export key 'colour'"),
               ("opset=abc", "opset=abc must be a whole number"),
               ("opset=3", "opset=3 must be >= 7")],
    "serve": [("colour=blue", "unknown serve key 'colour'"),
              ("port=abc", "port=abc must be a whole number"),
              ("port=99999", "port=99999 is not a TCP port (0-65535)")],
    "demo": [("colour=blue", "unknown demo key 'colour'"),
             ("port=abc", "port=abc must be a whole number"),
             ("port=-1", "port=-1 is not a TCP port (0-65535)")],
    "video": [("colour=blue", "unknown video key 'colour'"),
              ("max_frames=abc", "max_frames=abc must be a whole number"),
              ("max_frames=0", "max_frames=0 must be >= 1")],
}
CASES = [(command, override, words) for command, cases in BAD.items() for override, words in cases]


def test_every_command_has_its_refusals() -> None:
    assert set(BAD) == set(COMMANDS)


@pytest.mark.parametrize(("command", "override", "words"), CASES, ids=[f"{c}-{o}" for c, o, _ in CASES])
def test_bad_key_type_or_range_is_one_line_exit_2_and_writes_nothing(command: str, override: str, words: str,
                                                                       tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert call(command, override) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {words}"), err
    assert list(tmp_path.iterdir()) == []


def test_choices_come_from_the_schema_for_every_command_with_the_key(capsys) -> None:
    assert call("report", "run=nowhere", "correction=bonferroni") == 2
    assert call("compare", "run=nowhere", "baseline=x", "correction=bonferroni") == 2
    assert call("evaluate", "run=nowhere", "evaluation.fairness.backend=sklearn") == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: unknown correction 'bonferroni'; available: bh, holm, none",
        "error: unknown correction 'bonferroni'; available: bh, holm, none",
        "error: unknown fairness backend 'sklearn'; available: fairlearn, vectorised"]


@pytest.mark.parametrize(("argv", "message"), [
    (["photo.jpg"], "error: unknown argument 'photo.jpg'; report takes key=value overrides"),
    (["-x"], "error: unknown option '-x'; report takes key=value overrides"),
    (["alpha=0.1,0.2"], "error: alpha=0.1,0.2 lists several values; report takes one"),
    (["split=["], "error: cannot parse overrides split=[: "),
    (["evaluation.fairness.colour=1"], "error: unknown key in evaluation.fairness 'colour'; available: attributes, "),
    (["run=a", "sweep_dir=b"], "error: give exactly one of run=<run dir>, sweep_dir=<sweep dir> or predictions=<file> "
                               "(got run, sweep_dir)"),
])
def test_report_refusals_name_what_is_wrong(argv: list[str], message: str, capsys) -> None:
    assert call("report", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err


def test_sweep_is_a_directory_key_renamed_in_report_and_compare_but_train_s_config_group(capsys) -> None:
    for command in ("report", "compare", "summarize"):
        line = parse_command_line(COMMANDS[command], ["sweep=some/dir", "baseline=0"][: 1 + (command == "compare")])
        assert line.cfg.sweep_dir == "some/dir" and "sweep" not in line.cfg
        assert capsys.readouterr().err == (f"warning: sweep= is deprecated in {command}; use sweep_dir= "
                                           "(it means the same)\n")
    assert parse_command_line(COMMANDS["report"], ["sweep_dir=d"]).cfg.sweep_dir == "d"
    train = parse_command_line(COMMANDS["train"], ["-m", "sweep=mitigation", *TINY])
    assert train.choices["sweep"] == "mitigation" and train.hydra_args.multirun
    assert capsys.readouterr().err == ""


def test_positional_input_is_the_input_key_even_with_quotes_and_spaces() -> None:
    name = "my photo's=1.jpg"
    line = parse_command_line(COMMANDS["predict"], [name, "run=r", "limits.max_pixels=100"])
    assert line.cfg.input == name and line.cfg.run == "r" and line.cfg.limits.max_pixels == 100
    assert parse_command_line(COMMANDS["video"], ["0", "run=r"]).cfg.source == "0"


def test_a_task_s_positive_class_is_a_new_key_of_an_open_mapping() -> None:
    line = parse_command_line(COMMANDS["report"], ["run=r", "evaluation.fairness.positive.emotion=Happy",
                                                   "evaluation.fairness.attributes=[skin_type,gender]"])
    assert OmegaConf.to_container(line.cfg.evaluation.fairness.positive) == {"emotion": "Happy"}
    assert list(line.cfg.evaluation.fairness.attributes) == ["skin_type", "gender"]


def test_train_refusals_in_process_are_one_line(capsys) -> None:
    cases = {"data=imagenet": "error: unknown data 'imagenet'; available: fairface, fer2013, synthetic, ",
             "data.planted.proportions.Martian=0.5": "error: unknown key in data.planted.proportions 'Martian'; "
                                                     "available: Asian, Black, Indian, Others, White",
             "trainer.max_epochs=[": "error: cannot parse overrides",
             "seed=1,2": "error: seed=1,2 lists several values; add -m to sweep over them",
             "data=utkface": "error: missing value for data.root; set it on the command line, e.g. data.root=<value>"}
    for override, message in cases.items():
        assert call("train", *tiny(override)) == 2, override
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(message), (override, err)


def test_resume_becomes_the_run_s_own_overrides_in_its_directory(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["seed=3", "trainer=smoke"]))
    assert resume_overrides(["seed=1"]) == ["seed=1"]
    assert resume_overrides([f"resume={run}", "trainer.max_epochs=4"]) == [
        "seed=3", "trainer=smoke", "trainer.max_epochs=4", f"resume={run}", f"hydra.run.dir={run}"]
    # A DDP rank is started with the same command line plus its own hydra.run.dir: not given twice.
    child = resume_overrides([f"resume={run}", f'hydra.run.dir="{run}"'])
    assert [o for o in child if o.startswith("hydra.run.dir=")] == [f'hydra.run.dir="{run}"']


def test_sys_argv_is_rewritten_in_one_place_only() -> None:
    writers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "visage").rglob("*.py")
                     if any(f"sys.argv{part} =" in p.read_text() for part in ("", "[1:]", "[:]")))
    assert writers == ["visage/runner/sweep_jobs.py"]


def test_entry_points_run_the_same_parser(tmp_path: Path) -> None:
    done = run_cli("visage.report", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "correction" in done.stdout and "example:" in done.stdout, done.stderr
    bad = run_cli("visage.predict", "a.jpg", "b.jpg", "run=r", cwd=tmp_path)
    assert (bad.returncode, bad.stderr) == (2, "error: give one image or folder, got 2: a.jpg b.jpg\n")


def test_cli_smoke_run_with_default_wandb_logger_stays_offline_in_run_dir(tmp_path: Path) -> None:
    overrides = [o for o in TINY if not o.startswith("logger=")]
    done = run_cli("visage.train", *overrides, "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20",
                   f"paths.experiments_dir={tmp_path}/exp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "exp" / "runs").iterdir()
    for name in (".hydra/config.yaml", "checkpoints/best.ckpt", "checkpoints/last.ckpt",
                 "predictions/val.parquet", "predictions/test.parquet", "metrics.json"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"objective: {metrics['objective']:.4f}" in done.stdout
    assert list((run / "wandb").glob("offline-run-*")), "wandb must run offline inside the run dir"
    assert not (tmp_path / "wandb").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("backbone=resnet1000", "error: unknown backbone 'resnet1000'; available: convnext_tiny, efficientnet_b0,"),
        ("age_loss=huber", "error: unknown age_loss 'huber'; available: l1, mse, ordinal"),
        ("loss=nope", "error: unknown loss 'nope'; available: default, equal, face_facts, group_dro, ordinal"),
        ("data.planted.gender_flip.Asian=1.5", "error: data.planted.gender_flip.Asian=1.5 is out of range [0.0, 1.0]"),
    ],
)
def test_bad_input_gives_one_line_exit_2_and_leaves_nothing(tmp_path: Path, override: str, message: str,
                                                            monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("train", *TINY, override, f"paths.experiments_dir={tmp_path}/exp") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(message), err
    runs = tmp_path / "exp" / "runs"
    assert not runs.exists() or not any(runs.iterdir())
    stale = [h for h in logging.root.handlers if isinstance(h, logging.FileHandler)
             and Path(h.baseFilename).is_relative_to(tmp_path)]
    assert not stale, "a later run in this process would log into the removed run directory"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("backbone.name=resnet_nonexistent", "error: unknown timm backbone 'resnet_nonexistent'"),
        pytest.param("backbone.pretrained=true", "error: backbone.pretrained=true: the weights of test_resnet",
                     marks=pytest.mark.slow),  # timm looks through its cache first (~1 min on 2 busy cores)
    ],
)
def test_bad_input_found_while_building_gives_one_line_exit_2_and_leaves_nothing(tmp_path: Path, override: str,
                                                                                 message: str, monkeypatch,
                                                                                 capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert call("train", *TINY, override, f"paths.experiments_dir={tmp_path}/exp") == 2  # no traceback: exit 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith(message), err[-2000:]
    assert "Traceback" not in err
    runs = tmp_path / "exp" / "runs"
    assert not runs.exists() or not any(runs.iterdir())
