"""KS and Wasserstein against scipy on the same data (reference: scipy.stats)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from driftwarden.detectors.stats.ecdf import (
    compare_keys,
    compare_sorted,
    compare_weighted,
    keys_to_values,
    order_keys,
)
from driftwarden.detectors.stats.ks import ks_p_value


def _data(kind: str, n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(shift, 1.0, n)
    if kind == "integers":  # many ties
        return rng.integers(-5, 6, n).astype(float) + np.round(shift)
    if kind == "heavy":
        return rng.standard_cauchy(n) * 1e6 + shift
    return rng.exponential(1.0, n) * 1e-9 + shift * 1e-9  # tiny magnitudes


@pytest.mark.parametrize("kind", ["normal", "integers", "heavy", "tiny"])
@pytest.mark.parametrize(
    ("n_b", "n_c"), [(1, 1), (7, 13), (200, 200), (5000, 300), (20_000, 12_000)]
)
def test_ks_and_wasserstein_equal_scipy(kind: str, n_b: int, n_c: int) -> None:
    b = _data(kind, n_b, seed=n_b)
    c = _data(kind, n_c, seed=n_c + 1, shift=0.3)
    ours = compare_sorted(np.sort(b), np.sort(c))
    ref = stats.ks_2samp(b, c)
    assert ours.ks_statistic == pytest.approx(ref.statistic, abs=1e-9)
    assert ks_p_value(ours.ks_statistic, n_b, n_c) == pytest.approx(ref.pvalue, abs=1e-9)
    w_ref = stats.wasserstein_distance(b, c)
    assert ours.wasserstein == pytest.approx(w_ref, rel=1e-9, abs=1e-18)


@pytest.mark.parametrize("n", [120_000, 600_000])
@pytest.mark.parametrize("z", [0.5, 1.0, 1.4, 1.8, 2.4])
def test_large_sample_p_value_within_stated_tolerance(n: int, z: float) -> None:
    """Above n_eff = 50,000 we use Stephens' corrected limit: within 0.5% of scipy."""
    d = z / np.sqrt(n / 2)
    ours = ks_p_value(d, n, n)
    reference = stats.kstwo.sf(d, round(n / 2))
    assert ours == pytest.approx(reference, rel=5e-3)


def test_signed_zero_ties() -> None:
    b = np.array([-0.0, 0.0, 1.0, 2.0])
    c = np.array([0.0, 0.0, -0.0, 3.0])
    ours = compare_sorted(np.sort(b), np.sort(c))
    assert ours.ks_statistic == pytest.approx(stats.ks_2samp(b, c).statistic, abs=1e-12)


def test_keys_preserve_order_and_round_trip() -> None:
    values = np.array([-np.inf, -1e300, -1.0, -1e-300, 0.0, 1e-300, 1.0, 1e300, np.inf])
    keys = order_keys(values)
    assert np.all(np.diff(keys.astype(object)) > 0)
    assert np.array_equal(keys_to_values(keys), values)


def test_weighted_equals_unweighted_when_weights_are_counts() -> None:
    rng = np.random.default_rng(3)
    b = rng.integers(0, 30, 4000).astype(float)
    c = rng.integers(2, 33, 2500).astype(float)
    plain = compare_sorted(np.sort(b), np.sort(c))
    bv, bw = np.unique(b, return_counts=True)
    cv, cw = np.unique(c, return_counts=True)
    weighted = compare_weighted(bv, bw.astype(float), cv, cw.astype(float))
    assert weighted.ks_statistic == pytest.approx(plain.ks_statistic, abs=1e-12)
    assert weighted.wasserstein == pytest.approx(plain.wasserstein, rel=1e-12)
    assert (weighted.n_baseline, weighted.n_current) == (4000, 2500)


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="baseline_sorted must be non-empty"):
        compare_sorted(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        compare_sorted(np.zeros((2, 2)), np.array([1.0]))
    with pytest.raises(ValueError, match="sample sizes"):
        ks_p_value(0.1, 0, 3)
    with pytest.raises(ValueError, match="statistic"):
        ks_p_value(1.5, 3, 3)


def _drop_last_bit(values: np.ndarray) -> np.ndarray:
    return (values.view(np.uint64) & ~np.uint64(1)).view(np.float64)


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@settings(max_examples=200, deadline=None)
@given(
    b=arrays(np.float64, st.integers(1, 60), elements=finite),
    c=arrays(np.float64, st.integers(1, 60), elements=finite),
)
def test_property_matches_scipy_and_is_symmetric(b: np.ndarray, c: np.ndarray) -> None:
    # Our merge treats values one ulp apart as ties (documented in stats.ecdf); clear the
    # last mantissa bit so that scipy sees the same ties.
    b = _drop_last_bit(b)
    c = _drop_last_bit(c)
    forward = compare_keys(order_keys(np.sort(b)), order_keys(np.sort(c)))
    backward = compare_sorted(np.sort(c), np.sort(b))
    with warnings.catch_warnings():  # scipy warns when its exact p-value falls back
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = stats.ks_2samp(b, c).statistic
    assert forward.ks_statistic == pytest.approx(reference, abs=1e-12)
    assert forward.ks_statistic == pytest.approx(backward.ks_statistic, abs=1e-12)
    assert forward.wasserstein == pytest.approx(backward.wasserstein, rel=1e-9, abs=1e-9)
    assert forward.wasserstein == pytest.approx(
        stats.wasserstein_distance(b, c), rel=1e-9, abs=1e-6
    )


@settings(max_examples=100, deadline=None)
@given(b=arrays(np.float64, st.integers(1, 80), elements=finite))
def test_property_identical_samples_have_zero_distance(b: np.ndarray) -> None:
    result = compare_sorted(np.sort(b), np.sort(b.copy()))
    assert result.ks_statistic == 0.0
    assert result.wasserstein == 0.0
    assert ks_p_value(0.0, b.shape[0], b.shape[0]) == 1.0
