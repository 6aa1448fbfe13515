"""A detector Job (and its Pods) as the operator sees them -> what the run outcome is.

Pure: given the Job and its Pods as the API server returns them, decide whether the run
has ended and what it found. The summary comes from the detector container's termination
message; when there is none, the run is described from the Job's failure condition
(`DeadlineExceeded`, `BackoffLimitExceeded`, `PodFailurePolicy`) or from a Pod that cannot
start (a missing Secret or ConfigMap key, an image that cannot be pulled), each with a
reason of its own for the `LastRunSucceeded` condition. A run whose Pod has Succeeded has
ended even before its Job is marked Complete. The handler records an ended run once, keyed
by the Job's UID (`ANNOTATION_INGESTED` on the Job holds that UID).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError

from driftwarden.detectors.config import Severity
from driftwarden.detectors.outcome import FailureReason
from driftwarden.detectors.storage.types import DriftResultRow, RunRecord
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.modelmonitor import DriftedFeature, RunOutcome, WindowRows
from driftwarden.operator.api.run import ENV_MONITOR, RunSummary, run_id_of

from .monitor import DETECTOR_CONTAINER
from .naming import LABEL_MONITOR, LABEL_MONITOR_UID
from .status import failed_run_summary

ANNOTATION_INGESTED: Final = "driftwarden.io/ingested-uid"
"""Set on a Job once its run is recorded; its value is the Job's UID."""

# Waiting reasons of a container that will not start without a change elsewhere.
_CONFIG_ERRORS: Final = frozenset({"CreateContainerConfigError"})
_IMAGE_ERRORS: Final = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
_JOB_REASONS: Final = {
    "DeadlineExceeded": c.DEADLINE_EXCEEDED,
    "BackoffLimitExceeded": c.BACKOFF_LIMIT_EXCEEDED,
    "PodFailurePolicy": c.POD_FAILURE_POLICY,
}


@dataclass(frozen=True)
class RunEnded:
    """A run that ended: its summary and the reason LastRunSucceeded carries."""

    summary: RunSummary
    reason: str


def monitor_of(job: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(namespace, name, uid) of the ModelMonitor a detector Job runs for, or None.

    The name comes from the detector container's DRIFTWARDEN_MONITOR (exact even where the
    label had to be shortened), the UID from the monitor-uid label."""
    metadata = job.get("metadata") or {}
    labels = metadata.get("labels") or {}
    uid = labels.get(LABEL_MONITOR_UID)
    if not uid:
        return None
    template = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in template.get("containers") or []:
        for var in container.get("env") or []:
            if var.get("name") == ENV_MONITOR and "/" in str(var.get("value", "")):
                namespace, _, name = str(var["value"]).partition("/")
                return namespace, name, str(uid)
    label = labels.get(LABEL_MONITOR)
    where = metadata.get("namespace")
    return (str(where), str(label), str(uid)) if label and where else None


def _time(value: Any, default: datetime) -> datetime:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
    return default


def _condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


def _detector_statuses(pods: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The detector container's statuses, newest Pod first."""
    ordered = sorted(
        pods,
        key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""),
        reverse=True,
    )
    found = []
    for pod in ordered:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") == DETECTOR_CONTAINER:
                found.append(status)
    return found


def _summary_from(statuses: Sequence[Mapping[str, Any]]) -> RunSummary | None:
    for status in statuses:
        message = ((status.get("state") or {}).get("terminated") or {}).get("message")
        if not message:
            continue
        try:
            return RunSummary.from_termination_message(str(message))
        except (ValidationError, ValueError):
            continue
    return None


def _reason_of(summary: RunSummary) -> str:
    if summary.reason is not None:
        return str(summary.reason)
    match summary.outcome:
        case RunOutcome.SUCCEEDED:
            return c.RUN_SUCCEEDED
        case RunOutcome.INSUFFICIENT_DATA:
            return c.INSUFFICIENT_DATA
        case RunOutcome.INVALID_INPUT:
            return c.INVALID_INPUT
    return c.RUN_FAILED


def has_ended(job: Mapping[str, Any]) -> bool:
    return _condition(job, "Complete") is not None or _condition(job, "Failed") is not None


def job_run_ids(job: Mapping[str, Any]) -> tuple[str, str]:
    """The ids a Job's run may carry: `<namespace>/<Job name>` (`run_id_of`), then the bare
    Job name, which Jobs planned by an older operator pass (still running at an upgrade)."""
    metadata = job.get("metadata") or {}
    name = str(metadata.get("name", ""))
    return run_id_of(str(metadata.get("namespace", "")), name), name


def pod_summary(pods: Sequence[Mapping[str, Any]], run_ids: Sequence[str]) -> RunSummary | None:
    """The run's summary from its Pods' termination messages, if one is readable and is
    one of `run_ids`' (`job_run_ids`)."""
    summary = _summary_from(_detector_statuses(pods))
    return summary if summary is not None and summary.run_id in run_ids else None


def summary_from_record(record: RunRecord, drifted: Sequence[DriftResultRow]) -> RunSummary:
    """A run as the results database recorded it (the fallback when the termination
    message is lost): the run row plus its most drifted features."""
    worst = Severity.worst(row.severity for row in drifted) if drifted else Severity.NONE
    reason = None
    if record.failure_reason:
        try:
            reason = FailureReason(record.failure_reason)
        except ValueError:
            reason = None
    rows = None
    if record.baseline_rows is not None and record.current_rows is not None:
        rows = WindowRows(baseline=record.baseline_rows, current=record.current_rows)
    return RunSummary(
        run_id=record.run_id,
        model_version=record.model_version,
        scheduled_at=record.scheduled_at,
        started_at=record.started_at,
        finished_at=record.finished_at or record.started_at,
        outcome=record.outcome,
        reason=reason,
        message=(record.error_reason or "")[:1024],
        rows=rows,
        severity=record.severity,
        drift_severity=worst,
        health_score=record.health_score,
        drifted_features=len({row.feature for row in drifted}),
        total_features=0,
        top_drifted=[
            DriftedFeature(
                name=row.feature,
                method=row.method,
                statistic=row.statistic if row.statistic is not None else 0.0,
                severity=row.severity,
            )
            for row in drifted
        ],
    )


def succeeded_summary(
    pods: Sequence[Mapping[str, Any]], run_ids: Sequence[str]
) -> RunSummary | None:
    """The run's summary when a Pod of it has Succeeded: the detector exited 0 and wrote
    this run's summary. Exit 0 is final whatever the restart policy, so the run is over
    although the Job is not marked Complete yet (the Job controller batches Pod updates and
    marks it about a second later)."""
    for pod in pods:
        if (pod.get("status") or {}).get("phase") != "Succeeded":
            continue
        for status in _detector_statuses([pod]):
            terminated = (status.get("state") or {}).get("terminated") or {}
            if terminated.get("exitCode") != 0:
                continue
            summary = _summary_from([status])
            if summary is not None and summary.run_id in run_ids:
                return summary
    return None


def stuck_pod(pods: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(reason, message) when the detector container cannot start: a missing Secret or
    ConfigMap key (SecretNotFound) or an image that cannot be pulled (ImagePullFailed)."""
    for status in _detector_statuses(pods):
        waiting = (status.get("state") or {}).get("waiting") or {}
        why = waiting.get("reason")
        message = str(waiting.get("message") or why or "")
        if why in _CONFIG_ERRORS:
            return c.SECRET_NOT_FOUND, message
        if why in _IMAGE_ERRORS:
            return c.IMAGE_PULL_FAILED, message
    return None


def plan_ingest(
    job: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    now: datetime,
    fallback: RunSummary | None = None,
) -> RunEnded | None:
    """The ended run of `job`, or None while it runs (and its Pods can start).

    `fallback` is the run as the results database recorded it, for a Job that ended
    without a readable termination message.
    """
    metadata = job.get("metadata") or {}
    run_ids = job_run_ids(job)
    run_id = run_ids[0]
    status = job.get("status") or {}
    started = _time(status.get("startTime") or metadata.get("creationTimestamp"), now)
    complete = _condition(job, "Complete")
    failed = _condition(job, "Failed")
    summary = _summary_from(_detector_statuses(pods)) or fallback
    if complete is None and failed is None:
        succeeded = succeeded_summary(pods, run_ids)
        if succeeded is not None:
            return RunEnded(succeeded, _reason_of(succeeded))
        stuck = stuck_pod(pods)
        if stuck is None:
            return None
        reason, message = stuck
        return RunEnded(failed_run_summary(run_id, started, now, message, invalid=False), reason)
    ended = _time(status.get("completionTime") or (failed or {}).get("lastTransitionTime"), now)
    if summary is not None and summary.run_id in run_ids:
        return RunEnded(summary, _reason_of(summary))
    if complete is not None:
        text = "the detector ended without a summary"
        return RunEnded(
            failed_run_summary(run_id, started, ended, text, invalid=False), c.RUN_FAILED
        )
    assert failed is not None
    job_reason = str(failed.get("reason") or "")
    message = str(failed.get("message") or job_reason or "the Job failed")
    reason = _JOB_REASONS.get(job_reason, c.RUN_FAILED)
    invalid = job_reason == "PodFailurePolicy"
    return RunEnded(failed_run_summary(run_id, started, ended, message, invalid=invalid), reason)


def is_newer(ended: RunEnded, last_completion: datetime | None) -> bool:
    """Whether a run's outcome should replace the status's last run (a Job ingested late,
    after a newer one, is recorded in Postgres but does not roll the status back)."""
    if last_completion is None:
        return True
    finished = ended.summary.finished_at
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=UTC)
    return finished >= last_completion
