"""The retrain decision: (policy, recent runs, training Jobs, now) -> trigger or skip, and why.

Gates, in order: Disabled (operator switch), Suspended, NotTriggered, InsufficientSamples,
Cooldown, MaxConcurrent, PendingApproval; a decision that passes them all is Triggered and
carries the training Job. The Job's name depends only on the policy and the trigger window
(the cooldown-long slice of time since the epoch that `now` falls in), so deciding twice,
or after a restart, never creates a second Job: the API server answers 409.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from driftwarden.detectors.config import Severity, parse_duration
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.modelmonitor import ModelMonitor, RunOutcome
from driftwarden.operator.api.retrainpolicy import (
    KIND,
    Approval,
    DecisionAction,
    DecisionRecord,
    PendingApproval,
    RetrainPolicy,
    RetrainPolicyStatus,
    Trigger,
)
from driftwarden.operator.api.run import RunSummary

from .naming import (
    ANNOTATION_APPROVE,
    ANNOTATION_TRIGGER_REASON,
    ANNOTATION_TRIGGER_RUN,
    ANNOTATION_TRIGGER_WINDOW,
    ANNOTATION_TRIGGERED_AT,
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_POLICY,
    LABEL_POLICY_UID,
    MANAGED_BY,
    bounded,
    label_value,
    owner_reference,
)
from .status import DesiredCondition, EventSpec, EventType, set_conditions

ENV_PREFIX: Final = "DRIFTWARDEN_"
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TrainingJob:
    """A training Job of the policy, as observed in the cluster."""

    name: str
    triggered_at: datetime
    active: bool
    succeeded: bool = False
    completed_at: datetime | None = None

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
    """What to do now, and why. `job` is set only when `trigger` is True."""

    trigger: bool
    reason: str
    message: str
    job_name: str | None = None
    job: dict[str, Any] | None = None
    cooldown_until: datetime | None = None
    firing: Firing | None = None

    def record(self, now: datetime) -> DecisionRecord:
        run = self.firing.run if self.firing else None
        return DecisionRecord(
            time=now,
            action=DecisionAction.TRIGGER if self.trigger else DecisionAction.SKIP,
            reason=self.reason,
            message=self.message[:1024],
            job_name=self.job_name,
            run_id=run.run_id if run else None,
        )


def trigger_window(policy: RetrainPolicy, now: datetime) -> datetime:
    """Start of the cooldown-long window `now` falls in (windows counted from the epoch)."""
    length = parse_duration(policy.spec.cooldown)
    index = (now - EPOCH) // length
    return EPOCH + index * length


def training_job_name(policy: RetrainPolicy, window: datetime) -> str:
    """`<policy>-retrain-<window start as yyyymmddhhmmss>`; at most 63 characters."""
    return f"{bounded(policy.metadata.name, 40)}-retrain-{window:%Y%m%d%H%M%S}"


def last_triggered(policy: RetrainPolicy, jobs: Sequence[TrainingJob]) -> datetime | None:
    """The latest trigger time known from the Jobs or from status (Jobs may be deleted)."""
    times = [job.triggered_at for job in jobs]
    if policy.status.last_triggered is not None:
        times.append(policy.status.last_triggered)
    return max(times, default=None)


def _evaluated(runs: Sequence[RunSummary], since: datetime | None) -> list[RunSummary]:
    """Runs that evaluated the data, finished after `since`, oldest first."""
    kept = [
        r
        for r in runs
        if r.outcome == RunOutcome.SUCCEEDED and (since is None or r.finished_at > since)
    ]
    return sorted(kept, key=lambda r: (r.finished_at, r.run_id))


def _model_trained_at(monitor: ModelMonitor, jobs: Sequence[TrainingJob]) -> datetime | None:
    done = [j.completed_at for j in jobs if j.succeeded and j.completed_at is not None]
    if done:
        return max(done)
    return monitor.spec.model.trained_at


def _fires(
    trigger: Trigger,
    runs: list[RunSummary],
    monitor: ModelMonitor,
    jobs: Sequence[TrainingJob],
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
            if metric.metric == wanted.metric and metric.drop >= wanted.at_least:
                return latest
        return None
    assert trigger.model_age is not None
    trained = _model_trained_at(monitor, jobs)
    if trained is None or now - trained < parse_duration(trigger.model_age):
        return None
    return latest if latest is not None else True


def _first_firing(
    policy: RetrainPolicy,
    monitors: Sequence[MonitorRuns],
    jobs: Sequence[TrainingJob],
    since: datetime | None,
    now: datetime,
) -> tuple[Firing | None, list[RunSummary]]:
    """The first trigger (in spec order, monitors by name) that fires, and that monitor's runs."""
    for trigger in policy.spec.triggers:
        for entry in sorted(monitors, key=lambda m: m.monitor.metadata.name):
            runs = _evaluated(entry.runs, since)
            hit = _fires(trigger, runs, entry.monitor, jobs, now)
            if hit is None:
                continue
            run = hit if isinstance(hit, RunSummary) else None
            return Firing(trigger.describe(), entry.monitor, run), runs
    return None, []


def decide_retrain(
    policy: RetrainPolicy,
    monitors: Sequence[MonitorRuns],
    jobs: Sequence[TrainingJob],
    now: datetime,
    *,
    enabled: bool = True,
) -> RetrainDecision:
    """Decide whether to start a training Job now. Pure: same inputs, same decision.

    `monitors` are the monitors the policy watches with their recent runs; `jobs` are the
    policy's training Jobs (by label); `enabled` is the operator-wide switch.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    spec = policy.spec
    if not enabled:
        return RetrainDecision(False, c.DISABLED, "retraining is disabled in the operator settings")
    if spec.suspend:
        return RetrainDecision(False, c.SUSPENDED, "spec.suspend is true")
    last = last_triggered(policy, jobs)
    firing, runs = _first_firing(policy, monitors, jobs, last, now)
    if firing is None:
        evaluated = sum(len(_evaluated(m.runs, last)) for m in monitors)
        scope = "since the last retrain" if last else "so far"
        return RetrainDecision(
            False,
            c.NOT_TRIGGERED,
            f"no trigger fired on {evaluated} evaluated run(s) {scope} "
            f"of {len(monitors)} monitor(s)",
        )
    what = _describe_firing(firing)
    if spec.min_new_labelled_samples > 0:
        labelled = runs[-1].labelled_rows if runs else 0
        if labelled < spec.min_new_labelled_samples:
            return RetrainDecision(
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
            False,
            c.COOLDOWN,
            f"{what}, but the last retrain was at {_iso(last)}; cooldown until {_iso(until)}",
            cooldown_until=until,
            firing=firing,
        )
    active = sorted(job.name for job in jobs if job.active)
    if len(active) >= spec.max_concurrent:
        return RetrainDecision(
            False,
            c.MAX_CONCURRENT,
            f"{what}, but {len(active)} training Job(s) still run: {', '.join(active)} "
            f"(maxConcurrent {spec.max_concurrent})",
            firing=firing,
        )
    window = trigger_window(policy, now)
    name = training_job_name(policy, window)
    if (
        spec.approval == Approval.MANUAL
        and policy.metadata.annotations.get(ANNOTATION_APPROVE) != name
    ):
        return RetrainDecision(
            False,
            c.PENDING_APPROVAL,
            f"{what}; approve with: kubectl annotate retrainpolicy {policy.metadata.name} "
            f"{ANNOTATION_APPROVE}={name} --overwrite",
            job_name=name,
            firing=firing,
        )
    job = plan_training_job(policy, firing, name, window, now)
    return RetrainDecision(
        True,
        c.TRIGGERED,
        f"{what}: created training Job {name}",
        job_name=name,
        job=job,
        cooldown_until=now + cooldown,
        firing=firing,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_firing(firing: Firing) -> str:
    where = f"monitor {firing.monitor.metadata.name}"
    if firing.run is not None:
        where += f" run {firing.run.run_id}"
    return f"{firing.trigger} fired on {where}"


def _why_env(
    policy: RetrainPolicy, firing: Firing, window: datetime, now: datetime
) -> list[dict[str, str]]:
    model = firing.monitor.spec.model
    run = firing.run
    values = {
        "POLICY": policy.metadata.name,
        "MONITOR": firing.monitor.metadata.name,
        "MODEL_NAME": model.name,
        "MODEL_VERSION": model.version or "",
        "TRIGGER": firing.trigger,
        "TRIGGER_RUN_ID": run.run_id if run else "",
        "SEVERITY": str(run.severity) if run else "",
        "HEALTH_SCORE": "" if run is None or run.health_score is None else f"{run.health_score:g}",
        "TRIGGERED_AT": _iso(now),
        "TRIGGER_WINDOW": _iso(window),
    }
    if policy.spec.validation is not None:
        values["VALIDATION"] = json.dumps(
            policy.spec.validation.model_dump(by_alias=True), sort_keys=True
        )
    return [{"name": ENV_PREFIX + key, "value": value} for key, value in values.items()]


def plan_training_job(
    policy: RetrainPolicy, firing: Firing, name: str, window: datetime, now: datetime
) -> dict[str, Any]:
    """The training Job: the policy's template, our labels, and env saying why it runs."""
    template = policy.spec.job_template.model_dump(mode="json", by_alias=True, exclude_none=True)
    job_meta = template.get("metadata", {})
    spec = template["spec"]
    pod_template = spec["template"]
    pod_meta = pod_template.pop("metadata", {})
    spec["template"] = {"metadata": pod_meta, "spec": pod_template["spec"]}
    ours = {
        LABEL_NAME: "driftwarden",
        LABEL_COMPONENT: "training",
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_POLICY: label_value(policy.metadata.name),
        LABEL_POLICY_UID: policy.metadata.uid,
    }
    pod_meta["labels"] = {**pod_meta.get("labels", {}), **ours}
    env = _why_env(policy, firing, window, now)
    ours_names = {item["name"] for item in env}
    for container in spec["template"]["spec"]["containers"]:
        kept = [e for e in container.get("env", []) if e.get("name") not in ours_names]
        container["env"] = kept + env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": policy.metadata.namespace,
            "labels": {**job_meta.get("labels", {}), **ours},
            "annotations": {
                **job_meta.get("annotations", {}),
                ANNOTATION_TRIGGERED_AT: _iso(now),
                ANNOTATION_TRIGGER_WINDOW: _iso(window),
                ANNOTATION_TRIGGER_REASON: firing.trigger,
                ANNOTATION_TRIGGER_RUN: firing.run.run_id if firing.run else "",
            },
            "ownerReferences": [owner_reference(KIND, policy.metadata.name, policy.metadata.uid)],
        },
        "spec": spec,
    }


@dataclass(frozen=True)
class PolicyStatusPlan:
    """The RetrainPolicy status to write (only when `changed`) and the Events to emit."""

    status: RetrainPolicyStatus
    events: tuple[EventSpec, ...]
    changed: bool


_DECISION_EVENTS = {c.TRIGGERED, c.PENDING_APPROVAL, c.COOLDOWN, c.MAX_CONCURRENT}
_DECISION_EVENTS |= {c.INSUFFICIENT_SAMPLES}
RECENT_DECISIONS = 10


def _same_decision(a: DecisionRecord | None, b: DecisionRecord) -> bool:
    return a is not None and a.model_dump(exclude={"time"}) == b.model_dump(exclude={"time"})


def plan_policy_status(
    policy: RetrainPolicy,
    decision: RetrainDecision,
    jobs: Sequence[TrainingJob],
    monitors: Sequence[str],
    now: datetime,
) -> PolicyStatusPlan:
    """The status after a decision. Repeating the same decision changes nothing (no write,
    no Event); lastDecision.time is when that decision was first made."""
    old = policy.status
    generation = policy.metadata.generation
    record = decision.record(now)
    repeated = _same_decision(old.last_decision, record)
    if repeated:
        assert old.last_decision is not None
        record = old.last_decision
    triggered_at = [job.triggered_at for job in jobs]
    if old.last_triggered is not None:
        triggered_at.append(old.last_triggered)
    if decision.trigger:
        triggered_at.append(now)
    last = max(triggered_at, default=None)
    cooldown = parse_duration(policy.spec.cooldown)
    pending = None
    if decision.reason == c.PENDING_APPROVAL and decision.job_name is not None:
        since = now
        if old.pending_approval is not None and old.pending_approval.job_name == decision.job_name:
            since = old.pending_approval.since
        pending = PendingApproval(job_name=decision.job_name, since=since, message=record.message)
    if not monitors:
        ready = DesiredCondition(
            c.READY, ConditionStatus.FALSE, c.MONITOR_NOT_FOUND, "no ModelMonitor matches"
        )
    elif decision.reason in (c.SUSPENDED, c.DISABLED):
        ready = DesiredCondition(c.READY, ConditionStatus.FALSE, decision.reason, decision.message)
    else:
        ready = DesiredCondition(
            c.READY,
            ConditionStatus.TRUE,
            c.POLICY_ACTIVE,
            f"watching {', '.join(sorted(monitors))}",
        )
    approval = DesiredCondition(
        c.RETRAIN_PENDING_APPROVAL,
        ConditionStatus.TRUE if pending else ConditionStatus.FALSE,
        decision.reason,
        record.message if pending else "",
    )
    desired = [DesiredCondition(c.ACCEPTED, ConditionStatus.TRUE, c.SPEC_VALID), ready, approval]
    recent = list(old.recent_decisions)
    if not repeated:
        recent = [record, *recent][:RECENT_DECISIONS]
    status = RetrainPolicyStatus(
        observed_generation=generation,
        conditions=set_conditions(old.conditions, desired, generation, now),
        monitors=sorted(monitors),
        last_decision=record,
        last_triggered=last,
        last_job_name=decision.job_name if decision.trigger else old.last_job_name,
        cooldown_until=None if last is None else last + cooldown,
        active_jobs=sum(job.active for job in jobs) + (1 if decision.trigger else 0),
        pending_approval=pending,
        recent_decisions=recent,
    )
    events: tuple[EventSpec, ...] = ()
    if not repeated and decision.reason in _DECISION_EVENTS:
        events = (EventSpec(EventType.NORMAL, decision.reason, record.message),)
    return PolicyStatusPlan(status=status, events=events, changed=status != old)
