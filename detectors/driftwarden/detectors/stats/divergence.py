"""Divergences between two binned distributions, and their small-sample bias.

Every function takes two count vectors over the same k bins (baseline first, current
second); counts may be fractional (weights of a compressed profile). Conventions, stated
once so that our numbers can be compared with other tools':

- Proportions for PSI and KL are smoothed with an additive 0.5 per bin (Jeffreys prior):
  p_i = (b_i + 0.5) / (B + 0.5 k). Without it an empty bin makes both infinite. JS and
  Hellinger are finite on empty bins and use raw proportions.
- PSI  = sum_i (q_i - p_i) * ln(q_i / p_i)              natural log (the industry's convention)
- KL   = sum_i q_i * ln(q_i / p_i)                       KL(current || baseline), natural log
- JS   = sqrt(JSD),  JSD = 1/2 KL2(p||m) + 1/2 KL2(q||m), m = (p+q)/2, log base 2, so JS is a
  distance in [0, 1]. (Some libraries use natural logs: 0.8326 times ours.)
- Hellinger = sqrt(1 - sum_i sqrt(p_i q_i)), in [0, 1].

Small-sample bias: with no drift all four are positive on finite samples, because sampling
noise looks like a difference. Their second-order expansions are multiples of the Pearson
statistic X² / N_eff, whose null mean is (k - 1) / N_eff with 1/N_eff = 1/B + 1/Q:

    E[PSI] ~ (k-1)/N_eff,  E[KL] ~ (k-1)/(2 N_eff),  E[JSD] ~ (k-1)/(8 ln2 N_eff),
    E[H²] ~ (k-1)/(8 N_eff)

(e.g. 200 vs 200 rows, 10 bins: JS ~ 0.12 with no drift at all). `bias_corrected`
subtracts that expectation from the divergence (JSD and H² before the square root), so that
fixed thresholds such as PSI 0.1 or JS 0.1 mean the same on 200 rows as on 2 million.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats.tails import chi2_sf

F64 = npt.NDArray[np.float64]

SMOOTHING = 0.5  # additive pseudo-count per bin for PSI and KL (see module docstring)


@dataclass(frozen=True, slots=True)
class ChiSquareResult:
    """Pearson chi-square test of homogeneity on a 2 x k table (no continuity correction)."""

    statistic: float
    p_value: float
    dof: int
    cramers_v: float


def _as_counts(counts: npt.ArrayLike, name: str) -> F64:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-d count vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite, non-negative counts")
    if arr.sum() <= 0:
        raise ValueError(f"{name} must have a positive total")
    return arr


def _pair(baseline: npt.ArrayLike, current: npt.ArrayLike) -> tuple[F64, F64]:
    b = _as_counts(baseline, "baseline")
    c = _as_counts(current, "current")
    if b.shape != c.shape:
        raise ValueError(f"baseline and current bins differ: {b.shape[0]} vs {c.shape[0]}")
    return b, c


def _smoothed(counts: F64) -> F64:
    result: F64 = (counts + SMOOTHING) / (counts.sum() + SMOOTHING * counts.shape[0])
    return result


def psi(baseline: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Population stability index, sum (q - p) ln(q / p) over smoothed proportions."""
    b, c = _pair(baseline, current)
    p, q = _smoothed(b), _smoothed(c)
    return float(np.sum((q - p) * np.log(q / p)))


def kl_divergence(baseline: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """KL(current || baseline) in nats over smoothed proportions."""
    b, c = _pair(baseline, current)
    p, q = _smoothed(b), _smoothed(c)
    return float(np.sum(q * np.log(q / p)))


def js_divergence(baseline: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Jensen–Shannon divergence in bits (0 <= JSD <= 1); raw proportions, 0 log 0 = 0."""
    b, c = _pair(baseline, current)
    p, q = b / b.sum(), c / c.sum()
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log2(p / m), 0.0)
        right = np.where(q > 0, q * np.log2(q / m), 0.0)
    return float(min(max(0.5 * (left.sum() + right.sum()), 0.0), 1.0))


def js_distance(baseline: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Jensen–Shannon distance, sqrt of the base-2 divergence (as scipy's jensenshannon, base=2)."""
    return math.sqrt(js_divergence(baseline, current))


def hellinger_distance(baseline: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Hellinger distance sqrt(1 - sum sqrt(p q)) over raw proportions."""
    b, c = _pair(baseline, current)
    p, q = b / b.sum(), c / c.sum()
    bc = float(np.sum(np.sqrt(p * q)))
    return math.sqrt(max(0.0, 1.0 - bc))


def null_scale(n_baseline: float, n_current: float, n_bins: int) -> float:
    """(k - 1) (1/B + 1/Q): the null mean of the Pearson statistic divided by N_eff."""
    if n_baseline <= 0 or n_current <= 0:
        raise ValueError("sample sizes must be positive")
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins}")
    return (n_bins - 1) * (1.0 / n_baseline + 1.0 / n_current)


def bias_corrected(
    method: str, statistic: float, n_baseline: float, n_current: float, n_bins: int
) -> float:
    """The statistic minus its expected value with no drift (clipped at 0); see module doc.

    `method` is one of psi, kl, js, hellinger; JS and Hellinger are corrected on the squared
    scale (divergence) and returned as distances.
    """
    scale = null_scale(n_baseline, n_current, n_bins)
    if method == "psi":
        return max(0.0, statistic - scale)
    if method == "kl":
        return max(0.0, statistic - scale / 2.0)
    if method == "js":
        return math.sqrt(max(0.0, statistic**2 - scale / (8.0 * math.log(2.0))))
    if method == "hellinger":
        return math.sqrt(max(0.0, statistic**2 - scale / 8.0))
    raise ValueError(f"method must be one of psi, kl, js, hellinger, got {method!r}")


def chi_square_homogeneity(baseline: npt.ArrayLike, current: npt.ArrayLike) -> ChiSquareResult:
    """Pearson chi-square test that two count vectors come from one distribution.

    The 2 x k contingency test (what `scipy.stats.chi2_contingency(..., correction=False)`
    computes), not a one-sample goodness-of-fit test against baseline proportions: treating
    baseline proportions as exact roughly doubles the statistic and false-alarms.
    Bins empty on both sides are dropped; a category seen on one side only is kept (it is
    evidence). Cramér's V = sqrt(X² / N) for a 2-row table.
    """
    b, c = _pair(baseline, current)
    keep = (b + c) > 0
    b, c = b[keep], c[keep]
    dof = b.shape[0] - 1
    total = b.sum() + c.sum()
    if dof == 0:
        return ChiSquareResult(0.0, 1.0, 0, 0.0)
    column = b + c
    expected_b = column * (b.sum() / total)
    expected_c = column * (c.sum() / total)
    statistic = float(
        np.sum((b - expected_b) ** 2 / expected_b + (c - expected_c) ** 2 / expected_c)
    )
    p_value = chi2_sf(statistic, dof)
    return ChiSquareResult(statistic, p_value, dof, math.sqrt(statistic / total))


def exceedance_p_value(exceeding: float, n_current: float, n_baseline: float) -> float:
    """P(K >= k) for K, the number of current values beyond the baseline's range on one side
    (above its maximum, or below its minimum), when both windows come from one distribution.

    K >= k means the k most extreme of the B + Q pooled values all come from the current
    window; with every order of the pooled values equally likely that has probability
    prod_{i<k} (Q - i) / (B + Q - i) (k = 1: Q / (B + Q)). Exact for continuous data and
    conservative with ties (a tie with the baseline's extreme is not beyond it). Counts
    are rounded (a compressed profile's weights).
    """
    k, q, b = round(exceeding), round(n_current), round(n_baseline)
    if q <= 0 or b <= 0:
        raise ValueError("sample sizes must be positive")
    if k <= 0:
        return 1.0
    k = min(k, q)
    log_p = (
        math.lgamma(q + 1)
        - math.lgamma(q - k + 1)
        - math.lgamma(b + q + 1)
        + math.lgamma(b + q - k + 1)
    )
    return math.exp(log_p)


def cramers_v_corrected(result: ChiSquareResult, total: float) -> float:
    """Cramér's V with the null mean (dof) subtracted from X² first, clipped at 0."""
    if total <= 0:
        raise ValueError("total must be positive")
    return math.sqrt(max(0.0, result.statistic - result.dof) / total)
