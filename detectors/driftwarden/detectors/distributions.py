"""Baseline and current distributions of one feature, from the two windows' profiles: what
the HTML report draws as an overlay, and what the Job stores per feature
(`feature_distributions`) so that a stored run's page draws the same overlay.

Numeric: the counts of both windows on the baseline's quantile bins (`stats.binning`, the
bins PSI and JS use), so the plot shows what those statistics measured; with k bins the
baseline's shares are about 1/k each and a drifted current window stands out against them.
Categorical: the share of each category in both windows, the most common `max_categories`
by the larger share and the rest summed as one bar; categories only in the current window
are new, only in the baseline vanished. Never reads a raw window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.profile import CategoricalProfile, NumericProfile, WindowProfile
from driftwarden.detectors.report import Report
from driftwarden.detectors.stats.binning import quantile_edges, sorted_bin_counts

NUMERIC = "numeric"
CATEGORICAL = "categorical"

#: Categories drawn per feature; the rest are summed into one "other" bar.
MAX_CATEGORIES = 20
OTHER = "(other categories)"


@dataclass(frozen=True)
class Overlay:
    """Shares of the baseline and the current window over the same bins or categories."""

    kind: str  # NUMERIC | CATEGORICAL
    labels: tuple[str, ...]
    baseline: tuple[float, ...]  # shares, summing to 1 (0 when the window had no values)
    current: tuple[float, ...]
    new: frozenset[str] = frozenset()
    vanished: frozenset[str] = frozenset()
    n_baseline: float = 0.0
    n_current: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in `feature_distributions.distribution`."""
        return {
            "labels": list(self.labels),
            "baseline": list(self.baseline),
            "current": list(self.current),
            "new": sorted(self.new),
            "vanished": sorted(self.vanished),
            "n_baseline": self.n_baseline,
            "n_current": self.n_current,
        }

    @classmethod
    def from_dict(cls, kind: str, data: Mapping[str, Any]) -> Overlay:
        """An overlay read back from the history database (untrusted rows).

        Raises:
            ValueError: the kind is unknown, or the shape is not what `to_dict` writes (lists
                of the same length, finite shares in [0, 1], label strings).
        """
        if kind not in (NUMERIC, CATEGORICAL):
            raise ValueError(f"unknown distribution kind {kind!r}")
        labels = _strings(data.get("labels"), "labels")
        baseline = _shares_of(data.get("baseline"), "baseline")
        current = _shares_of(data.get("current"), "current")
        if not (len(labels) == len(baseline) == len(current)):
            raise ValueError("labels, baseline and current differ in length")
        return cls(
            kind=kind,
            labels=labels,
            baseline=baseline,
            current=current,
            new=frozenset(_strings(data.get("new", []), "new")),
            vanished=frozenset(_strings(data.get("vanished", []), "vanished")),
            n_baseline=_count(data.get("n_baseline", 0.0), "n_baseline"),
            n_current=_count(data.get("n_current", 0.0), "n_current"),
        )


def run_overlays(
    report: Report, spec: DetectionSpec, baseline: WindowProfile, current: WindowProfile
) -> dict[str, Overlay]:
    """The overlays of one comparison: each compared feature and the prediction column, on
    the bins the engine's statistics used."""
    names = [f.name for f in report.features]
    if spec.prediction is not None:
        names.append(spec.prediction.column)
    return overlays(baseline, current, names, bins=spec.decision.bins)


def overlays(
    baseline: WindowProfile,
    current: WindowProfile,
    names: list[str],
    *,
    bins: int = 10,
) -> dict[str, Overlay]:
    """One overlay per named feature present in both profiles with values in both."""
    result: dict[str, Overlay] = {}
    for name in names:
        b = baseline.columns.get(name)
        c = current.columns.get(name)
        if b is None or c is None or not (b.count and c.count):
            continue
        if isinstance(b, NumericProfile) and isinstance(c, NumericProfile):
            result[name] = numeric_overlay(b, c, bins=bins)
        elif isinstance(b, CategoricalProfile) and isinstance(c, CategoricalProfile):
            result[name] = categorical_overlay(b.counts, c.counts)
    return result


def numeric_overlay(baseline: NumericProfile, current: NumericProfile, *, bins: int) -> Overlay:
    """Both windows on the baseline's quantile bins, with the two outer bins."""
    edges = quantile_edges(
        baseline.values, bins, baseline.weights, low=baseline.minimum, high=baseline.maximum
    )
    b = sorted_bin_counts(baseline.values, edges, baseline.weights)
    c = sorted_bin_counts(current.values, edges, current.weights)
    labels = [f"< {_short(baseline.minimum)}"]
    labels.extend(f"≤ {_short(float(e))}" for e in edges[1:])
    labels.append(f"> {_short(baseline.maximum)}")
    return Overlay(
        kind=NUMERIC,
        labels=tuple(labels),
        baseline=_shares(b),
        current=_shares(c),
        n_baseline=float(b.sum()),
        n_current=float(c.sum()),
    )


def categorical_overlay(
    baseline: Mapping[str, float],
    current: Mapping[str, float],
    *,
    max_categories: int = MAX_CATEGORIES,
) -> Overlay:
    """Shares per category; new and vanished ones named; the tail summed."""
    total_b = float(sum(baseline.values())) or 1.0
    total_c = float(sum(current.values())) or 1.0
    keys = set(baseline) | set(current)
    share_b = {k: float(baseline.get(k, 0.0)) / total_b for k in keys}
    share_c = {k: float(current.get(k, 0.0)) / total_c for k in keys}
    ordered = sorted(keys, key=lambda k: (-max(share_b[k], share_c[k]), k))
    shown = ordered[:max_categories]
    rest = ordered[max_categories:]
    labels = list(shown)
    b_values = [share_b[k] for k in shown]
    c_values = [share_c[k] for k in shown]
    if rest:
        labels.append(OTHER)
        b_values.append(sum(share_b[k] for k in rest))
        c_values.append(sum(share_c[k] for k in rest))
    return Overlay(
        kind=CATEGORICAL,
        labels=tuple(labels),
        baseline=tuple(b_values),
        current=tuple(c_values),
        new=frozenset(k for k in keys if baseline.get(k, 0.0) == 0 and current.get(k, 0.0) > 0),
        vanished=frozenset(
            k for k in keys if current.get(k, 0.0) == 0 and baseline.get(k, 0.0) > 0
        ),
        n_baseline=float(sum(baseline.values())),
        n_current=float(sum(current.values())),
    )


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = float(counts.sum())
    if total <= 0:
        return tuple(0.0 for _ in counts)
    return tuple(float(v) / total for v in counts)


def _short(value: float) -> str:
    return f"{value:.3g}"


def _strings(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{field} must be a list of strings")
    return tuple(value)


def _shares_of(value: object, field: str) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of shares")
    shares = tuple(_number(v, field) for v in value)
    if any(not 0.0 <= v <= 1.0 for v in shares):
        raise ValueError(f"{field} has a share outside [0, 1]")
    return shares


def _count(value: object, field: str) -> float:
    number = _number(value, field)
    if number < 0:
        raise ValueError(f"{field} is negative")
    return number


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{field} holds a value that is not a finite number")
    return float(value)
