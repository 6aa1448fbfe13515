"""PSI, JS, KL, Hellinger and chi-square: hand computations and scipy cross-checks."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from driftwarden.detectors.stats import divergence as d
from driftwarden.detectors.stats.binning import quantile_edges, sorted_bin_counts


def test_psi_by_hand() -> None:
    # Counts 50/50 vs 30/70 with +0.5 smoothing: p = (50.5/101, 50.5/101), q = (30.5/101, 70.5/101)
    p = np.array([50.5, 50.5]) / 101
    q = np.array([30.5, 70.5]) / 101
    expected = float(np.sum((q - p) * np.log(q / p)))
    assert d.psi([50, 50], [30, 70]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.16592, abs=1e-5)  # hand value, 0.5-smoothed


def test_kl_by_hand() -> None:
    p = np.array([50.5, 50.5]) / 101
    q = np.array([30.5, 70.5]) / 101
    assert d.kl_divergence([50, 50], [30, 70]) == pytest.approx(float(np.sum(q * np.log(q / p))))


def test_js_matches_scipy_base2_and_hand_value() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        b = rng.integers(0, 50, 12).astype(float)
        c = rng.integers(0, 50, 12).astype(float)
        b[0] += 1
        c[0] += 1
        assert d.js_distance(b, c) == pytest.approx(jensenshannon(b, c, base=2), abs=1e-12)
    # Disjoint supports are maximally far apart: JSD = 1 bit.
    assert d.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    # Hand value: p=(1/2,1/2), q=(1,0), m=(3/4,1/4):
    # JSD = 1/2 [1/2 log2(2/3) + 1/2 log2 2] + 1/2 log2(4/3)
    jsd = 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * math.log2(2)) + 0.5 * math.log2(4 / 3)
    assert d.js_distance([5, 5], [10, 0]) == pytest.approx(math.sqrt(jsd), rel=1e-12)


def test_hellinger_by_hand() -> None:
    # p=(1/2,1/2), q=(1,0): BC = sqrt(1/2); H = sqrt(1 - sqrt(1/2))
    assert d.hellinger_distance([1, 1], [2, 0]) == pytest.approx(math.sqrt(1 - math.sqrt(0.5)))


def test_chi_square_equals_scipy_contingency() -> None:
    rng = np.random.default_rng(1)
    for k in (2, 3, 7, 25):
        b = rng.integers(1, 300, k).astype(float)
        c = rng.integers(1, 300, k).astype(float)
        ours = d.chi_square_homogeneity(b, c)
        ref = stats.chi2_contingency(np.vstack([b, c]), correction=False)
        assert ours.statistic == pytest.approx(ref.statistic, rel=1e-9)
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert ours.dof == ref.dof


def test_chi_square_keeps_one_sided_categories_and_drops_empty_ones() -> None:
    ours = d.chi_square_homogeneity([10, 20, 0, 0], [10, 10, 15, 0])
    ref = stats.chi2_contingency(np.array([[10, 20, 0], [10, 10, 15]]), correction=False)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.dof == 2


def test_identical_counts_give_zero() -> None:
    for fn in (d.psi, d.kl_divergence, d.js_distance, d.hellinger_distance):
        assert fn([3, 4, 5], [3, 4, 5]) == pytest.approx(0.0, abs=1e-15)
    # Same proportions, other totals: exact for JS and Hellinger; smoothing leaves a trace.
    assert d.js_distance([3, 4, 5], [6, 8, 10]) == pytest.approx(0.0, abs=1e-7)
    assert d.hellinger_distance([3, 4, 5], [6, 8, 10]) == pytest.approx(0.0, abs=1e-7)
    assert 0 < d.psi([3, 4, 5], [6, 8, 10]) < 1e-3


def test_bad_counts_are_named() -> None:
    with pytest.raises(ValueError, match="baseline must"):
        d.psi([], [1])
    with pytest.raises(ValueError, match="current must hold finite"):
        d.psi([1, 2], [1, -2])
    with pytest.raises(ValueError, match="bins differ"):
        d.js_distance([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="method must be"):
        d.bias_corrected("ks", 0.1, 10, 10, 3)


@pytest.mark.parametrize("n", [200, 2000])
def test_bias_correction_centres_the_null(n: int) -> None:
    """With no drift, raw JS on 10 bins is about 0.1 at n=200; the correction removes the
    bias (the mean), not the noise: that is the significance test's job."""
    rng = np.random.default_rng(n)
    raw, corrected, raw_psi = [], [], []
    occupied: list[int] = []
    for _ in range(300):
        b = np.sort(rng.normal(size=n))
        c = np.sort(rng.normal(size=n))
        edges = quantile_edges(b, 10)
        bc, cc = sorted_bin_counts(b, edges), sorted_bin_counts(c, edges)
        k = int(np.count_nonzero(bc + cc))  # occupied bins, as the engine counts them
        occupied.append(k)
        js = d.js_distance(bc, cc)
        raw.append(js)
        corrected.append(d.bias_corrected("js", js, n, n, k))
        psi = d.psi(bc, cc)
        raw_psi.append(psi)
        assert d.bias_corrected("psi", psi, n, n, k) <= psi
    # 10 quantile bins plus the outer bins (below the minimum, above the maximum) when the
    # current window has values there (each with probability about 1 - 1/e).
    scale = d.null_scale(n, n, round(float(np.mean(occupied))))
    # The expansions' null means hold: E[PSI] ~ (k-1)/N_eff, E[JSD] ~ (k-1)/(8 ln2 N_eff).
    assert np.mean(raw_psi) == pytest.approx(scale, rel=0.2)
    # The outer bins are empty in the baseline, where the expansion is poor: each adds about
    # q/2 bits (q = 1/n) to JSD, not 1/(8 ln2 N_eff); 25% above the expansion at n = 200.
    assert np.mean(np.square(raw)) == pytest.approx(scale / (8 * math.log(2)), rel=0.3)
    raw_exceed = np.mean(np.array(raw) >= 0.1)
    corrected_exceed = np.mean(np.array(corrected) >= 0.1)
    if n == 200:
        assert np.mean(raw) > 0.08  # the trap: a 0.1 threshold alarms on most null pairs
        assert raw_exceed > 0.4
    assert corrected_exceed <= raw_exceed / 3


def test_quantile_edges_and_counts() -> None:
    values = np.arange(1.0, 11.0)  # 1..10
    edges = quantile_edges(values, 5)
    # (-inf, 1), [1, 2], (2, 4], (4, 6], (6, 8], (8, 10], (10, +inf)
    assert edges.tolist() == [np.nextafter(1.0, -np.inf), 2.0, 4.0, 6.0, 8.0, 10.0]
    assert sorted_bin_counts(values, edges).tolist() == [0, 2, 2, 2, 2, 2, 0]
    # Current values beyond the baseline's range land in the outer bins, and only there.
    current = np.array([-100.0, 1.0, 3.0, 10.0, 100.0, 200.0])
    assert sorted_bin_counts(current, edges).tolist() == [1, 1, 1, 0, 0, 1, 2]


def test_quantile_edges_merge_ties_and_weights() -> None:
    values = np.array([0.0] * 90 + [1.0] * 10)
    below_zero = np.nextafter(0.0, -np.inf)
    assert quantile_edges(values, 10).tolist() == [below_zero, 0.0, 1.0]
    weighted = quantile_edges(np.array([1.0, 2.0, 3.0, 4.0]), 2, np.array([1.0, 1.0, 1.0, 1.0]))
    assert weighted.tolist() == [np.nextafter(1.0, -np.inf), 2.0, 4.0]
    with pytest.raises(ValueError, match="n_bins"):
        quantile_edges(values, 1)
