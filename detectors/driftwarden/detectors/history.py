"""A run report as history rows: the adapter between `report` and `storage`.

One row per feature x method (data drift), per prediction method (prediction drift), one
for concept drift, one per performance metric and one per column with quality findings, so
that trends can be queried per feature and metric across runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from driftwarden.detectors.distributions import Overlay
from driftwarden.detectors.report import STATUS_OK, Report
from driftwarden.detectors.stats.severity import Severity
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
        DriftResultRow(
            feature=feature.name,
            method=method.method,
            statistic=method.statistic,
            p_value=method.p_value,
            threshold=method.threshold,
            drift_detected=method.drift_detected,
            severity=method.severity,
            feature_kind=feature.kind,
            drift_type=DriftType.DATA,
            p_value_adjusted=method.p_value_adjusted,
        )
        for feature in report.features
        for method in feature.methods
    ]
    prediction = report.sections.get("prediction")
    if prediction is not None:
        column = str(prediction.data.get("column", "prediction"))
        for method in _list(prediction.data.get("methods")):
            rows.append(
                DriftResultRow(
                    feature=column,
                    method=str(method["method"]),
                    statistic=_float(method.get("statistic")),
                    p_value=_float(method.get("p_value")),
                    threshold=_float(method.get("threshold")),
                    drift_detected=bool(method.get("drift_detected")),
                    severity=Severity(str(method.get("severity", "none"))),
                    feature_kind="prediction",
                    drift_type=DriftType.PREDICTION,
                    p_value_adjusted=_float(method.get("p_value_adjusted")),
                )
            )
    concept = report.sections.get("concept")
    if concept is not None and concept.data.get("p_value") is not None:
        rows.append(
            DriftResultRow(
                feature="__model__",
                method=str(concept.data.get("method", "importance")),
                statistic=_float(concept.data.get("statistic")),
                p_value=_float(concept.data.get("p_value")),
                threshold=_float(concept.data.get("threshold")),
                drift_detected=bool(concept.data.get("drift_detected")),
                severity=concept.severity,
                feature_kind=None,
                drift_type=DriftType.CONCEPT,
            )
        )
    return rows


def distribution_rows(overlays: Mapping[str, Overlay]) -> list[DistributionRow]:
    """One row per feature overlay (`distributions.overlays`), in feature order."""
    return [
        DistributionRow(feature=name, kind=overlay.kind, distribution=overlay.to_dict())
        for name, overlay in overlays.items()
    ]


def performance_rows(report: Report) -> list[PerformanceRow]:
    """One row per metric with its baseline value."""
    section = report.sections.get("performance")
    if section is None:
        return []
    return [
        PerformanceRow(
            metric=str(change["metric"]),
            value=_float(change.get("current")),
            baseline_value=_float(change.get("baseline")),
        )
        for change in _list(section.data.get("changes"))
    ]


def quality_rows(report: Report) -> list[QualityRow]:
    """One row per column with data-quality findings, its checks as details."""
    section = report.sections.get("quality")
    if section is None:
        return []
    rows: list[QualityRow] = []
    for finding in _list(section.data.get("columns")):
        details = {k: v for k, v in finding.items() if k not in ("column", "kind", "severity")}
        rows.append(
            QualityRow(
                column=str(finding["column"]),
                kind=None if finding.get("kind") is None else str(finding["kind"]),
                severity=Severity(str(finding.get("severity", "none"))),
                details=details,
            )
        )
    return rows


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
