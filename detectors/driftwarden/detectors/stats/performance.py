"""Model performance with ground-truth labels, and its change against the baseline window.

Everything here is computed with numpy in one pass (a sort for the ranking metrics); the
tests cross-check every metric against scikit-learn on the same data.

NaN policy: rows whose label is missing (see `stats.missing.missing_mask`), or whose
score or prediction is missing, are dropped before anything is computed; `n_dropped` says
how many. Metrics that are undefined on the remaining rows (ROC-AUC with one class,
precision with no predicted positive, anything on an empty window) are None, with the
reason in `undefined[metric]`; NaN never leaks into a result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats.labels import encode_labels, label_display, label_str
from driftwarden.detectors.stats.missing import missing_mask
from driftwarden.detectors.stats.proportions import two_proportion_test
from driftwarden.detectors.stats.severity import Severity, severity_from_levels
from driftwarden.detectors.stats.tails import average_ranks, normal_sf

#: Metrics where a larger value is better; a fall is a drop in quality.
HIGHER_IS_BETTER: frozenset[str] = frozenset(
    {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2"}
)
#: Error metrics: a rise is a drop in quality.
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "ece", "rmse", "mae"})

#: Default relative drops (see `compare_performance`); equal to config.PerformanceThresholds.
DEFAULT_WARNING_DROP = 0.05
DEFAULT_CRITICAL_DROP = 0.2

# Named reasons for undefined metrics (stable strings: they go into reports).
EMPTY = "no labelled rows"
ONE_CLASS = "only one class present in y_true"
NO_POSITIVES = "no actual positives in y_true"
NO_PREDICTED_POSITIVES = "no predicted positives"
NO_SCORES = "no scores given (y_score is None)"
CONSTANT_TARGET = "y_true is constant (zero variance)"

EceStrategy = Literal["uniform", "quantile"]


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of true label (rows) against predicted label (columns), in `labels` order.

    Labels are the string forms of the label values (`stats.labels`): for a binary task
    in the order (negative, positive); for multiclass sorted by value when every label is
    numeric, by text otherwise.
    """

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class ClassificationMetrics:
    """Classification performance on one window.

    Binary: precision, recall and F1 are those of the positive class; `positive_rate` is
    the share of rows predicted positive and `prevalence` the share actually positive.
    ROC-AUC, PR-AUC (average precision), Brier score and ECE need scores (probabilities of
    the positive class). Multiclass: precision, recall and F1 are macro averages over the
    labels seen in y_true or y_pred (a class never predicted counts 0 precision, as
    scikit-learn's `zero_division=0`); the score-based metrics are None.
    """

    task: Literal["binary", "multiclass"]
    n: int
    n_dropped: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    roc_auc: float | None
    pr_auc: float | None
    brier: float | None
    ece: float | None
    positive_rate: float | None
    prevalence: float | None
    confusion: ConfusionMatrix
    positive_label: str | None
    threshold: float | None
    ece_bins: int
    ece_strategy: EceStrategy
    undefined: Mapping[str, str] = field(default_factory=dict)

    def metrics(self) -> dict[str, float | None]:
        """The comparable metrics by name (input of `compare_performance`)."""
        return {
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "brier": self.brier,
            "ece": self.ece,
        }


@dataclass(frozen=True)
class RegressionMetrics:
    """Regression performance on one window (RMSE and MAE in the target's unit)."""

    n: int
    n_dropped: int
    rmse: float | None
    mae: float | None
    r2: float | None
    undefined: Mapping[str, str] = field(default_factory=dict)

    def metrics(self) -> dict[str, float | None]:
        """The comparable metrics by name (input of `compare_performance`)."""
        return {"rmse": self.rmse, "mae": self.mae, "r2": self.r2}


@dataclass(frozen=True)
class MetricChange:
    """One metric, baseline against current.

    `relative_drop` is positive when quality fell, whatever the metric's direction:
    (baseline - current) / |baseline| for higher-is-better metrics and
    (current - baseline) / |baseline| for error metrics. `absolute_change` is plain
    current - baseline. When the drop cannot be computed (a side is undefined, or the
    baseline is 0 and the current differs) `relative_drop` is None, `severity` none and
    `reason` says why.

    `p_value` (two-sided, H0: same value in both windows) and `test` are given for the
    metrics that have a cheap test when both sides are result objects (see
    `metric_change_p_value`); None otherwise.
    """

    metric: str
    baseline: float | None
    current: float | None
    absolute_change: float | None
    relative_drop: float | None
    higher_is_better: bool
    severity: Severity
    reason: str | None = None
    p_value: float | None = None
    test: str | None = None


# --------------------------------------------------------------------------- helpers


def _as_1d(name: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num / den)


def roc_auc(y_true: npt.NDArray[np.bool_], y_score: npt.NDArray[np.float64]) -> float | None:
    """Area under the ROC curve via the Mann–Whitney U statistic (ties count one half).

    AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg), R_pos the sum of the positives'
    average ranks among all scores (Hanley & McNeil 1982). None when a class is absent.
    """
    n_pos = int(np.count_nonzero(y_true))
    n_neg = int(y_true.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = average_ranks(y_score)
    u = float(ranks[y_true].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def average_precision(
    y_true: npt.NDArray[np.bool_], y_score: npt.NDArray[np.float64]
) -> float | None:
    """PR-AUC as average precision, AP = sum_k (R_k - R_{k-1}) P_k over the distinct
    score thresholds in decreasing order (the step-wise definition of scikit-learn's
    `average_precision_score`; no interpolation). None when there is no positive."""
    n_pos = int(np.count_nonzero(y_true))
    if n_pos == 0:
        return None
    order = np.argsort(-y_score, kind="stable")
    score_sorted = y_score[order]
    true_sorted = y_true[order]
    # Last index of each run of equal scores: a threshold includes all ties.
    distinct = np.flatnonzero(np.diff(score_sorted))
    last = np.r_[distinct, score_sorted.size - 1]
    tps = np.cumsum(true_sorted)[last]
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def expected_calibration_error(
    y_true: npt.NDArray[np.bool_],
    y_prob: npt.NDArray[np.float64],
    *,
    bins: int = 10,
    strategy: EceStrategy = "uniform",
) -> float | None:
    """Expected calibration error, ECE = sum_b (n_b / n) |mean(y in b) - mean(p in b)|.

    Binning (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017): `uniform` = `bins`
    equal-width bins on [0, 1]; `quantile` = bins at the window's own score quantiles
    (equal counts, fewer when scores tie). Bin edges and bin assignment follow
    scikit-learn's `calibration_curve` (a score on an inner edge belongs to the lower bin),
    so the per-bin means equal its output. None on an empty window.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    n = y_prob.size
    if n == 0:
        return None
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    else:
        edges = np.percentile(y_prob, np.linspace(0.0, 100.0, bins + 1))
    ids = np.searchsorted(edges[1:-1], y_prob)
    count = np.bincount(ids, minlength=bins).astype(np.float64)
    sum_prob = np.bincount(ids, weights=y_prob, minlength=bins)
    sum_true = np.bincount(ids, weights=y_true.astype(np.float64), minlength=bins)
    nonzero = count > 0
    gap = np.abs(sum_true[nonzero] - sum_prob[nonzero])  # = n_b |mean_y - mean_p|
    return float(gap.sum() / n)


# --------------------------------------------------------------------------- classification


def classification_metrics(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike | None = None,
    y_pred: npt.ArrayLike | None = None,
    *,
    threshold: float = 0.5,
    positive_label: Any = 1,
    task: Literal["binary", "multiclass"] | None = None,
    ece_bins: int = 10,
    ece_strategy: EceStrategy = "uniform",
) -> ClassificationMetrics:
    """Classification metrics of one window.

    - `y_true`: true labels (any hashable values; compared by their string form, with
      integral floats such as 1.0 read as "1", so a label column that went through a float
      column still matches `positive_label=1`).
    - `y_score`: binary only, probability of `positive_label` in [0, 1]. When `y_pred` is
      not given it is `y_score >= threshold`.
    - `y_pred`: predicted labels; needed when there are no scores.
    - `task`: inferred when None: binary if `y_score` is given or at most two labels occur
      in y_true and y_pred, multiclass otherwise.

    Formulas: accuracy = mean(pred == true); precision = TP / (TP + FP); recall =
    TP / (TP + FN); F1 = 2 TP / (2 TP + FP + FN); ROC-AUC by Mann–Whitney (`roc_auc`);
    PR-AUC = average precision (`average_precision`); Brier = mean((p - y)^2) (Brier 1950);
    ECE per `expected_calibration_error`. References: scikit-learn's `metrics` module,
    whose definitions these equal (tests cross-check them).

    Raises ValueError naming the argument for mismatched lengths, non-1-D input, scores
    outside [0, 1], neither scores nor predictions, a threshold outside [0, 1], more than
    two labels for a binary task, or scores for a multiclass task.
    """
    true_raw = _as_1d("y_true", y_true)
    if y_score is None and y_pred is None:
        raise ValueError("y_score or y_pred must be given")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if task not in (None, "binary", "multiclass"):
        raise ValueError(f"task must be 'binary', 'multiclass' or None, got {task!r}")
    keep = ~missing_mask(true_raw)
    score: npt.NDArray[np.float64] | None = None
    if y_score is not None:
        score_raw = _as_1d("y_score", y_score)
        if score_raw.shape != true_raw.shape:
            raise ValueError(f"y_score has {score_raw.size} values but y_true has {true_raw.size}")
        try:
            score = score_raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y_score must be numeric: {exc}") from exc
        keep &= ~np.isnan(score)
    pred_raw: npt.NDArray[Any] | None = None
    if y_pred is not None:
        pred_raw = _as_1d("y_pred", y_pred)
        if pred_raw.shape != true_raw.shape:
            raise ValueError(f"y_pred has {pred_raw.size} values but y_true has {true_raw.size}")
        keep &= ~missing_mask(pred_raw)
    n_dropped = int(keep.size - np.count_nonzero(keep))
    if score is not None:
        score = score[keep]
        if score.size and (score.min() < 0.0 or score.max() > 1.0):
            raise ValueError("y_score must hold probabilities in [0, 1]")
    windows = [true_raw[keep]] if pred_raw is None else [true_raw[keep], pred_raw[keep]]
    codes, labels = encode_labels(*windows)
    true_c = codes[0]
    pos = label_str(positive_label)
    if task is None:
        task = "binary" if score is not None or len(labels) <= 2 else "multiclass"
    if task == "multiclass":
        if score is not None:
            raise ValueError("y_score is only supported for a binary task; give y_pred")
        if pred_raw is None:
            raise ValueError("y_pred must be given for a multiclass task")
        return _multiclass(true_c, codes[1], labels, n_dropped, ece_bins, ece_strategy)
    negatives = [lbl for lbl in labels if lbl != pos]
    if len(negatives) > 1:
        raise ValueError(
            f"a binary task allows two labels, got {len(labels)} "
            f"({', '.join(label_display(lbl) for lbl in labels[:5])}"
            f"{', ...' if len(labels) > 5 else ''}); positive_label is {label_display(pos)!r}"
        )
    pos_code = labels.index(pos) if pos in labels else -1
    if pred_raw is not None:
        pred_pos = codes[1] == pos_code
    else:
        assert score is not None
        pred_pos = score >= threshold
    neg = negatives[0] if negatives else f"not {pos}"
    return _binary(
        true_c == pos_code,
        pred_pos,
        score,
        (neg, pos),
        n_dropped=n_dropped,
        threshold=threshold if y_pred is None else None,
        ece_bins=ece_bins,
        ece_strategy=ece_strategy,
    )


def _binary(
    truth: npt.NDArray[np.bool_],
    pred: npt.NDArray[np.bool_],
    score: npt.NDArray[np.float64] | None,
    labels: tuple[str, str],
    *,
    n_dropped: int,
    threshold: float | None,
    ece_bins: int,
    ece_strategy: EceStrategy,
) -> ClassificationMetrics:
    n = int(truth.size)
    undefined: dict[str, str] = {}
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    fn = int(np.count_nonzero(truth & ~pred))
    tn = n - tp - fp - fn
    accuracy = _ratio(tp + tn, n)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    roc = pr = brier = ece = None
    if score is not None:
        roc = roc_auc(truth, score)
        pr = average_precision(truth, score)
        if n:
            brier = float(np.mean((score - truth) ** 2))
        ece = expected_calibration_error(truth, score, bins=ece_bins, strategy=ece_strategy)
    if n == 0:
        for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"):
            undefined[name] = EMPTY
        if score is not None:
            undefined["brier"] = undefined["ece"] = EMPTY
    else:
        if precision is None:
            undefined["precision"] = NO_PREDICTED_POSITIVES
        if recall is None:
            undefined["recall"] = NO_POSITIVES
        if f1 is None:
            undefined["f1"] = NO_POSITIVES + " and " + NO_PREDICTED_POSITIVES
        if score is not None:
            if roc is None:
                undefined["roc_auc"] = ONE_CLASS
            if pr is None:
                undefined["pr_auc"] = NO_POSITIVES
    if score is None:
        for name in ("roc_auc", "pr_auc", "brier", "ece"):
            undefined[name] = NO_SCORES
    confusion = ConfusionMatrix(labels=labels, counts=((tn, fp), (fn, tp)))
    return ClassificationMetrics(
        task="binary",
        n=n,
        n_dropped=n_dropped,
        accuracy=accuracy,
        precision=precision,
        recall=recall,
        f1=f1,
        roc_auc=roc,
        pr_auc=pr,
        brier=brier,
        ece=ece,
        positive_rate=_ratio(tp + fp, n),
        prevalence=_ratio(tp + fn, n),
        confusion=confusion,
        positive_label=labels[1],
        threshold=threshold,
        ece_bins=ece_bins,
        ece_strategy=ece_strategy,
        undefined=undefined,
    )


def _multiclass(
    true_c: npt.NDArray[np.intp],
    pred_c: npt.NDArray[np.intp],
    labels: list[str],
    n_dropped: int,
    ece_bins: int,
    ece_strategy: EceStrategy,
) -> ClassificationMetrics:
    k = len(labels)
    cm = np.bincount(true_c * k + pred_c, minlength=k * k).reshape(k, k)
    n = int(true_c.size)
    undefined: dict[str, str] = dict.fromkeys(
        ("roc_auc", "pr_auc", "brier", "ece"), "scores are not supported for multiclass"
    )
    if n == 0:
        accuracy = precision = recall = f1 = None
        for name in ("accuracy", "precision", "recall", "f1"):
            undefined[name] = EMPTY
    else:
        tp = np.diag(cm).astype(np.float64)
        predicted = cm.sum(axis=0).astype(np.float64)
        actual = cm.sum(axis=1).astype(np.float64)
        # zero_division = 0: a class never predicted (or never present) scores 0.
        prec = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        rec = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
        den = predicted + actual
        f1s = np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0)
        accuracy = float(tp.sum() / n)
        precision, recall, f1 = float(prec.mean()), float(rec.mean()), float(f1s.mean())
    return ClassificationMetrics(
        task="multiclass",
        n=n,
        n_dropped=n_dropped,
        accuracy=accuracy,
        precision=precision,
        recall=recall,
        f1=f1,
        roc_auc=None,
        pr_auc=None,
        brier=None,
        ece=None,
        positive_rate=None,
        prevalence=None,
        confusion=ConfusionMatrix(
            labels=tuple(labels), counts=tuple(tuple(int(c) for c in row) for row in cm)
        ),
        positive_label=None,
        threshold=None,
        ece_bins=ece_bins,
        ece_strategy=ece_strategy,
        undefined=undefined,
    )


# --------------------------------------------------------------------------- regression


def regression_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> RegressionMetrics:
    """RMSE = sqrt(mean((y - yhat)^2)), MAE = mean(|y - yhat|), R2 = 1 - SS_res / SS_tot
    with SS_tot = sum((y - mean(y))^2) (scikit-learn's `r2_score` definitions).

    Rows with a NaN on either side are dropped (`n_dropped`). R2 is None when y_true is
    constant (SS_tot = 0); every metric is None on an empty window. Raises ValueError
    naming the argument for non-numeric, infinite, non-1-D or mismatched input.
    """
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        arr = _as_1d(name, values)
        try:
            arrays.append(arr.astype(np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric: {exc}") from exc
    t, p = arrays
    if t.shape != p.shape:
        raise ValueError(f"y_pred has {p.size} values but y_true has {t.size}")
    if np.isinf(t).any() or np.isinf(p).any():
        raise ValueError("y_true and y_pred must be finite (inf found)")
    keep = ~(np.isnan(t) | np.isnan(p))
    t, p = t[keep], p[keep]
    n = int(t.size)
    n_dropped = int(keep.size - n)
    if n == 0:
        return RegressionMetrics(
            n, n_dropped, None, None, None, {"rmse": EMPTY, "mae": EMPTY, "r2": EMPTY}
        )
    resid = t - p
    rmse = float(np.sqrt(np.mean(resid**2)))
    mae = float(np.mean(np.abs(resid)))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    undefined: dict[str, str] = {}
    r2: float | None
    if ss_tot == 0.0:
        r2 = None
        undefined["r2"] = CONSTANT_TARGET
    else:
        r2 = 1.0 - float(np.sum(resid**2)) / ss_tot
    return RegressionMetrics(n, n_dropped, rmse, mae, r2, undefined)


# --------------------------------------------------------------------------- comparison


def _metric_map(
    metrics: ClassificationMetrics | RegressionMetrics | Mapping[str, float | None],
) -> tuple[dict[str, float | None], Mapping[str, str]]:
    if isinstance(metrics, ClassificationMetrics | RegressionMetrics):
        return metrics.metrics(), metrics.undefined
    return dict(metrics), {}


def relative_drop(metric: str, baseline: float, current: float) -> float | None:
    """Direction-aware relative drop: (b - c) / |b| when higher is better, (c - b) / |b|
    for error metrics; 0 when equal; None when b = 0 and c differs."""
    if metric not in HIGHER_IS_BETTER and metric not in LOWER_IS_BETTER:
        raise ValueError(f"metric {metric!r} has no known direction")
    if current == baseline:
        return 0.0
    if baseline == 0.0:
        return None
    delta = baseline - current if metric in HIGHER_IS_BETTER else current - baseline
    return delta / abs(baseline)


def _auc_variance(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982) variance of an empirical AUC:
    (A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)) / (n1 n0), Q1 = A/(2-A), Q2 = 2A^2/(1+A)."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    num = auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)
    return max(num, 0.0) / (n_pos * n_neg)


def _proportions(m: ClassificationMetrics) -> dict[str, tuple[int, int]]:
    counts = np.array(m.confusion.counts, dtype=np.int64)
    if counts.size == 0:
        return {}
    out = {"accuracy": (int(np.trace(counts)), int(counts.sum()))}
    if m.task == "binary":
        (_, fp), (fn, tp) = counts.tolist()
        out["precision"] = (tp, tp + fp)
        out["recall"] = (tp, tp + fn)
    return out


def metric_change_p_value(
    metric: str, baseline: ClassificationMetrics, current: ClassificationMetrics
) -> tuple[float, str] | None:
    """Two-sided p-value of H0 "the metric is the same in both windows", for the metrics
    with a cheap, standard test (windows are independent samples):

    - accuracy, precision, recall: they are proportions (correct / rows, TP / predicted
      positives, TP / actual positives), compared with `two_proportion_test` (pooled z-test,
      Fisher's exact test for small counts) on the confusion-matrix counts;
    - roc_auc: z = (A_c - A_b) / sqrt(V_b + V_c) with Hanley & McNeil's (1982) variance.

    None for the other metrics, or when a side is undefined.
    """
    if metric == "roc_auc":
        a_b, a_c = baseline.roc_auc, current.roc_auc
        if a_b is None or a_c is None:
            return None
        sides = []
        for m, a in ((baseline, a_b), (current, a_c)):
            (tn, fp), (fn, tp) = m.confusion.counts
            sides.append(_auc_variance(a, tp + fn, tn + fp))
        var = sides[0] + sides[1]
        if var <= 0.0:
            return (1.0 if a_b == a_c else 0.0), "hanley-mcneil z-test"
        z = (a_c - a_b) / float(np.sqrt(var))
        return 2.0 * normal_sf(abs(z)), "hanley-mcneil z-test"
    pb, pc = _proportions(baseline).get(metric), _proportions(current).get(metric)
    if pb is None or pc is None or pb[1] == 0 or pc[1] == 0:
        return None
    test = two_proportion_test(pb[0], pb[1], pc[0], pc[1])
    return test.p_value, test.method


def compare_performance(
    baseline: ClassificationMetrics | RegressionMetrics | Mapping[str, float | None],
    current: ClassificationMetrics | RegressionMetrics | Mapping[str, float | None],
    *,
    warning: float = DEFAULT_WARNING_DROP,
    critical: float = DEFAULT_CRITICAL_DROP,
    alpha: float | None = None,
) -> list[MetricChange]:
    """Each metric's change from the baseline window to the current one.

    Severity from the direction-aware relative drop d (see `relative_drop`):
    d >= critical -> critical, d >= warning -> warning, else none (an improvement is a
    negative drop, so it never alarms). Defaults 5% / 20%, as
    `config.PerformanceThresholds`. Metrics undefined on either side get severity none and
    a reason. Metrics are listed in the baseline's order; a metric only on one side is
    reported with the other side None.

    Sampling uncertainty: when both sides are `ClassificationMetrics`, accuracy,
    precision, recall and ROC-AUC carry a p-value (`metric_change_p_value`). With `alpha`
    set, those metrics only alarm when p < alpha (a 6% drop of accuracy on 100 rows is
    noise); metrics without a test are judged on the drop alone, so gate small windows by
    `minSamples` too. `alpha=None` (default) reports the p-values without gating.
    Raises ValueError naming the argument for negative levels, warning > critical or
    alpha outside (0, 1).
    """
    if warning < 0 or critical < 0:
        raise ValueError(f"warning and critical must be >= 0, got {warning}, {critical}")
    if warning > critical:
        raise ValueError(f"warning ({warning}) must not exceed critical ({critical})")
    if alpha is not None and not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1) or None, got {alpha}")
    base, base_why = _metric_map(baseline)
    cur, cur_why = _metric_map(current)
    both = isinstance(baseline, ClassificationMetrics) and isinstance(
        current, ClassificationMetrics
    )
    names = list(base) + [name for name in cur if name not in base]
    changes = []
    for name in names:
        if name not in HIGHER_IS_BETTER and name not in LOWER_IS_BETTER:
            raise ValueError(f"baseline/current: metric {name!r} has no known direction")
        b, c = base.get(name), cur.get(name)
        higher = name in HIGHER_IS_BETTER
        if b is None or c is None:
            side = "baseline" if b is None else "current"
            why = (base_why if b is None else cur_why).get(name)
            undefined = f"undefined in the {side} window" + (f": {why}" if why else "")
            changes.append(MetricChange(name, b, c, None, None, higher, Severity.NONE, undefined))
            continue
        tested = None
        if both:
            assert isinstance(baseline, ClassificationMetrics)
            assert isinstance(current, ClassificationMetrics)
            tested = metric_change_p_value(name, baseline, current)
        p_value, test = tested if tested is not None else (None, None)
        drop = relative_drop(name, b, c)
        if drop is None:
            zero = "baseline value is 0"
            changes.append(
                MetricChange(name, b, c, c - b, None, higher, Severity.NONE, zero, p_value, test)
            )
            continue
        severity = severity_from_levels(drop, warning, critical)
        reason: str | None = None
        if alpha is not None and p_value is not None and p_value >= alpha:
            if severity is not Severity.NONE:
                reason = f"not significant (p = {p_value:.3g} >= alpha {alpha:g})"
            severity = Severity.NONE
        changes.append(
            MetricChange(name, b, c, c - b, drop, higher, severity, reason, p_value, test)
        )
    return changes
