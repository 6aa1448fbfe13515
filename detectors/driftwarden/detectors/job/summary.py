"""A run's report as the compact `RunSummary` the operator reads back.

The worst features first (severity, then p-value, then name), at most ten of them, and
counts for the rest; `RunSummary.to_termination_message` keeps the JSON within 4096 bytes.
"""

from __future__ import annotations

from datetime import datetime

from driftwarden.detectors.job.contract import (
    DriftedFeature,
    MetricChange,
    RunOutcome,
    RunSummary,
    WindowRows,
)
from driftwarden.detectors.outcome import FailureReason
from driftwarden.detectors.report import STATUS_OK, FeatureReport, Report, headline
from driftwarden.detectors.stats.severity import Severity

TOP_FEATURES = 10
MAX_METRICS = 10


def top_drifted(features: tuple[FeatureReport, ...] | list[FeatureReport]) -> list[DriftedFeature]:
    """The most drifted features, worst first: severity, then smallest p-value, then name."""
    drifted = [f for f in features if f.drift_detected]
    drifted.sort(
        key=lambda f: (
            -f.severity.rank,
            f.p_value_adjusted if f.p_value_adjusted is not None else 1.0,
            f.name,
        )
    )
    top: list[DriftedFeature] = []
    for feature in drifted[:TOP_FEATURES]:
        if not feature.methods:
            continue
        worst = max(feature.methods, key=lambda m: (m.severity.rank, m.drift_detected, m.effect))
        statistic = worst.statistic if worst.statistic == worst.statistic else 0.0
        top.append(
            DriftedFeature(
                name=feature.name[:253],
                method=worst.method[:32],
                statistic=float(statistic),
                severity=feature.severity,
            )
        )
    return top


def performance_changes(report: Report) -> list[MetricChange]:
    """The performance section's metric changes, the most severe drops first."""
    section = report.sections.performance
    if section is None:
        return []
    # Only the metrics that decide the section may raise an alarm (`sections`: F1, PR-AUC,
    # Brier and calibration error are reported, not tested); the others say `none` here, so
    # the operator's PerformanceDegraded agrees with the report's performance verdict.
    out: list[MetricChange] = []
    for change in section.changes:
        baseline, current = change.baseline, change.current
        if baseline is None or current is None:
            continue
        drop = (baseline - current) if change.higher_is_better else (current - baseline)
        out.append(
            MetricChange(
                metric=change.metric[:64],
                baseline=float(baseline),
                current=float(current),
                drop=float(drop),
                severity=(
                    change.severity if change.metric in section.deciding_metrics else Severity.NONE
                ),
            )
        )
    out.sort(key=lambda m: (-m.severity.rank, -m.drop, m.metric))
    return out[:MAX_METRICS]


def evaluated_summary(
    report: Report,
    *,
    run_id: str,
    model_version: str | None,
    scheduled_at: datetime | None,
    started_at: datetime,
    finished_at: datetime,
    labelled: WindowRows | None,
) -> RunSummary:
    """The summary of a run whose windows were compared (drift or not)."""
    ok = report.status == STATUS_OK
    prediction = report.sections.prediction
    drift_severity = Severity.worst(
        [
            *(f.severity for f in report.features),
            prediction.severity if prediction else Severity.NONE,
        ]
    )
    drifted = len(report.drifted_features)
    message = headline(report) if ok else "; ".join(report.notes) or "insufficient data"
    return RunSummary(
        run_id=run_id,
        model_version=model_version,
        scheduled_at=scheduled_at,
        started_at=started_at,
        finished_at=finished_at,
        outcome=RunOutcome.SUCCEEDED if ok else RunOutcome.INSUFFICIENT_DATA,
        reason=None if ok else FailureReason.INSUFFICIENT_DATA,
        message=message[:1024],
        rows=WindowRows(baseline=report.rows_baseline, current=report.rows_current),
        labelled=labelled,
        labelled_rows=0 if labelled is None else labelled.current,
        severity=report.severity,
        drift_severity=drift_severity if ok else Severity.NONE,
        health_score=report.health_score,
        drifted_features=drifted,
        total_features=len(report.features),
        top_drifted=top_drifted(report.features),
        performance=performance_changes(report),
    )
