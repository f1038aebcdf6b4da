"""Auditing predictions made anywhere (`python -m visage.evaluate predictions=<file> out=<json>`).

A predictions file follows the run contract's column names (`age_true`/`age_pred`,
`<task>_true`/`<task>_pred`, optional `<task>_prob_<class>` or `<task>_prob`); tasks absent from
the file are not scored. Sensitive attributes are any columns the user names, with the file's own
values as group names; by default the contract's grouping columns the file has.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from visage.core.errors import ConfigError
from visage.core.names import AGE, CLASSIFICATION_TASKS, DEFAULT_ATTRIBUTES, INTERSECTION
from visage.fairness.evaluation import evaluate_predictions
from visage.fairness.settings import FairnessSettings, settings_from_config

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


def read_predictions_file(path: str | Path) -> pd.DataFrame:
    """Return the table of a CSV or Parquet predictions file; ConfigError (one line) if it cannot be read."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in READERS:
        raise ConfigError(f"predictions={path}: unknown file type '{path.suffix}'; available: .csv, .parquet")
    if not path.is_file():
        raise ConfigError(f"predictions={path} is not a file")
    try:
        return READERS[path.suffix.lower()](path)
    except Exception as error:  # a malformed file: say so in one line
        raise ConfigError(f"predictions={path} cannot be read: {str(error).splitlines()[0]}") from None


def check_columns(table: pd.DataFrame, source: str) -> list[str]:
    """Return the tasks a predictions table can be scored on; ConfigError if a task lacks its true or predicted column."""
    tasks = []
    for task in (AGE, *CLASSIFICATION_TASKS):
        present = [c for c in (f"{task}_true", f"{task}_pred") if c in table]
        if len(present) == 1:
            missing = ({f"{task}_true", f"{task}_pred"} - set(present)).pop()
            raise ConfigError(f"{source} has {present[0]} but no {missing} column; both are needed to score {task}")
        if present:
            tasks.append(task)
    if not tasks:
        raise ConfigError(f"{source} has no predictions to score: expected column pairs such as age_true/age_pred "
                          f"or gender_true/gender_pred; columns: {', '.join(map(str, table.columns))}")
    return tasks


def audit_settings(table: pd.DataFrame, fairness: Mapping[str, Any], source: str) -> FairnessSettings:
    """Return the settings for auditing `table`: the user's, with attributes checked against its columns."""
    settings = settings_from_config({"fairness": dict(fairness)})
    named = fairness.get("attributes") is not None
    attributes = list(settings.attributes)
    if not named:  # the contract's grouping columns (and their default intersections) the file has
        attributes = [a for a in DEFAULT_ATTRIBUTES if all(p in table for p in a.split(INTERSECTION))]
        if not attributes:
            raise ConfigError(f"{source} has none of the grouping columns race, gender, age_bin; name yours with "
                              "evaluation.fairness.attributes=[<column>, ...]")
    for attribute in attributes:
        for part in attribute.split(INTERSECTION):
            if part not in table:
                raise ConfigError(f"unknown attribute '{part}': not a column of {source}; columns: "
                                  + ", ".join(map(str, table.columns)))
    return FairnessSettings(**{**settings.__dict__, "attributes": attributes})


def audit(path: str | Path, fairness: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fairness result of a predictions file (`split` is the file's name)."""
    table = read_predictions_file(path)
    source = f"predictions={path}"
    check_columns(table, source)
    settings = audit_settings(table, fairness, source)
    return evaluate_predictions(table, Path(path).stem, settings)
