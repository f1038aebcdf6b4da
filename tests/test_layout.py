"""The package's shape: commands at the top, torch-free stages, config found from the installed package."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import tomllib

import visage
from tests.helpers import ROOT
from visage.core.metric_specs import METRICS, group_metrics, spec
from visage.runner.cli import CONFIG_DIR

COMMANDS = {"train", "evaluate", "datacard", "summarize", "compare", "report", "predict", "export", "serve", "demo",
            "video"}


def test_top_level_modules_are_commands_and_only_commands() -> None:
    top = {m.name for m in pkgutil.iter_modules(visage.__path__) if not m.ispkg}
    assert top <= COMMANDS, f"not commands: {top - COMMANDS}"
    for name in top:
        source = (Path(visage.__path__[0]) / f"{name}.py").read_text()
        assert 'if __name__ == "__main__":' in source, f"visage.{name} is not runnable with python -m"


def test_no_command_imports_another_command() -> None:
    top = {m.name for m in pkgutil.iter_modules(visage.__path__) if not m.ispkg}
    for path in Path(visage.__path__[0]).rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {f"visage.{c}" for c in top} & imported, f"{path} imports a command"


def test_core_fairness_and_reporting_import_no_torch_or_lightning() -> None:
    code = ("import sys, pkgutil, importlib, visage.core, visage.fairness, visage.reporting\n"
            "for pkg in (visage.core, visage.fairness, visage.reporting):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "print(sorted(m for m in ('torch', 'lightning', 'hydra') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_packages_list_in_pyproject_is_complete() -> None:
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"visage"} | {m.name for m in pkgutil.walk_packages(visage.__path__, "visage.") if m.ispkg}
    assert found | {"visage.conf"} == declared


def test_config_dir_holds_the_configs() -> None:
    assert (CONFIG_DIR / "train.yaml").is_file() and (CONFIG_DIR / "backbone" / "resnet18.yaml").is_file()


def test_metric_table_says_direction_ratio_and_per_group() -> None:
    assert spec("age_mae").lower_is_better and spec("age_mae").has_ratio
    assert not spec("race_acc").lower_is_better and spec("race_acc").has_ratio
    assert spec("age_bias").direction == "zero" and not spec("age_bias").has_ratio
    assert spec("gender_ece").lower_is_better
    assert group_metrics(["n", "race_tpr_White", "race_acc", "age_mae"]) == ["age_mae", "race_acc"]
    assert all(name.startswith(s.task + "_") for name, s in METRICS.items())
