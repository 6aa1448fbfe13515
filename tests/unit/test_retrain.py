"""The retrain decision: worked examples, the golden training Job, and Hypothesis properties."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.config import Severity, parse_duration
from driftwarden.operator.api import ModelMonitor, RetrainPolicy, RunSummary
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.modelmonitor import MetricChange, RunOutcome, WindowRows
from driftwarden.operator.reconcile.naming import ANNOTATION_APPROVE
from driftwarden.operator.reconcile.retrain import (
    MonitorRuns,
    RetrainDecision,
    TrainingJob,
    decide_retrain,
    plan_policy_status,
    training_job_name,
    trigger_window,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REASONS = {c.TRIGGERED, *c.RETRAIN_SKIP_REASONS}

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
    return policy.model_copy(update={"spec": policy.spec.model_copy(update=changes)})


def approved(policy: RetrainPolicy, job_name: str) -> RetrainPolicy:
    metadata = policy.metadata.model_copy(update={"annotations": {ANNOTATION_APPROVE: job_name}})
    return policy.model_copy(update={"metadata": metadata})


def automatic(policy: RetrainPolicy) -> RetrainPolicy:
    return with_spec(policy, approval="Automatic")


def test_critical_run_triggers_a_golden_job(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor, golden: Golden
) -> None:
    runs = [run("credit-scoring-1", NOW - timedelta(hours=1), Severity.CRITICAL)]
    decision = decide_retrain(
        automatic(credit_policy), [MonitorRuns(credit_monitor, runs)], [], NOW
    )
    assert decision.trigger
    assert decision.reason == c.TRIGGERED
    assert decision.cooldown_until == NOW + timedelta(days=7)
    assert decision.job is not None
    golden("job-retrain-credit-scoring", decision.job)
    env = {
        e["name"]: e["value"]
        for e in decision.job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["DRIFTWARDEN_TRIGGER"] == "severity>=critical"
    assert env["DRIFTWARDEN_TRIGGER_RUN_ID"] == "credit-scoring-1"
    assert (
        env["DRIFTWARDEN_VALIDATION"]
        == '{"maxDropVsCurrent": {"roc_auc": 0.01}, "minimum": {"roc_auc": 0.78}}'
    )


def test_manual_approval(credit_policy: RetrainPolicy, credit_monitor: ModelMonitor) -> None:
    runs = [run("r1", NOW - timedelta(hours=1), Severity.CRITICAL)]
    pending = decide_retrain(credit_policy, [MonitorRuns(credit_monitor, runs)], [], NOW)
    assert pending.reason == c.PENDING_APPROVAL
    assert pending.job is None
    assert pending.job_name is not None
    assert f"driftwarden.io/approve={pending.job_name}" in pending.message
    later = NOW + timedelta(hours=5)  # same trigger window: same name, approval still valid
    go = decide_retrain(
        approved(credit_policy, pending.job_name), [MonitorRuns(credit_monitor, runs)], [], later
    )
    assert go.trigger
    assert go.job_name == pending.job_name
    stale = decide_retrain(
        approved(credit_policy, "something-else"), [MonitorRuns(credit_monitor, runs)], [], NOW
    )
    assert stale.reason == c.PENDING_APPROVAL


def test_gates_in_order(credit_policy: RetrainPolicy, credit_monitor: ModelMonitor) -> None:
    policy = automatic(credit_policy)
    critical = [run("r1", NOW - timedelta(hours=1), Severity.CRITICAL)]
    monitors = [MonitorRuns(credit_monitor, critical)]
    assert decide_retrain(policy, monitors, [], NOW, enabled=False).reason == c.DISABLED
    assert decide_retrain(with_spec(policy, suspend=True), monitors, [], NOW).reason == c.SUSPENDED
    calm = [MonitorRuns(credit_monitor, [run("r1", NOW - timedelta(hours=1))])]
    assert decide_retrain(policy, calm, [], NOW).reason == c.NOT_TRIGGERED
    thin = [
        MonitorRuns(
            credit_monitor, [run("r1", NOW - timedelta(hours=1), Severity.CRITICAL, labelled=10)]
        )
    ]
    decision = decide_retrain(policy, thin, [], NOW)
    assert decision.reason == c.INSUFFICIENT_SAMPLES
    assert "10 labelled rows" in decision.message
    recent = TrainingJob(
        "old",
        NOW - timedelta(days=2),
        active=False,
        succeeded=True,
        completed_at=NOW - timedelta(days=1),
    )
    decision = decide_retrain(policy, monitors, [recent], NOW)
    assert decision.reason == c.COOLDOWN
    assert decision.cooldown_until == NOW + timedelta(days=5)
    running = TrainingJob("running", NOW - timedelta(days=8), active=True)
    assert decide_retrain(policy, monitors, [running], NOW).reason == c.MAX_CONCURRENT
    two = with_spec(policy, max_concurrent=2)
    assert decide_retrain(two, monitors, [running], NOW).trigger


def test_only_evidence_newer_than_the_last_retrain_counts(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(credit_policy)
    old_alarm = [
        run("r1", NOW - timedelta(days=9), Severity.CRITICAL),
        run("r2", NOW - timedelta(hours=1)),
    ]
    done = TrainingJob("t", NOW - timedelta(days=8), active=False, succeeded=True)
    decision = decide_retrain(policy, [MonitorRuns(credit_monitor, old_alarm)], [done], NOW)
    assert decision.reason == c.NOT_TRIGGERED


def test_persisting_warning(credit_policy: RetrainPolicy, credit_monitor: ModelMonitor) -> None:
    policy = automatic(credit_policy)
    hours = [30, 24, 18, 12, 6, 0]
    young = [run(f"r{h}", NOW - timedelta(hours=h), Severity.WARNING) for h in hours[2:]]
    assert (
        decide_retrain(policy, [MonitorRuns(credit_monitor, young)], [], NOW).reason
        == c.NOT_TRIGGERED
    )
    held = [run(f"r{h}", NOW - timedelta(hours=h), Severity.WARNING) for h in hours]
    decision = decide_retrain(policy, [MonitorRuns(credit_monitor, held)], [], NOW)
    assert decision.trigger
    assert decision.firing is not None
    assert decision.firing.trigger == "severity>=warning for 24h"
    broken = [*held[:3], run("calm", NOW - timedelta(hours=10)), *held[4:]]
    assert (
        decide_retrain(policy, [MonitorRuns(credit_monitor, broken)], [], NOW).reason
        == c.NOT_TRIGGERED
    )


def test_performance_drop_and_failed_runs(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(credit_policy)
    dropped = [run("r1", NOW - timedelta(hours=1), roc_drop=0.07)]
    decision = decide_retrain(policy, [MonitorRuns(credit_monitor, dropped)], [], NOW)
    assert decision.trigger
    assert decision.firing is not None
    assert decision.firing.trigger == "roc_auc dropped by >=0.05"
    failed = [run("r1", NOW - timedelta(hours=1), Severity.CRITICAL, outcome=RunOutcome.FAILED)]
    assert (
        decide_retrain(policy, [MonitorRuns(credit_monitor, failed)], [], NOW).reason
        == c.NOT_TRIGGERED
    )


def test_model_age(credit_monitor: ModelMonitor) -> None:
    policy = RetrainPolicy.model_validate(
        {
            "metadata": {"name": "aging", "namespace": "risk", "uid": "u"},
            "spec": {
                "monitorRef": {"name": "credit-scoring"},
                "triggers": [{"modelAge": "60d"}],
                "jobTemplate": {
                    "spec": {"template": {"spec": {"containers": [{"name": "t", "image": "i"}]}}}
                },
            },
        }
    )
    # credit-scoring's model.trainedAt is 2026-09-01: 83 days before NOW.
    decision = decide_retrain(policy, [MonitorRuns(credit_monitor, [])], [], NOW)
    assert decision.trigger
    retrained = TrainingJob(
        "t",
        NOW - timedelta(days=20),
        active=False,
        succeeded=True,
        completed_at=NOW - timedelta(days=19),
    )
    assert (
        decide_retrain(policy, [MonitorRuns(credit_monitor, [])], [retrained], NOW).reason
        == c.NOT_TRIGGERED
    )


def test_training_job_from_manifest() -> None:
    job = TrainingJob.from_manifest(
        {
            "metadata": {
                "name": "p-20261123000000",
                "creationTimestamp": "2026-11-23T00:00:05Z",
                "annotations": {"driftwarden.io/triggered-at": "2026-11-23T00:00:00Z"},
            },
            "status": {
                "conditions": [{"type": "Complete", "status": "True"}],
                "completionTime": "2026-11-23T02:00:00Z",
            },
        }
    )
    assert job.triggered_at == datetime(2026, 11, 23, tzinfo=UTC)
    assert not job.active
    assert job.succeeded
    running = TrainingJob.from_manifest(
        {"metadata": {"name": "x", "creationTimestamp": "2026-11-23T00:00:05Z"}}
    )
    assert running.active


# --- properties ----------------------------------------------------------------------------------

SEVERITIES = st.sampled_from([Severity.NONE, Severity.WARNING, Severity.CRITICAL])


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[RetrainPolicy, list[MonitorRuns], list[TrainingJob], datetime]:
    now = NOW + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    triggers = draw(
        st.lists(
            st.sampled_from(
                [
                    {"severity": "critical"},
                    {"severity": "warning"},
                    {"severity": "warning", "persistFor": "12h"},
                    {"performanceDrop": {"metric": "roc_auc", "atLeast": 0.05}},
                    {"modelAge": "30d"},
                ]
            ),
            min_size=1,
            max_size=3,
        )
    )
    spec = {
        "monitorRef": {"name": "m"},
        "triggers": triggers,
        "cooldown": f"{draw(st.integers(1, 72))}h",
        "maxConcurrent": draw(st.integers(1, 3)),
        "minNewLabelledSamples": draw(st.sampled_from([0, 0, 100, 5000])),
        "approval": draw(st.sampled_from(["Automatic", "Manual"])),
        "suspend": draw(st.sampled_from([False] * 9 + [True])),
        "jobTemplate": {
            "spec": {"template": {"spec": {"containers": [{"name": "t", "image": "i"}]}}}
        },
    }
    last = draw(st.none() | st.integers(0, 60 * 24 * 60))
    policy = RetrainPolicy.model_validate(
        {
            "metadata": {"name": "p", "namespace": "n", "uid": "u"},
            "spec": spec,
            "status": {
                "lastTriggered": None
                if last is None
                else (now - timedelta(minutes=last)).isoformat()
            },
        }
    )
    if policy.spec.approval == "Manual" and draw(st.booleans()):
        policy = approved(policy, training_job_name(policy, trigger_window(policy, now)))
    monitor = ModelMonitor.model_validate(
        {
            "metadata": {"name": "m", "namespace": "n"},
            "spec": {
                "model": {
                    "name": "m",
                    "trainedAt": (now - timedelta(days=draw(st.integers(0, 90)))).isoformat(),
                },
                "schedule": {"cron": "@hourly"},
                "source": {"files": {"path": "/d", "timestampColumn": "t"}},
                "baseline": {"relative": {"length": "7d", "endOffset": "7d"}},
                "current": {"relative": {"length": "1d"}},
                "features": [{"name": "x"}],
            },
        }
    )
    runs = [
        run(f"r{i}", now - timedelta(minutes=age), severity, labelled, drop)
        for i, (age, severity, labelled, drop) in enumerate(
            draw(
                st.lists(
                    st.tuples(
                        st.integers(0, 60 * 24 * 5),
                        SEVERITIES,
                        st.integers(0, 10_000),
                        st.sampled_from([0.0, 0.01, 0.06]),
                    ),
                    min_size=1,
                    max_size=8,
                )
            )
        )
    ]
    jobs = [
        TrainingJob(f"j{i}", now - timedelta(minutes=age), active=active)
        for i, (age, active) in enumerate(
            draw(st.lists(st.tuples(st.integers(0, 60 * 24 * 60), st.booleans()), max_size=3))
        )
    ]
    return policy, [MonitorRuns(monitor, runs)], jobs, now


def _check_explained(decision: RetrainDecision) -> None:
    assert decision.reason in REASONS
    assert decision.message.strip()
    assert decision.trigger == (decision.reason == c.TRIGGERED)
    assert (decision.job is not None) == decision.trigger
    if decision.job is not None:
        assert decision.job["metadata"]["name"] == decision.job_name
        assert len(decision.job["metadata"]["name"]) <= 63


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_property_every_decision_is_explained(scenario: Any) -> None:
    policy, monitors, jobs, now = scenario
    _check_explained(decide_retrain(policy, monitors, jobs, now))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_property_cooldown_and_concurrency_hold(scenario: Any) -> None:
    policy, monitors, jobs, now = scenario
    decision = decide_retrain(policy, monitors, jobs, now)
    if decision.trigger:
        cooldown = parse_duration(policy.spec.cooldown)
        for job in jobs:
            assert now - job.triggered_at >= cooldown
        if policy.status.last_triggered is not None:
            assert now - policy.status.last_triggered >= cooldown
        assert sum(job.active for job in jobs) < policy.spec.max_concurrent


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_property_same_inputs_same_decision(scenario: Any, rng: random.Random) -> None:
    policy, monitors, jobs, now = scenario
    first = decide_retrain(policy, monitors, jobs, now)
    shuffled_runs = [
        MonitorRuns(m.monitor, rng.sample(list(m.runs), len(m.runs))) for m in monitors
    ]
    again = decide_retrain(policy, shuffled_runs, rng.sample(jobs, len(jobs)), now)
    assert again == first
    if first.job_name is not None:
        window = trigger_window(policy, now)
        later = window + (parse_duration(policy.spec.cooldown) - timedelta(seconds=1))
        assert trigger_window(policy, later) == window
        same_window = decide_retrain(policy, monitors, jobs, max(now, later))
        if same_window.job_name is not None:
            assert same_window.job_name == first.job_name


@settings(max_examples=100, deadline=None)
@given(
    cooldown_hours=st.integers(1, 72),
    max_concurrent=st.integers(1, 3),
    steps=st.lists(
        st.tuples(st.integers(1, 600), SEVERITIES, st.integers(0, 3)), min_size=1, max_size=60
    ),
)
def test_property_over_time_never_too_often_nor_too_many(
    cooldown_hours: int, max_concurrent: int, steps: list[tuple[int, Severity, int]]
) -> None:
    """Simulate reconciles: runs arrive, Jobs start (when triggered) and finish at random."""
    policy = RetrainPolicy.model_validate(
        {
            "metadata": {"name": "p", "namespace": "n", "uid": "u"},
            "spec": {
                "monitorRef": {"name": "m"},
                "triggers": [{"severity": "warning"}],
                "cooldown": f"{cooldown_hours}h",
                "maxConcurrent": max_concurrent,
                "jobTemplate": {
                    "spec": {"template": {"spec": {"containers": [{"name": "t", "image": "i"}]}}}
                },
            },
        }
    )
    monitor_doc = {
        "metadata": {"name": "m", "namespace": "n"},
        "spec": {
            "model": {"name": "m"},
            "schedule": {"cron": "@hourly"},
            "source": {"files": {"path": "/d", "timestampColumn": "t"}},
            "baseline": {"relative": {"length": "7d"}},
            "current": {"relative": {"length": "1d"}},
            "features": [{"name": "x"}],
        },
    }
    monitor = ModelMonitor.model_validate(monitor_doc)
    now = NOW
    runs: list[RunSummary] = []
    jobs: list[TrainingJob] = []
    triggers: list[datetime] = []
    names: set[str] = set()
    for minutes, severity, finish in steps:
        now += timedelta(minutes=minutes)
        runs.append(run(f"r{len(runs)}", now, severity))
        jobs = [
            TrainingJob(j.name, j.triggered_at, active=False) if i < finish else j
            for i, j in enumerate(jobs)
        ]
        decision = decide_retrain(policy, [MonitorRuns(monitor, runs[-20:])], jobs, now)
        _check_explained(decision)
        if decision.trigger:
            assert decision.job_name not in names
            assert decision.job_name is not None
            names.add(decision.job_name)
            jobs.append(TrainingJob(decision.job_name, now, active=True))
            triggers.append(now)
        assert sum(j.active for j in jobs) <= max_concurrent
    cooldown = timedelta(hours=cooldown_hours)
    assert all(b - a >= cooldown for a, b in itertools.pairwise(triggers))


# --- policy status ------------------------------------------------------------------------------


def _status_after(
    policy: RetrainPolicy, decision: RetrainDecision, jobs: list[TrainingJob], now: datetime
) -> RetrainPolicy:
    plan = plan_policy_status(policy, decision, jobs, ["credit-scoring"], now)
    return policy.model_copy(update={"status": plan.status})


def test_policy_status_over_a_pending_approval(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor, golden: Golden
) -> None:
    runs = [MonitorRuns(credit_monitor, [run("r1", NOW - timedelta(hours=1), Severity.CRITICAL)])]
    pending = decide_retrain(credit_policy, runs, [], NOW)
    plan = plan_policy_status(credit_policy, pending, [], ["credit-scoring"], NOW)
    assert [(e.reason, e.type) for e in plan.events] == [(c.PENDING_APPROVAL, "Normal")]
    policy = credit_policy.model_copy(update={"status": plan.status})
    assert policy.status.pending_approval is not None
    assert policy.status.pending_approval.job_name == pending.job_name
    # The next reconcile decides the same: nothing to write, no Event.
    later = NOW + timedelta(minutes=5)
    again = plan_policy_status(
        policy, decide_retrain(policy, runs, [], later), [], ["credit-scoring"], later
    )
    assert not again.changed
    assert again.events == ()
    assert pending.job_name is not None
    policy = approved(policy, pending.job_name)
    go = decide_retrain(policy, runs, [], later)
    plan = plan_policy_status(policy, go, [], ["credit-scoring"], later)
    assert [e.reason for e in plan.events] == [c.TRIGGERED]
    golden(
        "status-retrainpolicy-triggered",
        plan.status.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
    status = plan.status
    assert status.pending_approval is None
    assert status.last_triggered == later
    assert status.cooldown_until == later + timedelta(days=7)
    assert status.active_jobs == 1
    assert [d.reason for d in status.recent_decisions] == [c.TRIGGERED, c.PENDING_APPROVAL]
    # The run that fired is spent; a new critical run within the cooldown is held back.
    policy = policy.model_copy(update={"status": status})
    jobs = [TrainingJob(go.job_name or "", later, active=True)]
    hour = later + timedelta(hours=1)
    assert decide_retrain(policy, runs, jobs, hour).reason == c.NOT_TRIGGERED
    runs = [MonitorRuns(credit_monitor, [*runs[0].runs, run("r2", hour, Severity.CRITICAL)])]
    cool = decide_retrain(policy, runs, jobs, hour)
    assert cool.reason == c.COOLDOWN
    plan = plan_policy_status(policy, cool, jobs, ["credit-scoring"], hour)
    assert [e.reason for e in plan.events] == [c.COOLDOWN]
    assert plan.status.active_jobs == 1


def test_policy_without_monitor_is_not_ready(credit_policy: RetrainPolicy) -> None:
    decision = decide_retrain(credit_policy, [], [], NOW)
    assert decision.reason == c.NOT_TRIGGERED
    plan = plan_policy_status(credit_policy, decision, [], [], NOW)
    ready = next(cond for cond in plan.status.conditions if cond.type == c.READY)
    assert (ready.status, ready.reason) == ("False", c.MONITOR_NOT_FOUND)
    assert plan.events == ()
