"""Sensitive attributes of a predictions table: groups, intersections and the cells they are made of.

Every metric visage reports is a ratio of sums (or a median), so it is computed once per *cell*
(one combination of all base attributes, e.g. White×Female×30-39) and then summed up into any
attribute's groups. That is what makes thousands of bootstrap resamples cheap.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from visage.core.names import INTERSECTION


@dataclass(frozen=True)
class Attribute:
    """One sensitive attribute (e.g. `race` or the intersection `race*gender`) and its groups."""

    name: str
    groups: tuple[str, ...]
    membership: np.ndarray  # (cells, groups) 0/1: which cells make up each group
    row_group: np.ndarray   # (rows,) group index of each row


@dataclass(frozen=True)
class CellIndex:
    """Rows of a table assigned to cells, with every requested attribute expressed over cells."""

    row_cell: np.ndarray    # (rows,) cell index of each row
    n_cells: int
    attributes: tuple[Attribute, ...]


def _parts(name: str) -> list[str]:
    return name.split(INTERSECTION)


def build_cells(table: pd.DataFrame, attributes: Sequence[str],
                categories: Mapping[str, Sequence[str]] | None = None) -> CellIndex:
    """Return the cell index of `table` for `attributes` (base columns or `a*b` intersections).

    `categories` lists the groups each base attribute should have, so that a group with no rows
    is still reported (empty) rather than silently missing; by default the values present are used.
    """
    categories = dict(categories or {})
    base = sorted({part for name in attributes for part in _parts(name)})
    for column in base:
        if column not in table:
            raise KeyError(f"sensitive attribute '{column}' is not a column of the predictions table")
    levels: dict[str, list[str]] = {}
    codes: dict[str, np.ndarray] = {}
    for column in base:
        values = table[column].astype(str).to_numpy()
        known = [str(v) for v in categories.get(column, [])]
        levels[column] = known + sorted(set(values) - set(known))
        codes[column] = pd.Categorical(values, categories=levels[column]).codes.astype(np.int64)
    # Cells enumerate every combination of base levels, present or not (empty cells cost nothing).
    shape = [len(levels[c]) for c in base]
    row_cell = np.ravel_multi_index([codes[c] for c in base], shape) if base else np.zeros(len(table), np.int64)
    n_cells = int(np.prod(shape)) if base else 1
    cell_levels = np.array(list(itertools.product(*[range(s) for s in shape])), dtype=np.int64).reshape(n_cells, -1)
    built = []
    for name in attributes:
        parts = _parts(name)
        positions = [base.index(p) for p in parts]
        group_shape = [shape[p] for p in positions]
        cell_group = np.ravel_multi_index([cell_levels[:, p] for p in positions], group_shape)
        group_names = tuple(INTERSECTION.join(combo) for combo in itertools.product(*[levels[p] for p in parts]))
        membership = np.zeros((n_cells, len(group_names)))
        membership[np.arange(n_cells), cell_group] = 1.0
        built.append(Attribute(name, group_names, membership, cell_group[row_cell]))
    return CellIndex(row_cell, n_cells, tuple(built))


def warn_empty_groups(attribute: Attribute, counts: np.ndarray) -> str | None:
    """Warn once about the groups of `attribute` that have no rows; return the message, if any."""
    empty = [g for g, n in zip(attribute.groups, counts) if n == 0]
    if not empty:
        return None
    message = f"attribute '{attribute.name}' has {len(empty)} empty group(s), reported with n=0: {', '.join(empty)}"
    warnings.warn(message, stacklevel=2)
    return message
