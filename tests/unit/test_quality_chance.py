"""The quality section's chance allowance (issue 11, section 6).

The out-of-range tail is checked against a brute-force enumeration of every arrangement
of the pooled windows; the section is checked on the issue's example (two 200-row windows
from one N(0, 1): "warning, 12/20 columns" before) and on 10,000 columns (critical before).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.profile import window_profile
from driftwarden.detectors.sections import quality_section
from driftwarden.detectors.stats.quality import (
    category_changes_from_counts,
    out_of_range_from_counts,
    out_of_range_p_value,
    unseen_mass_p_value,
    vanished_mass_p_value,
)
from driftwarden.detectors.stats.severity import Severity


@pytest.mark.parametrize(("nb", "nc"), [(1, 1), (2, 1), (2, 3), (3, 4), (5, 5), (4, 7)])
def test_out_of_range_tail_matches_enumeration(nb: int, nc: int) -> None:
    """Every way to choose the baseline's positions among N pooled ranks is equally likely;
    K counts current ranks below the first or above the last baseline rank."""
    n = nb + nc
    counts = [0] * (nc + 1)
    for chosen in itertools.combinations(range(n), nb):
        low, high = chosen[0], chosen[-1]
        k = low + (n - 1 - high)
        counts[k] += 1
    total = math.comb(n, nb)
    for k in range(nc + 1):
        tail = sum(counts[k:]) / total
        assert out_of_range_p_value(nb, nc, k) == pytest.approx(tail, rel=1e-12, abs=1e-15)


def test_out_of_range_hand_value() -> None:
    # n_b = 2, n_c = 1: the current value is inside only between the two baseline values.
    assert out_of_range_p_value(2, 1, 1) == pytest.approx(2 / 3)
    assert out_of_range_p_value(10, 10, 0) == 1.0
    with pytest.raises(ValueError, match="n_baseline"):
        out_of_range_p_value(0, 5, 1)


def test_a_chance_share_is_not_an_alarm_but_a_real_one_is() -> None:
    # 2 of 200 outside a 200-row baseline's range: 1%, today's warning; p = 0.50.
    by_chance = out_of_range_from_counts(-2.5, 2.5, 1, 1, 200, n_baseline=200, chance_alpha=0.05)
    assert by_chance.p_value == pytest.approx(0.5, abs=0.01)
    assert by_chance.severity is Severity.NONE
    real = out_of_range_from_counts(-2.5, 2.5, 0, 10, 200, n_baseline=200, chance_alpha=0.05)
    assert real.p_value is not None
    assert real.p_value < 0.01
    assert real.severity is Severity.CRITICAL  # 5%


def test_unseen_categories_against_the_good_turing_mass() -> None:
    # A baseline with 10 singletons out of 1000: unseen mass about 1.1%; 3 of 200 new is chance.
    baseline = {**{f"s{i}": 1.0 for i in range(10)}, "a": 990.0}
    assert unseen_mass_p_value(baseline, 200, 3) > 0.05
    assert unseen_mass_p_value(baseline, 200, 20) < 1e-6
    changes = category_changes_from_counts(baseline, {"a": 197.0, "new": 3.0}, chance_alpha=0.05)
    assert changes.severity is Severity.NONE
    changes = category_changes_from_counts(baseline, {"a": 180.0, "new": 20.0}, chance_alpha=0.05)
    assert changes.severity is Severity.CRITICAL


def test_vanished_categories_against_their_chance_of_being_missed() -> None:
    # Ten singletons of 1000 each miss 200 draws with chance 0.999**200 = 0.819: mean 8.19
    # vanished values, variance 10 * 0.819 * 0.181 = 1.48; 10 vanished: 1.48 / (1.48 + 3.27).
    baseline = {**{f"s{i}": 1.0 for i in range(10)}, "a": 990.0}
    assert vanished_mass_p_value(baseline, 200, 10) == pytest.approx(0.312, abs=0.002)
    # A fifth of the baseline vanishing is no accident.
    assert vanished_mass_p_value({"a": 800.0, "b": 200.0}, 200, 200) < 1e-12
    changes = category_changes_from_counts(
        {"a": 800.0, "b": 200.0}, {"a": 200.0}, chance_alpha=0.05
    )
    assert changes.severity is Severity.CRITICAL


def _windows(rows: int, columns: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(columns)]
    return (
        pd.DataFrame(rng.normal(size=(rows, columns)), columns=names),
        pd.DataFrame(rng.normal(size=(rows, columns)), columns=names),
    )


def test_the_issue_example_no_longer_alarms() -> None:
    base, cur = _windows(200, 20, 11)
    kinds = dict.fromkeys(base.columns, "numeric")
    report = quality_section(list(kinds.items()), window_profile(base, kinds),
                             window_profile(cur, kinds))  # fmt: skip
    assert report.severity is Severity.NONE, report.summary


def test_ten_thousand_unchanged_columns_are_not_critical() -> None:
    base, cur = _windows(200, 10_000, 12)
    kinds = dict.fromkeys(base.columns, "numeric")
    report = quality_section(list(kinds.items()), window_profile(base, kinds),
                             window_profile(cur, kinds))  # fmt: skip
    assert report.severity is Severity.NONE, report.summary


def test_a_real_quality_problem_in_one_of_many_columns_is_still_found() -> None:
    base, cur = _windows(2000, 200, 13)
    cur.loc[:99, "x7"] = 50.0  # 5% far outside the baseline's range
    kinds = dict.fromkeys(base.columns, "numeric")
    report = quality_section(list(kinds.items()), window_profile(base, kinds),
                             window_profile(cur, kinds))  # fmt: skip
    assert report.severity is Severity.CRITICAL
    assert "x7" in report.summary


def test_a_single_category_baseline_has_no_chance_of_vanishing() -> None:
    # One category holds the whole baseline: every draw hits it, so it can vanish only by a
    # real change (p-value 0 by Cantelli's bound with zero variance), and without a warning
    # (the test suite turns warnings into errors).
    assert vanished_mass_p_value({"only": 200.0}, 200, 200.0) == 0.0
    assert vanished_mass_p_value({"only": 200.0}, 200, 0.0) == 1.0
