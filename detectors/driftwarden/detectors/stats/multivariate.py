"""A multivariate two-sample test for the run's verdict: Hotelling's T² on normal scores.

Per-feature tests see each column alone. When drift is spread thinly over several
correlated columns, or moves a column against its usual relation to the others, each test
alone is weak but the joint shift is plain: the Mahalanobis distance between the two
windows' mean vectors counts a shift against the correlation structure as large.

Procedure (a rank-based Hotelling test, cf. van der Waerden scores; Puri & Sen 1971,
"Nonparametric Methods in Multivariate Analysis"):
1. Each column of the pooled sample is replaced by its normal scores,
   Phi^-1((rank - 0.5) / N) with average ranks for ties; missing values get 0 (the centre).
   Ranks make the test insensitive to skew and outliers, and its null distribution free of
   the columns' own distributions.
2. Hotelling's two-sample T² = (n_b n_c / N) d' S^+ d, with d the difference of the mean
   score vectors and S the pooled within-window covariance (pseudo-inverse, so constant or
   collinear columns lower the rank instead of failing).
3. p-value from F = (N - p - 1) / (p (N - 2)) T² ~ F(p, N - p - 1), p = rank of S.

Under no drift the two windows are exchangeable, the scores have equal means, and the F
reference is accurate for N well above p (we require N >= 4 p). The test has no power
against pure changes of spread; the univariate tests cover those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from driftwarden.detectors.stats.tails import average_ranks, f_sf

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MultivariateResult:
    statistic: float  # Hotelling T²
    p_value: float
    dof: int  # rank of the pooled covariance
    n_baseline: int
    n_current: int


def normal_scores(columns: F64) -> F64:
    """Column-wise normal scores of a 2-d array (NaN -> 0), average ranks for ties."""
    if columns.ndim != 2:
        raise ValueError(f"columns must be 2-d, got shape {columns.shape}")
    scores = np.zeros_like(columns, dtype=np.float64)
    for j in range(columns.shape[1]):
        column = columns[:, j]
        present = ~np.isnan(column)
        count = int(present.sum())
        if count == 0:
            continue
        ranks = average_ranks(column[present])
        scores[present, j] = special.ndtri((ranks - 0.5) / count)
    return scores


def hotelling_rank_test(baseline: F64, current: F64) -> MultivariateResult | None:
    """Rank-based Hotelling T² test; None when there are too few rows for the columns."""
    if baseline.ndim != 2 or current.ndim != 2 or baseline.shape[1] != current.shape[1]:
        raise ValueError("baseline and current must be 2-d with the same columns")
    n_b, n_c = baseline.shape[0], current.shape[0]
    columns = baseline.shape[1]
    if columns == 0:
        return None
    total = n_b + n_c
    if total < 4 * columns or min(n_b, n_c) < 2:
        return None
    scores = normal_scores(np.vstack((baseline, current)))
    left, right = scores[:n_b], scores[n_b:]
    difference = right.mean(axis=0) - left.mean(axis=0)
    centred = np.vstack((left - left.mean(axis=0), right - right.mean(axis=0)))
    covariance = centred.T @ centred / (total - 2)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    keep = eigenvalues > eigenvalues.max() * 1e-10 if eigenvalues.max() > 0 else eigenvalues > 0
    dof = int(keep.sum())
    if dof == 0:
        return MultivariateResult(0.0, 1.0, 0, n_b, n_c)
    projected = eigenvectors[:, keep].T @ difference
    t_squared = float(n_b * n_c / total * np.sum(projected**2 / eigenvalues[keep]))
    denominator_dof = total - dof - 1
    f_statistic = denominator_dof / (dof * (total - 2)) * t_squared
    p_value = f_sf(f_statistic, dof, denominator_dof)
    return MultivariateResult(t_squared, min(max(p_value, 0.0), 1.0), dof, n_b, n_c)


def one_hot(values: npt.NDArray[np.object_], categories: list[str]) -> F64:
    """Indicator columns for all but the first category (missing -> NaN in every column)."""
    encoded = np.zeros((values.shape[0], max(len(categories) - 1, 0)), dtype=np.float64)
    as_text = np.array([None if v is None or v != v else str(v) for v in values], dtype=object)
    for j, category in enumerate(categories[1:]):
        encoded[:, j] = as_text == category
    missing = np.array([v is None for v in as_text])
    encoded[missing, :] = np.nan
    return encoded
