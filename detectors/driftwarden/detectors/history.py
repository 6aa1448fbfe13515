"""A run report as history rows: the adapter between `report` and `storage`.

One row per feature x method (data drift), per prediction method (prediction drift), one
for concept drift, one per performance metric and one per column with quality findings, so
that trends can be queried per feature and metric across runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from driftwarden.detectors.distributions import Overlay
from driftwarden.detectors.report import STATUS_OK, Report
from driftwarden.detectors.stats.decision import MethodVerdict
from driftwarden.detectors.storage.types import (
    DistributionRow,
    DriftResultRow,
    DriftType,
    PerformanceRow,
    QualityRow,
    RunOutcome,
    RunRecord,
)


def run_record(
    report: Report,
    *,
    run_id: str,
    monitor_namespace: str,
    monitor_name: str,
    started_at: datetime,
    finished_at: datetime,
    model_name: str | None = None,
    model_version: str | None = None,
    monitor_uid: str | None = None,
    scheduled_at: datetime | None = None,
) -> RunRecord:
    """The run's summary row."""
    outcome = RunOutcome.SUCCEEDED if report.status == STATUS_OK else RunOutcome.INSUFFICIENT_DATA
    return RunRecord(
        run_id=run_id,
        monitor_namespace=monitor_namespace,
        monitor_name=monitor_name,
        started_at=started_at,
        finished_at=finished_at,
        scheduled_at=scheduled_at,
        outcome=outcome,
        model_name=model_name,
        model_version=model_version,
        monitor_uid=monitor_uid,
        baseline_rows=report.rows_baseline,
        current_rows=report.rows_current,
        severity=report.severity,
        health_score=report.health_score,
        detector_version=report.detector_version,
    )


def drift_rows(report: Report) -> list[DriftResultRow]:
    """Data, prediction and concept drift rows of one report."""
    rows = [
        row
        for feature in report.features
        for row in _method_rows(feature.name, feature.kind, DriftType.DATA, feature.methods)
    ]
    prediction = report.sections.prediction
    if prediction is not None:
        rows += _method_rows(
            prediction.column, "prediction", DriftType.PREDICTION, prediction.methods
        )
    concept = report.sections.concept
    result = None if concept is None else concept.result
    if concept is not None and result is not None and result.p_value is not None:
        rows.append(
            DriftResultRow(
                feature="__model__",
                method=result.method,
                statistic=_float(result.statistic),
                p_value=float(result.p_value),
                threshold=None,  # the verdict is its p-value against alpha
                drift_detected=result.drift_detected,
                severity=concept.severity,
                feature_kind=None,
                drift_type=DriftType.CONCEPT,
            )
        )
    return rows


def _method_rows(
    feature: str, kind: str, drift_type: DriftType, methods: Iterable[MethodVerdict]
) -> list[DriftResultRow]:
    """One row per method's verdict on a column (a feature or the prediction)."""
    return [
        DriftResultRow(
            feature=feature,
            method=method.method,
            statistic=method.statistic,
            p_value=method.p_value,
            threshold=method.threshold,
            drift_detected=method.drift_detected,
            severity=method.severity,
            feature_kind=kind,
            drift_type=drift_type,
            p_value_adjusted=method.p_value_adjusted,
        )
        for method in methods
    ]


def distribution_rows(overlays: Mapping[str, Overlay]) -> list[DistributionRow]:
    """One row per feature overlay (`distributions.overlays`), in feature order."""
    return [
        DistributionRow(feature=name, kind=overlay.kind, distribution=overlay.to_dict())
        for name, overlay in overlays.items()
    ]


def performance_rows(report: Report) -> list[PerformanceRow]:
    """One row per metric with its baseline value."""
    section = report.sections.performance
    if section is None:
        return []
    return [
        PerformanceRow(
            metric=change.metric,
            value=_float(change.current),
            baseline_value=_float(change.baseline),
        )
        for change in section.changes
    ]


def quality_rows(report: Report) -> list[QualityRow]:
    """One row per column with data-quality findings, its checks as details."""
    section = report.sections.quality
    if section is None or section.findings is None:
        return []
    return [
        QualityRow(
            column=finding.column,
            kind=finding.kind,
            severity=finding.severity,
            details=finding.details(),
        )
        for finding in section.findings
    ]


def _float(value: float | None) -> float | None:
    """A statistic as a Python float (numpy's scalars are floats of another type)."""
    return None if value is None else float(value)
