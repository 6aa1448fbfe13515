"""Survival functions of the null distributions, and average ranks, without `scipy.stats`.

Importing anything of `scipy.stats` loads its whole namespace (every distribution, about
1 s of a command's start-up on a loaded machine), while the detectors only need a few
tails. Each function below is the `scipy.special` routine that the named `scipy.stats`
method calls itself (scipy 1.17, `stats/_continuous_distns.py`), with the same value at
the ends of the support, so the results are the same floats; tests/unit/test_tails.py
compares them with `scipy.stats` to 1e-12. `kstwo_sf` alone still needs `scipy.stats`
(imported when called: only KS tests below 50,000 effective rows reach it).
`average_ranks` is `scipy.stats.rankdata`'s default (method="average",
nan_policy="propagate"); average ranks are halves of integers, exact in float64.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special


def chi2_sf(statistic: float, dof: float) -> float:
    """P(X >= statistic) for X ~ chi²(dof): `scipy.stats.chi2.sf` (`special.chdtrc`)."""
    if math.isnan(statistic):
        return math.nan
    if statistic <= 0.0:
        return 1.0
    return float(special.chdtrc(dof, statistic))


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal Z: `scipy.stats.norm.sf` (`special.ndtr(-z)`)."""
    return float(special.ndtr(-z))


def f_sf(statistic: float, dfn: float, dfd: float) -> float:
    """P(X >= statistic) for X ~ F(dfn, dfd): `scipy.stats.f.sf` (`special.fdtrc`)."""
    if math.isnan(statistic):
        return math.nan
    if statistic <= 0.0:
        return 1.0
    return float(special.fdtrc(dfn, dfd, statistic))


def kstwo_sf(statistic: float, n: int) -> float:
    """Two-sided one-sample KS statistic's tail at size n: `scipy.stats.kstwo.sf`.

    The one tail with no `scipy.special` routine (scipy computes it in Python,
    `stats/_ksstats.py`), so `scipy.stats` is imported here, when a sample size needs it.
    """
    from scipy import stats

    return float(stats.kstwo.sf(statistic, n))


def kolmogorov_sf(x: float) -> float:
    """Kolmogorov's limit distribution's tail: `scipy.stats.kstwobign.sf` (`special.kolmogorov`)."""
    if math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    return float(special.kolmogorov(x))


def average_ranks(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Ranks 1..n of a 1-d array, ties sharing their average: `scipy.stats.rankdata(values)`.

    A NaN anywhere makes every rank NaN (scipy's default nan_policy="propagate").
    """
    array = np.ravel(np.asarray(values))
    if array.size == 0:
        return np.empty(0, dtype=np.float64)
    if array.dtype.kind in "fc" and np.isnan(array).any():
        return np.full(array.shape, np.nan)
    order = np.argsort(array, kind="stable")
    ordered = array[order]
    first = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(first) - 1  # group index of each sorted value
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], array.size)  # exclusive
    # The tie group at sorted positions [s, e) holds ranks s+1 .. e: their mean is (s+1+e)/2.
    group_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(array.size, dtype=np.float64)
    ranks[order] = group_rank[group]
    return ranks
