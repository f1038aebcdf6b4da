"""The one command-line parser of every `python -m visage.<command>`: Hydra overrides, `--help`, one-line errors.

`run_command` reads `key=value` overrides in Hydra's grammar (plus a command's one positional input,
e.g. `predict photo.jpg`), composes `conf/<command>.yaml` with them, checks every value it sets against
the schema (`visage.runner.schema`: the key's default type plus declared choices and ranges), and then
runs the command with the composed DictConfig; `train` runs as a Hydra application (sweeps, run
directories). `--help` prints the command's keys with their defaults and one example (exit 0); bad
input is one line on stderr and exit code 2, before any work starts.
"""

from __future__ import annotations

import argparse
import importlib.resources
import logging
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from visage.core import privacy
from visage.core.errors import ConfigError, config_error_in, exit_with_usage_error, unknown_choice
from visage.runner.commands import COMMANDS, Command
from visage.runner.schema import check_value, takes_new_keys

HELP_FLAGS = ("-h", "--help")
OVERRIDE_KEY = re.compile(r"[+~]{0,2}[\w.\-/@]+")  # what Hydra's grammar takes as a key (or group)


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


@dataclass
class CommandLine:
    """A parsed command line.

    Attributes:
        overrides: the Hydra overrides to compose with (positional input and renamed keys rewritten).
        cfg: the composed config (without Hydra's own node).
        choices: the option picked in every config group (e.g. `{"data": "synthetic"}`).
        help: True if `--help` was asked for.
        hydra_args: Hydra's own parsed arguments (flags such as `-m`), for a Hydra application.
    """

    overrides: list[str]
    cfg: DictConfig
    choices: dict[str, Any] = field(default_factory=dict)
    help: bool = False
    hydra_args: argparse.Namespace | None = None


def _is_group(override: Override, config_dir: Path) -> bool:
    """Return True if `override` picks a config-group option (ours, or Hydra's `hydra/...`) or sets Hydra's node."""
    key = override.key_or_group
    return group_options(key, config_dir) is not None or "/" in key or key == "hydra" or key.startswith("hydra.")


def _values(override: Override) -> list[Any] | None:
    """Return the (parsed) values an override takes, several for a sweep; None if they cannot be listed."""
    if not override.is_sweep_override():
        return [override.value()]
    try:
        return list(override.sweep_iterator())
    except HydraException:  # interval and other sampled sweeps have no finite list of values
        return None


def parse_overrides(args: Sequence[str]) -> list[Override]:
    """Return the parsed overrides; ConfigError (one line, from the exception's fields) if one does not parse."""
    try:
        return OverridesParser.create().parse_overrides(list(args))
    except OverrideParseException as error:
        reason = (error.message or "").strip().splitlines()
        raise ConfigError(f"cannot parse overrides {error.override}: {reason[0] if reason else 'bad syntax'}") from None


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
            if str(value) not in options and value is not None:
                raise unknown_choice(group.replace("/", "."), value, options)


def _value_strings(override: Override) -> list[str] | None:
    """Return each value of a sweep as override text (quoted where needed); None for a sampled sweep."""
    try:
        return list(override.sweep_string_iterator())
    except HydraException:  # interval and other sampled sweeps have no finite list of values
        return None


def _probes(overrides: Sequence[Override]) -> list[list[str]]:
    """Return override lists that together try every listed option of every group sweep once."""
    base = _single(overrides)
    probes = [base]
    for override in overrides:
        if override.is_sweep_override() and _is_group(override, CONFIG_DIR):
            k = base.index(f"{override.get_key_element()}={(_value_strings(override) or [''])[0]}")
            for value in (_value_strings(override) or [])[1:]:
                probes.append([*base[:k], f"{override.get_key_element()}={value}", *base[k + 1:]])
    return probes


def _single(overrides: Sequence[Override]) -> list[str]:
    """Return the overrides with every listed sweep at its first value (sampled sweeps are left to the sweeper)."""
    out = []
    for override in overrides:
        if not override.is_sweep_override():
            out.append(override.input_line)
        elif values := _value_strings(override):
            out.append(f"{override.get_key_element()}={values[0]}")
    return out


def explain(error: BaseException, reference: DictConfig | None, command: str) -> str:
    """Return the one-line explanation of a composition error, built from the exception's own fields."""
    if isinstance(error, MissingConfigException) and error.missing_cfg_file and error.options is not None:
        group, _, value = error.missing_cfg_file.rpartition("/")
        return str(unknown_choice(group.replace("/", "."), value, error.options))
    cause = error.__cause__ if isinstance(error, HydraException) and error.__cause__ is not None else error
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        parent_key, _, leaf = str(cause.full_key).rpartition(".")
        parent = reference
        if reference is not None and parent_key:
            parent = OmegaConf.select(reference, parent_key, throw_on_resolution_failure=False)
        if isinstance(parent, DictConfig):
            kind = f"key in {parent_key}" if parent_key else f"{command} key"
            return str(unknown_choice(kind, leaf, [str(k) for k in parent.keys() if k != "hydra"]))
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "msg", None):
        message = str(cause.msg).strip().splitlines()[0]
        return f"{cause.full_key}: {message}" if getattr(cause, "full_key", None) else message
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def missing_values(node: Any, prefix: str = "") -> list[str]:
    """Return the dotted keys left at `???` (mandatory, unset) in a plain config container."""
    if isinstance(node, dict):
        return [k for key, value in node.items() if key != "hydra"
                for k in missing_values(value, f"{prefix}{key}.")]
    return [prefix.rstrip(".")] if node == "???" else []


def _default(reference: DictConfig, key: str) -> Any:
    """Return `key`'s value in the reference config (None where it is null, new or cannot be resolved yet)."""
    try:
        return OmegaConf.select(reference, key, default=None, throw_on_resolution_failure=False, throw_on_missing=False)
    except OmegaConfBaseException:
        return None


def check_values(overrides: Sequence[Override], reference: DictConfig) -> None:
    """Raise ConfigError (one line) if a value an override sets does not fit the schema of its key."""
    def check(key: str, value: Any, default: Any) -> None:
        check_value(key, value, default)
        if isinstance(value, dict) and isinstance(default, DictConfig):
            for sub, sub_value in value.items():
                check(f"{key}.{sub}", sub_value, default.get(sub))

    for override in overrides:
        if override.is_delete() or _is_group(override, CONFIG_DIR) or override.package is not None:
            continue
        key = override.key_or_group
        default = _default(reference, key)
        for value in _values(override) or []:
            check(key, value, default)


def _compose(config_name: str, overrides: Sequence[str], command: str, reference: DictConfig | None,
             hydra_node: bool = False) -> DictConfig:
    try:
        return compose(config_name=config_name, overrides=list(overrides), return_hydra_config=hydra_node)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(explain(error, reference, command)) from None


def compose_checked(command: Command, overrides: Sequence[Override], help_only: bool = False,
                    config_dir: Path = CONFIG_DIR) -> tuple[DictConfig, dict[str, Any]]:
    """Compose the command's config with these overrides, checking groups, keys and values; return it and its choices.

    Raises:
        ConfigError: an unknown group option or key, a value the schema refuses, or (unless `help_only`)
            a mandatory value left unset; in one line.
    """
    check_group_overrides(overrides, config_dir)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            groups = [o for o in overrides if _is_group(o, config_dir)]
            reference = _compose(command.name, _single(groups), command.name, None)
            for probe in _probes(overrides)[1:]:
                _compose(command.name, probe, command.name, reference)
            cfg = _compose(command.name, _single(overrides), command.name, reference, hydra_node=True)
            check_values(overrides, reference)
    finally:
        GlobalHydra.instance().clear()
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices) if "hydra" in cfg else {}
    with open_dict(cfg):
        cfg.pop("hydra", None)
    if not help_only:
        missing = missing_values(OmegaConf.to_container(cfg, resolve=False))
        if missing:
            raise ConfigError(f"missing value for {', '.join(missing)}; set it on the command line, "
                              f"e.g. {missing[0]}=<value>")
    return cfg, {k: v for k, v in choices.items() if not str(k).startswith("hydra/")}


def _positional_override(command: Command, positional: list[str]) -> list[str]:
    """Return the override a command's positional input becomes (`input='photo.jpg'`); ConfigError otherwise."""
    if not positional:
        return []
    if command.positional is None:
        raise ConfigError(f"unknown argument '{positional[0]}'; {command.name} takes key=value overrides "
                          f"(see python -m visage.{command.name} --help)")
    if len(positional) > 1:
        raise ConfigError(f"give one {command.positional_what}, got {len(positional)}: {' '.join(positional)}")
    quoted = positional[0].replace("\\", "\\\\").replace("'", "\\'")  # paths may hold spaces or `=`
    return [f"{command.positional}='{quoted}'"]


def _renamed(command: Command, args: Sequence[str]) -> list[str]:
    """Return `args` with renamed keys under their new name (warning once per old name on stderr)."""
    out = []
    for arg in args:
        key, equals, value = arg.partition("=")
        prefix = key[: len(key) - len(key.lstrip("+~"))]
        new = command.renamed.get(key[len(prefix):])
        if new is not None and equals:
            print(f"warning: {key[len(prefix):]}= is deprecated in {command.name}; use {new}= (it means the same)",
                  file=sys.stderr)
            arg = f"{prefix}{new}={value}"
        elif equals and not prefix and takes_new_keys(key):
            arg = f"++{arg}"  # a mapping that takes new keys (e.g. evaluation.fairness.positive.<task>)
        out.append(arg)
    return out


def _is_override(word: str) -> bool:
    """Return True if `word` reads as a Hydra override (`key=value`, `+key=value`, `~key`), not a path."""
    key, equals, _ = word.partition("=")
    return bool(OVERRIDE_KEY.fullmatch(key)) and (bool(equals) or key.startswith("~"))


def _split(command: Command, argv: Sequence[str]) -> tuple[list[str], argparse.Namespace | None]:
    """Return the override strings of `argv` and, for a Hydra application, Hydra's own parsed flags."""
    if command.hydra_app:
        from hydra._internal.utils import get_args_parser  # Hydra's own flags (-m, --cfg, ...), as @hydra.main reads them

        args, unknown = get_args_parser().parse_known_args(list(argv))
        if unknown:
            raise ConfigError(f"unknown option '{unknown[0]}'; see python -m visage.{command.name} --help")
        words = list(args.overrides)
    else:
        flags = [a for a in argv if a.startswith("-") and "=" not in a]
        if flags:
            raise ConfigError(f"unknown option '{flags[0]}'; {command.name} takes key=value overrides "
                              f"(see python -m visage.{command.name} --help)")
        args, words = None, list(argv)
    positional = [w for w in words if not _is_override(w)]
    overrides = [w for w in words if w not in positional]
    return [*_positional_override(command, positional), *overrides], args


def parse_command_line(command: Command, argv: Sequence[str],
                       rewrite: Callable[[list[str]], list[str]] | None = None) -> CommandLine:
    """Parse and check `argv` for `command`; ConfigError (one line) for anything it cannot run.

    Args:
        command: the command (see `visage.runner.commands`).
        argv: its arguments (without the program name).
        rewrite: turns the override list into the one to run (train's `resume=<run dir>`).
    """
    wants_help = any(a in HELP_FLAGS for a in argv)
    words, hydra_args = _split(command, [a for a in argv if a not in HELP_FLAGS])
    words = _renamed(command, words)
    if rewrite is not None and not wants_help:
        words = rewrite(words)
    overrides = parse_overrides(words)
    multirun = bool(hydra_args is not None and hydra_args.multirun)
    sweep = next((o for o in overrides if o.is_sweep_override()), None)
    if sweep is not None and not multirun and not wants_help:
        how = "add -m to sweep over them" if command.hydra_app else f"{command.name} takes one"
        raise ConfigError(f"{sweep.input_line} lists several values; {how} (a list value is written in brackets, "
                          f"e.g. {sweep.get_key_element()}=[a,b])")
    cfg, choices = compose_checked(command, overrides, help_only=wants_help)
    if hydra_args is not None:
        hydra_args.overrides = words
    return CommandLine(words, cfg, choices, wants_help, hydra_args)


def _flatten(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), node


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | ListConfig):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    return str(value)


def help_text(command: Command, cfg: DictConfig, choices: dict[str, Any]) -> str:
    """Return the `--help` text: what the command does, its keys with their defaults, and one example."""
    usage = f"usage: python -m visage.{command.name}"
    if command.positional:
        usage += f" <{command.positional_what}>"
    usage += " [key=value ...]" + (" [-m]" if command.hydra_app else "")
    lines = [usage, "", command.summary, ""]
    if choices:
        lines.append("config groups (group=option):")
        for group, choice in sorted(choices.items()):
            options = group_options(group) or []
            lines.append(f"  {group}={_shown(choice)}" + (f"  (options: {', '.join(options)})" if options else ""))
        lines.append("")
    lines.append("keys (key=default):")
    items = list(_flatten(OmegaConf.to_container(cfg, resolve=False)))
    width = min(36, max((len(k) for k, _ in items), default=0))
    for key, value in items:
        note = f"  (or the positional {command.positional_what})" if key == command.positional else ""
        lines.append(f"  {key.ljust(width)}  {_shown(value)}{note}")
    for old, new in command.renamed.items():
        lines.append(f"  ({old}= still works for {new}=, with a deprecation warning)")
    lines += ["", "Values follow Hydra's override grammar (key=value, lists as [a,b]); unknown keys, wrong types",
              "and values out of range are refused in one line (exit code 2).", "", "example:", f"  {command.example}"]
    return "\n".join(lines)


def remove_fresh_output_dir(output_dir: str | Path) -> None:
    """Delete a run directory that holds nothing but Hydra's own files (so bad input leaves nothing)."""
    path = Path(output_dir)
    if not path.is_dir():
        return
    leftovers = [p for p in path.iterdir() if p.name not in {".hydra"} and not p.name.endswith(".log")]
    if not leftovers:
        _drop_log_handlers_under(path)
        shutil.rmtree(path)


def _drop_log_handlers_under(path: Path) -> None:
    """Close and detach logging file handlers writing inside `path` (Hydra's `<job>.log`).

    Left attached, a later run in the same process would log into a directory that no longer exists.
    """
    loggers = [logging.root, *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).is_relative_to(path.resolve()):
                logger.removeHandler(handler)
                handler.close()


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


def _run_hydra_app(task: Callable[[DictConfig], Any], config_name: str, args: argparse.Namespace) -> None:
    """Run `task` as `@hydra.main` would, on the already parsed and checked arguments (not `sys.argv`)."""
    from hydra import version
    from hydra._internal.utils import _run_hydra, get_args_parser

    version.setbase("1.3")
    _run_hydra(args=args, args_parser=get_args_parser(), task_function=task, config_path=str(CONFIG_DIR),
               config_name=config_name)


def run_command(name: str, body: Callable[[DictConfig], Any], argv: Sequence[str] | None = None,
                rewrite: Callable[[list[str]], list[str]] | None = None) -> Any:
    """Parse the command line of command `name`, then run `body` with its config; usage errors exit 2 in one line.

    Args:
        name: the command (a key of `visage.runner.commands.COMMANDS`).
        body: the command's work; gets the composed, checked DictConfig (for `train`: Hydra's job config).
        argv: the arguments; default `sys.argv[1:]` (read, never rewritten).
        rewrite: turns the override list into the one to run (train's `resume=`).

    Returns:
        What `body` returns (None after `--help`, which prints the keys and exits 0).
    """
    command = COMMANDS[name]
    set_private_defaults()
    try:
        line = parse_command_line(command, list(sys.argv[1:] if argv is None else argv), rewrite)
    except ConfigError as error:
        exit_with_usage_error(error)
    if line.help:
        print(help_text(command, line.cfg, line.choices))
        return None
    if command.hydra_app and line.hydra_args is not None:
        return _run_hydra_app(body, command.name, line.hydra_args)
    with usage_errors_exit():
        return body(line.cfg)
