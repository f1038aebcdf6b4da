"""Auditing predictions made anywhere (`python -m visage.evaluate predictions=<file> out=<json>`).

A predictions file follows the run contract's column names (`age_true`/`age_pred`,
`<task>_true`/`<task>_pred`, optional `<task>_prob_<class>` or `<task>_prob`): any such pair is a
task (`visage.core.tasks`), and a classifier's `<task>_pred` without its truth is scored by what it
predicts per group. At least one truth/prediction pair is needed. Sensitive attributes are any
columns the user names (`evaluation.fairness.attributes`, as given; or `sensitive_attributes`, each
with the first one's intersection with each other), with the file's own values as group names; by
default the contract's grouping columns the file has, with their intersections.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from visage.core.errors import ConfigError
from visage.core.names import GROUP_COLUMNS, INTERSECTION
from visage.core.tasks import tasks_of, truths_without_prediction
from visage.fairness.evaluation import evaluate_predictions
from visage.fairness.settings import FairnessSettings, default_attributes, settings_from_config

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
    """Return the tasks a predictions table can be scored on; ConfigError if none has a truth and a prediction.

    A task with a truth but no prediction is an error; a classifier's prediction without its truth is a
    predicted task (scored by prediction shares) where some other task has both.
    """
    for task in truths_without_prediction(table.columns):
        raise ConfigError(f"{source} has {task}_true but no {task}_pred column; both are needed to score {task}")
    tasks = tasks_of(table.columns)
    if not any(kind != "predicted" for kind in tasks.values()):
        for task in tasks:
            raise ConfigError(f"{source} has {task}_pred but no {task}_true column; both are needed to score {task}")
        raise ConfigError(f"{source} has no predictions to score: expected column pairs such as age_true/age_pred "
                          f"or gender_true/gender_pred; columns: {', '.join(map(str, table.columns))}")
    return list(tasks)


def audit_settings(table: pd.DataFrame, fairness: Mapping[str, Any], source: str,
                   sensitive: Sequence[str] | None = None, require_attribute: bool = True) -> FairnessSettings:
    """Return the settings for auditing `table`: the user's, with attributes checked against its columns.

    Args:
        table: the predictions table.
        fairness: the user's `evaluation.fairness` keys.
        source: how to name the file in messages.
        sensitive: the file's sensitive columns (`sensitive_attributes=[...]`); with no attributes named,
            they and the first one's intersection with each other are studied.
        require_attribute: a file with no attribute column is an error (else its result says so).
    """
    settings = settings_from_config({"fairness": dict(fairness)})
    named = fairness.get("attributes") is not None
    attributes = list(settings.attributes)
    if not named:  # the sensitive columns given, else the contract's grouping columns the file has
        attributes = default_attributes(list(sensitive) if sensitive is not None else
                                        [c for c in GROUP_COLUMNS if c in table])
        if not attributes and require_attribute:
            raise ConfigError(f"{source} has none of the grouping columns race, gender, age_bin; name yours with "
                              "evaluation.fairness.attributes=[<column>, ...]")
    for attribute in attributes:
        for part in attribute.split(INTERSECTION):
            if part not in table:
                raise ConfigError(f"unknown attribute '{part}': not a column of {source}; columns: "
                                  + ", ".join(map(str, table.columns)))
    return FairnessSettings(**{**settings.__dict__, "attributes": attributes})


def audit(path: str | Path, fairness: Mapping[str, Any], sensitive: Sequence[str] | None = None) -> dict[str, Any]:
    """Return the fairness result of a predictions file (`split` is the file's name)."""
    table = read_predictions_file(path)
    source = f"predictions={path}"
    check_columns(table, source)
    settings = audit_settings(table, fairness, source, sensitive)
    return evaluate_predictions(table, Path(path).stem, settings)
