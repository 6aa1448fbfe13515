"""Retrain decisions per monitor, RetrainRuns as the record and the approval, Job planning."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.config import Severity
from driftwarden.operator.api import ModelMonitor, RetrainPolicy, RunSummary
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.modelmonitor import MetricChange, RunOutcome, WindowRows
from driftwarden.operator.api.retrainpolicy import MAX_MONITORS
from driftwarden.operator.api.retrainrun import RetrainRun
from driftwarden.operator.reconcile.retrain import (
    ModelValidation,
    MonitorRuns,
    PolicyPlan,
    TrainingJob,
    plan_policy,
    plan_retrain_run_status,
    retrain_run_name,
    trigger_window,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _credit_objects() -> tuple[RetrainPolicy, ModelMonitor]:
    """The examples as the API server returns them (hypothesis tests take no fixtures)."""
    loaded = []
    for name in ("retrainpolicy.yaml", "modelmonitor-postgres.yaml"):
        document = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
        document["metadata"] |= {"uid": f"uid-{name[:5]}", "generation": 3}
        loaded.append(document)
    return RetrainPolicy.model_validate(loaded[0]), ModelMonitor.model_validate(loaded[1])


Golden = Callable[[str, Any], None]  # the `golden` fixture of conftest.py


def run(
    run_id: str,
    at: datetime,
    severity: Severity = Severity.NONE,
    labelled: int = 10_000,
    roc_drop: float = 0.0,
    outcome: RunOutcome = RunOutcome.SUCCEEDED,
) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        started_at=at - timedelta(minutes=1),
        finished_at=at,
        outcome=outcome,
        rows=WindowRows(baseline=100_000, current=20_000),
        labelled_rows=labelled,
        severity=severity,
        drift_severity=severity,
        health_score=80.0,
        drifted_features=1 if severity != Severity.NONE else 0,
        total_features=5,
        performance=[
            MetricChange(metric="roc_auc", baseline=0.84, current=0.84 - roc_drop, drop=roc_drop)
        ],
    )


def with_spec(policy: RetrainPolicy, **changes: Any) -> RetrainPolicy:
    spec = policy.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    fields = type(policy.spec).model_fields
    spec |= {fields[k].alias or k: v for k, v in changes.items()}
    return policy.model_copy(update={"spec": type(policy.spec).model_validate(spec)})


def automatic(policy: RetrainPolicy) -> RetrainPolicy:
    return with_spec(policy, approval="automatic")


def named(monitor: ModelMonitor, name: str, version: str | None = None) -> ModelMonitor:
    metadata = monitor.metadata.model_copy(update={"name": name})
    updated = monitor.model_copy(update={"metadata": metadata})
    if version is not None:
        model = monitor.spec.model.model_copy(update={"version": version})
        updated = updated.model_copy(
            update={"spec": monitor.spec.model_copy(update={"model": model})}
        )
    return updated


def created(manifest: dict[str, Any], at: datetime, **status: Any) -> RetrainRun:
    """A RetrainRun manifest as the API server returns it (uid, creation time, status)."""
    document = {
        **manifest,
        "metadata": {
            **manifest["metadata"],
            "uid": "rr-" + manifest["metadata"]["name"][-6:],
            "creationTimestamp": at.isoformat(),
            "generation": 1,
        },
    }
    rr = RetrainRun.model_validate(document)
    return rr.model_copy(update={"status": rr.status.model_copy(update=status)}) if status else rr


def apply(policy: RetrainPolicy, plan: PolicyPlan) -> RetrainPolicy:
    return policy.model_copy(update={"status": plan.status})


def decide(
    policy: RetrainPolicy,
    monitors: Sequence[MonitorRuns],
    now: datetime = NOW,
    rrs: Sequence[RetrainRun] = (),
    jobs: Sequence[TrainingJob] = (),
    **kwargs: Any,
) -> PolicyPlan:
    return plan_policy(policy, monitors, rrs, jobs, now, **kwargs)


def test_critical_run_makes_a_golden_retrain_run_then_job(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor, golden: Golden
) -> None:
    policy = automatic(credit_policy)
    monitors = [MonitorRuns(credit_monitor, [run("credit-scoring-1", NOW, Severity.CRITICAL)])]
    plan = decide(policy, monitors)
    (decision,) = plan.decisions
    assert (decision.trigger, decision.reason) == (True, c.TRIGGERED)
    assert decision.cooldown_until == NOW + timedelta(days=7)
    (manifest,) = plan.objects
    golden("retrainrun-credit-scoring", manifest)
    assert manifest["spec"]["approval"] == "approved"  # automatic
    rr = created(manifest, NOW)
    # The next reconcile sees the approved RetrainRun (with its uid) and creates its Job.
    policy = apply(policy, plan)
    newer = [
        MonitorRuns(
            credit_monitor, [run("credit-scoring-2", NOW + timedelta(seconds=2), Severity.CRITICAL)]
        )
    ]
    plan = decide(policy, newer, NOW + timedelta(seconds=5), [rr])
    (job,) = plan.objects
    golden("job-retrain-credit-scoring", job)
    assert job["metadata"]["name"] == rr.metadata.name
    assert job["metadata"]["ownerReferences"][0]["kind"] == "RetrainRun"
    assert job["spec"]["ttlSecondsAfterFinished"] == 604_800
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "runAsUser" not in pod["securityContext"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["DRIFTWARDEN_TRIGGER"] == "severity>=critical"
    assert env["DRIFTWARDEN_TRIGGER_RUN_ID"] == "credit-scoring-1"
    assert env["DRIFTWARDEN_VALIDATION"] == (
        '{"maxRelativeDropVsServing": {"roc_auc": 0.01}, "minimum": {"roc_auc": 0.78}}'
    )
    # and no second RetrainRun while the first one's cooldown runs
    assert plan.decisions[0].reason == c.COOLDOWN


def test_manual_approval_survives_the_trigger_window(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    """An approval given just before the next trigger window starts is not lost."""
    monitors = [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL)])]
    plan = decide(credit_policy, monitors)
    (manifest,) = plan.objects
    assert manifest["spec"]["approval"] == "pending"
    rr = created(manifest, NOW)
    policy = apply(credit_policy, plan)
    later = trigger_window(credit_policy, NOW) + timedelta(days=7, minutes=1)  # next window
    waiting = decide(policy, monitors, later, [rr])
    assert waiting.decisions[0].reason == c.PENDING_APPROVAL
    assert waiting.objects == ()  # no second RetrainRun while one is pending
    assert "kubectl patch retrainrun" in waiting.decisions[0].message
    approved = rr.model_copy(update={"spec": rr.spec.model_copy(update={"approval": "approved"})})
    go = decide(policy, monitors, later, [approved])
    assert [o["kind"] for o in go.objects] == ["Job"]
    denied = rr.model_copy(update={"spec": rr.spec.model_copy(update={"approval": "denied"})})
    newer = [
        MonitorRuns(credit_monitor, [run("r2", NOW + timedelta(minutes=30), Severity.CRITICAL)])
    ]
    no = decide(policy, newer, NOW + timedelta(hours=1), [denied])
    assert no.objects == ()
    assert no.decisions[0].reason == c.COOLDOWN  # a denied decision still counts


def test_gates_in_order(credit_policy: RetrainPolicy, credit_monitor: ModelMonitor) -> None:
    policy = automatic(credit_policy)
    critical = [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL)])]

    def reason(plan: PolicyPlan) -> str:
        return plan.decisions[0].reason

    assert reason(decide(policy, critical, enabled=False)) == c.DISABLED
    assert reason(decide(with_spec(policy, suspend=True), critical)) == c.SUSPENDED
    assert reason(decide(policy, critical, template_error="bad field")) == c.INVALID_JOB_TEMPLATE
    calm = [MonitorRuns(credit_monitor, [run("r1", NOW)])]
    assert reason(decide(policy, calm)) == c.NOT_TRIGGERED
    thin = [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL, labelled=10)])]
    plan = decide(policy, thin)
    assert reason(plan) == c.INSUFFICIENT_SAMPLES
    assert "10 labelled rows" in plan.decisions[0].message
    busy = TrainingJob("other", NOW - timedelta(hours=1), active=True)
    assert reason(decide(policy, critical, jobs=[busy])) == c.MAX_CONCURRENT


def test_one_monitors_retrain_leaves_anothers_cooldown(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(with_spec(credit_policy, max_concurrent=5))
    a, b = named(credit_monitor, "a"), named(credit_monitor, "b")
    plan = decide(policy, [MonitorRuns(a, [run("a1", NOW, Severity.CRITICAL)]), MonitorRuns(b, [])])
    assert [d.reason for d in plan.decisions] == [c.TRIGGERED, c.NOT_TRIGGERED]
    policy = apply(policy, plan)
    state = {m.name: m for m in policy.status.monitors}
    assert state["a"].cooldown_until_time == NOW + timedelta(days=7)
    assert state["b"].cooldown_until_time is None
    later = NOW + timedelta(hours=6)
    rr = created(plan.objects[0], NOW)
    plan = decide(
        policy,
        [
            MonitorRuns(a, [run("a2", later, Severity.CRITICAL)]),
            MonitorRuns(b, [run("b1", later, Severity.CRITICAL)]),
        ],
        later,
        [rr],
    )
    assert [d.reason for d in plan.decisions] == [c.COOLDOWN, c.TRIGGERED]


def test_too_many_monitors_is_a_condition_not_a_crash(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    monitors = [MonitorRuns(named(credit_monitor, f"m{i:03d}"), []) for i in range(70)]
    plan = decide(credit_policy, monitors)
    assert len(plan.status.monitors) == MAX_MONITORS
    too_many = next(x for x in plan.status.conditions if x.type == c.TOO_MANY_MONITORS)
    assert too_many.status == ConditionStatus.TRUE
    assert "m069" in too_many.message
    ready = next(x for x in plan.status.conditions if x.type == c.READY)
    assert ready.status == ConditionStatus.TRUE


def test_model_age_counts_from_version_change_and_successful_runs(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(
        with_spec(credit_policy, triggers=[{"modelAge": "30d"}], min_new_labelled_samples=0)
    )
    trained = credit_monitor.spec.model.trained_at
    assert trained is not None
    old_enough = trained + timedelta(days=31)
    fires = decide(policy, [MonitorRuns(credit_monitor, [])], old_enough)
    assert fires.decisions[0].reason == c.TRIGGERED
    # A new model.version seen by the policy starts the age anew, with an Event.
    seen = apply(policy, decide(policy, [MonitorRuns(credit_monitor, [])], trained))
    bumped = named(credit_monitor, credit_monitor.metadata.name, version="3.3.0")
    plan = decide(seen, [MonitorRuns(bumped, [])], old_enough - timedelta(days=5))
    assert [e.reason for e in plan.events] == [c.MODEL_VERSION_CHANGED]
    seen = apply(seen, plan)
    assert decide(seen, [MonitorRuns(bumped, [])], old_enough).decisions[0].reason == (
        c.NOT_TRIGGERED
    )
    # A successful RetrainRun resets it too, and deleting its Job later does not undo that.
    rr = created(fires.objects[0], old_enough)
    done = plan_retrain_run_status(
        rr,
        TrainingJob(
            rr.metadata.name, old_enough, active=False, succeeded=True, completed_at=old_enough
        ),
        old_enough,
    )
    rr = rr.model_copy(update={"status": done})
    after = old_enough + timedelta(days=20)
    plan = decide(seen, [MonitorRuns(bumped, [])], after, [rr])
    assert plan.decisions[0].reason == c.NOT_TRIGGERED
    state = plan.status.monitors[0]
    assert state.last_retrain_succeeded_time == old_enough


def test_performance_drop_in_either_unit(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    absolute = automatic(
        with_spec(
            credit_policy,
            triggers=[{"performanceDrop": {"metric": "roc_auc", "absoluteDrop": 0.05}}],
        )
    )
    relative = automatic(
        with_spec(
            credit_policy,
            triggers=[{"performanceDrop": {"metric": "roc_auc", "relativeDrop": 0.1}}],
        )
    )
    # 0.84 -> 0.78: 0.06 points, 7.1% of the baseline value.
    monitors = [MonitorRuns(credit_monitor, [run("r1", NOW, roc_drop=0.06)])]
    assert decide(absolute, monitors).decisions[0].reason == c.TRIGGERED
    assert decide(relative, monitors).decisions[0].reason == c.NOT_TRIGGERED
    failed = [
        MonitorRuns(credit_monitor, [run("r1", NOW, roc_drop=0.5, outcome=RunOutcome.FAILED)])
    ]
    assert decide(absolute, failed).decisions[0].reason == c.NOT_TRIGGERED


def test_retrain_run_status_tells_the_story(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    plan = decide(credit_policy, [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL)])])
    rr = created(plan.objects[0], NOW)

    def state(status: Any) -> tuple[str, str]:
        ready = next(x for x in status.conditions if x.type == c.READY)
        return ready.status, ready.reason

    assert state(plan_retrain_run_status(rr, None, NOW)) == ("False", c.PENDING_APPROVAL)
    denied = rr.model_copy(update={"spec": rr.spec.model_copy(update={"approval": "denied"})})
    assert state(plan_retrain_run_status(denied, None, NOW)) == ("True", c.DENIED)
    ok = rr.model_copy(update={"spec": rr.spec.model_copy(update={"approval": "approved"})})
    running = TrainingJob(rr.metadata.name, NOW, active=True)
    status = plan_retrain_run_status(ok, running, NOW)
    assert state(status) == ("False", c.RUNNING)
    assert status.job_name == rr.metadata.name
    failed = TrainingJob(rr.metadata.name, NOW, active=False, completed_at=NOW)
    assert state(plan_retrain_run_status(ok, failed, NOW)) == ("True", c.JOB_FAILED)
    done = TrainingJob(rr.metadata.name, NOW, active=False, succeeded=True, completed_at=NOW)
    rejected = ModelValidation(False, "roc_auc 0.7 < minimum 0.78")
    assert state(plan_retrain_run_status(ok, done, NOW, validation=rejected)) == (
        "True",
        c.REJECTED,
    )


def test_names_are_bounded_and_deterministic(credit_policy: RetrainPolicy) -> None:
    window = trigger_window(credit_policy, NOW)
    name = retrain_run_name(credit_policy, "x" * 200, window)
    assert len(name) <= 63
    assert name == retrain_run_name(credit_policy, "x" * 200, window)
    assert name != retrain_run_name(credit_policy, "x" * 199, window)


def test_policy_without_monitor_is_not_ready(credit_policy: RetrainPolicy) -> None:
    plan = decide(credit_policy, [])
    ready = next(x for x in plan.status.conditions if x.type == c.READY)
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, c.MONITOR_NOT_FOUND)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 48), st.sampled_from(list(Severity))), min_size=1, max_size=30
    )
)
def test_property_never_more_often_than_the_cooldown(
    steps: list[tuple[int, Severity]],
) -> None:
    """Over any history of runs, RetrainRuns of one monitor are at least a cooldown apart,
    and replaying a reconcile with the same inputs decides the same."""
    policy, monitor = _credit_objects()
    policy = automatic(with_spec(policy, cooldown="1d", min_new_labelled_samples=0))
    now = NOW
    runs: list[RunSummary] = []
    rrs: list[RetrainRun] = []
    made: list[datetime] = []
    for i, (hours, severity) in enumerate(steps):
        now += timedelta(hours=hours)
        runs.append(run(f"r{i}", now, severity))
        plan = decide(policy, [MonitorRuns(monitor, runs)], now, rrs)
        assert plan == decide(policy, [MonitorRuns(monitor, runs)], now, rrs)
        for obj in plan.objects:
            if obj["kind"] == "RetrainRun":
                made.append(now)
                rrs.append(created(obj, now))
        policy = apply(policy, plan)
    for first, second in itertools.pairwise(made):
        assert second - first >= timedelta(days=1)
