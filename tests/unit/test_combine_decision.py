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
from driftwarden.detectors.stats.decision import (
    CaseVerdict,
    FeatureEvidence,
    Levels,
    case_p_value,
    decide,
)
from driftwarden.detectors.stats.multivariate import hotelling_rank_test
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


def test_case_p_value_by_hand() -> None:
    p = [0.001, 0.5, 0.9]
    # Bonferroni over 3 features: 3 x 0.001.
    assert case_p_value(p) == pytest.approx(0.003)
    # Weighted Bonferroni over the two families, half of alpha each:
    # min(0.003 / 0.5, 0.02 / 0.5) and min(0.003 / 0.5, 0.001 / 0.5).
    assert case_p_value(p, 0.02) == pytest.approx(0.006)
    assert case_p_value(p, 0.001) == pytest.approx(0.002)
    assert case_p_value(p, 0.001, 0.2) == pytest.approx(min(0.003 / 0.8, 0.001 / 0.2))
    assert case_p_value([0.9, 0.8], 0.9) == 1.0
    # The former rule: the weighted Cauchy combination.
    weights = [1 / 6, 1 / 6, 1 / 6, 0.5]
    assert case_p_value(p, 0.02, rule="cauchy") == pytest.approx(
        cauchy_combination([*p, 0.02], weights)
    )
    with pytest.raises(ValueError, match="rule"):
        case_p_value(p, rule="fisher")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="multivariate_weight"):
        case_p_value(p, 0.5, 1.0)


def _correlated_windows(shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """20 columns sharing one factor (correlation 0.8); the first 3 of the current window
    moved by `shift` standard deviations, against their usual relation to the others."""
    rng = np.random.default_rng(seed)

    def draw() -> np.ndarray:
        return rng.normal(size=(2000, 1)) * 0.9 + rng.normal(size=(2000, 20)) * 0.45

    base, cur = draw(), draw()
    cur[:, :3] += shift
    return base, cur


def _verdict_with_joint(base: np.ndarray, cur: np.ndarray) -> tuple[CaseVerdict, CaseVerdict]:
    features = [_evidence(f"x{j}", base[:, j], cur[:, j]) for j in range(base.shape[1])]
    joint = hotelling_rank_test(base, cur)
    assert joint is not None
    return decide(features), decide(features, multivariate_p=joint.p_value)


def test_weak_drift_against_the_correlation_is_seen_by_the_joint_test() -> None:
    """A 0.06 sd shift of 3 of 20 correlated columns (population KS 0.024 each): no single
    feature test passes Bonferroni, the permutation Hotelling test does (p = 1/200)."""
    base, cur = _correlated_windows(0.06, seed=0)
    alone, joint = _verdict_with_joint(base, cur)
    assert alone.p_value > 0.05
    assert not alone.drift_detected
    assert joint.p_value == pytest.approx(0.01)  # (1 / 200) / 0.5
    assert joint.drift_detected
    assert joint.severity is Severity.WARNING
    assert "spread over several features" in joint.reason


def test_drifted_features_are_still_named() -> None:
    base, cur = _correlated_windows(0.1, seed=0)
    _, joint = _verdict_with_joint(base, cur)
    assert joint.drift_detected
    assert [f.name for f in joint.features if f.drift_detected] == ["x0", "x1", "x2"]
    assert joint.reason.startswith("3/20 features drifted (x0, x1, x2)")
