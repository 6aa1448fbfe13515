"""Two-sample Kolmogorov–Smirnov p-value, the same as `scipy.stats.ks_2samp` (two-sided).

The statistic comes from `stats.ecdf`; here only its null distribution. Like scipy's
method="auto": the exact distribution when both samples have at most 10,000 values, else
Smirnov's asymptotic one, `kstwo.sf(D, round(n*m/(n+m)))`. Reference: Hodges (1958), "The
significance probability of the Smirnov two-sample test"; scipy.stats.ks_2samp.
"""

from __future__ import annotations

import math

from scipy import stats as scipy_stats

try:  # scipy's exact lattice-path computation; private, so we fall back when it moves
    from scipy.stats._stats_py import _attempt_exact_2kssamp
except ImportError:  # pragma: no cover - depends on the installed scipy
    _attempt_exact_2kssamp = None

EXACT_MAX_N = 10_000


def ks_p_value(statistic: float, n_baseline: int, n_current: int) -> float:
    """Two-sided p-value of KS statistic D for samples of sizes n_baseline and n_current.

    With ties (discrete data) the p-value is conservative: the test never alarms more often
    than its level, which is the safe side for a monitor.
    """
    if n_baseline < 1 or n_current < 1:
        raise ValueError(f"sample sizes must be positive, got {n_baseline} and {n_current}")
    if not 0.0 <= statistic <= 1.0:
        raise ValueError(f"statistic must be in [0, 1], got {statistic}")
    if max(n_baseline, n_current) <= EXACT_MAX_N and _attempt_exact_2kssamp is not None:
        g = math.gcd(n_baseline, n_current)
        success, _, prob = _attempt_exact_2kssamp(n_baseline, n_current, g, statistic, "two-sided")
        if success:
            return float(min(max(prob, 0.0), 1.0))
    m, n = sorted((float(n_baseline), float(n_current)), reverse=True)
    effective_n = round(m * n / (m + n))
    prob = float(scipy_stats.kstwo.sf(statistic, effective_n))
    return min(max(prob, 0.0), 1.0)
