"""The contract every registered method keeps (in the spirit of scikit-learn's estimator
checks): identical samples give no drift, row order does not matter, NaN policy holds,
results are finite."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.config import DetectionSpec, FeatureKind, FeatureSpec
from driftwarden.detectors.engine import detect_frames
from driftwarden.detectors.registry import REGISTRY, methods_for
from driftwarden.detectors.stats.univariate import CATEGORICAL_METHOD_NAMES, NUMERIC_METHOD_NAMES

CASES = [(method, kind) for method, info in REGISTRY.items() for kind in sorted(info.kinds)]


def test_the_statistics_compute_exactly_what_the_registry_lists() -> None:
    assert {str(m) for m in methods_for(FeatureKind.NUMERIC)} == NUMERIC_METHOD_NAMES
    assert {str(m) for m in methods_for(FeatureKind.CATEGORICAL)} == CATEGORICAL_METHOD_NAMES


def _frame(kind: FeatureKind, values: np.ndarray) -> pd.DataFrame:
    if kind is FeatureKind.CATEGORICAL:
        return pd.DataFrame({"x": np.array([f"c{int(v) % 7}" for v in values], dtype=object)})
    return pd.DataFrame({"x": values})


def _spec(method: object, kind: FeatureKind) -> DetectionSpec:
    return DetectionSpec(
        features=[FeatureSpec.model_validate({"name": "x", "type": kind, "methods": [method]})],
        min_samples=5,
    )


@pytest.mark.parametrize(("method", "kind"), CASES)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 400))
def test_identical_samples_no_drift(method: object, kind: FeatureKind, seed: int, n: int) -> None:
    values = np.random.default_rng(seed).normal(size=n) * 10
    frame = _frame(kind, values)
    report = detect_frames(frame, frame.copy(), _spec(method, kind))
    (feature,) = report.features
    assert not report.drift_detected
    (result,) = feature.methods
    assert np.isfinite(result.statistic)
    assert result.effect == pytest.approx(0.0, abs=1e-9)
    assert result.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(("method", "kind"), CASES)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(method: object, kind: FeatureKind, seed: int) -> None:
    rng = np.random.default_rng(seed)
    baseline = _frame(kind, rng.normal(size=300) * 10)
    current = _frame(kind, rng.normal(0.5, 1.3, size=250) * 10)
    spec = _spec(method, kind)
    first = detect_frames(baseline, current, spec).features[0].methods[0]
    shuffled = (
        detect_frames(
            baseline.sample(frac=1, random_state=1), current.sample(frac=1, random_state=2), spec
        )
        .features[0]
        .methods[0]
    )
    assert shuffled.statistic == pytest.approx(first.statistic, rel=1e-9, abs=1e-12)
    if first.p_value is None:
        assert shuffled.p_value is None
    else:
        assert shuffled.p_value == pytest.approx(first.p_value, rel=1e-9, abs=1e-300)
    assert np.isfinite(first.statistic)


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_missing_values_are_dropped_and_counted(method: object, kind: FeatureKind) -> None:
    """NaN policy: missing values are excluded from drift statistics, so adding them to
    one window changes nothing but the counts (their rate is data quality's business)."""
    rng = np.random.default_rng(7)
    baseline = _frame(kind, rng.normal(size=300) * 10)
    current = _frame(kind, rng.normal(size=300) * 10)
    padded = pd.concat([current, pd.DataFrame({"x": [np.nan] * 50})], ignore_index=True)
    spec = _spec(method, kind)
    plain = detect_frames(baseline, current, spec).features[0]
    with_nan = detect_frames(baseline, padded, spec).features[0]
    assert with_nan.methods[0].statistic == pytest.approx(plain.methods[0].statistic)
    assert with_nan.n_current == plain.n_current == 300
