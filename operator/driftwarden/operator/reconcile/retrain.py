"""Retrain decisions: (policy, its monitors' runs, RetrainRuns, training Jobs, now) -> plan.

Per watched monitor, in order: Disabled (operator switch), Suspended, a RetrainRun of this
monitor still pending approval (PendingApproval), NotTriggered, InsufficientSamples, Cooldown,
MaxConcurrent. A decision that passes them all is Triggered: a RetrainRun named
`<policy>-<monitor>-<trigger window>` (the cooldown-long slice of time since the epoch that
`now` falls in), so deciding twice, or after a restart, never makes a second one (409). The
training Job starts from an approved RetrainRun (at once when approval is automatic) and
bears its name.

State is kept per monitor (cooldown, model age, latest RetrainRun), so one monitor's retrain
never resets another's. Model age counts from the latest of `model.trainedAt`, a change of
`model.version` (seen by the policy, announced by an Event) and the last successful
RetrainRun; deleting old Jobs never resets it.

Nothing is remembered in memory: the cooldown counts from the RetrainRuns that exist and the
triggered decisions `retrain_events` recorded (`PastDecision`, so deleting a RetrainRun or a
Job resets nothing); concurrency counts the approved RetrainRuns whose training has not
ended. A failed, rejected, denied or expired retrain holds the cooldown unless the policy's
`resetCooldownOnFailure` says otherwise. The operator's master switch
(`--enable-automatic-retraining`) keeps policies with `approval: automatic` from starting
anything; manual approvals work either way. A RetrainRun pending longer than the policy's
`approvalTimeout` expires. The trained model's metrics (the training Job's termination
message, `parse_training_metrics`) are checked against the policy's thresholds by
`validate_model`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from driftwarden.detectors.config import Severity, parse_duration
from driftwarden.detectors.storage.types import DriftResultRow, PerformanceRow, RunRecord
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.modelmonitor import MetricChange, ModelMonitor, RunOutcome
from driftwarden.operator.api.retrainpolicy import (
    KIND,
    MAX_MONITORS,
    Approval,
    DecisionAction,
    DecisionRecord,
    MonitorRetrainState,
    PerformanceMetric,
    RetrainPolicy,
    RetrainPolicyStatus,
    Trigger,
    ValidationSpec,
)
from driftwarden.operator.api.retrainrun import KIND as RUN_KIND
from driftwarden.operator.api.retrainrun import (
    ApprovalState,
    RetrainRun,
    RetrainRunStatus,
    RunWindow,
    TriggerWindows,
)
from driftwarden.operator.api.run import RunSummary

from .ingest import summary_from_record
from .naming import (
    ANNOTATION_TRIGGER_REASON,
    ANNOTATION_TRIGGER_RUN,
    ANNOTATION_TRIGGER_WINDOW,
    ANNOTATION_TRIGGERED_AT,
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_MONITOR,
    LABEL_NAME,
    LABEL_POLICY,
    LABEL_POLICY_UID,
    MANAGED_BY,
    bounded,
    label_value,
    owner_reference,
)
from .status import (
    DesiredCondition,
    EventSpec,
    EventType,
    Stall,
    kstatus_conditions,
    set_conditions,
)

ENV_PREFIX: Final = "DRIFTWARDEN_"
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_APPROVAL_TIMEOUT: Final = "7d"
LOWER_IS_BETTER: Final = frozenset(
    {PerformanceMetric.BRIER, PerformanceMetric.ECE, PerformanceMetric.RMSE, PerformanceMetric.MAE}
)
"""Error metrics: a floor in `validation.minimum` is a ceiling for them."""

# A triggered decision's outcome in retrain_events (and what `kubectl get rr` shows).
OUTCOME_PENDING: Final = "pending"
OUTCOME_APPROVED: Final = "approved"
OUTCOME_RUNNING: Final = "running"
OUTCOME_SUCCEEDED: Final = "succeeded"
OUTCOME_FAILED: Final = "failed"
OUTCOME_REJECTED: Final = "rejected"
OUTCOME_DENIED: Final = "denied"
OUTCOME_EXPIRED: Final = "expired"
FAILED_OUTCOMES: Final = frozenset(
    {OUTCOME_FAILED, OUTCOME_REJECTED, OUTCOME_DENIED, OUTCOME_EXPIRED}
)
_OUTCOME_OF_STATE: Final = {
    c.PENDING_APPROVAL: OUTCOME_PENDING,
    c.AWAITING_JOB: OUTCOME_APPROVED,
    c.RUNNING: OUTCOME_RUNNING,
    c.RUN_SUCCEEDED: OUTCOME_SUCCEEDED,
    c.JOB_FAILED: OUTCOME_FAILED,
    c.REJECTED: OUTCOME_REJECTED,
    c.DENIED: OUTCOME_DENIED,
    c.EXPIRED: OUTCOME_EXPIRED,
}
LABEL_RETRAIN_RUN: Final = "driftwarden.io/retrain-run"
TRAINING_POD_SECURITY_CONTEXT: Final = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
TRAINING_CONTAINER_SECURITY_CONTEXT: Final = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


@dataclass(frozen=True)
class TrainingJob:
    """A training Job of the policy, as observed in the cluster."""

    name: str
    triggered_at: datetime
    active: bool
    succeeded: bool = False
    completed_at: datetime | None = None
    monitor: str | None = None

    @classmethod
    def from_manifest(cls, obj: Mapping[str, Any]) -> TrainingJob:
        """Read a batch/v1 Job as the API server returns it."""
        metadata = obj.get("metadata", {})
        status = obj.get("status", {}) or {}
        stamp = metadata.get("annotations", {}).get(ANNOTATION_TRIGGERED_AT) or metadata.get(
            "creationTimestamp"
        )
        finished = {
            cond.get("type")
            for cond in status.get("conditions", []) or []
            if cond.get("status") == "True"
        }
        done = bool(finished & {"Complete", "Failed"})
        completion = status.get("completionTime")
        return cls(
            name=metadata["name"],
            triggered_at=_parse_time(stamp),
            active=not done,
            succeeded="Complete" in finished,
            completed_at=_parse_time(completion) if completion else None,
            monitor=(metadata.get("labels") or {}).get(LABEL_MONITOR),
        )


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class MonitorRuns:
    """A watched monitor and its recent run summaries (any order), with the windows each
    run compared where the results database recorded them (by run id)."""

    monitor: ModelMonitor
    runs: Sequence[RunSummary]
    windows: Mapping[str, TriggerWindows] = field(default_factory=dict)


@dataclass(frozen=True)
class PastDecision:
    """A triggered decision as `retrain_events` recorded it: it holds the cooldown (and,
    once succeeded, the model's age) even after its RetrainRun and Job are deleted."""

    monitor: str
    created_at: datetime
    outcome: str | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Firing:
    """A trigger that fired, on which monitor and run."""

    trigger: str
    monitor: ModelMonitor
    run: RunSummary | None


@dataclass(frozen=True)
class RetrainDecision:
    """What to do now for one monitor, and why."""

    monitor: str
    trigger: bool
    reason: str
    message: str
    retrain_run: dict[str, Any] | None = None
    """A RetrainRun to create (Triggered); its Job follows once it exists and is approved
    (at once for automatic approval: the next reconcile sees it)."""
    retrain_run_name: str | None = None
    cooldown_until: datetime | None = None
    firing: Firing | None = None

    def record(self, now: datetime) -> DecisionRecord:
        run = self.firing.run if self.firing else None
        return DecisionRecord(
            time=now,
            monitor=self.monitor or None,
            action=DecisionAction.TRIGGER if self.trigger else DecisionAction.SKIP,
            reason=self.reason,
            message=self.message[:1024],
            retrain_run_name=self.retrain_run_name,
            run_id=run.run_id if run else None,
        )


def selects(policy: RetrainPolicy, monitor: ModelMonitor) -> bool:
    """Whether `policy` governs `monitor` (same namespace; monitorRef or monitorSelector)."""
    if policy.metadata.namespace != monitor.metadata.namespace:
        return False
    ref = policy.spec.monitor_ref
    if ref is not None:
        return ref.name == monitor.metadata.name
    selector = policy.spec.monitor_selector
    return selector is not None and selector.matches(dict(monitor.metadata.labels or {}))


def stored_run_summary(
    record: RunRecord,
    performance: Sequence[PerformanceRow] = (),
    drifted: Sequence[DriftResultRow] = (),
) -> tuple[RunSummary, TriggerWindows]:
    """A run as the results database recorded it, for the decisions (labelled rows, its
    performance against the baseline, its most drifted features), with its windows."""
    summary = summary_from_record(record, drifted)
    changes = []
    for row in performance:
        if row.split != "current" or row.value is None or row.baseline_value is None:
            continue
        worse = row.value - row.baseline_value
        drop = worse if _lower_is_better(row.metric) else -worse
        changes.append(
            MetricChange(
                metric=row.metric, baseline=row.baseline_value, current=row.value, drop=drop
            )
        )
    summary = summary.model_copy(
        update={
            "labelled_rows": record.current_labelled_rows or 0,
            "performance": changes[:10],
        }
    )
    windows = TriggerWindows(
        baseline=_window(record.baseline_start, record.baseline_end),
        current=_window(record.current_start, record.current_end),
    )
    return summary, windows


def _window(start: datetime | None, end: datetime | None) -> RunWindow | None:
    return RunWindow(start=start, end=end) if start is not None and end is not None else None


def trigger_window(policy: RetrainPolicy, now: datetime) -> datetime:
    """Start of the cooldown-long window `now` falls in (windows counted from the epoch)."""
    length = parse_duration(policy.spec.cooldown)
    index = (now - EPOCH) // length
    return EPOCH + index * length


def retrain_run_name(policy: RetrainPolicy, monitor: str, window: datetime) -> str:
    """`<policy>-<monitor>-<window start as yyyymmddhhmmss>`; at most 63 characters (the
    training Job bears the same name, and Job names end up in a label)."""
    return f"{bounded(f'{policy.metadata.name}-{monitor}', 48)}-{window:%Y%m%d%H%M%S}"


def _evaluated(runs: Sequence[RunSummary], since: datetime | None) -> list[RunSummary]:
    """Runs that evaluated the data, finished after `since`, oldest first."""
    kept = [
        r
        for r in runs
        if r.outcome == RunOutcome.SUCCEEDED and (since is None or r.finished_at > since)
    ]
    return sorted(kept, key=lambda r: (r.finished_at, r.run_id))


def _succeeded(run: RetrainRun) -> datetime | None:
    """When the training succeeded and its model was not rejected (None otherwise)."""
    done = run.status.condition(c.SUCCEEDED)
    if done is None or done.status != ConditionStatus.TRUE:
        return None
    validated = run.status.condition(c.VALIDATED)
    if validated is not None and validated.status == ConditionStatus.FALSE:
        return None
    return run.status.completion_time or done.last_transition_time


def _ready_reason(run: RetrainRun) -> str | None:
    ready = run.status.condition(c.READY)
    return ready.reason if ready is not None else None


def approval_timeout(policy: RetrainPolicy) -> timedelta:
    """How long a RetrainRun may stay pending approval (the policy's, else 7d)."""
    return parse_duration(policy.spec.approval_timeout or DEFAULT_APPROVAL_TIMEOUT)


def is_expired(run: RetrainRun, now: datetime, timeout: timedelta) -> bool:
    """Pending past `timeout` (or already marked Expired: an approval given later is moot)."""
    if _ready_reason(run) == c.EXPIRED:
        return True
    created = run.metadata.creation_timestamp
    return (
        run.spec.approval == ApprovalState.PENDING
        and created is not None
        and now - created >= timeout
    )


def run_outcome(run: RetrainRun) -> str:
    """A RetrainRun's outcome as `retrain_events` records it, from its status (or its
    approval before the operator wrote any status)."""
    reason = _ready_reason(run)
    if reason in _OUTCOME_OF_STATE:
        return _OUTCOME_OF_STATE[reason]
    if run.spec.approval == ApprovalState.DENIED:
        return OUTCOME_DENIED
    if run.spec.approval == ApprovalState.APPROVED:
        return OUTCOME_APPROVED
    return OUTCOME_PENDING


def _ended(
    run: RetrainRun, jobs: Mapping[str, TrainingJob], now: datetime, timeout: timedelta
) -> bool:
    job = jobs.get(run.metadata.name)
    if job is not None:
        return not job.active
    if run.spec.approval == ApprovalState.DENIED or is_expired(run, now, timeout):
        return True
    ready = run.status.condition(c.READY)
    return ready is not None and ready.status == ConditionStatus.TRUE


def _in_flight(
    run: RetrainRun, jobs: Mapping[str, TrainingJob], now: datetime, timeout: timedelta
) -> bool:
    """Approved and its training not ended (its Job runs, or is still to be created)."""
    return run.spec.approval == ApprovalState.APPROVED and not _ended(run, jobs, now, timeout)


def model_age_start(
    monitor: ModelMonitor,
    state: MonitorRetrainState,
    runs: Sequence[RetrainRun],
    past: Sequence[PastDecision] = (),
) -> datetime | None:
    """When the served model's age counts from (None: unknown, modelAge cannot fire)."""
    times = [monitor.spec.model.trained_at, state.model_version_time]
    times.append(state.last_retrain_succeeded_time)
    times += [_succeeded(run) for run in runs]
    times += [p.finished_at for p in past if p.outcome == OUTCOME_SUCCEEDED]
    known = [t for t in times if t is not None]
    return max(known, default=None)


def _failed(run: RetrainRun, now: datetime, timeout: timedelta) -> bool:
    if run.spec.approval == ApprovalState.DENIED or is_expired(run, now, timeout):
        return True
    return _ready_reason(run) in (c.JOB_FAILED, c.REJECTED)


def last_trigger_time(
    policy: RetrainPolicy,
    runs: Sequence[RetrainRun],
    past: Sequence[PastDecision],
    now: datetime,
) -> datetime | None:
    """When this monitor's cooldown counts from: the latest RetrainRun that exists or that
    retrain_events recorded (leaving out failed ones when resetCooldownOnFailure)."""
    reset = policy.spec.reset_cooldown_on_failure
    timeout = approval_timeout(policy)
    times = [
        r.metadata.creation_timestamp
        for r in runs
        if r.metadata.creation_timestamp is not None and not (reset and _failed(r, now, timeout))
    ]
    times += [p.created_at for p in past if not (reset and p.outcome in FAILED_OUTCOMES)]
    return max(times, default=None)


def _fires(
    trigger: Trigger,
    runs: list[RunSummary],
    age_start: datetime | None,
    now: datetime,
) -> RunSummary | bool | None:
    """The run that makes `trigger` fire (True for a run-less modelAge firing), or None."""
    latest = runs[-1] if runs else None
    if trigger.severity is not None:
        level = Severity(str(trigger.severity)).rank
        if latest is None or latest.severity.rank < level:
            return None
        if trigger.persist_for is None:
            return latest
        streak_start = latest
        for run in reversed(runs):
            if run.severity.rank < level:
                break
            streak_start = run
        held = now - streak_start.finished_at
        return latest if held >= parse_duration(trigger.persist_for) else None
    if trigger.performance_drop is not None:
        if latest is None:
            return None
        wanted = trigger.performance_drop
        for metric in latest.performance:
            if metric.metric != wanted.metric:
                continue
            if wanted.absolute_drop is not None and metric.drop >= wanted.absolute_drop:
                return latest
            relative = wanted.relative_drop
            if (
                relative is not None
                and metric.baseline != 0
                and metric.drop / abs(metric.baseline) >= relative
            ):
                return latest
        return None
    assert trigger.model_age is not None
    if age_start is None or now - age_start < parse_duration(trigger.model_age):
        return None
    return latest if latest is not None else True


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_firing(firing: Firing) -> str:
    where = f"monitor {firing.monitor.metadata.name}"
    if firing.run is not None:
        where += f" run {firing.run.run_id}"
    return f"{firing.trigger} fired on {where}"


def monitor_state(
    policy: RetrainPolicy, monitor: ModelMonitor, now: datetime
) -> MonitorRetrainState:
    """The policy's remembered state of `monitor`, with a model.version change noted."""
    name = monitor.metadata.name
    state = policy.status.monitor(name) or MonitorRetrainState(name=name)
    version = monitor.spec.model.version
    if version != state.model_version:
        changed = state.model_version is not None or state.model_version_time is not None
        state = state.model_copy(
            update={"model_version": version, "model_version_time": now if changed else None}
        )
    return state


def decide_for_monitor(
    policy: RetrainPolicy,
    entry: MonitorRuns,
    state: MonitorRetrainState,
    retrain_runs: Sequence[RetrainRun],
    in_flight: int,
    now: datetime,
    past: Sequence[PastDecision] = (),
    taken: frozenset[str] = frozenset(),
) -> RetrainDecision:
    """Decide for one monitor. Pure: same inputs, same decision.

    `retrain_runs` and `past`: this monitor's RetrainRuns and recorded triggered decisions;
    `in_flight`: the policy's trainings that run or wait for their Job; `taken`: RetrainRun
    names that exist or were recorded (a retry in the same window gets the next suffix)."""
    spec = policy.spec
    monitor = entry.monitor
    name = monitor.metadata.name
    timeout = approval_timeout(policy)
    mine = sorted(
        (r for r in retrain_runs if r.spec.monitor_name == name),
        key=lambda r: (r.spec.trigger_window_time, r.metadata.name),
    )
    pending = [
        r
        for r in mine
        if r.spec.approval == ApprovalState.PENDING and not is_expired(r, now, timeout)
    ]
    if pending:
        run = pending[-1]
        return RetrainDecision(
            name,
            False,
            c.PENDING_APPROVAL,
            f"RetrainRun {run.metadata.name} waits for approval: kubectl patch retrainrun "
            f'{run.metadata.name} --type merge -p \'{{"spec":{{"approval":"approved"}}}}\'',
            retrain_run_name=run.metadata.name,
        )
    mine_past = [p for p in past if p.monitor == name]
    last = last_trigger_time(policy, mine, mine_past, now)
    runs = _evaluated(entry.runs, last)
    age_start = model_age_start(monitor, state, mine, mine_past)
    firing: Firing | None = None
    for trigger in spec.triggers:
        hit = _fires(trigger, runs, age_start, now)
        if hit is not None:
            firing = Firing(
                trigger.describe(), monitor, hit if isinstance(hit, RunSummary) else None
            )
            break
    if firing is None:
        scope = "since the last retrain" if last else "so far"
        return RetrainDecision(
            name,
            False,
            c.NOT_TRIGGERED,
            f"no trigger fired on {len(runs)} evaluated run(s) {scope}",
        )
    what = _describe_firing(firing)
    if spec.min_new_labelled_samples > 0:
        labelled = runs[-1].labelled_rows if runs else 0
        if labelled < spec.min_new_labelled_samples:
            return RetrainDecision(
                name,
                False,
                c.INSUFFICIENT_SAMPLES,
                f"{what}, but only {labelled} labelled rows since the last retrain "
                f"(minNewLabelledSamples {spec.min_new_labelled_samples})",
                firing=firing,
            )
    cooldown = parse_duration(spec.cooldown)
    if last is not None and now < last + cooldown:
        until = last + cooldown
        return RetrainDecision(
            name,
            False,
            c.COOLDOWN,
            f"{what}, but the last retrain was at {_iso(last)}; cooldown until {_iso(until)}",
            cooldown_until=until,
            firing=firing,
        )
    approved = spec.approval == Approval.AUTOMATIC
    if approved and in_flight >= spec.max_concurrent:
        return RetrainDecision(
            name,
            False,
            c.MAX_CONCURRENT,
            f"{what}, but {in_flight} training Job(s) still run or wait to start "
            f"(maxConcurrent {spec.max_concurrent})",
            firing=firing,
        )
    window = trigger_window(policy, now)
    run_name = _free_name(retrain_run_name(policy, name, window), taken)
    windows = entry.windows.get(firing.run.run_id) if firing.run is not None else None
    manifest = plan_retrain_run(
        policy, firing, run_name, window, approved=approved, windows=windows
    )
    return RetrainDecision(
        name,
        True,
        c.TRIGGERED,
        f"{what}: created RetrainRun {run_name}" + ("" if approved else " (approval pending)"),
        retrain_run=manifest,
        retrain_run_name=run_name,
        cooldown_until=now + cooldown,
        firing=firing,
    )


def _free_name(base: str, taken: frozenset[str]) -> str:
    """`base`, or `base-2`, `base-3`... when a failed retrain of the same window holds it
    (only possible with resetCooldownOnFailure: the cooldown is at least a window long)."""
    if base not in taken:
        return base
    stem = base.rsplit("-", 1)
    for attempt in range(2, 100):
        candidate = f"{bounded(stem[0], 63 - 16 - len(str(attempt)))}-{stem[1]}-{attempt}"
        if candidate not in taken:
            return candidate
    return base  # 99 failed retries in one window: the 409 keeps it at one more


def plan_retrain_run(
    policy: RetrainPolicy,
    firing: Firing,
    name: str,
    window: datetime,
    *,
    approved: bool,
    windows: TriggerWindows | None = None,
) -> dict[str, Any]:
    """The RetrainRun recording a triggered decision (owned by the policy)."""
    run = firing.run
    spec: dict[str, Any] = {
        "policyName": policy.metadata.name,
        "monitorName": firing.monitor.metadata.name,
        "trigger": firing.trigger[:256],
        "triggerWindowTime": _iso(window),
    }
    if run is not None:
        spec |= {
            "runId": run.run_id,
            "severity": str(run.severity),
            "driftedFeatures": list(dict.fromkeys(f.name for f in run.top_drifted))[:10],
        }
    if windows is not None and (windows.baseline or windows.current):
        spec["windows"] = windows.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["approval"] = str(ApprovalState.APPROVED if approved else ApprovalState.PENDING)
    return {
        "apiVersion": f"{policy.api_version}",
        "kind": RUN_KIND,
        "metadata": {
            "name": name,
            "namespace": policy.metadata.namespace,
            "labels": {
                LABEL_NAME: "driftwarden",
                LABEL_COMPONENT: "training",
                LABEL_MANAGED_BY: MANAGED_BY,
                LABEL_POLICY: label_value(policy.metadata.name),
                LABEL_POLICY_UID: policy.metadata.uid,
                LABEL_MONITOR: label_value(firing.monitor.metadata.name),
            },
            "ownerReferences": [owner_reference(KIND, policy.metadata.name, policy.metadata.uid)],
        },
        "spec": spec,
    }


def _why_env(
    policy: RetrainPolicy, run: RetrainRun, monitor: ModelMonitor, now: datetime
) -> list[dict[str, str]]:
    model = monitor.spec.model
    values = {
        "POLICY": policy.metadata.name,
        "MONITOR": monitor.metadata.name,
        "RETRAIN_RUN": run.metadata.name,
        "MODEL_NAME": model.name,
        "MODEL_VERSION": model.version or "",
        "TRIGGER": run.spec.trigger,
        "TRIGGER_RUN_ID": run.spec.run_id or "",
        "SEVERITY": str(run.spec.severity) if run.spec.severity else "",
        "TRIGGERED_AT": _iso(now),
        "TRIGGER_WINDOW": _iso(run.spec.trigger_window_time),
        "DRIFTED_FEATURES": ",".join(run.spec.drifted_features),
    }
    windows = run.spec.windows
    for key, window in (
        ("BASELINE", windows.baseline if windows else None),
        ("CURRENT", windows.current if windows else None),
    ):
        values[f"{key}_START"] = _iso(window.start) if window else ""
        values[f"{key}_END"] = _iso(window.end) if window else ""
    if policy.spec.validation is not None:
        values["VALIDATION"] = json.dumps(
            policy.spec.validation.model_dump(mode="json", by_alias=True, exclude_none=True),
            sort_keys=True,
        )
    return [{"name": ENV_PREFIX + key, "value": value} for key, value in values.items()]


def plan_training_job(
    policy: RetrainPolicy,
    run: RetrainRun,
    firing: Firing,
    now: datetime,
    *,
    ttl_seconds_after_finished: int = 7 * 86_400,
) -> dict[str, Any]:
    """The training Job of an approved RetrainRun: the policy's template, our labels, env
    saying why it runs, a TTL and restricted-profile securityContext defaults (the
    template's own values win)."""
    template = policy.spec.job_template.model_dump(mode="json", by_alias=True, exclude_none=True)
    job_meta = template.get("metadata", {})
    spec = template["spec"]
    spec.setdefault("ttlSecondsAfterFinished", ttl_seconds_after_finished)
    pod_template = spec["template"]
    pod_meta = pod_template.pop("metadata", {})
    pod_spec = pod_template["spec"]
    pod_spec["securityContext"] = {
        **TRAINING_POD_SECURITY_CONTEXT,
        **(pod_spec.get("securityContext") or {}),
    }
    spec["template"] = {"metadata": pod_meta, "spec": pod_spec}
    ours = {
        LABEL_NAME: "driftwarden",
        LABEL_COMPONENT: "training",
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_POLICY: label_value(policy.metadata.name),
        LABEL_POLICY_UID: policy.metadata.uid,
        LABEL_MONITOR: label_value(run.spec.monitor_name),
        LABEL_RETRAIN_RUN: run.metadata.name,
    }
    pod_meta["labels"] = {**pod_meta.get("labels", {}), **ours}
    env = _why_env(policy, run, firing.monitor, now)
    ours_names = {item["name"] for item in env}
    for container in pod_spec["containers"]:
        kept = [e for e in container.get("env", []) if e.get("name") not in ours_names]
        container["env"] = kept + env
        container["securityContext"] = {
            **TRAINING_CONTAINER_SECURITY_CONTEXT,
            **(container.get("securityContext") or {}),
        }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": run.metadata.name,
            "namespace": policy.metadata.namespace,
            "labels": {**job_meta.get("labels", {}), **ours},
            "annotations": {
                **job_meta.get("annotations", {}),
                ANNOTATION_TRIGGERED_AT: _iso(now),
                ANNOTATION_TRIGGER_WINDOW: _iso(run.spec.trigger_window_time),
                ANNOTATION_TRIGGER_REASON: run.spec.trigger,
                ANNOTATION_TRIGGER_RUN: run.spec.run_id or "",
            },
            "ownerReferences": [
                owner_reference(RUN_KIND, run.metadata.name, run.metadata.uid),
            ],
        },
        "spec": spec,
    }


@dataclass(frozen=True)
class PolicyPlan:
    """One reconcile of a RetrainPolicy: the decisions, the objects to create, the status
    to write (only when `changed`) and the Events to emit."""

    decisions: tuple[RetrainDecision, ...]
    objects: tuple[dict[str, Any], ...]
    status: RetrainPolicyStatus
    events: tuple[EventSpec, ...]
    changed: bool
    watched: tuple[str, ...] = field(default=())


_DECISION_EVENTS = {c.TRIGGERED, c.PENDING_APPROVAL, c.COOLDOWN, c.MAX_CONCURRENT}
_DECISION_EVENTS |= {c.INSUFFICIENT_SAMPLES}
RECENT_DECISIONS = 10


def _same_decision(a: DecisionRecord | None, b: DecisionRecord) -> bool:
    return a is not None and a.model_dump(exclude={"time"}) == b.model_dump(exclude={"time"})


def plan_policy(
    policy: RetrainPolicy,
    monitors: Sequence[MonitorRuns],
    retrain_runs: Sequence[RetrainRun],
    jobs: Sequence[TrainingJob],
    now: datetime,
    *,
    enabled: bool = True,
    template_error: str | None = None,
    past: Sequence[PastDecision] = (),
    recorded_names: frozenset[str] = frozenset(),
) -> PolicyPlan:
    """Decide for every watched monitor and plan the policy's status. Pure.

    `monitors`: the monitors the policy selects, with their recent runs; `retrain_runs` and
    `jobs`: the policy's (by label); `template_error`: the API server's refusal of a dry-run
    create of the jobTemplate (Stalled, InvalidJobTemplate), None when it passed; `enabled`:
    the operator's master switch for automatic retraining (a policy with approval automatic
    starts nothing without it; manual approvals work either way); `past`: the triggered
    decisions retrain_events recorded; `recorded_names`: the RetrainRun names they made.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    spec = policy.spec
    old = policy.status
    generation = policy.metadata.generation
    ordered = sorted(monitors, key=lambda m: m.monitor.metadata.name)
    watched = ordered[:MAX_MONITORS]
    events: list[EventSpec] = []
    states: list[MonitorRetrainState] = []
    decisions: list[RetrainDecision] = []
    objects: list[dict[str, Any]] = []
    timeout = approval_timeout(policy)
    by_job = {job.name: job for job in jobs}
    automatic = spec.approval == Approval.AUTOMATIC
    may_start = template_error is None and not spec.suspend and (enabled or not automatic)
    # Approved RetrainRuns without their Job get it now, oldest first, within maxConcurrent.
    running = sum(job.active for job in jobs)
    awaiting_job = sorted(
        (
            r
            for r in retrain_runs
            if r.spec.approval == ApprovalState.APPROVED
            and r.metadata.name not in by_job
            and r.status.job_name is None
            and not is_expired(r, now, timeout)
            and not _ended(r, by_job, now, timeout)
        ),
        key=lambda r: (r.metadata.creation_timestamp or EPOCH, r.metadata.name),
    )
    by_monitor = {m.monitor.metadata.name: m.monitor for m in watched}
    for run in awaiting_job:
        monitor = by_monitor.get(run.spec.monitor_name)
        if may_start and monitor is not None and running < spec.max_concurrent:
            objects.append(
                plan_training_job(policy, run, Firing(run.spec.trigger, monitor, None), now)
            )
            running += 1
    planned = _names(objects)
    in_flight = running + sum(1 for r in awaiting_job if r.metadata.name not in planned)
    taken = frozenset(r.metadata.name for r in retrain_runs) | recorded_names
    for entry in watched:
        name = entry.monitor.metadata.name
        before = old.monitor(name)
        state = monitor_state(policy, entry.monitor, now)
        if before is not None and state.model_version_time != before.model_version_time:
            events.append(
                EventSpec(
                    EventType.NORMAL,
                    c.MODEL_VERSION_CHANGED,
                    f"monitor {name}: model.version {before.model_version} -> "
                    f"{state.model_version}; model age counts from now",
                )
            )
        mine = [r for r in retrain_runs if r.spec.monitor_name == name]
        if template_error is not None:
            decision = RetrainDecision(name, False, c.INVALID_JOB_TEMPLATE, template_error)
        elif spec.suspend:
            decision = RetrainDecision(name, False, c.SUSPENDED, "spec.suspend is true")
        elif automatic and not enabled:
            decision = RetrainDecision(
                name,
                False,
                c.DISABLED,
                "automatic retraining is off in the operator (--enable-automatic-retraining); "
                "a policy with approval manual still works",
            )
        else:
            decision = decide_for_monitor(policy, entry, state, mine, in_flight, now, past, taken)
        if decision.trigger:
            assert decision.retrain_run is not None
            objects.append(decision.retrain_run)
            if automatic:
                in_flight += 1
            taken |= {str(decision.retrain_run_name)}
            state = state.model_copy(
                update={
                    "last_triggered_time": now,
                    "cooldown_until_time": decision.cooldown_until,
                    "last_retrain_run_name": decision.retrain_run_name,
                }
            )
        elif decision.reason == c.COOLDOWN:
            state = state.model_copy(update={"cooldown_until_time": decision.cooldown_until})
        succeeded = [t for t in (_succeeded(r) for r in mine) if t is not None]
        succeeded += [
            p.finished_at
            for p in past
            if p.monitor == name and p.outcome == OUTCOME_SUCCEEDED and p.finished_at
        ]
        if succeeded:
            latest = max(succeeded)
            if (
                state.last_retrain_succeeded_time is None
                or latest > state.last_retrain_succeeded_time
            ):
                state = state.model_copy(update={"last_retrain_succeeded_time": latest})
        state = state.model_copy(
            update={
                "active_jobs": sum(job.active for job in jobs if job.monitor == label_value(name))
            }
        )
        states.append(state)
        decisions.append(decision)
    # conditions
    stall = Stall(c.INVALID_JOB_TEMPLATE, template_error) if template_error else None
    waiting = None
    if not monitors:
        waiting = Stall(c.MONITOR_NOT_FOUND, "no ModelMonitor matches")
    desired = kstatus_conditions(stall, waiting)
    if len(ordered) > MAX_MONITORS:
        skipped = [m.monitor.metadata.name for m in ordered[MAX_MONITORS:]]
        desired.append(
            DesiredCondition(
                c.TOO_MANY_MONITORS,
                ConditionStatus.TRUE,
                c.TOO_MANY_MONITORS,
                f"{len(ordered)} monitors match; state is kept for {MAX_MONITORS}; not "
                f"watched: {', '.join(skipped[:10])}" + (" ..." if len(skipped) > 10 else ""),
            )
        )
    else:
        desired.append(
            DesiredCondition(c.TOO_MANY_MONITORS, ConditionStatus.FALSE, c.MONITORS_WITHIN_BOUND)
        )
    # decisions: the most telling one is recorded (a trigger, else the first by monitor)
    recent = list(old.recent_decisions)
    last_decision = old.last_decision
    position = {state.name: i for i, state in enumerate(states)}
    for decision in sorted(decisions, key=lambda d: (not d.trigger, d.monitor)):
        record = decision.record(now)
        i = position[decision.monitor]
        if _same_decision(states[i].last_decision, record):
            continue
        states[i] = states[i].model_copy(update={"last_decision": record})
        recent = [record, *recent][:RECENT_DECISIONS]
        last_decision = record
        if decision.reason in _DECISION_EVENTS:
            events.append(EventSpec(EventType.NORMAL, decision.reason, record.message))
    status = RetrainPolicyStatus(
        observed_generation=generation,
        conditions=set_conditions(old.conditions, desired, generation, now),
        monitors=states,
        last_decision=last_decision,
        active_jobs=running,
        recent_decisions=recent,
    )
    return PolicyPlan(
        decisions=tuple(decisions),
        objects=tuple(objects),
        status=status,
        events=tuple(events),
        changed=status != old,
        watched=tuple(m.monitor.metadata.name for m in watched),
    )


def _names(objects: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(o["metadata"]["name"]) for o in objects}


@dataclass(frozen=True)
class ModelValidation:
    """The trained model against the policy's thresholds: passed or not, and why in numbers."""

    passed: bool
    message: str


_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_REPORTED_METRICS: Final = 16


def parse_training_metrics(message: str | None) -> dict[str, float] | None:
    """The trained model's metrics from a training container's termination message:
    `{"metrics": {"roc_auc": 0.83, ...}}` (other keys ignored). None when the message is
    missing or not that shape; names must be lower-case identifiers, values finite numbers;
    at most 16 are kept (by name)."""
    if not message:
        return None
    try:
        document = json.loads(message)
    except ValueError:
        return None
    metrics = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(metrics, dict):
        return None
    kept: dict[str, float] = {}
    for key in sorted(metrics):
        value = metrics[key]
        if not isinstance(key, str) or not _METRIC_NAME.match(key):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(float(value)):
            continue
        kept[key] = float(value)
        if len(kept) == MAX_REPORTED_METRICS:
            break
    return kept


def _lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def validate_model(
    validation: ValidationSpec | None,
    reported: Mapping[str, float] | None,
    serving: Mapping[str, float],
) -> ModelValidation | None:
    """Check the trained model's `reported` metrics against the policy's thresholds.

    `minimum` is a floor (a ceiling for the error metrics brier, ece, rmse and mae);
    `maxRelativeDropVsServing` bounds how much worse than the serving model's last measured
    value (`serving`, the monitor's latest run) it may be, as a share of that value. A
    threshold on a metric the Job did not report rejects the model; a serving value that was
    never measured is named and not compared. None when the policy sets no threshold.
    """
    floors = validation.minimum.values() if validation and validation.minimum else {}
    drops: dict[str, float] = {}
    if validation is not None and validation.max_relative_drop_vs_serving is not None:
        drops = {
            k: v
            for k, v in validation.max_relative_drop_vs_serving.model_dump(by_alias=True).items()
            if v is not None
        }
    if not floors and not drops:
        return None
    if reported is None:
        return ModelValidation(
            False,
            'the training Job reported no metrics (termination message {"metrics": {...}})',
        )
    failures: list[str] = []
    passes: list[str] = []
    for metric, limit in sorted(floors.items()):
        value = reported.get(metric)
        if value is None:
            failures.append(f"{metric} not reported")
        elif _lower_is_better(metric):
            (passes if value <= limit else failures).append(
                f"{metric} {value:.4g} {'<=' if value <= limit else '>'} maximum {limit:g}"
            )
        else:
            (passes if value >= limit else failures).append(
                f"{metric} {value:.4g} {'>=' if value >= limit else '<'} minimum {limit:g}"
            )
    for metric, allowed in sorted(drops.items()):
        value = reported.get(metric)
        base = serving.get(metric)
        if value is None:
            failures.append(f"{metric} not reported")
            continue
        if base is None or base == 0:
            passes.append(f"{metric}: no serving value to compare")
            continue
        worse = (value - base) if _lower_is_better(metric) else (base - value)
        share = worse / abs(base)
        text = (
            f"{metric} {value:.4g} vs serving {base:.4g}: {share:+.2%} worse "
            f"(allowed {allowed:.2%})"
        )
        (passes if share <= allowed + 1e-12 else failures).append(text)
    if failures:
        return ModelValidation(False, "; ".join(failures + passes)[:1024])
    return ModelValidation(True, "; ".join(passes)[:1024])


@dataclass(frozen=True)
class RetrainRunPlan:
    """A RetrainRun's status to write (only when `changed`), its Events, and the outcome
    `retrain_events` records."""

    status: RetrainRunStatus
    events: tuple[EventSpec, ...]
    changed: bool
    outcome: str
    finished: datetime | None


_STATE_EVENTS: Final = {
    c.RUNNING: EventType.NORMAL,
    c.RUN_SUCCEEDED: EventType.NORMAL,
    c.JOB_FAILED: EventType.WARNING,
    c.REJECTED: EventType.WARNING,
    c.DENIED: EventType.NORMAL,
    c.EXPIRED: EventType.WARNING,
}


def plan_retrain_run_update(
    run: RetrainRun,
    job: TrainingJob | None,
    now: datetime,
    *,
    timeout: timedelta,
    metrics: Mapping[str, float] | None = None,
    validation: ModelValidation | None = None,
) -> RetrainRunPlan:
    """The RetrainRun's status, with an Event when its state (Ready's reason) or its
    validation changed."""
    status = plan_retrain_run_status(
        run, job, now, timeout=timeout, metrics=metrics, validation=validation
    )
    before = run.status.condition(c.READY)
    after = status.condition(c.READY)
    events: list[EventSpec] = []
    if after is not None and (before is None or before.reason != after.reason):
        kind = _STATE_EVENTS.get(after.reason)
        if kind is not None:
            events.append(EventSpec(kind, after.reason, after.message or after.reason))
    old_valid = run.status.condition(c.VALIDATED)
    new_valid = status.condition(c.VALIDATED)
    passed_now = new_valid is not None and new_valid.status == ConditionStatus.TRUE
    if passed_now and (old_valid is None or old_valid.status != ConditionStatus.TRUE):
        assert new_valid is not None
        events.append(EventSpec(EventType.NORMAL, c.VALIDATION_PASSED, new_valid.message))
    changed = status != run.status
    probe = run.model_copy(update={"status": status})
    return RetrainRunPlan(
        status, tuple(events), changed, run_outcome(probe), status.completion_time
    )


def plan_retrain_run_status(
    run: RetrainRun,
    job: TrainingJob | None,
    now: datetime,
    *,
    timeout: timedelta | None = None,
    metrics: Mapping[str, float] | None = None,
    validation: ModelValidation | None = None,
) -> RetrainRunStatus:
    """A RetrainRun's status from its approval, its Job and (once reported) its validation.

    Ready's reason is the state `kubectl get rr` prints: PendingApproval, Denied, Expired,
    AwaitingJob, Running, Succeeded, JobFailed or Rejected; Ready is True once the run
    reached an end (kstatus Current), False while it waits or runs. A Job deleted after it
    ended (its TTL) changes nothing.
    """
    old = run.status
    if job is None and old.job_name is not None:
        return old  # its Job ended and was deleted: the story is told
    approval = run.spec.approval
    desired: list[DesiredCondition] = []
    expired = timeout is not None and job is None and is_expired(run, now, timeout)
    if expired:
        desired.append(
            DesiredCondition(
                c.APPROVED,
                ConditionStatus.FALSE,
                c.EXPIRED,
                f"not approved within the policy's approvalTimeout; created "
                f"{_iso(run.metadata.creation_timestamp or now)}",
            )
        )
        state, done = c.EXPIRED, True
    elif approval == ApprovalState.PENDING:
        desired.append(DesiredCondition(c.APPROVED, ConditionStatus.UNKNOWN, c.PENDING_APPROVAL))
        state, done = c.PENDING_APPROVAL, False
    elif approval == ApprovalState.DENIED:
        desired.append(DesiredCondition(c.APPROVED, ConditionStatus.FALSE, c.DENIED))
        state, done = c.DENIED, True
    else:
        desired.append(DesiredCondition(c.APPROVED, ConditionStatus.TRUE, c.APPROVAL_GIVEN))
        state, done = c.AWAITING_JOB, False
    update: dict[str, Any] = {}
    if approval == ApprovalState.APPROVED and old.approval_time is None and not expired:
        update["approval_time"] = now
    message = ""
    if job is not None:
        desired.append(DesiredCondition(c.STARTED, ConditionStatus.TRUE, c.RUNNING, job.name))
        update |= {"job_name": job.name, "start_time": old.start_time or job.triggered_at}
        message = f"training Job {job.name}"
        if job.active:
            state = c.RUNNING
        elif job.succeeded:
            desired.append(DesiredCondition(c.SUCCEEDED, ConditionStatus.TRUE, c.RUN_SUCCEEDED))
            update["completion_time"] = job.completed_at or now
            state, done = c.RUN_SUCCEEDED, True
        else:
            desired.append(DesiredCondition(c.SUCCEEDED, ConditionStatus.FALSE, c.JOB_FAILED))
            update["completion_time"] = job.completed_at or now
            state, done = c.JOB_FAILED, True
        if metrics is not None:
            update["metrics"] = dict(metrics)
    if validation is not None and state == c.RUN_SUCCEEDED:
        desired.append(
            DesiredCondition(
                c.VALIDATED,
                ConditionStatus.TRUE if validation.passed else ConditionStatus.FALSE,
                c.VALIDATION_PASSED if validation.passed else c.REJECTED,
                validation.message,
            )
        )
        message = validation.message
        if not validation.passed:
            state = c.REJECTED
    desired.append(
        DesiredCondition(
            c.READY, ConditionStatus.TRUE if done else ConditionStatus.FALSE, state, message
        )
    )
    generation = run.metadata.generation
    update |= {
        "observed_generation": generation,
        "conditions": set_conditions(old.conditions, desired, generation, now),
    }
    return old.model_copy(update=update)


TEMPLATE_PROBE_NAME: Final = "driftwarden-template-probe"


def plan_template_probe(policy: RetrainPolicy) -> dict[str, Any]:
    """The Job a reconcile sends as a server-side dry-run create (dryRun=All,
    fieldValidation=Strict) to check the policy's jobTemplate before any trigger: a field the
    API server does not know (`serviceAcountName`) or a wrong value comes back as the
    server's message, and the policy is Stalled (InvalidJobTemplate) with it. Nothing is
    created. The template is sent as the user wrote it (no defaults of ours added), so
    every complaint is about the user's own fields."""
    template = policy.spec.job_template.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec = template["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": TEMPLATE_PROBE_NAME,
            "namespace": policy.metadata.namespace,
            "labels": {
                LABEL_MANAGED_BY: MANAGED_BY,
                **template.get("metadata", {}).get("labels", {}),
            },
        },
        "spec": spec,
    }
