"""Bins for PSI, JS, KL and Hellinger on numeric features: quantiles of the baseline only.

Edges are taken from the baseline window alone (never from baseline plus current, which
would move the bins with the drift being measured). For k bins the inner edges are the
baseline values at cumulative weight fractions 1/k, ..., (k-1)/k (the inverted-CDF
quantile: the smallest value whose ECDF reaches the fraction). Bins are right-closed,
(-inf, e_1], (e_1, e_2], ..., (e_{k-1}, +inf), so current values outside the baseline's range
fall into the outer bins. Repeated edges (discrete data) are merged, so a column with
three distinct values gets at most three bins.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def quantile_edges(sorted_values: F64, n_bins: int, weights: F64 | None = None) -> F64:
    """Inner bin edges (strictly increasing, at most n_bins - 1) from a sorted baseline."""
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    if sorted_values.ndim != 1 or sorted_values.shape[0] == 0:
        raise ValueError("sorted_values must be a non-empty 1-d array")
    fractions = np.arange(1, n_bins) / n_bins
    if weights is None:
        n = sorted_values.shape[0]
        # Smallest index i with (i + 1) / n >= fraction; the tolerance guards against
        # fractions such as 3/10 landing a hair above an exact boundary.
        positions = np.ceil(fractions * n - 1e-9).astype(np.int64) - 1
        edges = sorted_values[np.clip(positions, 0, n - 1)]
    else:
        cumulative = np.cumsum(weights)
        positions = np.searchsorted(cumulative, fractions * cumulative[-1] * (1 - 1e-12))
        edges = sorted_values[np.clip(positions, 0, sorted_values.shape[0] - 1)]
    edges = np.unique(edges)
    # The top edge equal to the maximum would leave an always-empty baseline bin.
    if edges.shape[0] and edges[-1] >= sorted_values[-1]:
        edges = edges[:-1]
    result: F64 = edges
    return result


def sorted_bin_counts(sorted_values: F64, edges: F64, weights: F64 | None = None) -> F64:
    """Counts (or total weights) of a sorted sample in the right-closed bins of `edges`."""
    positions = np.searchsorted(sorted_values, edges, side="right")
    if weights is None:
        cumulative = np.concatenate(([0], positions, [sorted_values.shape[0]])).astype(np.float64)
    else:
        running = np.concatenate(([0.0], np.cumsum(weights)))
        cumulative = np.concatenate(([0.0], running[positions], [running[-1]]))
    result: F64 = np.diff(cumulative)
    return result
