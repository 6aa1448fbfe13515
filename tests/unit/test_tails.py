"""`stats.tails` against `scipy.stats`: the same tails and ranks without its 1 s import.

Reference values: scipy.stats' own methods on the same arguments (scipy 1.17, pinned).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from driftwarden.detectors.stats.tails import (
    average_ranks,
    chi2_sf,
    f_sf,
    kolmogorov_sf,
    kstwo_sf,
    normal_sf,
)


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=0.0) or ours == theirs


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 24, 99, 1000])
@pytest.mark.parametrize("x", [0.0, 1e-9, 0.5, 1.0, 3.84, 10.0, 57.3, 400.0, 5000.0])
def test_chi2_sf_is_scipys(x: float, dof: int) -> None:
    assert close(chi2_sf(x, dof), float(stats.chi2.sf(x, dof)))


@pytest.mark.parametrize("z", [-40.0, -3.0, -1e-9, 0.0, 0.3, 1.96, 5.0, 12.0, 38.0])
def test_normal_sf_is_scipys(z: float) -> None:
    assert close(normal_sf(z), float(stats.norm.sf(z)))


@pytest.mark.parametrize(("dfn", "dfd"), [(1, 5), (2, 40), (20, 39_979), (57, 100_000)])
@pytest.mark.parametrize("x", [0.0, 1e-6, 0.5, 1.0, 2.5, 8.0, 60.0])
def test_f_sf_is_scipys(x: float, dfn: int, dfd: int) -> None:
    assert close(f_sf(x, dfn, dfd), float(stats.f.sf(x, dfn, dfd)))


@pytest.mark.parametrize("x", [0.0, 0.1, 0.5, 0.83, 1.0, 1.36, 2.0, 4.0, 9.0])
def test_kolmogorov_sf_is_kstwobigns(x: float) -> None:
    assert close(kolmogorov_sf(x), float(stats.kstwobign.sf(x)))


@pytest.mark.parametrize("n", [20, 1_000, 12_000, 50_000])
@pytest.mark.parametrize("d", [0.0, 0.001, 0.01, 0.05, 0.3, 1.0])
def test_kstwo_sf_is_scipys(d: float, n: int) -> None:
    assert close(kstwo_sf(d, n), float(stats.kstwo.sf(d, n)))


def test_nan_in_nan_out() -> None:
    assert math.isnan(chi2_sf(math.nan, 3))
    assert math.isnan(f_sf(math.nan, 3, 10))
    assert math.isnan(kolmogorov_sf(math.nan))
    assert math.isnan(normal_sf(math.nan))


@pytest.mark.parametrize(
    "values",
    [
        [],
        [3.0],
        [2.0, 2.0, 2.0],
        [3.0, 1.0, 2.0, 1.0, 3.0, 3.0, -0.0, 0.0],
        [5, 1, 5, 2, 2, 2, 9],
        [True, False, True],
    ],
)
def test_average_ranks_are_rankdatas(values: list[float]) -> None:
    np.testing.assert_array_equal(average_ranks(values), stats.rankdata(values))


def test_average_ranks_on_many_ties_are_rankdatas() -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(0, 3, 50_000))  # ~25 distinct values: large tie groups
    np.testing.assert_array_equal(average_ranks(values), stats.rankdata(values))


def test_average_ranks_propagate_nan_as_rankdata_does() -> None:
    values = [1.0, math.nan, 0.5]
    np.testing.assert_array_equal(average_ranks(values), stats.rankdata(values))
