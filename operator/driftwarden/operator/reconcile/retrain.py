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
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from driftwarden.detectors.config import Severity, parse_duration
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.modelmonitor import ModelMonitor, RunOutcome
from driftwarden.operator.api.retrainpolicy import (
    KIND,
    MAX_MONITORS,
    Approval,
    DecisionAction,
    DecisionRecord,
    MonitorRetrainState,
    RetrainPolicy,
    RetrainPolicyStatus,
    Trigger,
)
from driftwarden.operator.api.retrainrun import KIND as RUN_KIND
from driftwarden.operator.api.retrainrun import (
    ApprovalState,
    RetrainRun,
    RetrainRunStatus,
)
from driftwarden.operator.api.run import RunSummary

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
    """A watched monitor and its recent run summaries (any order)."""

    monitor: ModelMonitor
    runs: Sequence[RunSummary]


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
    done = run.status.condition(c.SUCCEEDED)
    if done is None or done.status != ConditionStatus.TRUE:
        return None
    return run.status.completion_time or done.last_transition_time


def model_age_start(
    monitor: ModelMonitor, state: MonitorRetrainState, runs: Sequence[RetrainRun]
) -> datetime | None:
    """When the served model's age counts from (None: unknown, modelAge cannot fire)."""
    times = [monitor.spec.model.trained_at, state.model_version_time]
    times.append(state.last_retrain_succeeded_time)
    times += [_succeeded(run) for run in runs]
    known = [t for t in times if t is not None]
    return max(known, default=None)


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
    active_jobs: int,
    now: datetime,
) -> RetrainDecision:
    """Decide for one monitor. Pure: same inputs, same decision."""
    spec = policy.spec
    monitor = entry.monitor
    name = monitor.metadata.name
    mine = sorted(
        (r for r in retrain_runs if r.spec.monitor_name == name),
        key=lambda r: (r.spec.trigger_window_time, r.metadata.name),
    )
    pending = [r for r in mine if r.spec.approval == ApprovalState.PENDING]
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
    last = state.last_triggered_time
    stamps = [r.metadata.creation_timestamp for r in mine if r.metadata.creation_timestamp]
    if stamps and (last is None or max(stamps) > last):
        last = max(stamps)
    runs = _evaluated(entry.runs, last)
    age_start = model_age_start(monitor, state, mine)
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
    if active_jobs >= spec.max_concurrent:
        return RetrainDecision(
            name,
            False,
            c.MAX_CONCURRENT,
            f"{what}, but {active_jobs} training Job(s) still run (maxConcurrent "
            f"{spec.max_concurrent})",
            firing=firing,
        )
    window = trigger_window(policy, now)
    run_name = retrain_run_name(policy, name, window)
    approved = spec.approval == Approval.AUTOMATIC
    manifest = plan_retrain_run(policy, firing, run_name, window, approved=approved)
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


def plan_retrain_run(
    policy: RetrainPolicy, firing: Firing, name: str, window: datetime, *, approved: bool
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
            "driftedFeatures": [f.name for f in run.top_drifted][:10],
        }
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
    }
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
) -> PolicyPlan:
    """Decide for every watched monitor and plan the policy's status. Pure.

    `monitors`: the monitors the policy selects, with their recent runs; `retrain_runs` and
    `jobs`: the policy's (by label); `template_error`: the API server's refusal of a dry-run
    create of the jobTemplate (Stalled, InvalidJobTemplate), None when it passed.
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
    active = sum(job.active for job in jobs)
    by_job = {job.name for job in jobs}
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
        # Approved RetrainRuns without their Job get it now (approval given later).
        for run in mine:
            if (
                run.spec.approval == ApprovalState.APPROVED
                and run.metadata.name not in by_job
                and run.status.job_name is None
                and active < spec.max_concurrent
                and template_error is None
                and enabled
                and not spec.suspend
            ):
                firing = Firing(run.spec.trigger, entry.monitor, None)
                objects.append(plan_training_job(policy, run, firing, now))
                active += 1
        if template_error is not None:
            decision = RetrainDecision(name, False, c.INVALID_JOB_TEMPLATE, template_error)
        elif not enabled:
            decision = RetrainDecision(
                name, False, c.DISABLED, "retraining is disabled in the operator settings"
            )
        elif spec.suspend:
            decision = RetrainDecision(name, False, c.SUSPENDED, "spec.suspend is true")
        else:
            decision = decide_for_monitor(policy, entry, state, mine, active, now)
        if decision.trigger:
            assert decision.retrain_run is not None
            objects.append(decision.retrain_run)
            state = state.model_copy(
                update={
                    "last_triggered_time": now,
                    "cooldown_until_time": decision.cooldown_until,
                    "last_retrain_run_name": decision.retrain_run_name,
                }
            )
        succeeded = [t for t in (_succeeded(r) for r in mine) if t is not None]
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
    for decision in sorted(decisions, key=lambda d: (not d.trigger, d.monitor)):
        record = decision.record(now)
        previous = next((r for r in recent if r.monitor == record.monitor), None)
        if _same_decision(previous, record):
            continue
        recent = [record, *recent][:RECENT_DECISIONS]
        last_decision = record
        if decision.reason in _DECISION_EVENTS:
            events.append(EventSpec(EventType.NORMAL, decision.reason, record.message))
    status = RetrainPolicyStatus(
        observed_generation=generation,
        conditions=set_conditions(old.conditions, desired, generation, now),
        monitors=states,
        last_decision=last_decision,
        active_jobs=active,
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


def plan_retrain_run_status(
    run: RetrainRun, job: TrainingJob | None, now: datetime, *, validated: bool | None = None
) -> RetrainRunStatus:
    """A RetrainRun's status from its approval, its Job and (once reported) its validation.

    Ready's reason is the state `kubectl get rr` prints: PendingApproval, Denied, Running,
    Succeeded, JobFailed or Rejected; Ready is True once the run reached an end (kstatus
    Current), False while it waits or runs.
    """
    old = run.status
    approval = run.spec.approval
    desired: list[DesiredCondition] = []
    if approval == ApprovalState.PENDING:
        desired.append(DesiredCondition(c.APPROVED, ConditionStatus.UNKNOWN, c.PENDING_APPROVAL))
        state, done = c.PENDING_APPROVAL, False
    elif approval == ApprovalState.DENIED:
        desired.append(DesiredCondition(c.APPROVED, ConditionStatus.FALSE, c.DENIED))
        state, done = c.DENIED, True
    else:
        desired.append(DesiredCondition(c.APPROVED, ConditionStatus.TRUE, c.APPROVAL_GIVEN))
        state, done = c.AWAITING_JOB, False
    update: dict[str, Any] = {}
    if approval == ApprovalState.APPROVED and old.approval_time is None:
        update["approval_time"] = now
    if job is not None:
        desired.append(DesiredCondition(c.STARTED, ConditionStatus.TRUE, c.RUNNING, job.name))
        update |= {"job_name": job.name, "start_time": old.start_time or job.triggered_at}
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
    if validated is not None:
        desired.append(
            DesiredCondition(
                c.VALIDATED,
                ConditionStatus.TRUE if validated else ConditionStatus.FALSE,
                c.RUN_SUCCEEDED if validated else c.REJECTED,
            )
        )
        if not validated:
            state = c.REJECTED
    desired.append(
        DesiredCondition(c.READY, ConditionStatus.TRUE if done else ConditionStatus.FALSE, state)
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
