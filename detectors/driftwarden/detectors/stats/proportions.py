"""Two-sample test of a proportion (a rate of events out of trials).

Shared by the positive-rate change of classifiers, missing rates and error rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from driftwarden.detectors.stats.tails import normal_sf

#: Below this expected count in any cell of the 2×2 table the normal approximation is poor
#: (Cochran's rule) and Fisher's exact test is used instead.
MIN_EXPECTED_COUNT = 5.0

Z_TEST = "two-proportion z-test"
FISHER = "fisher exact"


@dataclass(frozen=True)
class ProportionTest:
    """Two-sided test of H0: both windows have the same rate.

    `statistic` is the pooled z score (current minus baseline) for the z-test and the
    sample odds ratio (current vs baseline; may be inf or 0) for Fisher's test.
    """

    baseline_rate: float
    current_rate: float
    difference: float
    statistic: float
    p_value: float
    method: str
    n_baseline: int
    n_current: int


def two_proportion_test(
    baseline_events: int, n_baseline: int, current_events: int, n_current: int
) -> ProportionTest:
    """Compare the rate `events / n` of two windows.

    Pooled two-proportion z-test (Agresti, *Categorical Data Analysis*, 3rd ed., §2.1.3)::

        p = (x_b + x_c) / (n_b + n_c)
        z = (x_c / n_c - x_b / n_b) / sqrt(p (1 - p) (1 / n_b + 1 / n_c))
        p_value = 2 (1 - Phi(|z|))

    When the smallest expected cell count of the 2×2 table is below 5, Fisher's exact test
    (`scipy.stats.fisher_exact`, two-sided) is used instead. When both windows have no event
    (or only events) the rates are equal by construction: statistic 0, p-value 1.

    Raises ValueError naming the argument when a count is negative, a window is empty, or
    events exceed the window's size.
    """
    for name, events, n in (
        ("baseline", baseline_events, n_baseline),
        ("current", current_events, n_current),
    ):
        if n <= 0:
            raise ValueError(f"n_{name} must be positive, got {n}")
        if events < 0 or events > n:
            raise ValueError(f"{name}_events must be in [0, n_{name}={n}], got {events}")
    rate_b = baseline_events / n_baseline
    rate_c = current_events / n_current
    diff = rate_c - rate_b
    total = baseline_events + current_events
    n_total = n_baseline + n_current
    pooled = total / n_total
    if total in (0, n_total):
        return ProportionTest(rate_b, rate_c, diff, 0.0, 1.0, Z_TEST, n_baseline, n_current)
    expected_min = min(n_baseline, n_current) * min(pooled, 1.0 - pooled)
    if expected_min < MIN_EXPECTED_COUNT:
        table = [
            [current_events, n_current - current_events],
            [baseline_events, n_baseline - baseline_events],
        ]
        # Here, not at the top: `scipy.stats` costs about 1 s of a command's start-up.
        from scipy import stats

        result = stats.fisher_exact(table, alternative="two-sided")
        return ProportionTest(
            rate_b,
            rate_c,
            diff,
            float(result.statistic),
            min(1.0, float(result.pvalue)),
            FISHER,
            n_baseline,
            n_current,
        )
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_baseline + 1.0 / n_current))
    z = diff / se
    p_value = 2.0 * normal_sf(abs(z))
    return ProportionTest(rate_b, rate_c, diff, z, p_value, Z_TEST, n_baseline, n_current)
