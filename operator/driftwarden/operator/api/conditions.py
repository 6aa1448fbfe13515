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
# Ready, Stalled and Reconciling mean what kstatus (Flux, Argo CD, `kubectl wait`) reads:
# Ready=True and observedGeneration current is Current, Stalled=True is Failed,
# Reconciling=True is InProgress. What runs found is told by conditions of its own.

READY: Final = _doc(
    "Ready",
    "The spec is accepted and its objects are in place for the current generation "
    "(reconciled). Says nothing about what runs found.",
)
STALLED: Final = _doc(
    "Stalled",
    "True when reconciling cannot progress until the spec or the cluster's configuration "
    "changes; the reason says why (InvalidSpec, InvalidTimeZone, ...).",
)
RECONCILING: Final = _doc(
    "Reconciling",
    "True while the operator is bringing the objects in line with the spec, or waits for "
    "something it expects to appear.",
)
LAST_RUN_SUCCEEDED: Final = _doc(
    "LastRunSucceeded",
    "ModelMonitor: whether the last detector run evaluated the data; False with the reason "
    "(InsufficientData, InvalidInput, RunFailed), Unknown before the first run.",
)
DRIFT_DETECTED: Final = _doc(
    "DriftDetected",
    "ModelMonitor: the last evaluated run found data or prediction drift.",
)
PERFORMANCE_DEGRADED: Final = _doc(
    "PerformanceDegraded",
    "ModelMonitor: the last evaluated run found the model's performance dropped.",
)
TOO_MANY_MONITORS: Final = _doc(
    "TooManyMonitors",
    "RetrainPolicy: monitorSelector matches more monitors than a policy keeps state for; "
    "the first ones by name are watched, the rest are not.",
)
APPROVED: Final = _doc(
    "Approved",
    "RetrainRun: spec.approval is approved (True) or denied (False), or pending (Unknown).",
)
STARTED: Final = _doc("Started", "RetrainRun: its training Job was created.")
SUCCEEDED: Final = _doc(
    "Succeeded", "RetrainRun: the training Job completed (True) or failed (False)."
)
VALIDATED: Final = _doc(
    "Validated",
    "RetrainRun: the trained model met the policy's validation thresholds (True) or was "
    "rejected (False).",
)

MONITOR_CONDITION_TYPES: Final = (
    READY,
    STALLED,
    RECONCILING,
    LAST_RUN_SUCCEEDED,
    DRIFT_DETECTED,
    PERFORMANCE_DEGRADED,
)
POLICY_CONDITION_TYPES: Final = (READY, STALLED, RECONCILING, TOO_MANY_MONITORS)
RETRAIN_RUN_CONDITION_TYPES: Final = (READY, APPROVED, STARTED, SUCCEEDED, VALIDATED)

# --- reasons (condition reasons and Event reasons share one namespace) ------------------------

# Ready / Stalled / Reconciling
RECONCILED: Final = _doc(
    "Reconciled",
    "Ready: the spec is accepted and every object it needs exists as planned.",
)
NOT_STALLED: Final = _doc("NotStalled", "Stalled=False: nothing blocks reconciling.")
PROGRESSING: Final = _doc(
    "Progressing",
    "Reconciling: objects are being created or updated for a new generation.",
)
INVALID_SPEC: Final = _doc(
    "InvalidSpec",
    "Stalled: the spec cannot be used (the message says which field); fixed only by editing it.",
)
INVALID_TIME_ZONE: Final = _doc(
    "InvalidTimeZone",
    "Stalled: schedule.timeZone is not a time zone of the operator's time zone database.",
)
INVALID_SCHEDULE: Final = _doc(
    "InvalidSchedule",
    "Stalled: schedule.cron has a range that runs backwards or never fires (e.g. 0 0 31 2 *).",
)
INVALID_JOB_TEMPLATE: Final = _doc(
    "InvalidJobTemplate",
    "Stalled: the API server refused a dry-run of the policy's jobTemplate (the message is "
    "the server's).",
)
RESOURCES_EXCEED_CLASS: Final = _doc(
    "ResourcesExceedClass",
    "Stalled: job.resources ask for more than the MonitorClass's maxResources allow.",
)
OBJECT_CONFLICT: Final = _doc(
    "ObjectConflict",
    "Stalled: a CronJob, ConfigMap or Job of the planned name exists and is not this "
    "resource's; nothing is overwritten.",
)
MONITOR_CLASS_NOT_FOUND: Final = _doc(
    "MonitorClassNotFound",
    "Ready=False: the named MonitorClass does not exist, or none is marked default (retried).",
)
MONITOR_NOT_FOUND: Final = _doc(
    "MonitorNotFound",
    "RetrainPolicy Ready=False: no ModelMonitor matches monitorRef / monitorSelector (retried).",
)
MONITORS_WITHIN_BOUND: Final = _doc(
    "MonitorsWithinBound",
    "TooManyMonitors=False: every selected monitor is watched.",
)

# LastRunSucceeded
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
# LastRunSucceeded=False from the Job rather than the detector's own summary.
DEADLINE_EXCEEDED: Final = _doc(
    "DeadlineExceeded",
    "The detector Job ran longer than job.activeDeadlineSeconds and was stopped.",
)
BACKOFF_LIMIT_EXCEEDED: Final = _doc(
    "BackoffLimitExceeded",
    "The detector Job failed more often than job.backoffLimit allows, without a summary.",
)
POD_FAILURE_POLICY: Final = _doc(
    "PodFailurePolicy",
    "The detector exited with code 2 (invalid input) without a summary; not retried.",
)
SECRET_NOT_FOUND: Final = _doc(
    "SecretNotFound",
    "The detector Pod cannot start: a Secret (or a key of it) it reads is missing.",
)
IMAGE_PULL_FAILED: Final = _doc(
    "ImagePullFailed",
    "The detector Pod cannot start: its MonitorClass's image cannot be pulled.",
)
# LastRunSucceeded=False reasons the detector itself reports (its summary's `reason`).
for _reason, _meaning in {
    "SourceUnreachable": "The source database did not answer (retried by the Job).",
    "AuthenticationFailed": "The source's credentials (its Secret) were refused.",
    "TableNotFound": "The source table does not exist.",
    "ColumnNotFound": "A column the spec names is not in the source table.",
    "InvalidRunConfig": "The detector could not read its run configuration.",
    "ResultsDatabaseUnavailable": "The results database did not answer or refused the write.",
    "Timeout": "A statement ran past its timeout.",
    "Internal": "An internal error of the detector (please report it).",
}.items():
    _doc(_reason, _meaning)

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
    "A trigger fired and every gate passed: a RetrainRun (and, when approved, its Job) was "
    "created.",
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
    "A trigger fired and approval is manual: a RetrainRun waits for spec.approval.",
)
DENIED: Final = _doc(
    "Denied",
    "RetrainRun: a person set spec.approval to denied; no training Job is created.",
)
APPROVAL_GIVEN: Final = _doc(
    "ApprovalGiven",
    "RetrainRun Approved=True: approved by a person, or by the policy (approval automatic).",
)
AWAITING_JOB: Final = _doc(
    "AwaitingJob",
    "RetrainRun: approved; its training Job is created on the next reconcile, once fewer "
    "than maxConcurrent run.",
)
RUNNING: Final = _doc("Running", "RetrainRun: the training Job runs.")
JOB_FAILED: Final = _doc("JobFailed", "RetrainRun: the training Job failed.")
REJECTED: Final = _doc("Rejected", "RetrainRun: the trained model missed a validation threshold.")
EXPIRED: Final = _doc(
    "Expired",
    "RetrainRun: it stayed pending approval longer than the policy's approvalTimeout; it "
    "never starts, even if approved later.",
)
VALIDATION_PASSED: Final = _doc(
    "ValidationPassed",
    "RetrainRun Validated=True: the trained model's reported metrics met every threshold.",
)
MODEL_VERSION_CHANGED: Final = _doc(
    "ModelVersionChanged",
    "RetrainPolicy Event: a watched monitor's model.version changed; model age counts from now.",
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
    "Automatic retraining is off in this operator (--enable-automatic-retraining not given): "
    "a policy with approval automatic starts nothing; manual approvals still work.",
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
