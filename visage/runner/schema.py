"""What a command-line value may be: its type (from the key's default) and the choices and ranges declared here.

A key's type is its default's type in the command's composed config (an int stays an int, a list a
list); `RULES` adds what a default cannot say — allowed choices, ranges and the type of keys whose
default is null — once for every command that has the key. `check_value` turns a value that breaks
either into a one-line ConfigError.
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from omegaconf import DictConfig, ListConfig

from visage.core.errors import ConfigError, unknown_choice

KINDS = ("bool", "int", "float", "str", "list", "dict")
_WANTED = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "a text value",
           "list": "a list, e.g. [a,b]", "dict": "a mapping, e.g. {a: 1}"}


@dataclass(frozen=True)
class Rule:
    """What a key accepts beyond its default's type.

    Attributes:
        kind: the value's kind where the default does not say it (a null default): one of `KINDS`,
            or several joined by `|` (e.g. "int|float").
        choices: the allowed values, or `"module:NAME"` of a sequence imported when the key is set
            (so a torch-heavy module is only loaded by the command that needs it).
        low: least allowed value.
        high: largest allowed value.
        open: True if `low` and `high` themselves are not allowed.
        says: the refusal after `<key>=<value> `, where the generic wording would be worse.
        name: the name the refusal uses for the key (default: the dotted key).
        new_keys: a mapping that takes keys its default lacks (e.g. a task name).
    """

    kind: str | None = None
    choices: Sequence[Any] | str | None = None
    low: float | None = None
    high: float | None = None
    open: bool = False
    says: str | None = None
    name: str | None = None
    new_keys: bool = False

    def allowed(self) -> list[Any] | None:
        """Return the allowed values (importing a `"module:NAME"` reference), or None for any."""
        if isinstance(self.choices, str):
            module, _, attribute = self.choices.partition(":")
            return list(getattr(importlib.import_module(module), attribute))
        return None if self.choices is None else list(self.choices)


_FRACTION = Rule(kind="float", low=0, high=1, open=True)
_COUNT = Rule(kind="int", low=1)

# One entry per key (fnmatch patterns over the dotted key), for every command that has it.
RULES: dict[str, Rule] = {
    "alpha": Rule(kind="float", low=0, high=1, open=True, says="must be in (0, 1), e.g. 0.05"),
    "correction": Rule(kind="str", choices="visage.fairness.multiple_testing:CORRECTIONS"),
    "n_boot": Rule(kind="int", low=1, says="must be a positive whole number of resamples"),
    "port": Rule(kind="int", low=0, high=65535, says="is not a TCP port (0-65535)"),
    "batch_size": _COUNT,
    "datamodule.batch_size": _COUNT,
    "max_frames": _COUNT,
    "max_pixels": _COUNT,
    "limits.*": _COUNT,
    "opset": Rule(kind="int", low=7),
    "crop.margin": Rule(kind="float", low=0),
    "age_interval.coverage": _FRACTION,
    "*.min_grid": _COUNT,
    "format": Rule(kind="str", choices="visage.inference.metadata:EXPORT_FILES"),
    "runtime": Rule(kind="str", choices="visage.inference.loading:RUNTIMES"),
    "splits": Rule(kind="list"),
    "runs": Rule(kind="list"),
    "evaluation.splits": Rule(kind="list"),
    "evaluation.fairness.attributes": Rule(kind="list"),
    "evaluation.fairness.n_boot": Rule(kind="int", low=1, says="must be a positive number of resamples",
                                       name="fairness n_boot"),
    "evaluation.fairness.n_perm": Rule(kind="int", low=0, says="must be a number of permutations >= 0 (0: no test)",
                                       name="fairness n_perm"),
    "evaluation.fairness.ci": Rule(kind="float", low=0, high=1, open=True, says="must be in (0, 1), e.g. 0.95",
                                   name="fairness ci"),
    "evaluation.fairness.seed": Rule(kind="int", name="fairness seed"),
    "evaluation.fairness.min_group_size": Rule(kind="int", low=1, says="must be a positive number of rows",
                                               name="fairness min_group_size"),
    "evaluation.fairness.small_groups": Rule(kind="str", choices="visage.fairness.settings:SMALL_GROUPS",
                                             name="fairness small_groups"),
    "evaluation.fairness.backend": Rule(kind="str", choices="visage.fairness.settings:BACKENDS",
                                        name="fairness backend"),
    "evaluation.fairness.positive": Rule(kind="dict", new_keys=True),
    "evaluation.fairness.positive.*": Rule(kind="str"),
}


def rule_for(key: str) -> Rule:
    """Return the rule of dotted `key` (an exact entry first, then the first matching pattern; else no rule)."""
    if key in RULES:
        return RULES[key]
    return next((rule for pattern, rule in RULES.items() if fnmatchcase(key, pattern)), Rule())


def takes_new_keys(key: str) -> bool:
    """Return True if `key` lies in a mapping that takes keys its default lacks (so `key=` adds it)."""
    parent = key.rpartition(".")[0]
    return bool(parent) and rule_for(parent).new_keys


def kind_of(value: Any) -> str | None:
    """Return the kind (one of `KINDS`) of a config value, or None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    if isinstance(value, list | ListConfig):
        return "list"
    if isinstance(value, dict | DictConfig):
        return "dict"
    return "str"


def _fits(value: Any, kind: str) -> bool:
    """Return True if `value` may stand where a value of `kind` is expected (an int where a float is)."""
    actual = kind_of(value)
    if kind == "float":
        return actual in ("int", "float")
    if kind == "str":
        return actual in ("str", "int", "float")  # names such as baseline=0 or a job called 2
    return actual == kind


def _shown(value: Any) -> str:
    """Return `value` as it is written on the command line (`true`, `[a,b]`, `{k: v}`)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | ListConfig):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict | DictConfig):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def _range_says(rule: Rule) -> str:
    if rule.low is not None and rule.high is not None:
        return f"must be in ({rule.low}, {rule.high})" if rule.open else f"is out of range [{rule.low}, {rule.high}]"
    if rule.low is not None:
        return f"must be {'>' if rule.open else '>='} {rule.low}"
    return f"must be {'<' if rule.open else '<='} {rule.high}"


def _in_range(value: float, rule: Rule) -> bool:
    if rule.low is not None and (value <= rule.low if rule.open else value < rule.low):
        return False
    return not (rule.high is not None and (value >= rule.high if rule.open else value > rule.high))


def check_value(key: str, value: Any, default: Any) -> None:
    """Raise ConfigError (one line) if `value` does not fit `key`: its default's kind, or the rule's.

    Args:
        key: the dotted key the command line set.
        value: the value it set (as composed: int, float, bool, str, list or mapping; None resets).
        default: the key's value before the command line set it (None where it is null or new).
    """
    if value is None or (isinstance(value, str) and "${" in value):
        return  # null resets a key; interpolations are resolved (and checked) where they are used
    rule = rule_for(key)
    name = rule.name or key
    kinds = (kind_of(default) or rule.kind or "").split("|")
    if kinds != [""] and not any(_fits(value, kind) for kind in kinds):
        wanted = " or ".join(_WANTED[kind] for kind in kinds)
        raise ConfigError(f"{name}={_shown(value)} must be {wanted}" + (f" (default: {_shown(default)})"
                                                                       if default is not None else ""))
    allowed = rule.allowed() if rule.choices is not None else None
    if allowed is not None and str(value) not in [str(a) for a in allowed]:
        raise unknown_choice(name, value, allowed)
    if (rule.low is not None or rule.high is not None) and kind_of(value) in ("int", "float") \
            and not _in_range(value, rule):
        raise ConfigError(f"{name}={_shown(value)} {rule.says or _range_says(rule)}")
