"""Data-quality checks: hand-computed references, scipy for the test, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.stats.missing import missing_mask
from driftwarden.detectors.stats.quality import (
    QualityLevels,
    category_changes,
    column_quality,
    missing_rate_change,
    out_of_range,
    type_errors,
)
from driftwarden.detectors.stats.severity import Severity


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
    result = missing_rate_change(base, cur)
    assert result.baseline_rate == pytest.approx(0.02)
    assert result.current_rate == pytest.approx(0.12)
    assert result.change == pytest.approx(0.10)
    chi2 = stats.chi2_contingency([[20, 980], [120, 880]], correction=False)
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert result.severity is Severity.WARNING
    # Same 10-point rise on 10 rows: not significant, no alarm.
    small = missing_rate_change([1.0] * 10, [np.nan] + [1.0] * 9)
    assert small.change == pytest.approx(0.1)
    assert small.severity is Severity.NONE
    critical = missing_rate_change(base, np.where(np.arange(1000) < 300, np.nan, 1.0))
    assert critical.severity is Severity.CRITICAL
    better = missing_rate_change(cur, base)
    assert better.severity is Severity.NONE
    with pytest.raises(ValueError, match="current is empty"):
        missing_rate_change(base, [])


def test_out_of_range_hand_computation() -> None:
    base = np.array([0.0, 5.0, 10.0, np.nan])
    cur = np.array([-1.0, 0.0, 3.0, 10.0, 11.0, 12.0, np.nan, 4.0, 5.0, 6.0])
    result = out_of_range(base, cur)
    assert (result.baseline_min, result.baseline_max) == (0.0, 10.0)
    assert result.n_current == 9
    assert result.share_below == pytest.approx(1 / 9)
    assert result.share_above == pytest.approx(2 / 9)
    assert result.severity is Severity.CRITICAL
    inside = out_of_range(base, [1.0] * 1000 + [10.5] * 20)  # 1.96%: warning
    assert inside.severity is Severity.WARNING
    empty = out_of_range([np.nan], cur)
    assert empty.share is None
    assert empty.reason == "no non-missing numeric value in the baseline window"
    assert out_of_range(["1", "x", 3], ["2", 4]).share == 0.5  # strings parse, "x" skipped


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_baseline_is_never_out_of_its_own_range(values: list[float]) -> None:
    result = out_of_range(values, values)
    assert result.share == 0.0
    assert result.severity is Severity.NONE
    perm = list(reversed(values))
    assert out_of_range(values, perm) == result


def test_category_changes() -> None:
    base = np.array(["a"] * 50 + ["b"] * 45 + ["gone"] * 5, dtype=object)
    cur = np.array(["a"] * 60 + ["b"] * 37 + ["new1"] * 2 + ["new2"] + [None] * 10, dtype=object)
    result = category_changes(base, cur)
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
    same = category_changes(base, base[::-1])
    assert same.n_new == same.n_vanished == 0
    assert same.severity is Severity.NONE
    ints = category_changes(np.array([1, 2, 2]), np.array([2, 3]))
    assert [c.category for c in ints.new] == ["3"]
    assert ints.new_share == 0.5


def test_type_errors() -> None:
    raw = np.array(["1.5", " 2 ", "1e3", "abc", None, "", 7, True, "n/a", "abc"], dtype=object)
    result = type_errors(raw)
    assert result.n_values == 9
    assert result.count == 4  # "abc" twice, "", "n/a"
    assert result.share == pytest.approx(4 / 9)
    assert result.examples == ("abc", "", "n/a")  # most frequent first, then by text
    assert result.severity is Severity.CRITICAL
    assert type_errors(np.array([1.0, np.nan])).count == 0
    one = type_errors(np.array(["1"] * 999 + ["x"], dtype=object))
    assert one.severity is Severity.WARNING  # 0.1%: warning, below the 1% critical
    assert type_errors(np.array([None], dtype=object)).share is None
    lax = type_errors(np.array(["1"] * 999 + ["x"]), levels=QualityLevels(type_error_warning=0.01))
    assert lax.severity is Severity.NONE


def test_column_quality_combines_checks() -> None:
    base = np.array([str(i) for i in range(100)], dtype=object)
    cur = np.array([str(i) for i in range(90)] + ["oops"] * 5 + [None] * 5, dtype=object)
    result = column_quality("age", base, cur, kind="numeric")
    assert result.type_errors is not None
    assert result.type_errors.count == 5
    assert result.out_of_range is not None
    assert result.out_of_range.share == 0.0
    assert result.categories is None
    assert result.severity is Severity.CRITICAL
    cats = column_quality("region", ["x", "y"] * 50, ["x", "y"] * 50, kind="categorical")
    assert cats.severity is Severity.NONE
    assert cats.type_errors is None
    with pytest.raises(ValueError, match="kind"):
        column_quality("c", [1], [1], kind="text")  # type: ignore[arg-type]


def test_levels_are_validated() -> None:
    with pytest.raises(ValueError, match="missing_warning"):
        QualityLevels(missing_warning=0.3, missing_critical=0.2)
    with pytest.raises(ValueError, match="alpha"):
        QualityLevels(alpha=0.0)
