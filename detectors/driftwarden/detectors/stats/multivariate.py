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


# ------------------------------------------------------------------------------ kernel MMD

#: Rows per window for the kernel test: the kernel matrix of 2 x 500 rows is 8 MB and
#: one permutation is a column of one matrix product, so the test costs a fraction of a
#: second whatever the windows' sizes.
MMD_ROWS = 500
MMD_PERMUTATIONS = 199


@dataclass(frozen=True, slots=True)
class MmdResult:
    statistic: float  # biased MMD² on the subsample
    p_value: float  # permutation p-value, (1 + #{null >= observed}) / (permutations + 1)
    bandwidth: float  # squared-distance scale of the Gaussian kernel
    permutations: int
    n_baseline: int  # rows used
    n_current: int


def mmd_permutation_test(
    baseline: F64,
    current: F64,
    *,
    max_rows: int = MMD_ROWS,
    permutations: int = MMD_PERMUTATIONS,
    seed: int = 0,
) -> MmdResult | None:
    """Kernel two-sample test (maximum mean discrepancy; Gretton et al. 2012, "A kernel
    two-sample test", JMLR 13) with a permutation p-value, on a bounded subsample.

    1. Each window is subsampled (seeded) to at most `max_rows` rows; the pooled rows'
       columns become normal scores (`normal_scores`, missing -> 0), so units, skew and
       outliers do not set the kernel's scale.
    2. Gaussian kernel k(a, b) = exp(-|a - b|² / h), h the median squared distance between
       pooled rows (the median heuristic, on at most 500 rows).
    3. Statistic: biased MMD² = s' K s with s_i = 1/n_b on baseline rows and -1/n_c on
       current rows. Null: the same with the window labels permuted `permutations` times
       (one matrix product K S for all of them); p = (1 + #{null >= observed}) /
       (permutations + 1) is exact under exchangeability (Phipson & Smyth 2010).

    Sensitive to any change of the joint distribution (also of spread and of correlation,
    which Hotelling's test misses). Returns None with fewer than 20 rows in a window.
    """
    if baseline.ndim != 2 or current.ndim != 2 or baseline.shape[1] != current.shape[1]:
        raise ValueError("baseline and current must be 2-d with the same columns")
    if max_rows < 20:
        raise ValueError(f"max_rows must be at least 20, got {max_rows}")
    if permutations < 19:
        raise ValueError(f"permutations must be at least 19, got {permutations}")
    if baseline.shape[1] == 0 or min(baseline.shape[0], current.shape[0]) < 20:
        return None
    rng = np.random.default_rng(seed)
    take_b = rng.permutation(baseline.shape[0])[:max_rows]
    take_c = rng.permutation(current.shape[0])[:max_rows]
    n_b, n_c = take_b.size, take_c.size
    scores = normal_scores(np.vstack((baseline[take_b], current[take_c])))
    squared = np.einsum("ij,ij->i", scores, scores)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2.0 * scores @ scores.T, 0.0)
    probe = rng.permutation(n_b + n_c)[:500]
    sub = distances[np.ix_(probe, probe)]
    positive = sub[np.triu_indices(probe.size, k=1)]
    positive = positive[positive > 0]
    bandwidth = float(np.median(positive)) if positive.size else 1.0
    kernel = np.exp(-distances / bandwidth)
    signs = np.empty((n_b + n_c, permutations + 1))
    signs[:, 0] = np.r_[np.full(n_b, 1.0 / n_b), np.full(n_c, -1.0 / n_c)]
    for k in range(1, permutations + 1):
        signs[:, k] = signs[rng.permutation(n_b + n_c), 0]
    values = np.einsum("ij,ij->j", signs, kernel @ signs)
    observed = float(values[0])
    p_value = float((1 + np.count_nonzero(values[1:] >= observed)) / (permutations + 1))
    return MmdResult(observed, p_value, bandwidth, permutations, n_b, n_c)
