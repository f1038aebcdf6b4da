"""Vectorised bootstrap over the same resamples fairlearn's `MetricFrame(n_boot=...)` draws.

fairlearn seeds resample i with the i-th uint32 of `default_rng(random_state)` and draws it with
`DataFrame.sample(frac=1, replace=True, random_state=seed)`, i.e. `RandomState(seed).choice(n, n)`.
We draw the same indices, but instead of recomputing every metric on a resampled table we count how
often each row was drawn and sum the per-row statistics per cell with one matrix product per cell.

Medians are not sums, so values are also split into quantile bins: the per-cell bin counts (part of
the same matrix product) locate the bin holding a group's median rank, and only the rows of that
bin are searched, which keeps medians exact at a small fraction of a full sort per resample.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

BLOCK = 16       # resamples per block: (BLOCK, rows) float64 counts stay ~128 MB at 1M rows
MEDIAN_BINS = 64


def fairlearn_seeds(n_boot: int, random_state: int) -> np.ndarray:
    """Return the per-resample seeds fairlearn derives from an integer `random_state`."""
    generator = np.random.default_rng(seed=int(random_state))
    return generator.integers(low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32)


def resample_indices(n: int, seed: int) -> np.ndarray:
    """Return the row indices of one resample, exactly as pandas' `sample(frac=1, replace=True)` draws."""
    return np.random.RandomState(seed).choice(n, size=n, replace=True)


@dataclass(frozen=True)
class MedianLayout:
    """Rows of one attribute sorted by (group, value bin, value), with segment offsets."""

    order: np.ndarray    # row positions (cell-sorted numbering) in (group, bin, value) order
    values: np.ndarray   # the values in that order
    offsets: np.ndarray  # (groups, bins + 1) start of each (group, bin) segment in `order`


def _median_layout(values: np.ndarray, bins: np.ndarray, n_bins: int, row_group: np.ndarray, n_groups: int,
                   to_sorted: np.ndarray) -> MedianLayout:
    order = np.lexsort((values, bins, row_group))
    segment = np.bincount(row_group * n_bins + bins, minlength=n_groups * n_bins).reshape(n_groups, n_bins)
    offsets = np.concatenate([np.zeros((n_groups, 1), np.int64), np.cumsum(segment, axis=1)], axis=1)
    offsets += np.concatenate([[0], np.cumsum(segment.sum(axis=1))[:-1]])[:, None]
    return MedianLayout(to_sorted[order], values[order], offsets)


def _pick(counts: np.ndarray, layout: MedianLayout, group: int, cumulative_bins: np.ndarray, rank: int) -> float:
    """Return the value at 0-based `rank` among the drawn rows of `group` (rows repeated by their count)."""
    q = int(np.searchsorted(cumulative_bins, rank, side="right"))
    before = int(cumulative_bins[q - 1]) if q > 0 else 0
    start, end = layout.offsets[group, q], layout.offsets[group, q + 1]
    within = np.cumsum(counts[layout.order[start:end]])
    return float(layout.values[start + int(np.searchsorted(within, rank - before, side="right"))])


def _medians(counts: np.ndarray, bin_counts: np.ndarray, layout: MedianLayout) -> np.ndarray:
    """Return (resamples, groups) medians; `bin_counts` is (resamples, groups, bins). NaN if not drawn."""
    result = np.full(bin_counts.shape[:2], np.nan)
    cumulative = np.cumsum(np.rint(bin_counts).astype(np.int64), axis=2)
    for b in range(len(counts)):
        for g in np.flatnonzero(cumulative[b, :, -1] > 0):
            m = int(cumulative[b, g, -1])
            low = _pick(counts[b], layout, g, cumulative[b, g], (m - 1) // 2)
            high = low if m % 2 else _pick(counts[b], layout, g, cumulative[b, g], m // 2)
            result[b, g] = (low + high) / 2
    return result


def bootstrap_sums(stats: np.ndarray, row_cell: np.ndarray, n_cells: int, n_boot: int, random_state: int,
                   median_values: np.ndarray | None = None,
                   median_groups: Sequence[tuple[np.ndarray, np.ndarray]] = ()) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return per-resample cell sums (n_boot, cells, K) and, per median grouping, (n_boot, groups) medians.

    `median_groups` holds (row_group, membership) pairs over which medians of `median_values` are
    wanted; `membership` (cells, groups) says which cells make up each group.
    Resample i uses fairlearn's i-th seed, so results match `MetricFrame(n_boot, random_state)`.
    """
    n = len(stats)
    cell_order = np.argsort(row_cell, kind="stable")
    to_sorted = np.empty(n, dtype=np.int64)
    to_sorted[cell_order] = np.arange(n)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(row_cell, minlength=n_cells))])
    layouts: list[MedianLayout] = []
    n_bins = 0
    columns = stats
    if median_values is not None and median_groups:
        edges = np.unique(np.quantile(median_values, np.linspace(0, 1, MEDIAN_BINS + 1)[1:-1]))
        bins = np.searchsorted(edges, median_values, side="right")
        n_bins = len(edges) + 1
        columns = np.concatenate([stats, np.eye(n_bins)[bins]], axis=1)
        layouts = [_median_layout(median_values, bins, n_bins, g, m.shape[1], to_sorted) for g, m in median_groups]
        memberships = [m for _, m in median_groups]
    sorted_columns = np.ascontiguousarray(columns[cell_order])
    seeds = fairlearn_seeds(n_boot, random_state)
    k_stats = stats.shape[1]

    def run_block(block: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        counts = np.empty((len(block), n))
        for k, seed in enumerate(block):
            counts[k] = np.bincount(resample_indices(n, int(seed)), minlength=n)[cell_order]
        sums = np.zeros((len(block), n_cells, columns.shape[1]))
        for c in np.flatnonzero(bounds[1:] > bounds[:-1]):
            sums[:, c] = counts[:, bounds[c]:bounds[c + 1]] @ sorted_columns[bounds[c]:bounds[c + 1]]
        medians = [_medians(counts, np.einsum("bcq,cg->bgq", sums[:, :, k_stats:], member), layout)
                   for layout, member in zip(layouts, memberships)] if layouts else []
        return sums[:, :, :k_stats], medians

    blocks = [seeds[i:i + BLOCK] for i in range(0, n_boot, BLOCK)]
    with ThreadPoolExecutor(max_workers=min(len(blocks), os.cpu_count() or 1)) as pool:
        results = list(pool.map(run_block, blocks))
    sums = np.concatenate([r[0] for r in results]) if results else np.zeros((0, n_cells, k_stats))
    medians = [np.concatenate([r[1][i] for r in results]) for i in range(len(layouts))]
    return sums, medians

