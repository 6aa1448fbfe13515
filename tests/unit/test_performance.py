"""Performance metrics: reference values from scikit-learn on the same data."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from driftwarden.detectors.stats.performance import (
    NO_POSITIVES,
    NO_PREDICTED_POSITIVES,
    ONE_CLASS,
    ClassificationMetrics,
    MetricChange,
    average_precision,
    classification_metrics,
    compare_performance,
    expected_calibration_error,
    regression_metrics,
    relative_drop,
    roc_auc,
)
from driftwarden.detectors.stats.proportions import FISHER, Z_TEST, two_proportion_test
from driftwarden.detectors.stats.severity import Severity


def _binary_data(
    seed: int, n: int = 2000, ties: bool = False
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = 1.0 / (1.0 + np.exp(-(1.5 * y - 0.75 + rng.normal(0, 1.2, n))))
    if ties:
        score = np.round(score, 1)
    return y, score


def _ece_reference(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64], strategy: str) -> float:
    """ECE from scikit-learn's calibration_curve per-bin means, weighted by bin counts
    (computed with the same edges calibration_curve documents)."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy=strategy)
    if strategy == "uniform":
        edges = np.linspace(0, 1, 11)
    else:
        edges = np.percentile(p, np.linspace(0, 100, 11))
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=10)
    counts = counts[counts > 0]
    return float(np.sum(counts / p.size * np.abs(prob_true - prob_pred)))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_metrics_equal_sklearn(seed: int, ties: bool) -> None:
    y, score = _binary_data(seed, ties=ties)
    result = classification_metrics(y, score, threshold=0.5)
    pred = (score >= 0.5).astype(int)
    assert result.task == "binary"
    assert result.n == y.size
    assert result.accuracy == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert result.precision == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert result.recall == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert result.f1 == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert result.roc_auc == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)
    assert result.pr_auc == pytest.approx(skm.average_precision_score(y, score), abs=1e-12)
    assert result.brier == pytest.approx(skm.brier_score_loss(y, score), abs=1e-12)
    assert result.ece == pytest.approx(_ece_reference(y, score, "uniform"), abs=1e-12)
    assert result.positive_rate == pytest.approx(pred.mean())
    assert result.prevalence == pytest.approx(y.mean())
    assert result.confusion.labels == ("0", "1")
    assert np.array_equal(np.array(result.confusion.counts), skm.confusion_matrix(y, pred))
    assert result.undefined == {}


@pytest.mark.parametrize("seed", [3, 4])
def test_quantile_ece_equals_calibration_curve(seed: int) -> None:
    y, score = _binary_data(seed)
    got = expected_calibration_error(y.astype(bool), score, strategy="quantile")
    assert got == pytest.approx(_ece_reference(y, score, "quantile"), abs=1e-12)


def test_ece_hand_computation() -> None:
    # Two uniform bins: [0, 0.5] holds p=0.2, 0.4 with y=0, 1; (0.5, 1] holds p=0.9 with y=1.
    # ECE = 2/3 * |0.5 - 0.3| + 1/3 * |1 - 0.9| = 0.1333... + 0.0333...
    y = np.array([False, True, True])
    p = np.array([0.2, 0.4, 0.9])
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.2 * 2 / 3 + 0.1 / 3)


def test_string_labels_and_explicit_predictions() -> None:
    y = np.array(["yes", "no", "yes", "no", "yes", "no"], dtype=object)
    pred = np.array(["yes", "yes", "no", "no", "yes", "no"], dtype=object)
    result = classification_metrics(y, y_pred=pred, positive_label="yes")
    assert result.confusion.labels == ("no", "yes")
    assert result.confusion.counts == ((2, 1), (1, 2))
    assert result.precision == pytest.approx(skm.precision_score(y, pred, pos_label="yes"))
    assert result.roc_auc is None
    assert result.undefined["roc_auc"] == "no scores given (y_score is None)"


def test_float_labels_match_integer_positive_label() -> None:
    y = np.array([1.0, 0.0, 1.0, np.nan])
    score = np.array([0.9, 0.2, 0.4, 0.5])
    result = classification_metrics(y, score)
    assert result.n == 3
    assert result.n_dropped == 1
    assert result.recall == pytest.approx(0.5)
    assert result.confusion.labels == ("0", "1")


def test_one_class_gives_named_undefined_metrics() -> None:
    y = np.ones(50, dtype=int)
    score = np.linspace(0.6, 0.99, 50)
    result = classification_metrics(y, score)
    assert result.roc_auc is None
    assert result.undefined["roc_auc"] == ONE_CLASS
    assert result.pr_auc == pytest.approx(1.0)
    assert result.accuracy == 1.0
    assert result.confusion.labels == ("not 1", "1")
    negatives = classification_metrics(np.zeros(50, dtype=int), 1 - score)
    assert negatives.recall is None
    assert negatives.undefined["recall"] == NO_POSITIVES
    assert negatives.precision is None
    assert negatives.undefined["precision"] == NO_PREDICTED_POSITIVES
    assert negatives.pr_auc is None
    for value in negatives.metrics().values():
        assert value is None or math.isfinite(value)


def test_empty_window_gives_none_everywhere() -> None:
    result = classification_metrics(np.array([np.nan, np.nan]), np.array([0.3, 0.7]))
    assert result.n == 0
    assert result.n_dropped == 2
    assert all(value is None for value in result.metrics().values())
    assert result.undefined["accuracy"] == "no labelled rows"
    regression = regression_metrics(np.array([], dtype=float), np.array([], dtype=float))
    assert regression.rmse is None
    assert regression.undefined["r2"] == "no labelled rows"


@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c", "d"], 500)
    pred = np.where(rng.random(500) < 0.6, y, rng.choice(["a", "b", "c", "e"], 500))
    result = classification_metrics(y, y_pred=pred)
    assert result.task == "multiclass"
    labels = sorted(set(y) | set(pred))
    assert result.confusion.labels == tuple(labels)
    assert np.array_equal(
        np.array(result.confusion.counts), skm.confusion_matrix(y, pred, labels=labels)
    )
    assert result.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    for name, fn in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        expected = fn(y, pred, average="macro", zero_division=0)
        assert getattr(result, name) == pytest.approx(expected, abs=1e-12)


def test_classification_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="y_score or y_pred"):
        classification_metrics([0, 1])
    with pytest.raises(ValueError, match="y_score"):
        classification_metrics([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="y_score has 3"):
        classification_metrics([0, 1], [0.5, 0.1, 0.2])
    with pytest.raises(ValueError, match="y_true must be one-dimensional"):
        classification_metrics([[0, 1]], y_pred=[[0, 1]])
    with pytest.raises(ValueError, match="threshold"):
        classification_metrics([0, 1], [0.5, 0.1], threshold=2)
    with pytest.raises(ValueError, match="binary task allows two labels"):
        classification_metrics([0, 1, 2], y_pred=[0, 1, 2], task="binary")
    with pytest.raises(ValueError, match="bins"):
        expected_calibration_error(np.array([True]), np.array([0.5]), bins=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_regression_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, 1000)
    pred = y + rng.normal(0.5, 1, 1000)
    result = regression_metrics(y, pred)
    assert result.rmse == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), abs=1e-12)
    assert result.mae == pytest.approx(skm.mean_absolute_error(y, pred), abs=1e-12)
    assert result.r2 == pytest.approx(skm.r2_score(y, pred), abs=1e-12)


def test_regression_constant_target_and_nan() -> None:
    result = regression_metrics([1.0, 1.0, np.nan, 1.0], [1.5, 0.5, 2.0, np.nan])
    assert result.n == 2
    assert result.n_dropped == 2
    assert result.r2 is None
    assert result.undefined["r2"] == "y_true is constant (zero variance)"
    assert result.mae == pytest.approx(0.5)
    with pytest.raises(ValueError, match="y_pred"):
        regression_metrics([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        regression_metrics([1.0], [np.inf])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 20).map(lambda k: k / 20)),
        min_size=2,
        max_size=60,
    )
)
def test_ranking_metrics_property_equal_sklearn(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows])
    auc = roc_auc(y, score)
    ap = average_precision(y, score)
    if y.all() or not y.any():
        assert auc is None
    else:
        assert auc == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)
    if y.any():
        assert ap == pytest.approx(skm.average_precision_score(y, score), abs=1e-12)
    else:
        assert ap is None
    # Row order does not matter.
    perm = np.random.default_rng(0).permutation(y.size)
    assert roc_auc(y[perm], score[perm]) == auc
    assert average_precision(y[perm], score[perm]) == pytest.approx(ap)


def test_relative_drop_is_direction_aware() -> None:
    assert relative_drop("roc_auc", 0.8, 0.72) == pytest.approx(0.1)
    assert relative_drop("roc_auc", 0.8, 0.88) == pytest.approx(-0.1)
    assert relative_drop("rmse", 2.0, 2.5) == pytest.approx(0.25)
    assert relative_drop("brier", 0.1, 0.09) == pytest.approx(-0.1)
    assert relative_drop("r2", -0.5, -1.0) == pytest.approx(1.0)
    assert relative_drop("mae", 0.0, 0.0) == 0.0
    assert relative_drop("mae", 0.0, 0.1) is None


def test_compare_performance_severity_mapping() -> None:
    base = {"accuracy": 0.9, "roc_auc": 0.8, "rmse": 1.0, "brier": 0.1, "pr_auc": None}
    cur = {"accuracy": 0.86, "roc_auc": 0.75, "rmse": 1.25, "brier": 0.09, "pr_auc": 0.5}
    changes = {c.metric: c for c in compare_performance(base, cur)}
    assert changes["accuracy"].severity is Severity.NONE  # 4.4% drop
    assert changes["roc_auc"].severity is Severity.WARNING  # 6.25% drop
    assert changes["rmse"].severity is Severity.CRITICAL  # error +25%
    assert changes["rmse"].relative_drop == pytest.approx(0.25)
    assert changes["brier"].severity is Severity.NONE  # improvement
    assert changes["pr_auc"].relative_drop is None
    assert changes["pr_auc"].reason == "undefined in the baseline window"
    exact = compare_performance({"f1": 1.0}, {"f1": 0.95}, warning=0.05, critical=0.2)
    assert exact == [
        MetricChange(
            "f1", 1.0, 0.95, pytest.approx(-0.05), pytest.approx(0.05), True, Severity.WARNING
        )
    ]
    with pytest.raises(ValueError, match="warning"):
        compare_performance(base, cur, warning=0.3, critical=0.2)
    with pytest.raises(ValueError, match="no known direction"):
        compare_performance({"speed": 1.0}, {"speed": 2.0})


def test_compare_performance_on_results_carries_reasons() -> None:
    y, score = _binary_data(0)
    base = classification_metrics(y, score)
    cur = classification_metrics(np.ones(20, dtype=int), np.full(20, 0.7))
    assert isinstance(base, ClassificationMetrics)
    changes = {c.metric: c for c in compare_performance(base, cur)}
    assert changes["roc_auc"].reason == f"undefined in the current window: {ONE_CLASS}"
    assert changes["accuracy"].severity is Severity.NONE  # 1.0 vs ~0.7 is an improvement
    assert changes["brier"].severity is Severity.NONE


def test_two_proportion_z_test_equals_chi2_contingency() -> None:
    # The pooled z-test is the uncorrected 2x2 chi-square test: z^2 = chi2.
    result = two_proportion_test(120, 1000, 160, 1000)
    chi2, p, _, _ = stats.chi2_contingency([[120, 880], [160, 840]], correction=False)
    assert result.method == Z_TEST
    assert result.statistic**2 == pytest.approx(chi2, rel=1e-12)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    small = two_proportion_test(0, 30, 4, 30)
    assert small.method == FISHER
    assert small.p_value == pytest.approx(stats.fisher_exact([[4, 26], [0, 30]]).pvalue)
    same = two_proportion_test(0, 10, 0, 20)
    assert same.p_value == 1.0
    with pytest.raises(ValueError, match="n_baseline"):
        two_proportion_test(0, 0, 1, 2)
    with pytest.raises(ValueError, match="current_events"):
        two_proportion_test(0, 5, 3, 2)


def test_metric_p_values_equal_scipy_and_hand_formula() -> None:
    y_b, s_b = _binary_data(10, n=3000)
    y_c, s_c = _binary_data(11, n=2000)
    s_c = np.clip(s_c + np.random.default_rng(0).normal(0, 0.15, s_c.size), 0, 1)
    base, cur = classification_metrics(y_b, s_b), classification_metrics(y_c, s_c)
    changes = {c.metric: c for c in compare_performance(base, cur)}
    correct_b = round(base.accuracy * base.n)  # type: ignore[operator]
    correct_c = round(cur.accuracy * cur.n)  # type: ignore[operator]
    chi2 = stats.chi2_contingency(
        [[correct_b, base.n - correct_b], [correct_c, cur.n - correct_c]], correction=False
    )
    assert changes["accuracy"].p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert changes["accuracy"].test == Z_TEST
    (_, _), (fn, tp) = cur.confusion.counts
    assert cur.recall == pytest.approx(tp / (tp + fn))

    def hanley_mcneil(a: float, n1: int, n0: int) -> float:
        q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
        return (a * (1 - a) + (n1 - 1) * (q1 - a**2) + (n0 - 1) * (q2 - a**2)) / (n1 * n0)

    assert base.roc_auc is not None
    assert cur.roc_auc is not None
    var = hanley_mcneil(base.roc_auc, int(y_b.sum()), int((1 - y_b).sum())) + hanley_mcneil(
        cur.roc_auc, int(y_c.sum()), int((1 - y_c).sum())
    )
    z = (cur.roc_auc - base.roc_auc) / math.sqrt(var)
    assert changes["roc_auc"].p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert changes["f1"].p_value is None
    assert changes["brier"].p_value is None


def test_auc_and_accuracy_tests_hold_their_level() -> None:
    # Same population, 200 independent pairs of 400-row windows: about 5% p < 0.05.
    rejections = {"roc_auc": 0, "accuracy": 0}
    for seed in range(200):
        y_b, s_b = _binary_data(1000 + 2 * seed, n=400)
        y_c, s_c = _binary_data(1001 + 2 * seed, n=400)
        changes = compare_performance(
            classification_metrics(y_b, s_b), classification_metrics(y_c, s_c)
        )
        for change in changes:
            if change.metric in rejections and change.p_value is not None:
                rejections[change.metric] += change.p_value < 0.05
    assert rejections["roc_auc"] <= 20  # 10% at most
    assert rejections["accuracy"] <= 20


def test_alpha_gates_noise_on_small_windows() -> None:
    y = np.r_[np.ones(50, dtype=int), np.zeros(50, dtype=int)]
    good = classification_metrics(y, y_pred=np.where(np.arange(100) < 90, y, 1 - y))  # 0.90
    worse = classification_metrics(y, y_pred=np.where(np.arange(100) < 84, y, 1 - y))  # 0.84
    ungated = {c.metric: c for c in compare_performance(good, worse)}
    assert ungated["accuracy"].severity is Severity.WARNING
    gated = {c.metric: c for c in compare_performance(good, worse, alpha=0.05)}
    assert gated["accuracy"].severity is Severity.NONE
    assert gated["accuracy"].reason is not None
    assert gated["accuracy"].reason.startswith("not significant")
    with pytest.raises(ValueError, match="alpha"):
        compare_performance(good, worse, alpha=1.0)
