"""From per-feature statistics to an honest verdict.

The rule, in three steps (the README quotes the false-alarm and detection rates it gives):

1. Evidence per feature. A feature's p-value is the Cauchy combination (Liu & Xie 2020) of
   its tests' p-values (KS and the binned chi-square for numeric features, chi-square for
   categorical ones); the combination is valid although the two tests are strongly
   dependent, and accurate in the far tail where step 2 uses it.
2. The run's verdict: a weighted Bonferroni test over two families (`case_p_value`).
   The features get alpha / 2: Bonferroni over the m features, p_features = m min p_j.
   The multivariate test (`stats.multivariate.hotelling_rank_test`: Hotelling's T² on the
   normal scores of all features, categories as indicators, with an exact permutation
   p-value, on up to 5,000 rows per window) gets alpha / 2. The run's p-value is
   min(1, 2 p_features, 2 p_joint); drift requires it below alpha. By Bonferroni's
   inequality the case-level false-alarm rate is at most alpha whatever the dependence
   between features and the joint test, as long as each family's p-value is valid: the
   permutation p-value is exact, the feature tests are exact or asymptotic (KS, the
   chi-square on 100+ rows) and conservative with ties. No calibration constant.
   The joint test carries weak drift that is thin on several correlated columns (or moves
   a column against the others); the Bonferroni family carries a drift concentrated on a
   few columns, and the univariate tests name the features either way.
   Per-feature p-values are also adjusted (Benjamini–Hochberg across features) and reported
   raw and adjusted; features are named only inside a significant run (gatekeeping).
3. Effect size. A feature (and a method on it) is drifted only when it is significant
   after adjustment AND its effect reaches the method's warning threshold; critical when
   the effect reaches the critical threshold. Effects are bias-corrected (see
   `stats.divergence`), so thresholds mean the same at every sample size, and a tiny,
   meaningless shift on million-row windows is significant but not drift. When the run's
   p-value is below alpha but no single feature is, and some feature's effect reaches its
   warning threshold, the run warns ("drift spread over several features").

The former rule (`rule="cauchy"`, the benchmark's named baseline, not offered to users):
the Cauchy combination of all features' p-values with the Hotelling F-reference p-value,
tested at 0.8 alpha. The Cauchy combination is exact only in the tail and liberal at 0.05
under strong dependence, the F reference is liberal on tied and resampled data, and the
0.8 was fit to one benchmark run: at 1,000 rows it false-alarmed on 11/150 no-drift pairs
(0.073 [0.041, 0.127]) of the 25-column table, 9/150 of breast-cancer.

Every method reports the p-value of the test behind it (wasserstein: KS on the same ECDFs;
psi, js, kl, hellinger: chi-square on the same bins).

Measured (benchmarks/bench_decision.py, docs/statistics.md has the tables): 6 tables of 10
to 50 columns (census, diabetes, breast-cancer and digits resampled; two correlated factor
models) at 1,000, 5,000 and 20,000 rows. No drift: 0.010 [0.005, 0.020] of 720 pairs; at
1,000 rows, where every false alarm was, 0.035 [0.024, 0.050] of 750 further pairs, the
worst stratum 7/150 = 0.047 (25 columns); 0 of 480 pairs at 5,000 and 20,000 rows. Drift on
1-5 features detected: weak (population KS 0.03-0.1) 0.889 [0.827, 0.930], all 0.947
[0.921, 0.964], as many as the former rule in every stratum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats.combine import benjamini_hochberg, cauchy_combination
from driftwarden.detectors.stats.severity import Severity, severity_from_levels
from driftwarden.detectors.stats.univariate import MethodStatistic

# Share of alpha given to the multivariate test (the rest to the features).
MULTIVARIATE_WEIGHT = 0.5
# The former Cauchy rule compared its p-value with CALIBRATION * alpha (`case_p_value`).
CALIBRATION = 0.8

CaseRule = Literal["bonferroni", "cauchy"]


@dataclass(frozen=True, slots=True)
class Levels:
    """Warning and critical levels of a method's effect."""

    warning: float
    critical: float


@dataclass(frozen=True, slots=True)
class FeatureEvidence:
    """What the decision needs about one feature."""

    name: str
    kind: str
    statistics: Sequence[MethodStatistic]
    levels: Mapping[str, Levels]


@dataclass(frozen=True, slots=True)
class MethodVerdict:
    method: str
    statistic: float
    effect: float
    p_value: float | None
    p_value_adjusted: float | None
    threshold: float
    critical_threshold: float
    drift_detected: bool
    severity: Severity


@dataclass(frozen=True, slots=True)
class FeatureVerdict:
    name: str
    kind: str
    p_value: float
    p_value_adjusted: float
    drift_detected: bool
    severity: Severity
    methods: tuple[MethodVerdict, ...]
    #: largest effect / warning level over the methods (>= 1 means the effect is material)
    effect_ratio: float


@dataclass(frozen=True, slots=True)
class CaseVerdict:
    p_value: float
    alpha: float
    drift_detected: bool
    severity: Severity
    reason: str
    features: tuple[FeatureVerdict, ...]


def feature_p_value(statistics: Sequence[MethodStatistic]) -> float:
    """Cauchy combination of the distinct tests behind a feature's methods.

    Methods that share a test (the binned methods share one chi-square, wasserstein uses
    KS) enter once per test.
    """
    p_values: list[float] = []
    seen: set[str] = set()
    for stat in statistics:
        if stat.p_value is None:
            continue
        key = stat.test or stat.method
        if key in seen:
            continue
        seen.add(key)
        p_values.append(stat.p_value)
    if not p_values:
        return 1.0
    return cauchy_combination(p_values)


def case_p_value(
    feature_p_values: npt.ArrayLike,
    multivariate_p: float | None = None,
    multivariate_weight: float = MULTIVARIATE_WEIGHT,
    *,
    rule: CaseRule = "bonferroni",
) -> float:
    """The run's p-value from its features' p-values and the joint test's.

    "bonferroni" (the verdict): p_features = min(1, m min_j p_j), the Bonferroni bound over
    the m features (Holm's first step); with a joint test of weight w, the run's p-value is
    min(1, p_features / (1 - w), p_joint / w), a weighted Bonferroni over the two families
    (Holm 1979; Bonferroni's inequality, so valid under any dependence between the
    features and the joint test). Without a joint test it is p_features.

    "cauchy" (the former rule): the Cauchy combination (Liu & Xie 2020) of the features'
    p-values sharing 1 - w equally and the joint test's with weight w; compared with 0.8
    alpha because it is liberal at 0.05 under strong dependence.
    """
    p = np.asarray(feature_p_values, dtype=np.float64)
    if p.ndim != 1 or p.shape[0] == 0:
        raise ValueError("feature_p_values must be a non-empty 1-d array")
    if not 0 <= multivariate_weight < 1:
        raise ValueError(f"multivariate_weight must be in [0, 1), got {multivariate_weight}")
    if rule == "cauchy":
        if multivariate_p is None:
            return cauchy_combination(p)
        weights = np.full(p.shape[0], (1.0 - multivariate_weight) / p.shape[0])
        return cauchy_combination(
            np.append(p, multivariate_p), np.append(weights, multivariate_weight)
        )
    if rule != "bonferroni":
        raise ValueError(f"rule must be 'bonferroni' or 'cauchy', got {rule!r}")
    features = float(min(1.0, p.shape[0] * float(p.min())))
    if multivariate_p is None or multivariate_weight == 0:
        return features
    return float(
        min(1.0, features / (1.0 - multivariate_weight), multivariate_p / multivariate_weight)
    )


def decide(
    features: Sequence[FeatureEvidence],
    alpha: float = 0.05,
    *,
    multivariate_p: float | None = None,
    multivariate_weight: float = MULTIVARIATE_WEIGHT,
    rule: CaseRule = "bonferroni",
) -> CaseVerdict:
    """Apply the three-step rule of this module to the features of one run.

    `multivariate_p` is the p-value of a joint test of all features (stats.multivariate,
    a permutation p-value); when given it gets the share `multivariate_weight` of alpha
    (`case_p_value`). `rule` "cauchy" is the former rule, kept as the benchmark's named
    baseline (benchmarks/bench_decision.py); it is not offered to users.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0 <= multivariate_weight < 1:
        raise ValueError(f"multivariate_weight must be in [0, 1), got {multivariate_weight}")
    if not features:
        return CaseVerdict(1.0, alpha, False, Severity.NONE, "no features evaluated", ())
    raw = np.array([feature_p_value(f.statistics) for f in features])
    adjusted = benjamini_hochberg(raw)
    method_adjusted = _adjust_per_method(features)
    # Gatekeeping: features are named only when the run as a whole is significant, so the
    # run-level false alarm rate stays at alpha (BH alone could reject where the combined
    # test does not, near the boundary).
    case_p = case_p_value(raw, multivariate_p, multivariate_weight, rule=rule)
    case_level = alpha if rule == "bonferroni" else CALIBRATION * alpha
    verdicts: list[FeatureVerdict] = []
    for index, feature in enumerate(features):
        significant = bool(adjusted[index] < alpha) and case_p < case_level
        methods: list[MethodVerdict] = []
        ratio = 0.0
        for stat in feature.statistics:
            levels = feature.levels[stat.method]
            if levels.warning > 0:
                ratio = max(ratio, stat.effect / levels.warning)
            elif stat.effect > 0:
                ratio = max(ratio, float("inf"))
            level = severity_from_levels(stat.effect, levels.warning, levels.critical)
            severity = level if significant else Severity.NONE
            methods.append(
                MethodVerdict(
                    method=stat.method,
                    statistic=stat.statistic,
                    effect=stat.effect,
                    p_value=stat.p_value,
                    p_value_adjusted=method_adjusted.get((index, stat.method)),
                    threshold=levels.warning,
                    critical_threshold=levels.critical,
                    drift_detected=severity is not Severity.NONE,
                    severity=severity,
                )
            )
        severity = Severity.worst(m.severity for m in methods)
        verdicts.append(
            FeatureVerdict(
                name=feature.name,
                kind=feature.kind,
                p_value=float(raw[index]),
                p_value_adjusted=float(adjusted[index]),
                drift_detected=severity is not Severity.NONE,
                severity=severity,
                methods=tuple(methods),
                effect_ratio=ratio,
            )
        )
    drifted = [v for v in verdicts if v.drift_detected]
    if case_p >= case_level:
        reason = f"no drift: the run's p-value {case_p:.3g} >= {case_level:.3g}"
        return CaseVerdict(case_p, alpha, False, Severity.NONE, reason, tuple(verdicts))
    if drifted:
        severity = Severity.worst(v.severity for v in drifted)
        names = ", ".join(v.name for v in drifted[:5])
        reason = f"{len(drifted)}/{len(verdicts)} features drifted ({names})"
        return CaseVerdict(case_p, alpha, True, severity, reason, tuple(verdicts))
    material = [v for v in verdicts if v.effect_ratio >= 1.0]
    if material:
        reason = (
            f"drift spread over several features (the run's p-value {case_p:.3g}); none is "
            "significant alone"
        )
        return CaseVerdict(case_p, alpha, True, Severity.WARNING, reason, tuple(verdicts))
    reason = (
        f"significant (the run's p-value {case_p:.3g}) but below every effect threshold: "
        "not material"
    )
    return CaseVerdict(case_p, alpha, False, Severity.NONE, reason, tuple(verdicts))


def _adjust_per_method(features: Sequence[FeatureEvidence]) -> dict[tuple[int, str], float]:
    """BH-adjust each method's p-values across the features that ran it."""
    by_method: dict[str, list[tuple[int, float]]] = {}
    for index, feature in enumerate(features):
        for stat in feature.statistics:
            if stat.p_value is not None:
                by_method.setdefault(stat.method, []).append((index, stat.p_value))
    adjusted: dict[tuple[int, str], float] = {}
    for method, pairs in by_method.items():
        values = benjamini_hochberg([p for _, p in pairs])
        for (index, _), value in zip(pairs, values, strict=True):
            adjusted[(index, method)] = float(value)
    return adjusted
