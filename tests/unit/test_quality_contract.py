"""Contract properties shared by the quality, operational and performance comparisons:
identical windows never alarm, row order does not matter, results are finite."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.profile import WindowProfile, window_profile
from driftwarden.detectors.sections import column_quality
from driftwarden.detectors.stats.operational import error_rate_change, latency_change
from driftwarden.detectors.stats.performance import (
    classification_metrics,
    compare_performance,
    regression_metrics,
)
from driftwarden.detectors.stats.severity import Severity


def _profile(values: npt.NDArray[np.object_], kind: str) -> WindowProfile:
    return window_profile(pd.DataFrame({"c": pd.Series(values, dtype=object)}), {"c": kind})


numbers = st.floats(-1e6, 1e6) | st.none() | st.sampled_from(["x", "1.5", ""])
categories = st.sampled_from(["a", "b", "c", None])


@settings(max_examples=60, deadline=None)
@given(st.lists(numbers, min_size=1, max_size=80))
def test_identical_numeric_column_never_alarms_except_type_errors(values: list[object]) -> None:
    base = np.array(values, dtype=object)
    shuffled = base.copy()
    np.random.default_rng(0).shuffle(shuffled)
    result = column_quality("c", _profile(base, "numeric"), _profile(shuffled, "numeric"))
    assert result.missing.severity is Severity.NONE
    assert result.missing.change == 0.0
    if result.out_of_range is not None:  # None: the baseline has no number, no range
        assert result.out_of_range.severity is Severity.NONE
        assert result.out_of_range.share in (0.0, None)
    assert result == column_quality("c", _profile(base, "numeric"), _profile(base, "numeric"))


@settings(max_examples=60, deadline=None)
@given(st.lists(categories, min_size=1, max_size=80))
def test_identical_categorical_column_never_alarms(values: list[str | None]) -> None:
    base = np.array(values, dtype=object)
    result = column_quality("c", _profile(base, "categorical"), _profile(base[::-1], "categorical"))
    assert result.severity is Severity.NONE
    assert result.categories is not None
    assert result.categories.n_new == result.categories.n_vanished == 0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1e4), min_size=1, max_size=200),
    st.lists(st.booleans(), min_size=1, max_size=200),
)
def test_identical_operational_windows_never_alarm(
    latencies: list[float], errors: list[bool]
) -> None:
    lat = latency_change(latencies, latencies[::-1])
    assert lat.severity is Severity.NONE
    assert all(p.relative_change in (0.0, None) for p in lat.percentiles)
    err = error_rate_change(errors, errors[::-1])
    assert err.severity is Severity.NONE
    assert err.p_value == 1.0 or math.isclose(err.p_value, 1.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=100),
)
def test_identical_performance_windows_never_alarm(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows], dtype=int)
    score = np.array([r[1] for r in rows])
    base = classification_metrics(y, score)
    perm = np.random.default_rng(1).permutation(y.size)
    cur = classification_metrics(y[perm], score[perm])
    for change in compare_performance(base, cur, alpha=0.05):
        assert change.severity is Severity.NONE
        for value in (change.baseline, change.current, change.relative_drop, change.p_value):
            assert value is None or math.isfinite(value)
    reg = regression_metrics(score, score[perm])
    for change in compare_performance(reg, reg):
        assert change.severity is Severity.NONE
