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
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats.missing import missing_mask
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


@dataclass(frozen=True)
class TypeErrors:
    """Non-missing values of a numeric column that are not numbers. `examples` lists up to
    five distinct offending values (as text), most frequent first."""

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


def _as_1d(name: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def missing_rate_change(
    baseline: npt.ArrayLike, current: npt.ArrayLike, *, levels: QualityLevels = DEFAULT_LEVELS
) -> MissingRateChange:
    """Missing rate r = (#missing) / n of each window, its change r_c - r_b, and the
    two-sided two-proportion test of equal rates (z-test, Fisher's exact test for small
    counts; `stats.proportions.two_proportion_test`).

    Severity: severity_from_levels(r_c - r_b, missing_warning, missing_critical) when
    p < alpha, else none. Raises ValueError naming the argument when a window is empty.
    """
    counts = []
    for name, values in (("baseline", baseline), ("current", current)):
        arr = _as_1d(name, values)
        if arr.size == 0:
            raise ValueError(f"{name} is empty")
        counts.append((int(np.count_nonzero(missing_mask(arr))), int(arr.size)))
    (xb, nb), (xc, nc) = counts
    return missing_rate_from_counts(xb, nb, xc, nc, levels=levels)


def missing_rate_from_counts(
    missing_baseline: int,
    rows_baseline: int,
    missing_current: int,
    rows_current: int,
    *,
    levels: QualityLevels = DEFAULT_LEVELS,
) -> MissingRateChange:
    """`missing_rate_change` from counts (what a window profile keeps)."""
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


def _numeric(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Non-missing values as floats; unparseable values are dropped (see `type_errors`)."""
    arr = _as_1d(name, values)
    fast = _as_float(arr)
    if fast is not None:
        return fast[~np.isnan(fast)]
    parsed = [_parse_number(v) for v in arr[~missing_mask(arr)].tolist()]
    return np.array([v for v in parsed if v is not None and not math.isnan(v)], dtype=np.float64)


def out_of_range(
    baseline: npt.ArrayLike, current: npt.ArrayLike, *, levels: QualityLevels = DEFAULT_LEVELS
) -> OutOfRange:
    """Share of current values x with x < min(baseline) or x > max(baseline), over the
    current window's non-missing numeric values (unparseable values are type errors, not
    counted here). Infinite values count as out of range unless the baseline has them.

    Severity: severity_from_levels(share, out_of_range_warning, out_of_range_critical).
    Note the baseline's own range covers all of its values, so a small baseline window
    makes out-of-range values more likely: compare windows of adequate size.
    """
    b = _numeric("baseline", baseline)
    c = _numeric("current", current)
    if b.size == 0 or c.size == 0:
        side = "baseline" if b.size == 0 else "current"
        return OutOfRange(
            None, None, None, None, None, int(c.size), Severity.NONE,
            f"no non-missing numeric value in the {side} window",
        )  # fmt: skip
    lo, hi = float(b.min()), float(b.max())
    return out_of_range_from_counts(
        lo,
        hi,
        int(np.count_nonzero(c < lo)),
        int(np.count_nonzero(c > hi)),
        int(c.size),
        levels=levels,
    )


def out_of_range_from_counts(
    baseline_min: float,
    baseline_max: float,
    below: float,
    above: float,
    n_current: int,
    *,
    levels: QualityLevels = DEFAULT_LEVELS,
) -> OutOfRange:
    """`out_of_range` from the baseline's range and the current counts outside it."""
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
    return OutOfRange(
        baseline_min, baseline_max, share_below, share_above, share, int(n_current), severity
    )


def _category_counts(name: str, values: npt.ArrayLike) -> tuple[Counter[Hashable], int]:
    arr = _as_1d(name, values)
    arr = arr[~missing_mask(arr)]
    if arr.dtype.kind in "biuUS":
        uniq, cnt = np.unique(arr, return_counts=True)
        return Counter(dict(zip(uniq.tolist(), cnt.tolist(), strict=True))), int(arr.size)
    return Counter(arr.tolist()), int(arr.size)


def category_changes(
    baseline: npt.ArrayLike, current: npt.ArrayLike, *, levels: QualityLevels = DEFAULT_LEVELS
) -> CategoryChanges:
    """New categories (in current, not in baseline) with their share of the current
    non-missing values, and vanished ones (in baseline, not in current) with their baseline
    share. Categories are compared by value (so 1 and "1" differ; cast first if needed).

    Severity: the worse of severity_from_levels(new_share, new_category_warning,
    new_category_critical) and severity_from_levels(vanished_share, vanished_*); a window
    with no non-missing value has shares 0.
    """
    b, _ = _category_counts("baseline", baseline)
    c, _ = _category_counts("current", current)
    return category_changes_from_counts(b, c, levels=levels)


def category_changes_from_counts(
    baseline: Mapping[Any, float],
    current: Mapping[Any, float],
    *,
    levels: QualityLevels = DEFAULT_LEVELS,
) -> CategoryChanges:
    """`category_changes` from category -> count mappings (what a window profile keeps)."""
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
    severity = Severity.worst(
        [
            severity_from_levels(
                new_share, levels.new_category_warning, levels.new_category_critical
            ),
            severity_from_levels(
                gone_share, levels.vanished_category_warning, levels.vanished_category_critical
            ),
        ]
    )
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
    )


def _as_float(arr: npt.NDArray[Any]) -> npt.NDArray[np.float64] | None:
    """The whole array as float64 in one vectorised cast, or None when some value does not
    convert (then the caller checks value by value). numpy's cast agrees with
    `_parse_number`: None becomes NaN (missing), strings go through `float()`."""
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    if arr.dtype.kind not in "OUS":
        return None
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        return None


def _parse_number(value: Any) -> float | None:
    """The value as a float, or None when it is not a number. Numbers (bool included, as
    0/1) pass; strings pass when `float()` parses them after stripping whitespace
    ("1e3", " 2.5 ", "nan" and "inf" parse; "", "1,5", "abc" do not)."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str | bytes):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def type_errors(values: npt.ArrayLike, *, levels: QualityLevels = DEFAULT_LEVELS) -> TypeErrors:
    """Count the non-missing values of a numeric column that are not numbers (see
    `_parse_number` for what parses). When the whole array casts to float in one
    vectorised step there is none; otherwise values are checked one by one (once per
    distinct value).

    share = count / (non-missing values); None when there are none. Severity: critical
    when share >= type_error_critical, warning when count >= 1 and share >=
    type_error_warning, else none.
    """
    arr = _as_1d("values", values)
    if _as_float(arr) is not None:  # every value converts: no type error
        n = int(arr.size - np.count_nonzero(missing_mask(arr)))
        return TypeErrors(0, 0.0 if n else None, n, (), Severity.NONE)
    present = arr[~missing_mask(arr)]
    n = int(present.size)
    verdict: dict[Any, bool] = {}
    bad_counts: Counter[str] = Counter()
    for v in present.tolist():
        try:
            ok = verdict[v]
        except KeyError:
            ok = verdict[v] = _parse_number(v) is not None
        except TypeError:  # unhashable (a list in a cell): never a number
            ok = False
        if not ok:
            bad_counts[str(v)] += 1
    bad = sum(bad_counts.values())
    # The most frequent offenders first (ties by text): independent of row order.
    ranked = sorted(bad_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    examples = [text for text, _ in ranked[:5]]
    return type_errors_from_counts(bad, n, examples=tuple(examples), levels=levels)


def type_errors_from_counts(
    count: int,
    n_values: int,
    *,
    examples: tuple[str, ...] = (),
    levels: QualityLevels = DEFAULT_LEVELS,
) -> TypeErrors:
    """`type_errors` from a count of unparseable values among n_values non-missing ones."""
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


def column_quality(
    column: str,
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    kind: Literal["numeric", "categorical"],
    levels: QualityLevels = DEFAULT_LEVELS,
) -> ColumnQuality:
    """All checks that apply to one column: missing rate always; out-of-range and type
    errors (of the current window) for numeric columns; new/vanished categories for
    categorical ones. Pass the raw values (an object array is fine): type errors are only
    visible before the column is cast to float. `severity` is the worst of the checks.
    """
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"kind must be 'numeric' or 'categorical', got {kind!r}")
    missing = missing_rate_change(baseline, current, levels=levels)
    if kind == "numeric":
        rng = out_of_range(baseline, current, levels=levels)
        errors = type_errors(current, levels=levels)
        severity = Severity.worst([missing.severity, rng.severity, errors.severity])
        return ColumnQuality(
            column, kind, missing, out_of_range=rng, type_errors=errors, severity=severity
        )
    cats = category_changes(baseline, current, levels=levels)
    severity = Severity.worst([missing.severity, cats.severity])
    return ColumnQuality(column, kind, missing, categories=cats, severity=severity)
