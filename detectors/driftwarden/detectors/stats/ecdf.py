"""Two-sample comparison of empirical distribution functions: KS and Wasserstein in one pass.

Both statistics are functionals of the two ECDFs evaluated on the union of the samples:

    F_b(x) = (1/W_b) * sum_{i: b_i <= x} w_i          (right-continuous, weights w)
    KS D   = max_x |F_b(x) - F_c(x)|
    W_1    = integral |F_b(x) - F_c(x)| dx = sum_k (z_{k+1} - z_k) * |F_b(z_k) - F_c(z_k)|

where z is the sorted union of distinct values. scipy's `ks_2samp` and
`wasserstein_distance` compute the same sums, each after its own sorts and binary searches
(about 0.1 s and 0.3 s per pair of 1M-row columns). We write the merge ourselves, compiled
with numba, because it is the product's inner loop: a profile keeps its sample sorted, so
one linear walk over two sorted samples gives both statistics (about 5 ms per million
values) with exact tie handling (-0.0 equals 0.0), and it releases the GIL so features run
on all cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EcdfComparison:
    """KS distance and Wasserstein-1 distance between two samples."""

    ks_statistic: float
    wasserstein: float
    n_baseline: int
    n_current: int


@numba.njit(cache=True, nogil=True)
def _walk_unit(b: F64, c: F64) -> tuple[int, float]:  # pragma: no cover - compiled
    """max |i n_c - j n_b| and sum (z_next - z) |i n_c - j n_b| over distinct values z.

    Kept apart from `_walk_weighted` on purpose: integer counts make D exact on the
    1/lcm(n_b, n_c) lattice that the exact KS p-value needs, and skip a weights array of
    the window's size on the hot path.
    """
    nb, nc = b.shape[0], c.shape[0]
    i = 0
    j = 0
    ks = 0
    area = 0.0
    while i < nb or j < nc:
        x = b[i] if j >= nc or (i < nb and b[i] <= c[j]) else c[j]
        while i < nb and b[i] == x:
            i += 1
        while j < nc and c[j] == x:
            j += 1
        gap = abs(i * nc - j * nb)
        ks = max(ks, gap)
        if i < nb and j < nc:
            following = min(b[i], c[j])
        elif i < nb:
            following = b[i]
        elif j < nc:
            following = c[j]
        else:
            break
        area += (following - x) * gap
    return ks, area


@numba.njit(cache=True, nogil=True)
def _walk_weighted(
    b: F64, wb: F64, c: F64, wc: F64
) -> tuple[float, float]:  # pragma: no cover - compiled
    """As `_walk_unit` on weighted samples, with ECDFs as fractions of the total weights."""
    nb, nc = b.shape[0], c.shape[0]
    total_b = wb.sum()
    total_c = wc.sum()
    i = 0
    j = 0
    cum_b = 0.0
    cum_c = 0.0
    ks = 0.0
    area = 0.0
    while i < nb or j < nc:
        x = b[i] if j >= nc or (i < nb and b[i] <= c[j]) else c[j]
        while i < nb and b[i] == x:
            cum_b += wb[i]
            i += 1
        while j < nc and c[j] == x:
            cum_c += wc[j]
            j += 1
        gap = abs(cum_b / total_b - cum_c / total_c)
        ks = max(ks, gap)
        if i < nb and j < nc:
            following = min(b[i], c[j])
        elif i < nb:
            following = b[i]
        elif j < nc:
            following = c[j]
        else:
            break
        area += (following - x) * gap
    return ks, area


def compare_sorted(baseline_sorted: F64, current_sorted: F64) -> EcdfComparison:
    """KS and Wasserstein between two sorted, NaN-free, non-empty unit-weight samples."""
    _check_sample(baseline_sorted, "baseline_sorted")
    _check_sample(current_sorted, "current_sorted")
    b = np.ascontiguousarray(baseline_sorted, dtype=np.float64)
    c = np.ascontiguousarray(current_sorted, dtype=np.float64)
    ks, area = _walk_unit(b, c)
    scale = float(b.shape[0]) * float(c.shape[0])
    return EcdfComparison(float(ks) / scale, float(area) / scale, b.shape[0], c.shape[0])


def compare_weighted(
    baseline_values: F64,
    baseline_weights: F64,
    current_values: F64,
    current_weights: F64,
) -> EcdfComparison:
    """KS and Wasserstein between two weighted sorted samples (compressed profiles).

    `n_baseline`/`n_current` are the total weights rounded, i.e. the rows summarised.
    """
    for name, arr in (("baseline_values", baseline_values), ("current_values", current_values)):
        _check_sample(arr, name)
    if (
        baseline_weights.shape != baseline_values.shape
        or current_weights.shape != current_values.shape
    ):
        raise ValueError("weights must have one entry per value")
    ks, area = _walk_weighted(
        np.ascontiguousarray(baseline_values, dtype=np.float64),
        np.ascontiguousarray(baseline_weights, dtype=np.float64),
        np.ascontiguousarray(current_values, dtype=np.float64),
        np.ascontiguousarray(current_weights, dtype=np.float64),
    )
    return EcdfComparison(
        ks_statistic=float(ks),
        wasserstein=float(area),
        n_baseline=round(float(baseline_weights.sum())),
        n_current=round(float(current_weights.sum())),
    )


def _check_sample(arr: F64, name: str) -> None:
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must be non-empty")
