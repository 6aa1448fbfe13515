"""The report's sections besides data drift: prediction, quality, operational, performance,
concept.

Each function turns two window profiles into its section's type (`report_sections`: a
severity, a one-line summary, a 0..1 part score for the health score, and the statistics'
results), using the pure statistics in `stats.quality`, `stats.operational`,
`stats.performance` and `stats.concept`.

What comes from where (bounded memory, see `profile`):
- prediction drift: from the prediction column's profile, like a feature's.
- quality: from column profiles (counts, ranges, categories): exact on any window size.
- operational: latency percentiles from the column's sorted values when the profile is
  exact, else from the row sample; error rate from the column's total.
- performance and concept drift need whole rows (label with prediction, features with
  label): they use the row sample, i.e. the whole window up to 50,000 rows and a uniform
  sample of 50,000 rows beyond that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import pandas as pd

from driftwarden.detectors.config import (
    DEFAULT_CATEGORICAL_METHODS,
    DEFAULT_NUMERIC_METHODS,
    DetectionSpec,
    FeatureKind,
    Method,
    PredictionType,
    Task,
)
from driftwarden.detectors.errors import InputError
from driftwarden.detectors.profile import CategoricalProfile, NumericProfile, WindowProfile
from driftwarden.detectors.report_sections import (
    ConceptSection,
    OperationalSection,
    PerformanceSection,
    PositiveRate,
    PredictionSection,
    QualityFinding,
    QualitySection,
)
from driftwarden.detectors.stats import operational, performance, quality
from driftwarden.detectors.stats.decision import FeatureEvidence, Levels, decide
from driftwarden.detectors.stats.health import aggregate_score, severity_score
from driftwarden.detectors.stats.proportions import two_proportion_test
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.stats.univariate import categorical_statistics, numeric_statistics

if TYPE_CHECKING:
    from driftwarden.detectors.stats import concept


class _Feature(Protocol):  # what engine.ResolvedFeature offers (no import cycle)
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> FeatureKind: ...


def prediction_section(
    spec: DetectionSpec, baseline: WindowProfile, current: WindowProfile
) -> PredictionSection:
    """Drift of the model's output: the feature methods with the feature thresholds on the
    prediction column, and for probabilities the positive rate at the decision threshold."""
    assert spec.prediction is not None
    column = spec.prediction.column
    b_col, c_col = baseline.columns[column], current.columns[column]
    if b_col.count < spec.min_samples or c_col.count < spec.min_samples:
        return PredictionSection(
            Severity.NONE,
            f"insufficient data for prediction drift on {column!r}",
            None,
            column=column,
        )
    if isinstance(b_col, NumericProfile) and isinstance(c_col, NumericProfile):
        methods = [str(m) for m in DEFAULT_NUMERIC_METHODS]
        stats = numeric_statistics(b_col.sample(), c_col.sample(), methods, spec.decision.bins)
    elif isinstance(b_col, CategoricalProfile) and isinstance(c_col, CategoricalProfile):
        methods = [str(m) for m in DEFAULT_CATEGORICAL_METHODS]
        stats = categorical_statistics(b_col.counts, c_col.counts, methods)
    else:  # pragma: no cover - both profiles come from the same kinds
        raise InputError(f"prediction column {column!r} has different kinds")
    levels = {}
    for m in methods:
        t = spec.thresholds_for(None, Method(m))
        levels[m] = Levels(t.warning, t.critical)
    case = decide([FeatureEvidence(column, "prediction", stats, levels)], spec.decision.alpha)
    verdict = case.features[0]
    summary = (
        f"prediction drift on {column!r} ({verdict.severity})"
        if verdict.drift_detected
        else f"no prediction drift on {column!r}"
    )
    rate = None
    if spec.prediction.type is PredictionType.PROBABILITY:
        rate = _positive_rate(spec, baseline, current)
        if rate is not None:
            summary += (
                f"; positive rate {rate.test.baseline_rate:.1%} -> {rate.test.current_rate:.1%}"
            )
    return PredictionSection(
        verdict.severity,
        summary,
        severity_score(verdict.severity),
        column=column,
        verdict=verdict,
        positive_rate=rate,
    )


def _positive_rate(
    spec: DetectionSpec, baseline: WindowProfile, current: WindowProfile
) -> PositiveRate | None:
    """Share of predictions at or above the decision threshold, baseline vs current."""
    assert spec.prediction is not None
    column, threshold = spec.prediction.column, spec.prediction.threshold
    b, c = baseline.numeric(column), current.numeric(column)
    if not b.count or not c.count:
        return None
    # Counts from the sorted profiles; the test needs nothing else.
    b_pos = round(b.count - _below(b, threshold))
    c_pos = round(c.count - _below(c, threshold))
    return PositiveRate(threshold, two_proportion_test(b_pos, b.count, c_pos, c.count))


def _below(profile: NumericProfile, threshold: float) -> float:
    index = int(np.searchsorted(profile.values, threshold, side="left"))
    if profile.weights is None:
        return float(index)
    return float(profile.weights[:index].sum())


def quality_section(
    columns: Sequence[tuple[str, str]], baseline: WindowProfile, current: WindowProfile
) -> QualitySection:
    """Missing rates, out-of-range values, new/vanished categories and type errors.

    False alarms on unchanged data are controlled like the headline verdict's: every check
    that chance alone can trip (missing-rate change, out-of-range share, new and vanished
    categories) alarms only when its p-value under "nothing changed" is below
    alpha / (number of such checks in the section), Bonferroni over the columns (see
    `stats.quality`'s chance allowance). Type errors are not chance: any alarms.
    """
    findings: list[QualityFinding] = []
    severities: list[Severity] = []
    if baseline.rows == 0 or current.rows == 0:
        return QualitySection(Severity.NONE, "no rows to check", None)
    gated = sum(
        1 + (2 if isinstance(baseline.columns[name], CategoricalProfile) else 1)
        for name, _ in columns
    )
    chance_alpha = quality.DEFAULT_LEVELS.alpha / max(gated, 1)
    levels = replace(quality.DEFAULT_LEVELS, alpha=chance_alpha)
    for name, kind in columns:
        result = column_quality(name, baseline, current, levels=levels, chance_alpha=chance_alpha)
        severities.append(result.severity)
        if result.severity is not Severity.NONE:
            findings.append(QualityFinding(kind, result))
    worst = Severity.worst(severities)
    flagged = len(findings)
    summary = (
        f"{flagged}/{len(severities)} columns with quality findings: "
        + ", ".join(f"{f.column} ({f.severity})" for f in findings[:5])
        if flagged
        else f"no quality findings in {len(severities)} columns"
    )
    return QualitySection(
        worst,
        summary,
        aggregate_score(severities),
        columns_checked=len(severities),
        findings=tuple(findings),
    )


def column_quality(
    name: str,
    baseline: WindowProfile,
    current: WindowProfile,
    *,
    levels: quality.QualityLevels = quality.DEFAULT_LEVELS,
    chance_alpha: float | None = None,
) -> quality.ColumnQuality:
    """Every quality check that applies to column `name` of two window profiles: the
    missing rate always; out-of-range values (when the baseline has a numeric value) and
    type errors for numeric columns; new and vanished categories for categorical ones.
    `severity` is the worst of them. `chance_alpha` is the chance allowance
    (`stats.quality`); `quality_section` passes alpha over the number of gated checks.
    Raises KeyError when a profile lacks the column.
    """
    b, c = baseline.columns[name], current.columns[name]
    # A numeric profile counts unparseable entries as missing too; here they are
    # type errors, not missing values.
    b_missing = b.missing - (b.type_errors if isinstance(b, NumericProfile) else 0)
    c_missing = c.missing - (c.type_errors if isinstance(c, NumericProfile) else 0)
    missing = quality.missing_rate_from_counts(
        b_missing, baseline.rows, c_missing, current.rows, levels=levels
    )
    if isinstance(b, NumericProfile) and isinstance(c, NumericProfile):
        out_of_range = None
        if b.count:
            below, above = _outside(c, b.minimum, b.maximum)
            out_of_range = quality.out_of_range_from_counts(
                b.minimum, b.maximum, below, above, c.count,
                levels=levels, n_baseline=b.count, chance_alpha=chance_alpha,
            )  # fmt: skip
        errors = quality.type_errors_from_counts(
            c.type_errors, c.count + c.type_errors, levels=levels
        )
        severity = Severity.worst(
            check.severity for check in (missing, out_of_range, errors) if check is not None
        )
        return quality.ColumnQuality(
            name, "numeric", missing, out_of_range=out_of_range, type_errors=errors,
            severity=severity,
        )  # fmt: skip
    categories = None
    if isinstance(b, CategoricalProfile) and isinstance(c, CategoricalProfile):
        categories = quality.category_changes_from_counts(
            b.counts, c.counts, levels=levels, chance_alpha=chance_alpha
        )
    severity = Severity.worst(
        check.severity for check in (missing, categories) if check is not None
    )
    return quality.ColumnQuality(
        name, "categorical", missing, categories=categories, severity=severity
    )


def operational_section(
    spec: DetectionSpec, baseline: WindowProfile, current: WindowProfile
) -> OperationalSection | None:
    """Latency percentiles and error rate, when the inference log has those columns."""
    ops = spec.operational
    if ops is None or (ops.latency_column is None and ops.error_column is None):
        return None
    latency, errors = None, None
    severities: list[Severity] = []
    parts: list[str] = []
    if ops.latency_column is not None:
        latency = operational.latency_change(
            _values(baseline, ops.latency_column), _values(current, ops.latency_column)
        )
        severities.append(latency.severity)
        p95 = next((p for p in latency.percentiles if p.percentile == 95), None)
        if p95 is not None and p95.relative_change is not None:
            parts.append(f"p95 latency {p95.relative_change:+.0%}")
    if ops.error_column is not None:
        errors = operational.error_rate_change(
            _values(baseline, ops.error_column), _values(current, ops.error_column)
        )
        severities.append(errors.severity)
        parts.append(f"error rate {errors.baseline_rate:.2%} -> {errors.current_rate:.2%}")
    worst = Severity.worst(severities)
    return OperationalSection(
        worst,
        ", ".join(parts) or "operational columns checked",
        severity_score(worst),
        latency=latency,
        error_rate=errors,
    )


class LabelError(InputError, ValueError):
    """Labels or predictions that do not fit the task (three labels for a binary task)."""


def performance_section(
    spec: DetectionSpec, baseline: WindowProfile, current: WindowProfile
) -> PerformanceSection | None:
    """Model quality with labels, current against baseline (on the row samples)."""
    if spec.labels is None or spec.prediction is None:
        return None
    label, prediction = spec.labels.column, spec.prediction.column
    b_rows = _labelled(baseline.row_sample, label, prediction)
    c_rows = _labelled(current.row_sample, label, prediction)
    if len(b_rows) < spec.min_samples or len(c_rows) < spec.min_samples:
        return PerformanceSection(
            Severity.NONE,
            f"insufficient labelled rows ({len(b_rows)} baseline, {len(c_rows)} current; "
            f"minSamples={spec.min_samples})",
            None,
            rows_baseline=len(b_rows),
            rows_current=len(c_rows),
        )
    try:
        b_metrics = _metrics(spec, b_rows, label, prediction)
        c_metrics = _metrics(spec, c_rows, label, prediction)
    except ValueError as exc:  # labels that do not fit the task: the user's input
        raise LabelError(
            f"label column {label!r} with prediction column {prediction!r} "
            f"({spec.labels.task} task): {exc}"
        ) from exc
    changes = performance.compare_performance(
        b_metrics,
        c_metrics,
        warning=spec.performance.warning,
        critical=spec.performance.critical,
        alpha=spec.decision.alpha,
    )
    # Metrics that decide the section: those with a significance test (accuracy,
    # precision, recall, ROC-AUC: gated at alpha) and the regression errors. The others
    # (F1, PR-AUC, Brier, calibration error) are reported but do not alarm on their own:
    # without a test, a relative change of a small number (ECE 0.015 -> 0.021) is noise.
    deciding = [ch for ch in changes if ch.p_value is not None or ch.metric in _REGRESSION]
    worst = Severity.worst(ch.severity for ch in deciding)
    dropped = [ch for ch in deciding if ch.severity is not Severity.NONE]
    summary = (
        f"{len(dropped)} metric(s) dropped: "
        + ", ".join(f"{ch.metric} {ch.baseline:.3g} -> {ch.current:.3g}" for ch in dropped[:3])
        if dropped
        else "no performance drop"
    )
    return PerformanceSection(
        worst,
        summary,
        severity_score(worst),
        rows_baseline=len(b_rows),
        rows_current=len(c_rows),
        task=str(spec.labels.task),
        baseline=b_metrics,
        current=c_metrics,
        changes=tuple(changes),
        deciding_metrics=tuple(ch.metric for ch in deciding),
    )


def concept_section(
    spec: DetectionSpec,
    features: Sequence[_Feature],
    baseline: WindowProfile,
    current: WindowProfile,
) -> ConceptSection | None:
    """Change of the feature-target relation P(y | X): `stats.concept.concept_drift` (a
    GCM test of a baseline model's loss, calibrated under covariate shift) decides; the
    importance comparison names the features whose role changed."""
    if spec.labels is None or not features:
        return None
    # Here, not at the top: scikit-learn takes about a second to import, and only a
    # labelled run reaches this section.
    from driftwarden.detectors.stats import concept

    label = spec.labels.column
    names = [f.name for f in features]
    b_rows = baseline.row_sample.dropna(subset=[label])
    c_rows = current.row_sample.dropna(subset=[label])
    if spec.labels.task is Task.BINARY:  # with a prediction, performance checked it first
        _check_binary_labels(label, b_rows[label].to_numpy(), c_rows[label].to_numpy())
    x_b, x_c = _encode(features, b_rows, c_rows, baseline)
    task: concept.ConceptTask = (
        "regression" if spec.labels.task is Task.REGRESSION else "classification"
    )
    try:
        result = concept.concept_drift(
            x_b, b_rows[label].to_numpy(), x_c, c_rows[label].to_numpy(),
            task=task, feature_names=names, alpha=spec.decision.alpha,
        )  # fmt: skip
    except ValueError as exc:  # e.g. a non-numeric regression target: say so, do not crash
        return ConceptSection(Severity.NONE, f"concept drift not assessed: {exc}", None)
    if result.p_value is None:
        return ConceptSection(Severity.NONE, f"concept drift: {result.reason}", None, result=result)
    # Features are named only when the importances' own test says their roles moved: the
    # verdict tests the relation as a whole, and the largest of unremarkable importance
    # changes would name noise.
    alpha = spec.decision.alpha
    moved = result.importance_p_value is not None and result.importance_p_value < alpha
    top = sorted(result.features, key=lambda f: -abs(f.change))[:3] if moved else []
    named = (
        "; " + ", ".join(f"{f.feature} {f.change:+.2f}" for f in top)
        if top
        else "; no single feature's role clearly changed"
    )
    summary = (
        f"feature-target relation changed (p={result.p_value:.3g}{named})"
        if result.drift_detected
        else f"no concept drift (p={result.p_value:.3g})"
    )
    return ConceptSection(result.severity, summary, severity_score(result.severity), result=result)


# --- helpers ------------------------------------------------------------------------------


def _check_binary_labels(label: str, baseline: np.ndarray, current: np.ndarray) -> None:
    """Refuse a binary task whose label column holds more than two labels (the windows'
    row samples together), as the performance section does when a prediction is given."""
    from driftwarden.detectors.stats.labels import encode_labels, label_display

    _, labels = encode_labels(baseline, current)
    if len(labels) > 2:
        shown = ", ".join(label_display(lbl) for lbl in labels[:5])
        more = ", ..." if len(labels) > 5 else ""
        raise LabelError(
            f"label column {label!r} (binary task): a binary task allows two labels, got "
            f"{len(labels)} ({shown}{more})"
        )


_REGRESSION = frozenset({"rmse", "mae", "r2"})


def _outside(profile: NumericProfile, low: float, high: float) -> tuple[float, float]:
    """Counts (weights) of a profile's values below `low` and above `high`."""
    values = profile.values
    weights = profile.weights
    below_index = int(np.searchsorted(values, low, side="left"))
    above_index = int(np.searchsorted(values, high, side="right"))
    if weights is None:
        return float(below_index), float(values.shape[0] - above_index)
    return float(weights[:below_index].sum()), float(weights[above_index:].sum())


def _values(profile: WindowProfile, column: str) -> np.ndarray:
    """A numeric column's values: the exact sorted sample, else the row sample's column."""
    col = profile.columns.get(column)
    if isinstance(col, NumericProfile) and col.exact:
        missing = np.full(col.missing, np.nan)
        return np.concatenate((col.values, missing))
    return pd.to_numeric(profile.row_sample[column], errors="coerce").to_numpy(dtype=float)


def _labelled(rows: pd.DataFrame, label: str, prediction: str) -> pd.DataFrame:
    return rows.dropna(subset=[label, prediction])


def _metrics(
    spec: DetectionSpec, rows: pd.DataFrame, label: str, prediction: str
) -> performance.ClassificationMetrics | performance.RegressionMetrics:
    assert spec.labels is not None
    assert spec.prediction is not None
    y_true = rows[label].to_numpy()
    if spec.labels.task is Task.REGRESSION:
        return performance.regression_metrics(
            y_true, pd.to_numeric(rows[prediction], errors="coerce").to_numpy(dtype=float)
        )
    positive = spec.prediction.positive_class if spec.prediction.positive_class else 1
    if spec.labels.task is Task.BINARY and spec.prediction.type is PredictionType.PROBABILITY:
        return performance.classification_metrics(
            y_true,
            y_score=pd.to_numeric(rows[prediction], errors="coerce").to_numpy(dtype=float),
            threshold=spec.prediction.threshold,
            positive_label=positive,
            task="binary",
        )
    task: Literal["binary", "multiclass"] = (
        "binary" if spec.labels.task is Task.BINARY else "multiclass"
    )
    return performance.classification_metrics(
        y_true, y_pred=rows[prediction].to_numpy(), positive_label=positive, task=task
    )


def _encode(
    features: Sequence[_Feature],
    b_rows: pd.DataFrame,
    c_rows: pd.DataFrame,
    baseline: WindowProfile,
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric matrices for the concept model: categories as baseline-frequency ranks
    (unseen ones -1), missing numeric values as the baseline median."""
    b_cols, c_cols = [], []
    for feature in features:
        if feature.kind is FeatureKind.NUMERIC:
            b = pd.to_numeric(b_rows[feature.name], errors="coerce").to_numpy(dtype=float)
            c = pd.to_numeric(c_rows[feature.name], errors="coerce").to_numpy(dtype=float)
            fill = float(np.nanmedian(b)) if np.isfinite(b).any() else 0.0
            b_cols.append(np.where(np.isfinite(b), b, fill))
            c_cols.append(np.where(np.isfinite(c), c, fill))
        else:
            counts = baseline.categorical(feature.name).counts
            ranks = {k: float(i) for i, k in enumerate(sorted(counts, key=lambda k: -counts[k]))}

            def codes(series: pd.Series, ranks: dict[str, float] = ranks) -> np.ndarray:
                # Categories compare as strings, as in the profile; missing and unseen -> -1.
                mapped = series.astype("string").map(ranks)
                return mapped.astype(float).fillna(-1.0).to_numpy(dtype=float)

            b_cols.append(codes(b_rows[feature.name]))
            c_cols.append(codes(c_rows[feature.name]))
    return np.column_stack(b_cols), np.column_stack(c_cols)
