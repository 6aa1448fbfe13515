"""The rank-based Hotelling test behind the run's verdict."""

import numpy as np
import pytest

from driftwarden.detectors.stats.multivariate import hotelling_rank_test, normal_scores, one_hot


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
    p = [hotelling_rank_test(_correlated(150, rng), _correlated(150, rng)) for _ in range(400)]
    rate = np.mean([r is not None and r.p_value < 0.05 for r in p])
    assert 0.02 <= rate <= 0.08


def test_detects_a_shift_against_the_correlation() -> None:
    rng = np.random.default_rng(1)
    shift = np.array([0, 0, 0.25, 0, 0, 0.0])
    result = hotelling_rank_test(_correlated(1000, rng), _correlated(1000, rng, shift))
    assert result is not None
    assert result.p_value < 1e-4
    assert result.dof == 6


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
