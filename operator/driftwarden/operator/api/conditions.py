"""Condition types, reasons and Event reasons: the one list of what the operator says.

Reasons are CamelCase constants (Kubernetes API conventions). A condition's `status` is
always True, False or Unknown. Each constant's meaning is the documentation a user reads in
`kubectl describe`; `docs/reference.md` is generated from it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

_DOCS: dict[str, str] = {}


def _doc(name: str, meaning: str) -> str:
    _DOCS[name] = meaning
    return name


class ConditionStatus(StrEnum):
    """The three values a condition's status may take."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


# --- condition types -------------------------------------------------------------------------

ACCEPTED: Final = _doc(
    "Accepted",
    "ModelMonitor / RetrainPolicy: the spec is valid and its objects could be planned.",
)
READY: Final = _doc(
    "Ready",
    "ModelMonitor: the last detector run evaluated the data. RetrainPolicy: the policy is active.",
)
DRIFT_DETECTED: Final = _doc(
    "DriftDetected",
    "ModelMonitor: the last evaluated run found data or prediction drift.",
)
PERFORMANCE_DEGRADED: Final = _doc(
    "PerformanceDegraded",
    "ModelMonitor: the last evaluated run found the model's performance dropped.",
)
RETRAIN_PENDING_APPROVAL: Final = _doc(
    "RetrainPendingApproval",
    "RetrainPolicy: a retrain is due and waits for a manual approval annotation.",
)

MONITOR_CONDITION_TYPES: Final = (ACCEPTED, READY, DRIFT_DETECTED, PERFORMANCE_DEGRADED)
POLICY_CONDITION_TYPES: Final = (ACCEPTED, READY, RETRAIN_PENDING_APPROVAL)

# --- reasons (condition reasons and Event reasons share one namespace) ------------------------

# Accepted
SPEC_VALID: Final = _doc(
    "SpecValid",
    "The spec passed validation and the CronJob / policy could be planned.",
)
INVALID_SPEC: Final = _doc(
    "InvalidSpec",
    "The spec cannot be used (the message says which field); fixed only by editing it.",
)
OBJECT_CONFLICT: Final = _doc(
    "ObjectConflict",
    "A CronJob, ConfigMap or Job of the planned name exists and is not this resource's; "
    "nothing is overwritten.",
)
MONITOR_NOT_FOUND: Final = _doc(
    "MonitorNotFound",
    "RetrainPolicy: no ModelMonitor matches monitorRef / monitorSelector (retried).",
)

# Ready
AWAITING_FIRST_RUN: Final = _doc(
    "AwaitingFirstRun",
    "No detector run has finished since the monitor was created.",
)
RUN_SUCCEEDED: Final = _doc(
    "RunSucceeded",
    "The last detector run evaluated both windows (drift or not).",
)
RUN_FAILED: Final = _doc(
    "RunFailed",
    "The last detector run failed unexpectedly (exit code 1, deadline, eviction).",
)
INVALID_INPUT: Final = _doc(
    "InvalidInput",
    "The last detector run refused its input (exit code 2), e.g. a missing column; not retried.",
)
INSUFFICIENT_DATA: Final = _doc(
    "InsufficientData",
    "A window held fewer rows than minSamples, so nothing was evaluated.",
)
POLICY_ACTIVE: Final = _doc(
    "PolicyActive",
    "RetrainPolicy: the policy is evaluated after each run.",
)

# DriftDetected
NO_DRIFT: Final = _doc(
    "NoDrift",
    "No feature and no prediction drifted beyond its warning threshold.",
)
WARNING_DRIFT: Final = _doc(
    "WarningDrift",
    "At least one feature or the prediction drifted beyond a warning threshold.",
)
CRITICAL_DRIFT: Final = _doc(
    "CriticalDrift",
    "At least one feature or the prediction drifted beyond a critical threshold.",
)
NOT_EVALUATED: Final = _doc(
    "NotEvaluated",
    "The last run did not evaluate this aspect (no data, no labels, run failed).",
)

# PerformanceDegraded
PERFORMANCE_OK: Final = _doc(
    "PerformanceOK",
    "The headline performance metric did not drop beyond the warning level.",
)
PERFORMANCE_WARNING: Final = _doc(
    "PerformanceWarning",
    "The headline performance metric dropped beyond the warning level.",
)
PERFORMANCE_CRITICAL: Final = _doc(
    "PerformanceCritical",
    "The headline performance metric dropped beyond the critical level.",
)
NO_LABELS: Final = _doc(
    "NoLabels",
    "The monitor has no labels configured, or none had arrived for the current window.",
)

# Retrain decisions (RetrainPolicy status.lastDecision.reason and Events)
TRIGGERED: Final = _doc(
    "Triggered",
    "A trigger fired and every gate passed: the training Job was created.",
)
COOLDOWN: Final = _doc(
    "Cooldown",
    "A trigger fired but the last retrain is more recent than the cooldown.",
)
MAX_CONCURRENT: Final = _doc(
    "MaxConcurrent",
    "A trigger fired but maxConcurrent training Jobs are still running.",
)
PENDING_APPROVAL: Final = _doc(
    "PendingApproval",
    "A trigger fired and approval is Manual: annotate the policy to approve.",
)
INSUFFICIENT_SAMPLES: Final = _doc(
    "InsufficientSamples",
    "A trigger fired but fewer than minNewLabelledSamples labelled rows arrived since.",
)
SUSPENDED: Final = _doc(
    "Suspended",
    "The policy (spec.suspend) or its monitor's schedule is suspended.",
)
DISABLED: Final = _doc(
    "Disabled",
    "Retraining is switched off for this operator (its settings), so nothing is evaluated.",
)
NOT_TRIGGERED: Final = _doc(
    "NotTriggered",
    "No trigger fired on the recent runs.",
)

RETRAIN_SKIP_REASONS: Final = (
    COOLDOWN,
    MAX_CONCURRENT,
    PENDING_APPROVAL,
    INSUFFICIENT_SAMPLES,
    SUSPENDED,
    DISABLED,
    NOT_TRIGGERED,
)

# Event-only reasons
RUN_STARTED: Final = _doc(
    "RunStarted",
    "A detector Job was created (schedule or run-now).",
)
DRIFT_RESOLVED: Final = _doc(
    "DriftResolved",
    "DriftDetected went from True to False.",
)
PERFORMANCE_RECOVERED: Final = _doc(
    "PerformanceRecovered",
    "PerformanceDegraded went from True to False.",
)
RUN_RECOVERED: Final = _doc(
    "RunRecovered",
    "A run succeeded after failing runs.",
)


def documented_reasons() -> dict[str, str]:
    """Every condition type and reason with its meaning, for the generated reference page."""
    return dict(_DOCS)
