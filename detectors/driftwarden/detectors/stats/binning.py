"""Bins for PSI, JS, KL and Hellinger on numeric features: quantiles of the baseline only.

Edges are taken from the baseline window alone (never from baseline plus current, which
would move the bins with the drift being measured). For k bins the edges are the
baseline's values at cumulative weight fractions 1/k, ..., (k-1)/k (the inverted-CDF
quantile: the smallest value whose ECDF reaches the fraction), closed by two bins outside
the baseline's range: (-inf, min), [min, e_1], (e_1, e_2], ..., (e_{k-1}, max], (max, +inf).
The two outer bins are empty in the baseline and hold only current values below its minimum
or above its maximum, so a current window that leaves the baseline's range is seen however
the baseline is shaped: constant, two-valued or heavily tied (all 3.0 against N(3, 1):
three bins, the baseline all in [3, 3], the current split between the outer two, JS 1,
where quantile bins alone gave one bin, PSI 0 and "no drift").

Inner bins are right-closed (the lowest also holds the minimum). As edges, the lower end
is the largest float below the minimum (x <= that float exactly when x < min), so one
right-closed `searchsorted` counts every bin. Repeated edges (discrete data) are merged: a
column with three distinct values gets five bins, one per value and the two outer ones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def quantile_edges(
    sorted_values: F64,
    n_bins: int,
    weights: F64 | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
) -> F64:
    """Bin edges from a sorted baseline: strictly increasing, at most n_bins + 1 of them
    (k - 1 quantiles and the two ends of the range, see the module docstring).

    `low` and `high` are the baseline's range when `sorted_values` is a compressed sample
    (weighted bucket means lie inside the range); by default its first and last values.
    """
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
    minimum = min(float(sorted_values[0]), float(sorted_values[0] if low is None else low))
    maximum = max(float(sorted_values[-1]), float(sorted_values[-1] if high is None else high))
    below = np.nextafter(minimum, -np.inf)  # (-inf, below] is (-inf, min)
    result: F64 = np.unique(np.concatenate(([below], edges, [maximum])))
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
