"""One error type for bad user input, and the one-line, exit-code-2 way of reporting it."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import NoReturn

USAGE_EXIT_CODE = 2


class ConfigError(ValueError):
    """Bad user input (config value, override, path); reported as one line with exit code 2."""


def config_error_in(error: BaseException) -> ConfigError | None:
    """Return the ConfigError behind `error` (Hydra wraps errors raised while instantiating), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ConfigError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def unknown_choice(kind: str, value: object, allowed: Iterable[object]) -> ConfigError:
    """Return a ConfigError saying that `value` is not one of `allowed` for `kind`."""
    options = ", ".join(sorted(str(a) for a in allowed))
    return ConfigError(f"unknown {kind} '{value}'; available: {options}")


def exit_with_usage_error(error: BaseException | str) -> NoReturn:
    """Print `error` as one line on stderr and exit with code 2."""
    message = str(error).strip().replace("\n", " ")
    print(f"error: {message}", file=sys.stderr)
    sys.exit(USAGE_EXIT_CODE)
