"""The multivariate tests behind the run's verdict: rank Hotelling and kernel MMD."""

import numpy as np
import pytest

from driftwarden.detectors.stats.multivariate import (
    HOTELLING_PERMUTATIONS,
    MAX_PERMUTATIONS,
    MMD_PERMUTATIONS,
    MMD_ROWS,
    hotelling_rank_test,
    mmd_permutation_test,
    normal_scores,
    one_hot,
    permutations_for,
)


def _correlated(n: int, rng: np.random.Generator, shift: np.ndarray | None = None) -> np.ndarray:
    factor = rng.normal(size=(n, 1))
    x = factor @ np.ones((1, 6)) * 0.9 + rng.normal(size=(n, 6)) * 0.45
    x[:, 0] = np.round(x[:, 0] * 2)  # ties
    x[:, 1] = np.exp(x[:, 1])  # skew
    if shift is not None:
        x = x + shift
    return x


def test_null_rate_is_near_alpha() -> None:
    rng = np.random.default_rng(0)
    p = [
        hotelling_rank_test(_correlated(150, rng), _correlated(150, rng), seed=seed)
        for seed in range(400)
    ]
    rate = np.mean([r is not None and r.p_value < 0.05 for r in p])
    assert 0.02 <= rate <= 0.08
    f_rate = np.mean([r is not None and r.p_value_f < 0.05 for r in p])
    assert 0.02 <= f_rate <= 0.08


def test_permutation_p_value_is_valid_on_resampled_rows() -> None:
    """Two windows resampled with replacement from one 120-row table (duplicate rows, ties:
    the F reference's assumptions fail there). The permutation p-value is exact, so over
    300 fixed seeds it falls below 0.05 about 15 times (binomial sd 3.8) and is spread over
    (0, 1]; the bounds are 4 sd wide, and the seeds are fixed, so the test cannot flake."""
    source = _correlated(120, np.random.default_rng(10))
    p_values = []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        base = source[rng.integers(120, size=200)]
        cur = source[rng.integers(120, size=200)]
        result = hotelling_rank_test(base, cur, permutations=99, seed=seed)
        assert result is not None
        p_values.append(result.p_value)
    p = np.array(p_values)
    assert np.all((p >= 1 / 100) & (p <= 1.0))
    assert 0 <= np.count_nonzero(p <= 0.05) <= 30
    assert 0.35 <= np.mean(p <= 0.5) <= 0.65


def test_detects_a_shift_against_the_correlation() -> None:
    rng = np.random.default_rng(1)
    shift = np.array([0, 0, 0.25, 0, 0, 0.0])
    result = hotelling_rank_test(_correlated(1000, rng), _correlated(1000, rng, shift))
    assert result is not None
    # No permutation reaches the observed T²: the smallest p-value there is.
    assert result.p_value == pytest.approx(1 / (HOTELLING_PERMUTATIONS + 1))
    assert result.permutations == HOTELLING_PERMUTATIONS
    assert result.p_value_f < 1e-4
    assert result.dof == 6
    again = hotelling_rank_test(_correlated(1000, rng), _correlated(1000, rng, shift), seed=3)
    assert again is not None
    assert again.p_value == pytest.approx(1 / (HOTELLING_PERMUTATIONS + 1))


def test_permutations_stop_early_without_drift_and_are_reproducible() -> None:
    rng = np.random.default_rng(11)
    base, cur = _correlated(300, rng), _correlated(300, rng)
    result = hotelling_rank_test(base, cur, seed=5)
    assert result is not None
    assert result == hotelling_rank_test(base, cur, seed=5)
    # Besag-Clifford: stopped at the 10th exceedance after l draws, p = 10 / l exactly;
    # otherwise (1 + exceedances) / (B + 1).
    draws = 10 / result.p_value
    full = result.p_value * (HOTELLING_PERMUTATIONS + 1)
    assert abs(draws - round(draws)) < 1e-9 or abs(full - round(full)) < 1e-9
    f_only = hotelling_rank_test(base, cur, permutations=0)
    assert f_only is not None
    assert f_only.p_value == f_only.p_value_f == result.p_value_f
    assert f_only.statistic == result.statistic
    with pytest.raises(ValueError, match="permutations"):
        hotelling_rank_test(base, cur, permutations=5)


def test_permutations_for_a_level() -> None:
    # The smallest p-value 1 / (B + 1) must be at most half the level.
    assert permutations_for(0.025) == HOTELLING_PERMUTATIONS == 199
    assert permutations_for(0.005) == 399  # 1 / 400 = 0.0025
    assert permutations_for(0.001) == 1999
    assert permutations_for(1e-6) == MAX_PERMUTATIONS
    with pytest.raises(ValueError, match="level"):
        permutations_for(0.0)


def test_degenerate_inputs() -> None:
    rng = np.random.default_rng(2)
    base = _correlated(100, rng)
    assert hotelling_rank_test(base[:5], base[5:10]) is None  # fewer than 4 rows a column
    constant = np.hstack([base, np.ones((100, 1))])
    result = hotelling_rank_test(constant[:50], constant[50:])
    assert result is not None
    assert result.dof == 6  # the constant column lowers the rank instead of failing
    with pytest.raises(ValueError, match="same columns"):
        hotelling_rank_test(base, base[:, :3])


def test_scores_and_indicators() -> None:
    scores = normal_scores(np.array([[1.0], [2.0], [np.nan], [2.0]]))
    assert scores[2, 0] == 0.0
    assert scores[1, 0] == scores[3, 0] > 0 > scores[0, 0]
    encoded = one_hot(np.array(["a", "b", None, "c"], dtype=object), ["a", "b", "c"])
    assert encoded.shape == (4, 2)
    assert encoded[1].tolist() == [1.0, 0.0]
    assert np.isnan(encoded[2]).all()


def _mmd_by_hand(a: np.ndarray, b: np.ndarray, bandwidth: float) -> float:
    """Biased MMD² from its definition: mean k(a, a') + mean k(b, b') - 2 mean k(a, b)."""

    def mean_kernel(u: np.ndarray, v: np.ndarray) -> float:
        d2 = ((u[:, None, :] - v[None, :, :]) ** 2).sum(axis=2)
        return float(np.exp(-d2 / bandwidth).mean())

    return mean_kernel(a, a) + mean_kernel(b, b) - 2 * mean_kernel(a, b)


def test_mmd_statistic_equals_its_definition() -> None:
    rng = np.random.default_rng(3)
    base, cur = _correlated(60, rng), _correlated(40, rng, np.full(6, 0.3))
    result = mmd_permutation_test(base, cur, permutations=19)
    assert result is not None
    assert (result.n_baseline, result.n_current) == (60, 40)
    # Subsampling keeps every row here, only their order changes; MMD² ignores the order.
    scores = normal_scores(np.vstack((base, cur)))
    expected = _mmd_by_hand(scores[:60], scores[60:], result.bandwidth)
    assert result.statistic == pytest.approx(expected, rel=1e-9)


def test_mmd_null_rate_is_near_alpha_and_a_spread_change_is_seen() -> None:
    rng = np.random.default_rng(4)
    alarms = 0
    for seed in range(100):
        result = mmd_permutation_test(
            _correlated(80, rng), _correlated(80, rng), permutations=39, seed=seed
        )
        assert result is not None
        assert 1 / 40 <= result.p_value <= 1.0
        alarms += result.p_value <= 0.05
    assert alarms <= 10  # exact test: 5 expected, P(> 10) < 0.015
    # A change of spread only: Hotelling's test of means has no power here, MMD has.
    base = _correlated(1500, rng)
    cur = _correlated(1500, rng)
    cur[:, 3] *= 1.6
    mmd = mmd_permutation_test(base, cur)
    assert mmd is not None
    assert mmd.p_value == pytest.approx(1 / (MMD_PERMUTATIONS + 1))
    assert (mmd.n_baseline, mmd.n_current) == (MMD_ROWS, MMD_ROWS)


def test_mmd_degenerate_inputs() -> None:
    rng = np.random.default_rng(5)
    base = _correlated(100, rng)
    assert mmd_permutation_test(base[:10], base[10:]) is None
    with pytest.raises(ValueError, match="same columns"):
        mmd_permutation_test(base, base[:, :3])
    with pytest.raises(ValueError, match="permutations"):
        mmd_permutation_test(base, base, permutations=5)
    with pytest.raises(ValueError, match="max_rows"):
        mmd_permutation_test(base, base, max_rows=5)
    first = mmd_permutation_test(base[:50], base[50:], seed=7)
    assert first == mmd_permutation_test(base[:50], base[50:], seed=7)
