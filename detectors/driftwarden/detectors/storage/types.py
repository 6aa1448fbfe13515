"""What the history store accepts and returns: plain frozen dataclasses, no ORM objects.

The run report is adapted to these types by the caller; storage depends on nothing else of
the project beyond the shared severity scale. All times are timezone-aware (UTC is stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from driftwarden.detectors.outcome import RunOutcome
from driftwarden.detectors.stats.severity import Severity

__all__ = [
    "AlertRow",
    "AlertState",
    "DriftResultRow",
    "DriftType",
    "FeaturePoint",
    "PerformanceRow",
    "QualityRow",
    "ReferenceProfile",
    "RetrainDecision",
    "RetrainEventRow",
    "RunOutcome",
    "RunRecord",
    "Severity",
]


class DriftType(StrEnum):
    """What drifted: input data, the model's output, or the feature-target relation."""

    DATA = "data"
    PREDICTION = "prediction"
    CONCEPT = "concept"


class AlertState(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class RetrainDecision(StrEnum):
    TRIGGERED = "triggered"
    SKIPPED = "skipped"


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of one monitor: the summary row of `monitor_runs`."""

    run_id: str
    monitor_namespace: str
    monitor_name: str
    started_at: datetime
    outcome: RunOutcome
    model_name: str | None = None
    model_version: str | None = None
    monitor_uid: str | None = None
    scheduled_at: datetime | None = None
    finished_at: datetime | None = None
    error_reason: str | None = None
    baseline_rows: int | None = None
    current_rows: int | None = None
    severity: Severity = Severity.NONE
    health_score: float | None = None
    detector_version: str | None = None
    # The reproducible record (revision 0002): what the run was planned from and read.
    failure_reason: str | None = None
    spec_hash: str | None = None
    settings: Mapping[str, Any] | None = field(default=None, hash=False)
    settings_hash: str | None = None
    baseline_profile_hash: str | None = None
    baseline_profile_name: str | None = None
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    current_start: datetime | None = None
    current_end: datetime | None = None
    baseline_labelled_rows: int | None = None
    current_labelled_rows: int | None = None

    def __post_init__(self) -> None:
        if not self.run_id:
            raise ValueError("run_id must not be empty")
        for name in (
            "scheduled_at",
            "started_at",
            "finished_at",
            "baseline_start",
            "baseline_end",
            "current_start",
            "current_end",
        ):
            _require_aware(name, getattr(self, name))
        if self.health_score is not None and not 0 <= self.health_score <= 100:
            raise ValueError(f"health_score must be within 0..100, got {self.health_score}")


@dataclass(frozen=True, slots=True)
class DriftResultRow:
    """One feature x method of one run (`drift_results`)."""

    feature: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drift_detected: bool
    severity: Severity
    feature_kind: str | None = None  # FeatureKind value: numeric / categorical
    drift_type: DriftType = DriftType.DATA
    p_value_adjusted: float | None = None  # NULL in rows written before revision 0005

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DriftResultRow:
        """A `drift_results` row as read back (the one place that maps its columns)."""
        return cls(
            feature=row["feature"],
            method=row["method"],
            statistic=row["statistic"],
            p_value=row["p_value"],
            threshold=row["threshold"],
            drift_detected=bool(row["drift_detected"]),
            severity=Severity(row["severity"]),
            feature_kind=row["feature_kind"],
            drift_type=DriftType(row["drift_type"]),
            p_value_adjusted=row.get("p_value_adjusted"),
        )


@dataclass(frozen=True, slots=True)
class DistributionRow:
    """One feature's baseline and current shares over the same bins or categories
    (`feature_distributions`); `distribution` is `distributions.Overlay.to_dict()`."""

    feature: str
    kind: str  # numeric | categorical
    distribution: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PerformanceRow:
    """One performance metric of one run (`performance_metrics`)."""

    metric: str
    value: float | None
    baseline_value: float | None = None
    split: str = "current"


@dataclass(frozen=True, slots=True)
class QualityRow:
    """The data-quality findings of one column in one run (`quality_findings`)."""

    column: str
    severity: Severity
    kind: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """A stored baseline (`reference_profiles`): a window's profile, kept by name."""

    namespace: str
    name: str
    created_at: datetime
    profile: bytes
    profile_hash: str
    rows: int
    settings_hash: str | None = None
    detector_version: str | None = None
    source_run_id: str | None = None

    def __post_init__(self) -> None:
        _require_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert; `alert_id` is chosen by the caller and stable across retries."""

    alert_id: str
    monitor_namespace: str
    monitor_name: str
    severity: Severity
    drift_type: DriftType | None  # None: an alert about no kind of drift (a failing run)
    message: str
    fired_at: datetime
    affected_features: tuple[str, ...] = ()
    recommended_action: str | None = None
    state: AlertState = AlertState.FIRING
    run_id: str | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    def __post_init__(self) -> None:
        for name in ("fired_at", "resolved_at", "acknowledged_at"):
            _require_aware(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class RetrainEventRow:
    """A retraining decision of a policy (`retrain_events`), triggered or skipped and why."""

    event_id: str
    namespace: str
    policy_name: str
    monitor_name: str
    decision: RetrainDecision
    reason: str
    created_at: datetime
    run_id: str | None = None
    job_name: str | None = None
    outcome: str | None = None  # e.g. pending, running, succeeded, failed, rejected
    finished_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("created_at", "finished_at"):
            _require_aware(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class FeaturePoint:
    """One point of a feature's trend (read side)."""

    run_id: str
    observed_at: datetime
    method: str
    statistic: float | None
    p_value: float | None
    drift_detected: bool
    severity: Severity
