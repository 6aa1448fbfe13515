"""p-value combination, multiplicity corrections and the run-level decision."""

import math

import numpy as np
import pytest
from scipy import stats

from driftwarden.detectors.config import DEFAULT_THRESHOLDS
from driftwarden.detectors.stats.combine import (
    benjamini_hochberg,
    bonferroni,
    cauchy_combination,
    holm,
)
from driftwarden.detectors.stats.decision import FeatureEvidence, Levels, decide
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.stats.univariate import numeric_statistics, sample_from_values

LEVELS = {m.value: Levels(t.warning, t.critical) for m, t in DEFAULT_THRESHOLDS.items()}


def test_cauchy_combination_by_hand() -> None:
    # One p-value returns itself; two: T = mean(tan((0.5-p) pi)), p = 1/2 - atan(T)/pi.
    assert cauchy_combination([0.3]) == pytest.approx(0.3)
    t = (math.tan((0.5 - 0.01) * math.pi) + math.tan((0.5 - 0.5) * math.pi)) / 2
    assert cauchy_combination([0.01, 0.5]) == pytest.approx(0.5 - math.atan(t) / math.pi)
    assert cauchy_combination([0.0, 0.9]) == 0.0
    assert cauchy_combination([1e-20, 0.5]) == pytest.approx(2e-20, rel=1e-6)
    assert 0.0 <= cauchy_combination([1.0, 1.0]) <= 1.0


def test_cauchy_combination_is_calibrated_under_independence() -> None:
    rng = np.random.default_rng(0)
    p = rng.random((20_000, 25))
    combined = np.array([cauchy_combination(row) for row in p])
    assert np.mean(combined < 0.05) == pytest.approx(0.05, abs=0.006)


def test_corrections_match_scipy_and_definitions() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(30) ** 3
    assert benjamini_hochberg(p) == pytest.approx(stats.false_discovery_control(p, method="bh"))
    assert bonferroni(p) == pytest.approx(np.minimum(p * 30, 1))
    h = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(h[order]) >= 0)
    assert np.all(h >= p)
    with pytest.raises(ValueError, match="p_values must lie"):
        holm([0.5, 1.5])


def _evidence(name: str, b: np.ndarray, c: np.ndarray) -> FeatureEvidence:
    stats_ = numeric_statistics(
        sample_from_values(b), sample_from_values(c), ["ks", "psi", "js", "wasserstein"], 10
    )
    return FeatureEvidence(name, "numeric", stats_, LEVELS)


def test_identical_windows_never_drift() -> None:
    rng = np.random.default_rng(2)
    features = []
    for i in range(5):
        x = rng.normal(size=500)
        features.append(_evidence(f"f{i}", x, x.copy()))
    verdict = decide(features)
    assert not verdict.drift_detected
    assert verdict.severity is Severity.NONE
    assert all(f.p_value >= 0.99 for f in verdict.features)


def test_strong_shift_is_named_and_critical() -> None:
    rng = np.random.default_rng(3)
    features = [_evidence(f"f{i}", rng.normal(size=2000), rng.normal(size=2000)) for i in range(9)]
    features.append(_evidence("moved", rng.normal(size=2000), rng.normal(1.0, 1, size=2000)))
    verdict = decide(features)
    assert verdict.drift_detected
    assert verdict.severity is Severity.CRITICAL
    assert [f.name for f in verdict.features if f.drift_detected] == ["moved"]
    moved = verdict.features[-1]
    assert moved.p_value_adjusted >= moved.p_value
    assert all(
        m.p_value_adjusted is None or m.p_value_adjusted >= m.p_value
        for m in moved.methods
        if m.p_value is not None
    )  # type: ignore[operator]


def test_huge_windows_do_not_alarm_on_meaningless_shifts() -> None:
    """A 0.01 sd shift on a million rows is significant, far below every effect threshold."""
    rng = np.random.default_rng(4)
    b = rng.normal(size=1_000_000)
    c = rng.normal(0.01, 1, size=1_000_000)
    verdict = decide([_evidence("x", b, c)])
    assert verdict.p_value < 1e-6
    assert not verdict.drift_detected
    assert "not material" in verdict.reason


def test_alpha_is_checked() -> None:
    with pytest.raises(ValueError, match="alpha"):
        decide([], alpha=0)
    assert not decide([]).drift_detected
