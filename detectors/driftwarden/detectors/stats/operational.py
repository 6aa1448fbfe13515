"""Operational health from the inference log: latency percentiles and error rate.

NaN policy: missing latencies (NaN) and missing error flags (NaN / None) are dropped and
counted (`n_missing_*`); they are neither fast nor failed requests. Negative or infinite
latencies, and error flags other than 0/1/True/False, raise ValueError: they are broken
input, not a slow model.

Default levels:

| check | warning | critical | gate |
|---|---|---|---|
| latency percentile, current / baseline - 1 | +20% | +50% | >= 10 values above it, per window |
| error rate, current - baseline | +0.01 | +0.05 | two-proportion p < alpha (0.05) |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats.missing import missing_mask
from driftwarden.detectors.stats.proportions import two_proportion_test
from driftwarden.detectors.stats.severity import Severity, severity_from_levels

DEFAULT_PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)
DEFAULT_LATENCY_WARNING = 0.2
DEFAULT_LATENCY_CRITICAL = 0.5
#: A percentile is judged only when at least this many observations lie above it in each
#: window; p99 of 300 requests rests on 3 values and is reported, not alarmed on.
MIN_TAIL_COUNT = 10
DEFAULT_ERROR_WARNING = 0.01
DEFAULT_ERROR_CRITICAL = 0.05
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class PercentileChange:
    """One latency percentile. `relative_change` = current / baseline - 1 (None when the
    baseline percentile is 0 and the current is not); `reason` says why a severity was
    not judged."""

    percentile: float
    baseline: float
    current: float
    relative_change: float | None
    severity: Severity
    reason: str | None = None


@dataclass(frozen=True)
class LatencyChange:
    """Latency percentiles baseline vs current; `severity` is the worst percentile's.
    Empty `percentiles` (with `reason`) when a window has no latency."""

    percentiles: tuple[PercentileChange, ...]
    n_baseline: int
    n_current: int
    n_missing_baseline: int
    n_missing_current: int
    severity: Severity
    reason: str | None = None


@dataclass(frozen=True)
class ErrorRateChange:
    """Error rate (failed / requests with a flag) baseline vs current, two-sided
    two-proportion test (`stats.proportions`), severity on the absolute rise."""

    baseline_rate: float
    current_rate: float
    change: float
    p_value: float
    method: str
    n_baseline: int
    n_current: int
    n_missing_baseline: int
    n_missing_current: int
    severity: Severity


def _latencies(name: str, values: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], int]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    try:
        x = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric latencies: {exc}") from exc
    missing = np.isnan(x)
    x = x[~missing]
    if np.isinf(x).any() or (x < 0).any():
        raise ValueError(f"{name} has negative or infinite latencies")
    return x, int(np.count_nonzero(missing))


def latency_change(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    warning: float = DEFAULT_LATENCY_WARNING,
    critical: float = DEFAULT_LATENCY_CRITICAL,
    min_tail_count: int = MIN_TAIL_COUNT,
) -> LatencyChange:
    """Latency percentiles of both windows (numpy's default linear interpolation, i.e.
    Hyndman & Fan 1996 definition 7, as `numpy.percentile`) and their relative change
    r = q_c / q_b - 1.

    Severity per percentile: severity_from_levels(r, warning, critical), judged only when
    n * (1 - q / 100) >= `min_tail_count` in both windows; otherwise none with a reason.
    A fall in latency never alarms. Raises ValueError naming the argument for bad input
    (see the module's NaN policy), percentiles outside [0, 100] or warning > critical.
    """
    if not percentiles:
        raise ValueError("percentiles must not be empty")
    if any(not 0.0 <= q <= 100.0 for q in percentiles):
        raise ValueError(f"percentiles must be in [0, 100], got {list(percentiles)}")
    if not 0.0 <= warning <= critical:
        raise ValueError(f"need 0 <= warning <= critical, got {warning}, {critical}")
    b, miss_b = _latencies("baseline", baseline)
    c, miss_c = _latencies("current", current)
    if b.size == 0 or c.size == 0:
        side = "baseline" if b.size == 0 else "current"
        return LatencyChange(
            (), int(b.size), int(c.size), miss_b, miss_c, Severity.NONE,
            f"no latency in the {side} window",
        )  # fmt: skip
    qs = np.asarray(percentiles, dtype=np.float64)
    qb = np.percentile(b, qs)
    qc = np.percentile(c, qs)
    changes = []
    for q, vb, vc in zip(qs.tolist(), qb.tolist(), qc.tolist(), strict=True):
        rel: float | None = vc / vb - 1.0 if vb != 0.0 else (0.0 if vc == 0.0 else None)
        tail = min(b.size, c.size) * (1.0 - q / 100.0)
        if rel is None:
            changes.append(
                PercentileChange(q, vb, vc, None, Severity.NONE, "baseline percentile is 0")
            )
        elif tail < min_tail_count:
            why = f"fewer than {min_tail_count} observations above p{q:g}"
            changes.append(PercentileChange(q, vb, vc, rel, Severity.NONE, why))
        else:
            changes.append(
                PercentileChange(q, vb, vc, rel, severity_from_levels(rel, warning, critical))
            )
    return LatencyChange(
        tuple(changes), int(b.size), int(c.size), miss_b, miss_c,
        Severity.worst(ch.severity for ch in changes),
    )  # fmt: skip


def _error_flags(name: str, values: npt.ArrayLike) -> tuple[int, int, int]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    missing = missing_mask(arr)
    present: npt.NDArray[Any] = arr[~missing]
    if present.dtype.kind == "b":
        flags = present
    else:
        try:
            numeric = present.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must hold 0/1 or booleans: {exc}") from exc
        if not np.isin(numeric, (0.0, 1.0)).all():
            raise ValueError(f"{name} must hold 0/1 or booleans")
        flags = numeric == 1.0
    return int(np.count_nonzero(flags)), int(present.size), int(np.count_nonzero(missing))


def error_rate_change(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    warning: float = DEFAULT_ERROR_WARNING,
    critical: float = DEFAULT_ERROR_CRITICAL,
    alpha: float = DEFAULT_ALPHA,
) -> ErrorRateChange:
    """Error rate e = failed / n of each window and the two-sided two-proportion test
    (z-test; Fisher's exact test when an expected count is below 5).

    Severity: severity_from_levels(e_c - e_b, warning, critical) when p < alpha, else none
    (a small window's one extra failure is not an incident). Raises ValueError naming the
    argument when flags are not 0/1/booleans or a window has no flag.
    """
    if not 0.0 <= warning <= critical <= 1.0:
        raise ValueError(f"need 0 <= warning <= critical <= 1, got {warning}, {critical}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    xb, nb, miss_b = _error_flags("baseline", baseline)
    xc, nc, miss_c = _error_flags("current", current)
    for name, n in (("baseline", nb), ("current", nc)):
        if n == 0:
            raise ValueError(f"{name} has no error flag (empty or all missing)")
    test = two_proportion_test(xb, nb, xc, nc)
    severity = Severity.NONE
    if test.p_value < alpha:
        severity = severity_from_levels(test.difference, warning, critical)
    return ErrorRateChange(
        test.baseline_rate, test.current_rate, test.difference, test.p_value, test.method,
        nb, nc, miss_b, miss_c, severity,
    )  # fmt: skip
