"""Concept drift: a change of the feature–target relation P(y | X) between two windows.

The verdict tests the conditional relation itself, and stays calibrated when only the
features' distribution P(X) moves (covariate shift). The feature-importance comparison is
kept as the explanation of which features' role changed.

Decision: the generalised covariance measure on a baseline model's loss and on its signed
residual (Shah & Peters 2020, "The hardness of conditional independence testing and the
generalised covariance measure", Ann. Statist. 48(3)):

1. The rows with a target are sampled (fixed seed, at most `max_rows` per part): the
   baseline is cut into a fit part A and a held-out part H; C is the current sample.
2. A gradient-boosted model f (scikit-learn `HistGradientBoostingClassifier` /
   `...Regressor`, fixed seed) is fit on A. Every row of H and C gets its loss under f:
   log loss (probabilities floored at 1e-3) for classification, absolute error for
   regression, and its signed residual: y - f(X) for regression, 1{y = second class} -
   P_f(second class | X) for two classes (none for three or more). f never sees H or C.
3. Let D = 1 for rows of C, 0 for rows of H. If P(y | X) did not change, the loss of a row
   depends on its window only through X: loss ⊥ D | X. Covariate shift makes D depend on X
   (and so the losses' means differ between H and C) but not this conditional
   independence. It is tested with the GCM: with 5-fold cross-fitting, e(X) = P(D = 1 | X)
   (the domain classifier) and m(X) = E[loss | X] are estimated by gradient boosting on the
   other folds, R_i = (D_i - e(X_i)) (loss_i - m(X_i)), and T = sqrt(n) mean(R) / sd(R) is
   standard normal under the null when the product of the two models' errors vanishes
   faster than 1/sqrt(n) (the test is doubly robust: either model may be rough). Rows
   whose e(X) lies outside [0.05, 0.95] are left out (overlap trimming, Crump et al. 2009,
   Biometrika 96(1)): where X has almost no baseline rows the relation cannot be compared,
   and a model extrapolating there loses accuracy with P(y | X) intact (doubling an
   important feature's spread in a regression alarmed on 3 of 6 pairs without trimming).
   The same folds, domain classifier and trimming give T_bias from the signed residual
   (its own regression m_bias(X), five more fits).
4. The loss test is one-sided, p_loss = 1 - Phi(T): the baseline model's loss is higher on
   current rows than on baseline rows with the same X (a relation that changed so that the
   old model got better is not the alarm a monitor wants). The bias test is two-sided,
   p_bias = 2 (1 - Phi(|T_bias|)): current y above or below the baseline model's
   prediction at the same X. `p_value` = min(1, 2 min(p_loss, p_bias)) (Bonferroni, valid
   whatever the two tests' dependence); p_loss alone for three or more classes. Critical
   when the relative excess loss, (mean loss on C - expected loss) / expected loss,
   reaches `critical_excess`; the expected loss reweights H's losses by e / (1 - e)
   (importance weights, e clipped to [0.01, 0.99]), so it is the loss C would have had
   with the baseline's relation. `domain_auc` (the cross-fitted AUC of e) says how far X moved.

Why not a two-sample test on (X, y): it alarms on covariate shift, which is data drift,
reported elsewhere. Why the loss of a model fit on the baseline: a change of P(y | X) that
raises y in one region and lowers it in another cancels out in the covariance of D with
the residual, but raises the old model's loss in both. Why the signed residual as well: a
loss grows only to second order in a small change of E[y | X] (log loss by KL(p' || p) ~
(p' - p)^2 / (2 p (1 - p)); absolute error by about delta^2 phi(0) / sigma for a shift
delta under noise sigma), the mean residual to first order. A change in one direction on
a subgroup is what the loss test misses: on NannyML's census table (30% of the employed
aged 55 or more set to not employed) the loss test found 3 of 10 pairs at 1,000 rows,
the bias test 8 of 10; on its car prices (diesel 15% cheaper) 5 and 10 of 10. The
Bonferroni halving costs the loss test little where the bias cannot help (a feature
entering a symmetric score: 5 of 8 pairs found by the loss test alone, 4 of 8 combined).

Explanation (not the verdict): one small tree ensemble (`ExtraTreesClassifier` /
`...Regressor`) is fit on each of `n_chunks` baseline chunks and on the current sample;
impurity importances normalised to sum 1 are compared by total variation, TV(a, b) =
0.5 sum_j |a_j - b_j|, against the chunks' own spread (a permutation-style p-value,
`importance_p_value`, Phipson & Smyth 2010). `features` lists each feature's baseline and
current importance, largest change first. This comparison was the verdict before; it also
moves when only the spread of an important feature changes, so it no longer decides.

Measured (`benchmarks/bench_concept.py`, 11 families: two simulations, river's SEA,
STAGGER, Agrawal and Hyperplane, scikit-learn's breast-cancer, digits and diabetes and
NannyML's census and car-price tables with the relation changed by construction;
baseline 5 x current; 88 pairs per cell; docs/statistics.md has the table): false alarms
2/176 = 0.011 [0.003, 0.040] without drift and 4/176 = 0.023 [0.009, 0.057] under
covariate shift alone (the importance comparison: 17/44 there); concept drift found on
84/88 pairs at 1,000 current rows and 86/88 at 4,000 (the loss test alone, same pairs:
76/88 and 80/88). The misses are the weakest change (a new feature entering a Gaussian
score with coefficient 0.6). With 600 rows a part a doubled spread of an important
regression feature alarmed on 3 of 10 pairs (none with 1,000; the default is 2,000).

NaN policy: rows with a missing target are dropped; missing feature values are allowed
(the trees route them). Infinite feature values raise ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from threadpoolctl import threadpool_limits

from driftwarden.detectors.stats.labels import encode_labels
from driftwarden.detectors.stats.severity import Severity

ConceptTask = Literal["classification", "regression"]

METHOD = "gcm-baseline-loss-bias"
#: Rows per part (baseline fit, baseline held-out, current): bounds the cost on any window.
DEFAULT_MAX_ROWS = 2000
DEFAULT_MIN_ROWS = 100
DEFAULT_ALPHA = 0.05
#: Critical when drift is detected and the baseline model's loss on current rows is this
#: much above what the baseline relation gives at the same X (a judgement: a quarter more
#: loss is a model a team would retrain).
DEFAULT_CRITICAL_EXCESS = 0.25
#: Explanation: k + 1 = 20 importance fits, so the smallest importance p-value is 0.05.
DEFAULT_N_CHUNKS = 19
#: Floor of predicted probabilities in the log loss (a class the model never predicts
#: costs -ln 1e-3 = 6.9, not infinity).
PROBABILITY_FLOOR = 1e-3
#: Cross-fitting folds. The nuisance models' fitted noise enters the GCM as a product of
#: two errors its variance estimate does not see: with 2 folds T's spread was 1.10-1.15
#: instead of 1 over 80 no-drift regression pairs of 600 rows a part (7.5-8.7% alarms at
#: 0.05); with 5 folds (models fit on 80% of the rows, five of them averaged) 0.98 (2.5%).
FOLDS = 5

INSUFFICIENT = "insufficient data"


@dataclass(frozen=True)
class FeatureImportanceChange:
    """One feature's normalised importance: baseline (mean over the chunks) and current.

    `z_score` = change / standard deviation of the importance over the baseline chunks
    (None when that deviation is 0): how unusual the change is for this feature.
    """

    feature: str
    baseline: float
    current: float
    change: float
    z_score: float | None


@dataclass(frozen=True)
class ConceptDriftResult:
    """Concept drift verdict (see the module docstring).

    `statistic` is the loss GCM's T and `statistic_bias` the signed residual's (standard
    normal without concept drift; `statistic_bias` None for three or more classes),
    `p_value_loss` (one-sided) and `p_value_bias` (two-sided) their p-values, `p_value` the
    verdict's Bonferroni combination; all None (with `reason`) when the windows are too
    small or the target is constant. `loss_baseline` / `loss_current`: the baseline
    model's mean loss on held-out baseline rows and on current rows; `loss_expected`: the
    current rows' loss expected under the baseline relation (importance-weighted);
    `excess`: (loss_current - loss_expected) / loss_expected. `domain_auc`: cross-fitted
    AUC of telling current rows from baseline rows by X alone (0.5: X did not move). The
    importance comparison (`importance_distance`, `importance_p_value`, `spearman`,
    `features` sorted by |change|) explains which features' role changed; it does not
    decide.
    """

    method: str
    task: ConceptTask
    statistic: float | None
    p_value: float | None
    alpha: float
    drift_detected: bool
    severity: Severity
    loss_baseline: float | None
    loss_current: float | None
    loss_expected: float | None
    excess: float | None
    domain_auc: float | None
    importance_distance: float | None
    importance_p_value: float | None
    spearman: float | None
    features: tuple[FeatureImportanceChange, ...]
    n_baseline: int
    n_current: int
    rows_fit: int
    rows_held_out: int
    rows_current: int
    rows_compared: int  # held-out and current rows inside the overlap, tested by the GCM
    reason: str | None = None
    statistic_bias: float | None = None
    p_value_loss: float | None = None
    p_value_bias: float | None = None


def _check_window(
    name: str, x: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.generic]]:
    xa = np.asarray(x)
    ya = np.asarray(y)
    if xa.ndim != 2:
        raise ValueError(f"x_{name} must be two-dimensional (rows, features), got {xa.shape}")
    if ya.ndim != 1 or ya.shape[0] != xa.shape[0]:
        raise ValueError(f"y_{name} must be one-dimensional with {xa.shape[0]} values")
    try:
        xf = xa.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"x_{name} must be numeric (encode categories first): {exc}") from exc
    if np.isinf(xf).any():
        raise ValueError(f"x_{name} has infinite values")
    return xf, ya


def _target_missing(y: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    if y.dtype.kind == "f":
        mask: npt.NDArray[np.bool_] = np.isnan(y)
        return mask
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in y], dtype=bool)
    return np.zeros(y.shape, dtype=bool)


# ------------------------------------------------------------------------------ the verdict


# Sizes of the three boosted models: (rounds, leaves per tree, rows per leaf). The loss
# regression is kept smoother than the others. A smoother domain classifier (20 rounds,
# leaves of 100 rows) could not follow a doubled spread and alarmed under covariate
# shift, so it is as flexible as the loss model, and the overlap trimming below handles
# the rows it cannot place.
MODEL = (60, 15, 20)
DOMAIN = (60, 15, 20)
#: Rows whose cross-fitted P(current | X) is below this or above 1 - this are left out of
#: the GCM: where X has (almost) no baseline rows the relation cannot be compared, and a
#: model extrapolating there loses accuracy without any change of P(y | X).
OVERLAP = 0.05
LOSS_REGRESSION = (30, 15, 50)


def _boosting_classifier(
    seed: int, size: tuple[int, int, int] = MODEL
) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=size[0], learning_rate=0.1, max_leaf_nodes=size[1], min_samples_leaf=size[2],
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )  # fmt: skip


def _boosting_regressor(
    seed: int, size: tuple[int, int, int] = MODEL
) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=size[0], learning_rate=0.1, max_leaf_nodes=size[1], min_samples_leaf=size[2],
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )  # fmt: skip


def _losses(
    x_fit: npt.NDArray[np.float64],
    y_fit: npt.NDArray[np.generic],
    x_eval: npt.NDArray[np.float64],
    y_eval: npt.NDArray[np.generic],
    task: ConceptTask,
    seed: int,
    binary: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    """Per-row loss on (x_eval, y_eval) of a model fit on (x_fit, y_fit), and the signed
    residual (y - prediction; for two classes coded 0/1, y - P(1 | x)), None for more
    classes."""
    if task == "regression":
        reg = _boosting_regressor(seed).fit(x_fit, y_fit.astype(np.float64))
        residual: npt.NDArray[np.float64] = y_eval.astype(np.float64) - reg.predict(x_eval)
        return np.abs(residual), residual
    clf = _boosting_classifier(seed).fit(x_fit, y_fit)
    proba = clf.predict_proba(x_eval)
    column = {int(c): i for i, c in enumerate(clf.classes_)}
    rows = np.arange(y_eval.shape[0])
    index = np.array([column.get(int(v), -1) for v in y_eval.tolist()], dtype=np.intp)
    p = np.where(index >= 0, proba[rows, np.maximum(index, 0)], 0.0)
    loss: npt.NDArray[np.float64] = -np.log(np.maximum(p, PROBABILITY_FLOOR))
    if not binary:
        return loss, None
    one = column.get(1)
    p_one = proba[:, one] if one is not None else np.zeros(rows.size)
    signed: npt.NDArray[np.float64] = (y_eval.astype(np.int64) == 1) - p_one
    return loss, signed


@dataclass(frozen=True)
class _Gcm:
    statistic: float
    p_value: float
    statistic_bias: float | None
    p_value_bias: float | None
    propensity: npt.NDArray[np.float64]
    overlap: npt.NDArray[np.bool_]


def _t(residual: npt.NDArray[np.float64]) -> float:
    """GCM statistic sqrt(n) mean / sd of the products (0 when they do not vary)."""
    spread = float(residual.std(ddof=1)) if residual.size > 1 else 0.0
    if not spread > 0:
        return 0.0
    return math.sqrt(residual.size) * float(residual.mean()) / spread


def _gcm(
    x: npt.NDArray[np.float64],
    domain: npt.NDArray[np.int64],
    loss: npt.NDArray[np.float64],
    signed: npt.NDArray[np.float64] | None,
    seed: int,
) -> _Gcm:
    """GCM tests of loss ⊥ domain | x (one-sided) and, when given, of signed residual ⊥
    domain | x (two-sided), with `FOLDS`-fold cross-fitting and one domain classifier."""
    n = domain.shape[0]
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=np.intp)
    for value in (0, 1):  # stratified: each fold has both windows in proportion
        rows = np.flatnonzero(domain == value)
        fold[rows[rng.permutation(rows.size)]] = np.arange(rows.size) % FOLDS
    propensity = np.empty(n)
    expected_loss = np.empty(n)
    expected_signed = np.empty(n)
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        clf = _boosting_classifier(seed + 1 + k, DOMAIN).fit(x[train], domain[train])
        propensity[test] = clf.predict_proba(x[test])[:, 1]
        reg = _boosting_regressor(seed + 11 + k, LOSS_REGRESSION).fit(x[train], loss[train])
        expected_loss[test] = reg.predict(x[test])
        if signed is not None:
            bias = _boosting_regressor(seed + 21 + k, LOSS_REGRESSION)
            expected_signed[test] = bias.fit(x[train], signed[train]).predict(x[test])
    overlap = (propensity >= OVERLAP) & (propensity <= 1.0 - OVERLAP)
    statistic = _t(((domain - propensity) * (loss - expected_loss))[overlap])
    if signed is None:
        return _Gcm(statistic, float(special.ndtr(-statistic)), None, None, propensity, overlap)
    t_bias = _t(((domain - propensity) * (signed - expected_signed))[overlap])
    return _Gcm(
        statistic, float(special.ndtr(-statistic)), t_bias, float(2.0 * special.ndtr(-abs(t_bias))),
        propensity, overlap,
    )  # fmt: skip


def _auc(domain: npt.NDArray[np.int64], score: npt.NDArray[np.float64]) -> float:
    """Area under the ROC curve (Mann–Whitney U / (n1 n0), average ranks for ties)."""
    ranks = stats.rankdata(score)
    n1 = int(domain.sum())
    n0 = domain.size - n1
    return float((ranks[domain == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# -------------------------------------------------------------------------- the explanation


def _importances(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.generic],
    task: ConceptTask,
    seed: int,
    n_estimators: int,
) -> npt.NDArray[np.float64]:
    d = x.shape[1]
    if np.unique(y).size < 2:
        return np.full(d, 1.0 / d)
    model: ExtraTreesClassifier | ExtraTreesRegressor
    if task == "classification":
        model = ExtraTreesClassifier(
            n_estimators=n_estimators,
            max_depth=6,
            min_samples_leaf=5,
            max_features=1.0,
            random_state=seed,
            n_jobs=1,
        )
    else:
        model = ExtraTreesRegressor(
            n_estimators=n_estimators,
            max_depth=6,
            min_samples_leaf=5,
            max_features=1.0,
            random_state=seed,
            n_jobs=1,
        )
    model.fit(x, y)
    imp = np.asarray(model.feature_importances_, dtype=np.float64)
    total = imp.sum()
    # A model that found no structure spreads importance evenly (no NaN from 0 / 0).
    return imp / total if total > 0 else np.full(d, 1.0 / d)


def _tv(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Total variation distance along the last axis."""
    out: npt.NDArray[np.float64] = 0.5 * np.abs(a - b).sum(axis=-1)
    return out


@dataclass(frozen=True)
class _Explanation:
    distance: float
    p_value: float
    spearman: float | None
    features: tuple[FeatureImportanceChange, ...]


def _explain(
    xb: npt.NDArray[np.float64],
    yb: npt.NDArray[np.generic],
    xc: npt.NDArray[np.float64],
    yc: npt.NDArray[np.generic],
    names: Sequence[str],
    task: ConceptTask,
    n_chunks: int,
    rows: int,
    n_estimators: int,
    seed: int,
) -> _Explanation:
    """Importance comparison: `n_chunks` baseline chunks of `rows` rows against the current
    sample of `rows` rows (xb, xc already shuffled)."""
    base_imp = np.stack(
        [_importances(xb[i * rows : (i + 1) * rows], yb[i * rows : (i + 1) * rows], task,
                      seed + i, n_estimators)
         for i in range(n_chunks)]
    )  # fmt: skip
    cur_imp = _importances(xc[:rows], yc[:rows], task, seed + n_chunks, n_estimators)
    pairwise = _tv(base_imp[:, None, :], base_imp[None, :, :])  # (k, k), zero diagonal
    null = pairwise.sum(axis=1) / (n_chunks - 1)
    distance = float(_tv(cur_imp[None, :], base_imp).mean())
    p_value = float((1 + np.count_nonzero(null >= distance)) / (n_chunks + 1))
    base_mean = base_imp.mean(axis=0)
    base_sd = base_imp.std(axis=0, ddof=1)
    change = cur_imp - base_mean
    features = tuple(
        FeatureImportanceChange(
            feature=names[j],
            baseline=float(base_mean[j]),
            current=float(cur_imp[j]),
            change=float(change[j]),
            z_score=float(change[j] / base_sd[j]) if base_sd[j] > 0 else None,
        )
        for j in np.argsort(-np.abs(change), kind="stable")
    )
    spearman: float | None = None
    if len(names) >= 2 and np.ptp(base_mean) > 0 and np.ptp(cur_imp) > 0:
        spearman = float(stats.spearmanr(base_mean, cur_imp).statistic)
    return _Explanation(distance, p_value, spearman, features)


# ------------------------------------------------------------------------------ entry point


def concept_drift(
    x_baseline: npt.ArrayLike,
    y_baseline: npt.ArrayLike,
    x_current: npt.ArrayLike,
    y_current: npt.ArrayLike,
    *,
    task: ConceptTask = "classification",
    feature_names: Sequence[str] | None = None,
    n_chunks: int = DEFAULT_N_CHUNKS,
    max_rows: int = DEFAULT_MAX_ROWS,
    min_rows: int = DEFAULT_MIN_ROWS,
    alpha: float = DEFAULT_ALPHA,
    critical_excess: float = DEFAULT_CRITICAL_EXCESS,
    n_estimators: int = 25,
    seed: int = 0,
    explain: bool = True,
) -> ConceptDriftResult:
    """Test whether the feature–target relation P(y | X) changed, calibrated under
    covariate shift (the module docstring states the method and its p-value).

    `x_*` are numeric (rows, features) matrices with the same columns (categorical
    features ordinal-encoded by the caller); `y_*` the targets (class labels for
    classification, numbers for regression). Severity: none unless p <= alpha; warning
    when p <= alpha; critical when also the relative excess loss >= `critical_excess` (a
    shift found by the bias test alone, with the loss barely up, stays a warning).

    Cost is bounded by `max_rows` whatever the windows' sizes: one model fit on at most
    `max_rows` baseline rows, fifteen cross-fitted models (ten for three or more classes)
    on at most 2 `max_rows` rows, and
    the explanation's `n_chunks` + 1 small tree ensembles on at most `max_rows` rows each.
    Fewer than `min_rows` rows in a part (baseline below 2 `min_rows` target rows, current
    below `min_rows`) is reported as insufficient data, not as a verdict; the explanation
    is left out (features empty) when the baseline cannot fill `n_chunks` chunks of
    `min_rows` rows, or when `explain` is False (it is about two thirds of the cost).
    Models run on one thread each (`threadpoolctl`): on a shared node OpenMP's spinning
    threads made one fit seven times slower, and the samples are small.

    Raises ValueError naming the argument for mismatched shapes, non-numeric or infinite
    features, `n_chunks` < 2, `alpha` outside (0, 1) or rows settings below 10.
    """
    xb, yb = _check_window("baseline", x_baseline, y_baseline)
    xc, yc = _check_window("current", x_current, y_current)
    d = xb.shape[1]
    if xc.shape[1] != d:
        raise ValueError(f"x_current has {xc.shape[1]} features, x_baseline has {d}")
    if d == 0:
        raise ValueError("x_baseline has no features")
    names = [f"x{j}" for j in range(d)] if feature_names is None else list(feature_names)
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names for {d} features")
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    if n_chunks < 2:
        raise ValueError(f"n_chunks must be at least 2, got {n_chunks}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if min_rows < 10 or max_rows < min_rows:
        raise ValueError(f"need 10 <= min_rows <= max_rows, got {min_rows}, {max_rows}")

    if task == "regression":
        try:
            yb, yc = yb.astype(np.float64), yc.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be numeric for regression: {exc}") from exc
        if np.isinf(yb).any() or np.isinf(yc).any():
            raise ValueError("y_baseline and y_current must be finite for regression")
    kept_b = np.flatnonzero(~_target_missing(yb))
    kept_c = np.flatnonzero(~_target_missing(yc))
    n_b, n_c = int(kept_b.size), int(kept_c.size)
    m_fit = min(max_rows, n_b // 2)
    m_held = min(max_rows, n_b - m_fit)
    m_cur = min(max_rows, n_c)

    def empty(reason: str) -> ConceptDriftResult:
        return ConceptDriftResult(
            METHOD, task, None, None, alpha, False, Severity.NONE, None, None, None, None,
            None, None, None, None, (), n_b, n_c, m_fit, m_held, m_cur, 0, reason,
        )  # fmt: skip

    if min(m_fit, m_held, m_cur) < min_rows:
        return empty(
            f"{INSUFFICIENT}: need {2 * min_rows} baseline and {min_rows} current rows with "
            f"a target, got {n_b} and {n_c}"
        )
    # Sample first, then encode: on million-row windows only the sampled rows are touched.
    rng = np.random.default_rng(seed)
    m_imp = min(max_rows, n_c, n_b // n_chunks)
    take_b = max(m_fit + m_held, n_chunks * m_imp if m_imp >= min_rows else 0)
    pick_b = kept_b[rng.permutation(n_b)[:take_b]]
    pick_c = kept_c[rng.permutation(n_c)[:m_cur]]
    xb, yb, xc, yc = xb[pick_b], yb[pick_b], xc[pick_c], yc[pick_c]
    yb_enc: npt.NDArray[np.generic] = yb  # regression: float, checked above
    yc_enc: npt.NDArray[np.generic] = yc
    if task == "classification":
        # One encoding for both windows (labels compared by string form).
        (yb_enc, yc_enc), _ = encode_labels(yb, yc)
    fit, held = slice(0, m_fit), slice(m_fit, m_fit + m_held)
    if np.unique(yb_enc[fit]).size < 2 or np.unique(yc_enc).size < 2:
        return empty("target is constant in a window (in the sampled rows)")

    domain = np.concatenate((np.zeros(m_held, np.int64), np.ones(m_cur, np.int64)))
    binary = task == "classification" and int(max(yb_enc.max(), yc_enc.max())) <= 1
    with threadpool_limits(limits=1, user_api="openmp"):
        loss, signed = _losses(
            xb[fit], yb_enc[fit], np.vstack((xb[held], xc)),
            np.concatenate((yb_enc[held], yc_enc)), task, seed, binary,
        )  # fmt: skip
        gcm = _gcm(np.vstack((xb[held], xc)), domain, loss, signed, seed)
    p_value = gcm.p_value
    if gcm.p_value_bias is not None:  # Bonferroni over the two tests
        p_value = min(1.0, 2.0 * min(gcm.p_value, gcm.p_value_bias))
    loss_held, loss_cur = loss[:m_held], loss[m_held:]
    e = np.clip(gcm.propensity[:m_held], 0.01, 0.99)
    weights = e / (1.0 - e)
    expected = float(np.dot(weights, loss_held) / weights.sum())
    excess = (float(loss_cur.mean()) - expected) / expected if expected > 0 else None
    detected = p_value <= alpha
    if not detected:
        severity = Severity.NONE
    elif excess is not None and excess >= critical_excess:
        severity = Severity.CRITICAL
    else:
        severity = Severity.WARNING

    explanation: _Explanation | None = None
    reason: str | None = None
    if not explain:
        reason = "importances not compared (explain=False)"
    elif m_imp >= min_rows:
        explanation = _explain(
            xb, yb_enc, xc, yc_enc, names, task, n_chunks, m_imp, n_estimators, seed
        )
        if explanation.spearman is None:
            reason = "rank correlation undefined: fewer than two features or constant importances"
    else:
        reason = f"importances not compared: baseline has fewer than {n_chunks} x {min_rows} rows"
    return ConceptDriftResult(
        METHOD, task, gcm.statistic, p_value, alpha, detected, severity,
        float(loss_held.mean()), float(loss_cur.mean()), expected, excess,
        _auc(domain, gcm.propensity),
        None if explanation is None else explanation.distance,
        None if explanation is None else explanation.p_value,
        None if explanation is None else explanation.spearman,
        () if explanation is None else explanation.features,
        n_b, n_c, m_fit, m_held, m_cur, int(gcm.overlap.sum()), reason,
        gcm.statistic_bias, gcm.p_value, gcm.p_value_bias,
    )  # fmt: skip
