"""Any labelled face table (`data=table`): a CSV or parquet file of image paths with label columns.

RAF-DB, CelebA attributes or a lab's own set are read without code: the config names the image
column, the tasks (`age`, a regression in years, and any classification with its classes, in order)
and the sensitive attributes (any column of the table, a task, or `age_bin`). Label values are read
as text, so classes are written as they appear in the table (`["-1", "1"]`, `[no, yes]`).
Rows whose image is missing, is not an image or does not decode, whose age is not a number of years
or whose label is outside its task's classes are skipped and counted, as UTKFace's files are.
A sensitive attribute left empty in a row is its own group, `missing`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visage.core.errors import ConfigError
from visage.core.names import AGE, SPLITS
from visage.data.base import AGE_BIN, check_attribute_names
from visage.data.files import BAD_HEADER, SKIP_COLUMNS, FileFaceDataset, drop_undecodable, looks_like_image

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
MAX_AGE = 130
MISSING_FILE = "image file missing"
MISSING_GROUP = "missing"
LISTED_TWICE = "image listed twice (the first row is kept)"
# Names the loader, the predictions table or the labels table already use for something else.
RESERVED = ("image", "index", "weight", "sample_id", "path", "split", AGE_BIN)


def read_table(path: str | Path | None) -> tuple[pd.DataFrame, Path]:
    """Return the table at `path` (every column as text, empty cells as NaN) and its resolved path."""
    if path is None or str(path) in ("", "???"):
        raise ConfigError("data=table needs data.path=<a .csv or .parquet file of image paths and labels>")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"data.path={path} is not a file")
    if file.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"data.path={path} is neither a .csv nor a .parquet file")
    try:
        if file.suffix.lower() == ".csv":
            return pd.read_csv(file, dtype=str), file
        table = pd.read_parquet(file)
    except Exception as error:  # noqa: BLE001 - pandas/pyarrow raise many types; the user needs one line
        raise ConfigError(f"data.path={path} cannot be read as a table ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''})") from None
    return table.astype(object).where(table.notna(), np.nan).map(lambda v: v if v is np.nan else str(v)), file


def parse_tasks(tasks: Mapping[str, Any] | None) -> tuple[str | None, dict[str, tuple[str, tuple[str, ...]]]]:
    """Return the age column (or None) and, per classification task, its column and class names.

    `tasks` maps a task name to its spec: for `age`, `regression` or `{column: <col>}`; for any other
    task, its classes as a list or `{column: <col>, classes: [...]}` (the column defaults to the task's name).
    """
    age_column, classification = None, {}
    for task, spec in (tasks or {}).items():
        task = str(task)
        check_attribute_names([task], key="data.tasks")
        if task in RESERVED:
            raise ConfigError(f"data.tasks holds '{task}', a name visage uses itself; rename the task "
                              f"(data.tasks.<name>: {{column: {task}, classes: [...]}})")
        if isinstance(spec, str):
            spec = {"type": spec}
        spec = {"classes": list(spec)} if isinstance(spec, Sequence) else (spec or {})
        if not isinstance(spec, Mapping):
            raise ConfigError(f"data.tasks.{task} must be its classes [a, b, ...] or {{column: ..., classes: [...]}}")
        column = str(spec.get("column") or task)
        if task == AGE:
            if spec.get("classes"):
                raise ConfigError("data.tasks.age is age regression in years; a classification task needs another name")
            age_column = column
            continue
        classes = tuple(str(c) for c in spec.get("classes") or ())
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ConfigError(f"data.tasks.{task} needs its classes, at least two and each once "
                              f"(data.tasks.{task}.classes=[...]); got {list(classes)}")
        classification[task] = (column, classes)
    if age_column is None and not classification:
        raise ConfigError("data=table needs at least one task in data.tasks, e.g. data.tasks={age: regression} "
                          "or data.tasks={smiling: [no, yes]}")
    return age_column, classification


def _age_problem(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    ages = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(ages) | (ages < 0) | (ages > MAX_AGE)
    return ages, pd.Series(np.where(bad, f"age not a number of years in 0-{MAX_AGE}", None), index=values.index)


class TableFaces(FileFaceDataset):
    """The faces listed in a table at `path`, images at paths relative to `root` (default: the table's folder).

    `task_classes` holds the table's classification tasks; `age` is labelled when `tasks` has it.
    """

    def __init__(self, path: str | None = None, root: str | None = None, image_column: str = "path",
                 tasks: Mapping[str, Any] | None = None, sensitive_attributes: Sequence[str] = (),
                 split_column: str | None = None, image_size: int = 64, check_headers: bool = True,
                 verify_images: bool = True, cache_mb: float = 2048.0, name: str = "table") -> None:
        self.name = name
        self.image_size = image_size
        self.verify_images = verify_images
        self.cache_mb = cache_mb
        table, file = read_table(path)
        folder = Path(root).expanduser() if root else file.parent
        if root and not folder.is_dir():
            raise ConfigError(f"data.root={root} is not a folder")
        age_column, classification = parse_tasks(tasks)
        sensitive = check_attribute_names(sensitive_attributes)
        groups = [s for s in sensitive if s not in classification and s != AGE_BIN]
        needed = {"data.image_column": [image_column], "data.tasks": [c for c, _ in classification.values()]
                  + ([age_column] if age_column else []), "data.sensitive_attributes": groups,
                  "data.split_column": [split_column] if split_column else []}
        for key, columns in needed.items():
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise ConfigError(f"{key}: column(s) {', '.join(missing)} not in {file.name}; its columns: "
                                  f"{', '.join(map(str, table.columns))}")
        if AGE_BIN in sensitive and age_column is None:
            raise ConfigError("data.sensitive_attributes holds age_bin, which needs an age task (data.tasks.age)")
        self._task_classes = {task: classes for task, (_, classes) in classification.items()}

        ids = table[image_column].fillna("").str.strip().str.replace("\\", "/", regex=False).str.removeprefix("./")
        reason = pd.Series(None, index=table.index, dtype=object)
        reason[ids == ""] = "no image path"
        reason[reason.isna() & ids.duplicated()] = LISTED_TWICE
        labels = pd.DataFrame({"sample_id": ids})
        if age_column:
            labels[AGE], problem = _age_problem(table[age_column])
            reason = reason.fillna(problem)
        for task, (column, classes) in classification.items():
            values = table[column].str.strip()
            code = values.map({c: k for k, c in enumerate(classes)})
            reason = reason.fillna(pd.Series(np.where(code.isna(), f"{task} not one of its classes "
                                                      f"({', '.join(classes)})", None), index=table.index))
            labels[task] = code.fillna(-1).astype(np.int64)
        for column in groups:
            labels[column] = table[column].str.strip().fillna(MISSING_GROUP).replace("", MISSING_GROUP)
        if split_column:
            labels["split"] = table[split_column].str.strip()
            unknown = sorted(set(labels["split"].dropna()) - set(SPLITS))
            if unknown or labels["split"].isna().any():
                raise ConfigError(f"data.split_column={split_column} holds {unknown[0] if unknown else 'an empty value'}; "
                                  f"its values must be {', '.join(SPLITS)}")
        labels["path"] = [os.path.join(folder, p) for p in ids]
        unchecked = reason.isna()
        exists = labels.loc[unchecked, "path"].map(os.path.isfile).astype(bool)
        reason[exists.index[~exists]] = MISSING_FILE
        if check_headers:
            unchecked = reason.isna()
            header = labels.loc[unchecked, "path"].map(lambda p: looks_like_image(Path(p))).astype(bool)
            reason[header.index[~header]] = BAD_HEADER
        bad = reason.notna()
        files = [i if i else f"row {k + 2}" for k, i in zip(ids.index[bad], ids[bad])]
        self.skipped = pd.DataFrame({"file": files, "reason": reason[bad].to_numpy()}, columns=SKIP_COLUMNS)
        self.labels = labels[~bad].reset_index(drop=True)
        if verify_images and len(self.labels):
            self.labels, self.skipped = drop_undecodable(self.labels, self.skipped)
        self.finish_index(len(table), f"data.path={path} holds no usable faces")
        self.set_sensitive_attributes(sensitive)

    @property
    def task_classes(self) -> dict[str, tuple[str, ...]]:
        """Return the class names of each classification task the table's config declares."""
        return dict(self._task_classes)
