"""What every `python -m visage.<verb>` entry point shares: config location, early checks, errors."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException

from visage.errors import ConfigError, exit_with_usage_error, unknown_choice

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


def set_private_defaults() -> None:
    """Keep W&B offline unless the user chose a mode, and quiet."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_DISABLE_GIT", "true")


def group_options(group: str, config_dir: Path = CONFIG_DIR) -> list[str] | None:
    """Return the option names of config group `group`, or None if it is not a group of ours."""
    folder = config_dir / group
    if not folder.is_dir():
        return None
    return sorted(p.stem for p in folder.glob("*.yaml"))


def check_group_overrides(args: Sequence[str], config_dir: Path = CONFIG_DIR) -> None:
    """Raise ConfigError if an override picks a config-group option that does not exist.

    Hydra would report this as a multi-line error with exit code 1; we promise one line and exit 2.
    """
    candidates = [a for a in args if "=" in a and not a.startswith("-")]
    try:
        overrides = OverridesParser.create().parse_overrides(candidates)
    except OverrideParseException as error:
        raise ConfigError(f"cannot parse overrides {' '.join(candidates)}: {error}") from None
    for override in overrides:
        group = override.key_or_group
        options = group_options(group, config_dir)
        if options is None or override.is_delete():
            continue
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        for value in values:
            if value is None:
                continue
            if str(value) not in options:
                raise unknown_choice(group.replace("/", "."), value, options)


def remove_fresh_output_dir(output_dir: str | Path) -> None:
    """Delete a run directory that holds nothing but Hydra's own files (so bad input leaves nothing)."""
    path = Path(output_dir)
    if not path.is_dir():
        return
    leftovers = [p for p in path.iterdir() if p.name not in {".hydra"} and not p.name.endswith(".log")]
    if not leftovers:
        shutil.rmtree(path)


def run_entry_point(hydra_main: Callable[[], Any]) -> None:
    """Validate the command line, then run a `@hydra.main` function; usage errors exit 2 in one line."""
    set_private_defaults()
    try:
        check_group_overrides(sys.argv[1:])
    except ConfigError as error:
        exit_with_usage_error(error)
    hydra_main()
