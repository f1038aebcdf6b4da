"""Reading a saved run directory without torch: is it a finished run, its metrics, config and overrides.

The one torch-free half of opening a run: `visage.runner.load_run` (which then loads the checkpoint),
the report and `visage.compare` all start here, so "is this a finished run?" has one answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from visage.core.errors import ConfigError
from visage.core.run_files import BEST_CHECKPOINT, CONFIG_FILE, METRICS_FILE

OVERRIDES_FILE = ".hydra/overrides.yaml"
TRAINING_DISTRIBUTION_FILE = "training_distribution.json"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


def read_json(path: str | Path) -> dict[str, Any] | None:
    """Return the JSON object in `path`, None where the file is absent; ConfigError where it is not valid JSON."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path.name} is not valid JSON ({error.msg} at line {error.lineno})") from None


def finished_run(run: str | Path) -> tuple[Path, dict[str, Any]]:
    """Return the directory and metrics of a finished run (metrics.json beside its config or checkpoint).

    Raises:
        ConfigError: `run` is not a finished visage run (one line for the user).
    """
    run_dir = Path(run).expanduser()
    has_model = (run_dir / CONFIG_FILE).is_file() or (run_dir / BEST_CHECKPOINT).is_file()
    if not (run_dir / METRICS_FILE).is_file() or not has_model:
        raise ConfigError(f"run={run} is not a finished visage run (needs {CONFIG_FILE} and {METRICS_FILE})")
    return run_dir, read_json(run_dir / METRICS_FILE) or {}


def read_overrides(run_dir: str | Path) -> list[str] | None:
    """Return the command-line overrides a run or sweep job was started with, None where none were saved."""
    path = Path(run_dir) / OVERRIDES_FILE
    return list(yaml.safe_load(path.read_text()) or []) if path.is_file() else None


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """Return the run's saved config as plain containers, `${a.b}` references resolved ({} where none was saved)."""
    path = Path(run_dir) / CONFIG_FILE
    return resolve_references(yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def resolve_references(config: dict[str, Any]) -> dict[str, Any]:
    """Return `config` with `${a.b}` references replaced by the values they point to.

    Only plain references are resolved (Hydra resolvers such as `${hydra:...}` stay as written),
    so the resolved config can be shown without importing Hydra or OmegaConf.
    """

    def lookup(path: str, depth: int) -> Any:
        node: Any = config
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return resolve(node, depth + 1)

    def resolve(node: Any, depth: int = 0) -> Any:
        if depth > 20:
            return node
        if isinstance(node, dict):
            return {k: resolve(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, depth) for v in node]
        if isinstance(node, str) and (match := _REFERENCE.fullmatch(node)):
            found = lookup(match.group(1), depth)
            return node if found is None else found
        if isinstance(node, str) and _REFERENCE.search(node):
            def scalar(m: re.Match) -> str:
                found = lookup(m.group(1), depth)
                return str(found) if isinstance(found, (str, int, float, bool)) else m.group(0)

            return _REFERENCE.sub(scalar, node)
        return node

    return resolve(config)
