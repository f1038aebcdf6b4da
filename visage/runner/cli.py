"""What every `python -m visage.<verb>` entry point shares: config location, early checks, errors."""

from __future__ import annotations

import importlib.resources
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from visage.core import privacy
from visage.core.errors import ConfigError, config_error_in, exit_with_usage_error, unknown_choice


def _config_dir() -> Path:
    """Return the Hydra config folder: `conf/` inside the installed package, else the checkout's `conf/`.

    A wheel ships `conf/` as the package data folder `visage/conf/`; an editable install or a checkout on
    `PYTHONPATH` finds it at the top of the repository.
    """
    installed = Path(str(importlib.resources.files("visage") / "conf"))
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "conf"


CONFIG_DIR = _config_dir()


def set_private_defaults() -> None:
    """Keep W&B offline and library update checks off unless the user chose otherwise (see `visage.core.privacy`)."""
    privacy.set_private_defaults()


def group_options(group: str, config_dir: Path = CONFIG_DIR) -> list[str] | None:
    """Return the option names of config group `group`, or None if it is not a group of ours."""
    folder = config_dir / group
    if not folder.is_dir():
        return None
    return sorted(p.stem for p in folder.glob("*.yaml"))


def parse_overrides(args: Sequence[str]) -> list[Override]:
    """Return the parsed `key=value` overrides of a command line (flags such as `-m` are skipped)."""
    candidates = [a for a in args if "=" in a and not a.startswith("-")]
    try:
        return OverridesParser.create().parse_overrides(candidates)
    except OverrideParseException as error:
        raise ConfigError(f"cannot parse overrides {' '.join(candidates)}: {error}") from None


def _values(override: Override) -> list[str] | None:
    """Return the values an override takes (several for a sweep), or None if they cannot be listed."""
    if not override.is_sweep_override():
        return [override.get_value_element_as_str()]
    try:
        return list(override.sweep_string_iterator())
    except Exception:  # interval and other sampled sweeps have no finite list of values
        return None


def check_group_overrides(overrides: Sequence[Override], config_dir: Path = CONFIG_DIR) -> None:
    """Raise ConfigError if an override picks a config-group option that does not exist.

    Hydra would report this as a multi-line error with exit code 1; we promise one line and exit 2.
    """
    for override in overrides:
        group = override.key_or_group
        options = group_options(group, config_dir)
        if options is None or override.is_delete():
            continue
        for value in _values(override) or []:
            if value not in options and value != "null":
                raise unknown_choice(group.replace("/", "."), value, options)


def _probes(overrides: Sequence[Override]) -> list[list[str]]:
    """Return override lists that together try every listed value of every (sweep) override once."""
    listed = [(o, _values(o)) for o in overrides]
    listed = [(o, values) for o, values in listed if values]
    base = [f"{o.get_key_element()}={values[0]}" for o, values in listed]
    probes = [base]
    for k, (override, values) in enumerate(listed):
        for value in values[1:]:
            probes.append([*base[:k], f"{override.get_key_element()}={value}", *base[k + 1:]])
    return probes


def _explain(error: Exception, probe: list[str], config_name: str) -> str:
    message = str(error)
    missing = re.search(r"Could not override '([^']+)'", message)
    if missing:
        key = missing.group(1)
        parent_key, _, leaf = key.rpartition(".")
        rest = [o for o in probe if not o.lstrip("+~").startswith(f"{key}=")]
        try:
            parent = OmegaConf.select(compose(config_name=config_name, overrides=rest), parent_key) if parent_key else None
        except (HydraException, OmegaConfBaseException):  # another override is wrong too; report the first
            parent = None
        if isinstance(parent, DictConfig) and leaf not in parent:
            return str(unknown_choice(f"key in {parent_key}", leaf, [str(k) for k in parent.keys()]))
    return message.strip().splitlines()[0]


def missing_values(node: Any, prefix: str = "") -> list[str]:
    """Return the dotted keys left at `???` (mandatory, unset) in a plain config container."""
    if isinstance(node, dict):
        return [k for key, value in node.items() if key != "hydra"
                for k in missing_values(value, f"{prefix}{key}.")]
    return [prefix.rstrip(".")] if node == "???" else []


def check_composition(overrides: Sequence[Override], config_name: str, config_dir: Path = CONFIG_DIR) -> None:
    """Raise ConfigError (one line) if the config cannot be composed with these overrides."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            for probe in _probes(overrides):
                try:
                    cfg = compose(config_name=config_name, overrides=probe)
                except (HydraException, OmegaConfBaseException) as error:
                    raise ConfigError(_explain(error, probe, config_name)) from None
                missing = missing_values(OmegaConf.to_container(cfg, resolve=False))
                if missing:
                    raise ConfigError(f"missing value for {', '.join(missing)}; set it on the command line, "
                                      f"e.g. {missing[0]}=<value>")
    finally:
        GlobalHydra.instance().clear()


def positional_to_override(argv: list[str], key: str, what: str) -> list[str]:
    """Return `argv` with its one positional argument rewritten to the override `key='<value>'`.

    Commands such as `python -m visage.predict photo.jpg run=...` take one path first; Hydra only
    understands `key=value`, so it becomes `input='photo.jpg'` (quoted: paths may hold spaces or `=`).

    Args:
        argv: the command line (`sys.argv`).
        key: the config key the positional argument sets.
        what: what the argument is, for the error when more than one is given.
    """
    positional = [a for a in argv[1:] if "=" not in a and not a.startswith("-")]
    if len(positional) > 1:
        exit_with_usage_error(f"give one {what}, got {len(positional)}: {' '.join(positional)}")
    if not positional:
        return argv
    quoted = positional[0].replace("\\", "\\\\").replace("'", "\\'")
    return [argv[0], *[f"{key}='{quoted}'" if a == positional[0] else a for a in argv[1:]]]


def remove_fresh_output_dir(output_dir: str | Path) -> None:
    """Delete a run directory that holds nothing but Hydra's own files (so bad input leaves nothing)."""
    path = Path(output_dir)
    if not path.is_dir():
        return
    leftovers = [p for p in path.iterdir() if p.name not in {".hydra"} and not p.name.endswith(".log")]
    if not leftovers:
        shutil.rmtree(path)


@contextmanager
def usage_errors_exit() -> Iterator[None]:
    """Turn a ConfigError raised inside (also one Hydra wrapped while instantiating) into one line, exit 2."""
    try:
        yield
    except Exception as error:
        usage_error = config_error_in(error)
        if usage_error is None:
            raise
        exit_with_usage_error(usage_error)


def run_entry_point(hydra_main: Callable[[], Any], config_name: str) -> None:
    """Validate the command line, then run a `@hydra.main` function; usage errors exit 2 in one line."""
    set_private_defaults()
    try:
        overrides = parse_overrides(sys.argv[1:])
        check_group_overrides(overrides)
        check_composition(overrides, config_name)
    except ConfigError as error:
        exit_with_usage_error(error)
    hydra_main()
