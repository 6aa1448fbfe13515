"""Data-quality checks where they run: window profiles into `sections.column_quality`,
against hand-computed references and scipy, with edge cases."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.profile import WindowProfile, window_profile
from driftwarden.detectors.sections import column_quality
from driftwarden.detectors.stats.missing import missing_mask
from driftwarden.detectors.stats.quality import (
    DEFAULT_LEVELS,
    ColumnQuality,
    QualityLevels,
    missing_rate_from_counts,
)
from driftwarden.detectors.stats.severity import Severity


def _profile(values: Iterable[object], kind: str = "numeric") -> WindowProfile:
    """One window of column "c" profiled as a run profiles it."""
    return window_profile(pd.DataFrame({"c": pd.Series(list(values), dtype=object)}), {"c": kind})


def _quality(
    baseline: Iterable[object],
    current: Iterable[object],
    kind: str = "numeric",
    levels: QualityLevels = DEFAULT_LEVELS,
) -> ColumnQuality:
    return column_quality("c", _profile(baseline, kind), _profile(current, kind), levels=levels)


def test_missing_mask_policy() -> None:
    values = np.array([None, float("nan"), np.float32("nan"), "", "nan", 0, np.datetime64("NaT")],
                      dtype=object)  # fmt: skip
    assert missing_mask(values).tolist() == [True, True, True, False, False, False, True]
    assert missing_mask(np.array([1.0, np.nan])).tolist() == [False, True]
    assert missing_mask(np.array(["a", ""])).tolist() == [False, False]
    with pytest.raises(ValueError, match="values must be one-dimensional"):
        missing_mask(np.zeros((2, 2)))


def test_missing_rate_change_matches_chi2_and_gates_on_significance() -> None:
    base = np.where(np.arange(1000) < 20, np.nan, 1.0)  # 2% missing
    cur = np.where(np.arange(1000) < 120, np.nan, 1.0)  # 12% missing
    result = _quality(base, cur).missing
    assert result.baseline_rate == pytest.approx(0.02)
    assert result.current_rate == pytest.approx(0.12)
    assert result.change == pytest.approx(0.10)
    chi2 = stats.chi2_contingency([[20, 980], [120, 880]], correction=False)
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert result.severity is Severity.WARNING
    # Same 10-point rise on 10 rows: not significant, no alarm.
    small = _quality([1.0] * 10, [np.nan] + [1.0] * 9).missing
    assert small.change == pytest.approx(0.1)
    assert small.severity is Severity.NONE
    critical = _quality(base, np.where(np.arange(1000) < 300, np.nan, 1.0)).missing
    assert critical.severity is Severity.CRITICAL
    better = _quality(cur, base).missing
    assert better.severity is Severity.NONE
    with pytest.raises(ValueError, match="current is empty"):
        missing_rate_from_counts(20, 1000, 0, 0)
    with pytest.raises(ValueError, match="outside"):
        missing_rate_from_counts(20, 1000, 11, 10)


def test_unparseable_values_are_type_errors_not_missing() -> None:
    base = [str(i) for i in range(100)]
    result = _quality(base, [str(i) for i in range(90)] + ["oops"] * 10)
    assert result.missing.current_rate == 0.0
    assert result.type_errors is not None
    assert result.type_errors.count == 10


def test_out_of_range_hand_computation() -> None:
    base = np.array([0.0, 5.0, 10.0, np.nan])
    cur = np.array([-1.0, 0.0, 3.0, 10.0, 11.0, 12.0, np.nan, 4.0, 5.0, 6.0])
    result = _quality(base, cur).out_of_range
    assert result is not None
    assert (result.baseline_min, result.baseline_max) == (0.0, 10.0)
    assert result.n_current == 9
    assert result.share_below == pytest.approx(1 / 9)
    assert result.share_above == pytest.approx(2 / 9)
    assert result.severity is Severity.CRITICAL
    inside = _quality(np.linspace(0, 10, 5000), [1.0] * 1000 + [10.5] * 20).out_of_range
    assert inside is not None
    assert inside.share == pytest.approx(20 / 1020)
    assert inside.severity is Severity.WARNING  # 1.96%: warning
    # A baseline without a numeric value has no range: the check does not apply.
    assert _quality([np.nan], cur).out_of_range is None
    empty = _quality(base, [np.nan, None]).out_of_range
    assert empty is not None
    assert empty.share is None
    assert empty.reason == "no non-missing numeric value in the current window"
    strings = _quality(["1", "x", 3], ["2", 4]).out_of_range  # strings parse, "x" skipped
    assert strings is not None
    assert strings.share == 0.5


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_baseline_is_never_out_of_its_own_range(values: list[float]) -> None:
    result = _quality(values, values)
    assert result.out_of_range is not None
    assert result.out_of_range.share == 0.0
    assert result.severity is Severity.NONE
    assert _quality(values, list(reversed(values))) == result


def test_category_changes() -> None:
    base = ["a"] * 50 + ["b"] * 45 + ["gone"] * 5
    cur = ["a"] * 60 + ["b"] * 37 + ["new1"] * 2 + ["new2"] + [None] * 10
    result = _quality(base, cur, "categorical").categories
    assert result is not None
    assert result.n_current == 100
    assert result.n_new == 2
    assert [(c.category, c.share, c.count) for c in result.new] == [
        ("new1", 0.02, 2),
        ("new2", 0.01, 1),
    ]
    assert result.new_share == pytest.approx(0.03)
    assert result.vanished[0].category == "gone"
    assert result.vanished_share == pytest.approx(0.05)
    assert result.severity is Severity.CRITICAL  # vanished 5%
    same = _quality(base, base[::-1], "categorical").categories
    assert same is not None
    assert same.n_new == same.n_vanished == 0
    assert same.severity is Severity.NONE
    ints = _quality([1, 2, 2], [2, 3], "categorical").categories
    assert ints is not None
    assert [c.category for c in ints.new] == ["3"]
    assert ints.new_share == 0.5


def test_type_errors() -> None:
    base = [str(i) for i in range(100)]
    raw = ["1.5", " 2 ", "1e3", "abc", None, "", 7, True, "n/a", "abc"]
    result = _quality(base, raw).type_errors
    assert result is not None
    assert result.n_values == 9
    assert result.count == 4  # "abc" twice, "", "n/a"
    assert result.share == pytest.approx(4 / 9)
    assert result.severity is Severity.CRITICAL
    clean = _quality(base, [1.0, np.nan]).type_errors
    assert clean is not None
    assert clean.count == 0
    one = _quality(base, ["1"] * 999 + ["x"]).type_errors
    assert one is not None
    assert one.severity is Severity.WARNING  # 0.1%: warning, below the 1% critical
    nothing = _quality(base, [None]).type_errors
    assert nothing is not None
    assert nothing.share is None
    lax = _quality(base, ["1"] * 999 + ["x"], levels=QualityLevels(type_error_warning=0.01))
    assert lax.type_errors is not None
    assert lax.type_errors.severity is Severity.NONE


def test_column_quality_combines_checks() -> None:
    base = [str(i) for i in range(100)]
    cur = [str(i) for i in range(90)] + ["oops"] * 5 + [None] * 5
    result = _quality(base, cur)
    assert result.kind == "numeric"
    assert result.type_errors is not None
    assert result.type_errors.count == 5
    assert result.out_of_range is not None
    assert result.out_of_range.share == 0.0
    assert result.categories is None
    assert result.severity is Severity.CRITICAL
    cats = _quality(["x", "y"] * 50, ["x", "y"] * 50, "categorical")
    assert cats.kind == "categorical"
    assert cats.severity is Severity.NONE
    assert cats.type_errors is None
    with pytest.raises(KeyError):
        column_quality("absent", _profile([1]), _profile([1]))


def test_levels_are_validated() -> None:
    with pytest.raises(ValueError, match="missing_warning"):
        QualityLevels(missing_warning=0.3, missing_critical=0.2)
    with pytest.raises(ValueError, match="alpha"):
        QualityLevels(alpha=0.0)
