"""Per-column data quality, baseline window against current window.

Checks: missing rate (with a two-proportion test), share of current values outside the
baseline's [min, max] (numeric), new and vanished categories (categorical), and type errors
(values in a numeric column that are not numbers).

NaN policy: "missing" is `stats.missing.missing_mask` (None, NaN, NaT, pandas NA). Missing
values count towards the missing rate and are excluded from every other check's
denominator. Type errors count non-missing values that do not parse as a number.

Default levels (`QualityLevels`; every one is a parameter):

| check | warning | critical | gate |
|---|---|---|---|
| missing-rate increase (current - baseline) | 0.05 | 0.20 | two-proportion p < alpha 0.05 |
| share of current values outside the baseline range | 0.01 | 0.05 | — |
| share of current values in new categories | 0.01 | 0.05 | — |
| baseline share of categories that vanished | 0.01 | 0.05 | — |
| share of type errors among non-missing values | any (> 0) | 0.01 | — |

A decrease of the missing rate never alarms. The levels compare with `>=` (a share exactly
at a level reaches it), except type errors' warning, which needs at least one error.

Chance allowance (issue 11, section 6). Values outside the baseline's range and categories
unseen in it occur by chance in small windows: two 200-row windows from one N(0, 1) put on
average 2/201 = 1% of the current values outside the baseline's range, today's warning
level. So the `*_from_counts` functions take `chance_alpha`: given, a share alarms only when
it is also improbable under "nothing changed" (p < chance_alpha):

- out of range: under exchangeability, K = the number of current values below the
  baseline's minimum or above its maximum has the exact tail (n_b baseline, n_c current,
  N = n_b + n_c; `out_of_range_p_value`)
      P(K >= k) = C(N - k - 1, n_b - 1) / C(N, n_b) * (N + (n_b - 1) k) / n_b,
  from P(X = x, Y = y) = C(N - x - y - 2, n_b - 2) / C(N, n_b) for the x current values
  below the baseline's smallest and y above its largest, summed with the hockey-stick
  identity. Ties with the baseline's extremes only lower K, so the test is conservative.
- new categories: the share of the current window in categories the baseline never saw,
  against Binomial(n_c, p0) with p0 = (f1 + 1) / (n_b + 1), the Good–Turing estimate of
  the unseen mass (f1: baseline categories seen once), one added for safety
  (`unseen_mass_p_value`);
- vanished categories: X = the baseline's values in categories absent from the current
  window. With each baseline category's share p_c and count x_c, a category is absent from
  n_c draws with chance q_c = (1 - p_c)^n_c, so X has mean sum x_c q_c and, the absences
  being negatively associated, variance at most sum x_c^2 q_c (1 - q_c); the p-value is
  Cantelli's one-sided bound var / (var + (X - mean)^2) (`vanished_mass_p_value`).

The report's quality section corrects for the number of columns: it passes
chance_alpha = alpha / (number of gated checks) and gates the missing-rate test at the
same level (Bonferroni). Measured in benchmarks/bench_quality.py against today's rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import special

from driftwarden.detectors.stats.proportions import two_proportion_test
from driftwarden.detectors.stats.severity import Severity, severity_from_levels

#: How many new / vanished categories are listed by name (largest share first).
MAX_LISTED_CATEGORIES = 20


@dataclass(frozen=True)
class QualityLevels:
    """Warning and critical levels of the quality checks (see the module docstring)."""

    missing_warning: float = 0.05
    missing_critical: float = 0.20
    alpha: float = 0.05
    out_of_range_warning: float = 0.01
    out_of_range_critical: float = 0.05
    new_category_warning: float = 0.01
    new_category_critical: float = 0.05
    vanished_category_warning: float = 0.01
    vanished_category_critical: float = 0.05
    type_error_warning: float = 0.0
    type_error_critical: float = 0.01

    def __post_init__(self) -> None:
        pairs = (
            ("missing", self.missing_warning, self.missing_critical),
            ("out_of_range", self.out_of_range_warning, self.out_of_range_critical),
            ("new_category", self.new_category_warning, self.new_category_critical),
            (
                "vanished_category",
                self.vanished_category_warning,
                self.vanished_category_critical,
            ),
            ("type_error", self.type_error_warning, self.type_error_critical),
        )
        for name, warning, critical in pairs:
            if not 0.0 <= warning <= critical <= 1.0:
                raise ValueError(
                    f"{name}_warning ({warning}) and {name}_critical ({critical}) must "
                    "satisfy 0 <= warning <= critical <= 1"
                )
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")


DEFAULT_LEVELS = QualityLevels()


@dataclass(frozen=True)
class MissingRateChange:
    """Missing rate of one column. `change` = current - baseline (rate units; 0.05 is five
    percentage points). Severity per `QualityLevels`, gated by p < alpha."""

    baseline_rate: float
    current_rate: float
    change: float
    p_value: float
    method: str
    n_baseline: int
    n_current: int
    severity: Severity


@dataclass(frozen=True)
class OutOfRange:
    """Share of the current non-missing values below the baseline's minimum or above its
    maximum. None (with `reason`) when either window has no non-missing value."""

    baseline_min: float | None
    baseline_max: float | None
    share_below: float | None
    share_above: float | None
    share: float | None
    n_current: int
    severity: Severity
    reason: str | None = None
    p_value: float | None = None  # chance of this many outside when nothing changed


@dataclass(frozen=True)
class CategoryShare:
    category: str
    share: float
    count: int


@dataclass(frozen=True)
class CategoryChanges:
    """Categories of the current window unseen in the baseline (`new`, with their share of
    the current window's non-missing values) and baseline categories absent from the
    current window (`vanished`, with their baseline share). At most 20 of each are listed
    by name, largest first; the counts and total shares cover all of them."""

    new: tuple[CategoryShare, ...]
    vanished: tuple[CategoryShare, ...]
    n_new: int
    n_vanished: int
    new_share: float
    vanished_share: float
    n_baseline: int
    n_current: int
    severity: Severity
    new_p_value: float | None = None  # chance of this much unseen mass when nothing changed
    vanished_p_value: float | None = None


@dataclass(frozen=True)
class TypeErrors:
    """Non-missing values of a numeric column that are not numbers. `examples` lists up to
    three distinct offending values (as text) in file order (`detect` reads them)."""

    count: int
    share: float | None
    n_values: int
    examples: tuple[str, ...]
    severity: Severity


@dataclass(frozen=True)
class ColumnQuality:
    """Every applicable check of one column and their worst severity."""

    column: str
    kind: Literal["numeric", "categorical"]
    missing: MissingRateChange
    out_of_range: OutOfRange | None = None
    categories: CategoryChanges | None = None
    type_errors: TypeErrors | None = None
    severity: Severity = field(default=Severity.NONE)


def missing_rate_from_counts(
    missing_baseline: int,
    rows_baseline: int,
    missing_current: int,
    rows_current: int,
    *,
    levels: QualityLevels = DEFAULT_LEVELS,
) -> MissingRateChange:
    """Missing rate r = (#missing) / n of each window, its change r_c - r_b, and the
    two-sided two-proportion test of equal rates (z-test, Fisher's exact test for small
    counts; `stats.proportions.two_proportion_test`), from the counts a window profile keeps.

    Severity: severity_from_levels(r_c - r_b, missing_warning, missing_critical) when
    p < alpha, else none. Raises ValueError naming the window when it is empty or its
    missing count is outside [0, n].
    """
    for name, x, n in (
        ("baseline", missing_baseline, rows_baseline),
        ("current", missing_current, rows_current),
    ):
        if n <= 0:
            raise ValueError(f"{name} is empty")
        if not 0 <= x <= n:
            raise ValueError(f"{name} missing count {x} is outside [0, {n}]")
    xb, nb, xc, nc = missing_baseline, rows_baseline, missing_current, rows_current
    test = two_proportion_test(xb, nb, xc, nc)
    severity = Severity.NONE
    if test.p_value < levels.alpha:
        severity = severity_from_levels(
            test.difference, levels.missing_warning, levels.missing_critical
        )
    return MissingRateChange(
        test.baseline_rate, test.current_rate, test.difference, test.p_value, test.method,
        nb, nc, severity,
    )  # fmt: skip


def out_of_range_p_value(n_baseline: int, n_current: int, outside: int) -> float:
    """P(K >= outside) for K, the number of n_current values outside the range of
    n_baseline values when all are exchangeable (see the module docstring):
    C(N-k-1, n_b-1) / C(N, n_b) * (N + (n_b-1) k) / n_b with N = n_b + n_c, k = outside.
    Hand check: n_b = 2, n_c = 1: P(K >= 1) = C(1, 1) / C(3, 2) * (3 + 1) / 2 = 2/3 (the
    current value is outside unless it lands between the two baseline values)."""
    if n_baseline < 1 or n_current < 0 or outside < 0:
        raise ValueError(
            f"n_baseline ({n_baseline}) must be >= 1 and n_current ({n_current}), "
            f"outside ({outside}) >= 0"
        )
    k = min(outside, n_current)
    if k <= 0:
        return 1.0
    if outside > n_current:
        return 0.0
    nb, n = n_baseline, n_baseline + n_current

    def log_choose(a: int, b: int) -> float:
        return float(special.gammaln(a + 1) - special.gammaln(b + 1) - special.gammaln(a - b + 1))

    log_p = (
        log_choose(n - k - 1, nb - 1)
        - log_choose(n, nb)
        + math.log(n + (nb - 1) * k)
        - math.log(nb)
    )
    return float(min(1.0, math.exp(log_p)))


def unseen_mass_p_value(reference: Mapping[Any, float], window: int, unseen: float) -> float:
    """P(X >= unseen) for X ~ Binomial(window, p0), p0 = (f1 + 1) / (n + 1): the chance that
    `window` new draws put this many into categories the reference (category -> count,
    n values) never saw, with the Good–Turing estimate of the unseen mass (f1: categories
    seen once) plus one for safety."""
    n = sum(reference.values())
    if window <= 0 or unseen <= 0:
        return 1.0
    singletons = sum(1 for count in reference.values() if round(count) == 1)
    p0 = min(1.0, (singletons + 1) / (n + 1))
    # Imported here: scipy.stats' namespace costs about 0.5 s of import, and a run reaches
    # this line only when a category is new in the current window.
    from scipy import stats

    return float(stats.binom.sf(math.ceil(unseen) - 1, window, p0))


def vanished_mass_p_value(baseline: Mapping[Any, float], n_current: int, vanished: float) -> float:
    """Cantelli's upper bound on P(X >= vanished), X the baseline's values in categories
    that n_current draws from the baseline's distribution all miss (module docstring)."""
    n = sum(baseline.values())
    if n <= 0 or n_current <= 0 or vanished <= 0:
        return 1.0
    counts = np.fromiter(baseline.values(), dtype=np.float64)
    # (1 - share)^n_current, the chance that every draw misses the category; a category
    # holding the whole baseline has log1p(-1) = -inf and so a chance of exactly 0.
    with np.errstate(divide="ignore"):
        absent = np.exp(n_current * np.log1p(-np.minimum(counts / n, 1.0)))
    mean = float(np.dot(counts, absent))
    variance = float(np.dot(counts * counts, absent * (1.0 - absent)))
    excess = vanished - mean
    if excess <= 0:
        return 1.0
    return variance / (variance + excess * excess)


def out_of_range_from_counts(
    baseline_min: float,
    baseline_max: float,
    below: float,
    above: float,
    n_current: int,
    *,
    levels: QualityLevels = DEFAULT_LEVELS,
    n_baseline: int | None = None,
    chance_alpha: float | None = None,
) -> OutOfRange:
    """Share of the current window's non-missing numeric values x with x < baseline_min
    (`below`) or x > baseline_max (`above`), over `n_current` such values. Unparseable
    values are type errors, not counted here; infinite values count as outside unless
    the baseline has them (a profile's min/max include them).

    Severity: severity_from_levels(share, out_of_range_warning, out_of_range_critical).
    With `n_baseline` and `chance_alpha`, the share alarms only when also
    `out_of_range_p_value(...) < chance_alpha` (the chance allowance)."""
    if n_current <= 0:
        return OutOfRange(
            baseline_min, baseline_max, None, None, None, 0, Severity.NONE,
            "no non-missing numeric value in the current window",
        )  # fmt: skip
    share_below = float(below / n_current)
    share_above = float(above / n_current)
    share = share_below + share_above
    severity = severity_from_levels(
        share, levels.out_of_range_warning, levels.out_of_range_critical
    )
    p_value = None
    if n_baseline is not None and n_baseline > 0:
        p_value = out_of_range_p_value(n_baseline, int(n_current), round(below + above))
        if chance_alpha is not None and p_value >= chance_alpha:
            severity = Severity.NONE
    return OutOfRange(
        baseline_min, baseline_max, share_below, share_above, share, int(n_current), severity,
        None, p_value,
    )  # fmt: skip


def category_changes_from_counts(
    baseline: Mapping[Any, float],
    current: Mapping[Any, float],
    *,
    levels: QualityLevels = DEFAULT_LEVELS,
    chance_alpha: float | None = None,
) -> CategoryChanges:
    """New categories (in current, not in baseline) with their share of the current
    non-missing values, and vanished ones (in baseline, not in current) with their baseline
    share, from category -> count mappings (what a window profile keeps). Categories are
    compared by value.

    Severity: the worse of severity_from_levels(new_share, new_category_warning,
    new_category_critical) and severity_from_levels(vanished_share, vanished_*); a window
    with no non-missing value has shares 0.

    With `chance_alpha`, new (vanished) categories alarm only when also
    `unseen_mass_p_value` (`vanished_mass_p_value`) < chance_alpha (the chance allowance).
    """
    b, c = baseline, current
    nb = round(sum(b.values()))
    nc = round(sum(c.values()))
    new = {k: v for k, v in c.items() if k not in b}
    gone = {k: v for k, v in b.items() if k not in c}

    def listed(counts: Mapping[Any, float], n: int) -> tuple[CategoryShare, ...]:
        top = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return tuple(CategoryShare(str(k), v / n, int(v)) for k, v in top[:MAX_LISTED_CATEGORIES])

    new_share = sum(new.values()) / nc if nc else 0.0
    gone_share = sum(gone.values()) / nb if nb else 0.0
    new_severity = severity_from_levels(
        new_share, levels.new_category_warning, levels.new_category_critical
    )
    gone_severity = severity_from_levels(
        gone_share, levels.vanished_category_warning, levels.vanished_category_critical
    )
    new_p = gone_p = None
    if chance_alpha is not None:
        new_p = unseen_mass_p_value(b, nc, sum(new.values()))
        gone_p = vanished_mass_p_value(b, nc, sum(gone.values()))
        if new_p >= chance_alpha:
            new_severity = Severity.NONE
        if gone_p >= chance_alpha:
            gone_severity = Severity.NONE
    severity = Severity.worst([new_severity, gone_severity])
    return CategoryChanges(
        new=listed(new, nc) if nc else (),
        vanished=listed(gone, nb) if nb else (),
        n_new=len(new),
        n_vanished=len(gone),
        new_share=float(new_share),
        vanished_share=float(gone_share),
        n_baseline=nb,
        n_current=nc,
        severity=severity,
        new_p_value=new_p,
        vanished_p_value=gone_p,
    )


def type_errors_from_counts(
    count: int,
    n_values: int,
    *,
    examples: tuple[str, ...] = (),
    levels: QualityLevels = DEFAULT_LEVELS,
) -> TypeErrors:
    """Type errors: `count` values of a numeric column that do not parse as a number among
    its `n_values` non-missing ones (what a window profile counts while reading).

    share = count / n_values; None when there are none. Severity: critical when share >=
    type_error_critical, warning when count >= 1 and share >= type_error_warning, else none.
    Raises ValueError when count is outside [0, n_values].
    """
    if not 0 <= count <= n_values:
        raise ValueError(f"count {count} is outside [0, n_values={n_values}]")
    bad, n = count, n_values
    share = bad / n if n else None
    severity = Severity.NONE
    if share is not None and bad > 0:
        if share >= levels.type_error_critical:
            severity = Severity.CRITICAL
        elif share >= levels.type_error_warning:
            severity = Severity.WARNING
    return TypeErrors(bad, share, n, examples, severity)
