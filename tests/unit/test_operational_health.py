"""Operational metrics and the health score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.config import HealthWeights
from driftwarden.detectors.stats.health import (
    PARTS,
    aggregate_score,
    health_score,
    severity_score,
)
from driftwarden.detectors.stats.operational import error_rate_change, latency_change
from driftwarden.detectors.stats.proportions import FISHER
from driftwarden.detectors.stats.severity import Severity


def test_latency_percentiles_and_severity() -> None:
    rng = np.random.default_rng(0)
    base = rng.lognormal(3.0, 0.5, 5000)
    cur = base * 1.3  # every percentile +30%
    cur[::100] = np.nan
    result = latency_change(base, cur)
    assert result.n_missing_current == 50
    by_q = {p.percentile: p for p in result.percentiles}
    assert by_q[95.0].baseline == pytest.approx(stats.scoreatpercentile(base, 95))
    kept = cur[~np.isnan(cur)]
    assert by_q[99.0].current == pytest.approx(np.percentile(kept, 99))
    assert by_q[50.0].relative_change == pytest.approx(
        np.percentile(kept, 50) / np.percentile(base, 50) - 1
    )
    assert by_q[95.0].severity is Severity.WARNING
    assert result.severity is Severity.WARNING
    slower = latency_change(base, base * 1.6)
    assert slower.severity is Severity.CRITICAL
    faster = latency_change(base, base * 0.5)
    assert faster.severity is Severity.NONE


def test_latency_tail_gate_and_edges() -> None:
    base = np.arange(1, 301, dtype=float)
    result = latency_change(base, base * 3)
    by_q = {p.percentile: p for p in result.percentiles}
    assert by_q[50.0].severity is Severity.CRITICAL
    assert by_q[99.0].severity is Severity.NONE  # 3 observations above p99
    assert by_q[99.0].reason == "fewer than 10 observations above p99"
    zero = latency_change(np.zeros(100), np.ones(100), percentiles=[50])
    assert zero.percentiles[0].relative_change is None
    empty = latency_change([np.nan], [1.0])
    assert empty.percentiles == ()
    assert empty.reason == "no latency in the baseline window"
    with pytest.raises(ValueError, match="current has negative"):
        latency_change([1.0], [-1.0])
    with pytest.raises(ValueError, match="percentiles"):
        latency_change([1.0], [1.0], percentiles=[101])
    with pytest.raises(ValueError, match="warning"):
        latency_change([1.0], [1.0], warning=0.6, critical=0.5)


def test_error_rate_change() -> None:
    base = np.r_[np.ones(100), np.zeros(9900)]  # 1%
    cur = np.r_[np.ones(300), np.zeros(9700), [np.nan] * 5]  # 3%
    result = error_rate_change(base, cur)
    assert result.baseline_rate == pytest.approx(0.01)
    assert result.current_rate == pytest.approx(0.03)
    assert result.n_missing_current == 5
    chi2 = stats.chi2_contingency([[100, 9900], [300, 9700]], correction=False)
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert result.severity is Severity.WARNING
    big = error_rate_change(base, np.r_[np.ones(800), np.zeros(9200)])
    assert big.severity is Severity.CRITICAL
    # +10 points on 20 requests: significant? Fisher says no, so no alarm.
    small = error_rate_change([False] * 20, [True] * 2 + [False] * 18)
    assert small.method == FISHER
    assert small.severity is Severity.NONE
    flags = error_rate_change(np.array([True, False, None], dtype=object), [0, 1])
    assert flags.n_baseline == 2
    with pytest.raises(ValueError, match="current must hold 0/1"):
        error_rate_change([0, 1], [0, 2])
    with pytest.raises(ValueError, match="baseline has no error flag"):
        error_rate_change([np.nan], [0, 1])


def test_health_score_weights_normalised_over_present_parts() -> None:
    weights = HealthWeights().model_dump()
    assert set(weights) == set(PARTS)
    parts: dict[str, float | None] = dict.fromkeys(PARTS, 1.0)
    assert health_score(parts, weights) == pytest.approx(100.0)
    parts["data_drift"] = 0.2
    assert health_score(parts, weights) == pytest.approx(100 * (1 - 0.35 * 0.8))
    parts["performance"] = parts["concept_drift"] = None  # no labels: 0.35 of 0.65 left
    assert health_score(parts, weights) == pytest.approx(100 * (1 - 0.8 * 0.35 / 0.65))
    assert health_score({"operational": 0.6}, {"operational": 1.0}) == pytest.approx(60.0)


def test_health_score_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown part 'speed'"):
        health_score({"speed": 1.0}, {"speed": 1.0})
    with pytest.raises(ValueError, match="parts\\['data_drift'\\]"):
        health_score({"data_drift": 1.5}, {"data_drift": 1.0})
    with pytest.raises(ValueError, match="parts\\['data_drift'\\]"):
        health_score({"data_drift": math.nan}, {"data_drift": 1.0})
    with pytest.raises(ValueError, match="weights\\['data_drift'\\]"):
        health_score({"data_drift": 1.0}, {"data_drift": -1.0})
    with pytest.raises(ValueError, match="no weight"):
        health_score({"data_drift": 1.0}, {"performance": 1.0})
    with pytest.raises(ValueError, match="no present part"):
        health_score({"data_drift": None}, {"data_drift": 1.0})


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(PARTS), st.floats(0, 1) | st.none(), min_size=1),
    st.fixed_dictionaries({p: st.floats(0.01, 10) for p in PARTS}),
)
def test_health_score_is_a_weighted_mean(
    parts: dict[str, float | None], weights: dict[str, float]
) -> None:
    present = [s for s in parts.values() if s is not None]
    if not present:
        with pytest.raises(ValueError, match="no present part"):
            health_score(parts, weights)
        return
    score = health_score(parts, weights)
    assert 100 * min(present) - 1e-9 <= score <= 100 * max(present) + 1e-9
    scaled = {k: 3 * v for k, v in weights.items()}
    assert health_score(parts, scaled) == pytest.approx(score)


def test_severity_scores() -> None:
    assert severity_score(Severity.NONE) == 1.0
    assert severity_score(Severity.WARNING) == 0.6
    assert severity_score(Severity.CRITICAL) == 0.2
    assert aggregate_score([]) is None
    one_critical = aggregate_score([Severity.CRITICAL] + [Severity.NONE] * 24)
    assert one_critical == pytest.approx(0.5 * 0.2 + 0.5 * (0.2 + 24) / 25)
    ten_critical = aggregate_score([Severity.CRITICAL] * 10 + [Severity.NONE] * 15)
    assert ten_critical is not None
    assert one_critical is not None
    assert ten_critical < one_critical
