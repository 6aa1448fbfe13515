"""ModelMonitor status from run summaries: conditions, transition times, Events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.config import Severity
from driftwarden.operator.api import ModelMonitor, RunSummary
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.modelmonitor import (
    DriftedFeature,
    MetricChange,
    RunOutcome,
    WindowRows,
)
from driftwarden.operator.reconcile.status import (
    EventType,
    Stall,
    StatusPlan,
    failed_run_summary,
    plan_reconciled,
    plan_reconciling,
    plan_run_finished,
    plan_unreadable,
    schedule_stall,
)

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

Golden = Callable[[str, Any], None]  # the `golden` fixture of conftest.py


def summary(
    run_id: str,
    at: datetime,
    drift: Severity = Severity.NONE,
    performance: Severity = Severity.NONE,
    outcome: RunOutcome = RunOutcome.SUCCEEDED,
) -> RunSummary:
    drifted = {Severity.NONE: 0, Severity.WARNING: 1, Severity.CRITICAL: 3}[drift]
    return RunSummary(
        run_id=run_id,
        model_version="3.2.0",
        started_at=at - timedelta(minutes=2),
        finished_at=at,
        outcome=outcome,
        rows=WindowRows(baseline=812_331, current=40_512),
        labelled_rows=12_000,
        severity=Severity.worst([drift, performance]),
        drift_severity=drift,
        health_score={Severity.NONE: 96.4, Severity.WARNING: 82.0, Severity.CRITICAL: 71.2}[
            Severity.worst([drift, performance])
        ],
        drifted_features=drifted,
        total_features=5,
        top_drifted=[
            DriftedFeature(name="income", method="psi", statistic=0.31, severity=Severity.CRITICAL),
            DriftedFeature(name="age", method="ks", statistic=0.22, severity=Severity.CRITICAL),
            DriftedFeature(
                name="region", method="chi2", statistic=0.21, severity=Severity.CRITICAL
            ),
        ][:drifted],
        performance=[
            MetricChange(
                metric="roc_auc",
                baseline=0.84,
                current=0.84
                - {Severity.NONE: 0.005, Severity.WARNING: 0.05, Severity.CRITICAL: 0.2}[
                    performance
                ],
                drop={Severity.NONE: 0.005, Severity.WARNING: 0.05, Severity.CRITICAL: 0.2}[
                    performance
                ],
                severity=performance,
            )
        ],
    )


def apply(monitor: ModelMonitor, plan: StatusPlan) -> ModelMonitor:
    return monitor.model_copy(update={"status": plan.status})


def conditions(monitor: ModelMonitor) -> dict[str, tuple[str, str]]:
    return {cond.type: (cond.status, cond.reason) for cond in monitor.status.conditions}


def plan_accepted(monitor: ModelMonitor, spec_hash: str, now: datetime) -> StatusPlan:
    return plan_reconciled(monitor, now, spec_hash=spec_hash)


def test_ready_before_first_run(credit_monitor: ModelMonitor) -> None:
    """A fresh monitor is Ready (reconciled) at once: kstatus Current, no waiting for a run."""
    plan = plan_accepted(credit_monitor, "hash", T0)
    assert plan.changed
    assert plan.events == ()
    monitor = apply(credit_monitor, plan)
    assert conditions(monitor) == {
        c.READY: (ConditionStatus.TRUE, c.RECONCILED),
        c.STALLED: (ConditionStatus.FALSE, c.NOT_STALLED),
        c.RECONCILING: (ConditionStatus.FALSE, c.RECONCILED),
        c.LAST_RUN_SUCCEEDED: (ConditionStatus.UNKNOWN, c.AWAITING_FIRST_RUN),
        c.DRIFT_DETECTED: (ConditionStatus.UNKNOWN, c.NOT_EVALUATED),
        c.PERFORMANCE_DEGRADED: (ConditionStatus.UNKNOWN, c.NOT_EVALUATED),
    }
    assert monitor.status.observed_generation == 3
    # Berlin is UTC+1 in November: 12:00 local is 11:00 UTC.
    assert monitor.status.next_run_time == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    again = plan_accepted(monitor, "hash", T0 + timedelta(minutes=1))
    assert not again.changed
    assert again.events == ()


def test_stalled_is_a_warning_once(credit_monitor: ModelMonitor) -> None:
    stall = Stall(c.INVALID_TIME_ZONE, "unknown time zone 'Mars/Olympus_Mons'")
    plan = plan_reconciled(credit_monitor, T0, stall=stall)
    assert [(e.type, e.reason) for e in plan.events] == [(EventType.WARNING, c.INVALID_TIME_ZONE)]
    monitor = apply(credit_monitor, plan)
    assert conditions(monitor)[c.STALLED] == (ConditionStatus.TRUE, c.INVALID_TIME_ZONE)
    assert conditions(monitor)[c.READY] == (ConditionStatus.FALSE, c.INVALID_TIME_ZONE)
    assert monitor.status.next_run_time is None
    assert plan_reconciled(monitor, T0, stall=stall).events == ()
    fixed = plan_accepted(monitor, "hash", T0)
    assert [(e.type, e.reason) for e in fixed.events] == [(EventType.NORMAL, c.RECONCILED)]


def test_reconciling_while_objects_are_applied(credit_monitor: ModelMonitor) -> None:
    monitor = apply(credit_monitor, plan_reconciling(credit_monitor, T0, "creating the CronJob"))
    assert conditions(monitor)[c.RECONCILING] == (ConditionStatus.TRUE, c.PROGRESSING)
    assert conditions(monitor)[c.READY] == (ConditionStatus.FALSE, c.PROGRESSING)


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ({"cron": "0 0 31 2 *"}, c.INVALID_SCHEDULE),
        ({"cron": "5-1 * * * *"}, c.INVALID_SCHEDULE),
        ({"cron": "@daily", "timeZone": "Mars/Olympus_Mons"}, c.INVALID_TIME_ZONE),
        ({"cron": "@daily", "timeZone": "America"}, c.INVALID_TIME_ZONE),
        ({"cron": "@daily", "timeZone": "Etc/UTC"}, None),
    ],
)
def test_schedule_stalls(
    credit_monitor: ModelMonitor, schedule: dict[str, str], reason: str | None
) -> None:
    spec = credit_monitor.spec.model_dump(by_alias=True)
    spec["schedule"] = schedule
    monitor = ModelMonitor.model_validate(
        {"metadata": credit_monitor.metadata.model_dump(), "spec": spec}
    )
    stall = schedule_stall(monitor)
    assert (stall.reason if stall else None) == reason


def test_unreadable_spec_is_stalled() -> None:
    plan = plan_unreadable(
        {"metadata": {"name": "m", "generation": 4}, "spec": {}}, "spec.model: Field required", T0
    )
    status = {cond.type: (cond.status, cond.reason) for cond in plan.status.conditions}
    assert status[c.STALLED] == (ConditionStatus.TRUE, c.INVALID_SPEC)
    assert plan.status.observed_generation == 4


def test_golden_status_after_critical_run(credit_monitor: ModelMonitor, golden: Golden) -> None:
    monitor = apply(credit_monitor, plan_accepted(credit_monitor, "hash", T0 - timedelta(hours=6)))
    plan = plan_run_finished(monitor, summary("credit-scoring-29400000", T0, Severity.CRITICAL), T0)
    golden(
        "status-credit-scoring-critical",
        {
            "status": plan.status.model_dump(mode="json", by_alias=True, exclude_none=True),
            "events": [
                {"type": str(e.type), "reason": e.reason, "message": e.message} for e in plan.events
            ],
        },
    )


def test_transitions_and_events_over_a_run_history(credit_monitor: ModelMonitor) -> None:
    monitor = apply(credit_monitor, plan_accepted(credit_monitor, "h", T0 - timedelta(hours=6)))
    history = [
        (summary("r1", T0), [(EventType.NORMAL, c.RUN_SUCCEEDED)]),
        (summary("r2", T0 + timedelta(hours=6)), []),  # nothing changed: no Event
        (
            summary("r3", T0 + timedelta(hours=12), Severity.WARNING),
            [(EventType.WARNING, c.WARNING_DRIFT)],
        ),
        (
            summary("r4", T0 + timedelta(hours=18), Severity.CRITICAL, Severity.CRITICAL),
            [(EventType.WARNING, c.CRITICAL_DRIFT), (EventType.WARNING, c.PERFORMANCE_CRITICAL)],
        ),
        (
            summary("r5", T0 + timedelta(hours=24), Severity.CRITICAL, Severity.CRITICAL),
            [],
        ),
        (
            summary("r6", T0 + timedelta(hours=30), outcome=RunOutcome.FAILED),
            [(EventType.WARNING, c.RUN_FAILED)],
        ),
        (
            summary("r7", T0 + timedelta(hours=36)),
            [
                (EventType.NORMAL, c.RUN_RECOVERED),
                (EventType.NORMAL, c.DRIFT_RESOLVED),
                (EventType.NORMAL, c.PERFORMANCE_RECOVERED),
            ],
        ),
    ]
    drift_since = None
    for run, expected_events in history:
        plan = plan_run_finished(monitor, run, run.finished_at)
        assert [(e.type, e.reason) for e in plan.events] == expected_events, run.run_id
        before = monitor.status.condition(c.DRIFT_DETECTED)
        monitor = apply(monitor, plan)
        after = monitor.status.condition(c.DRIFT_DETECTED)
        assert before is not None
        assert after is not None
        if before.status == after.status:
            assert after.last_transition_time == before.last_transition_time
        else:
            assert after.last_transition_time == run.finished_at
        if run.run_id == "r4":
            drift_since = after.last_transition_time
        if run.run_id in ("r5", "r6"):
            assert after.last_transition_time == drift_since == T0 + timedelta(hours=12)
    assert monitor.status.last_run is not None
    assert monitor.status.last_run.id == "r7"
    assert monitor.status.drift_summary == "0/5"


def test_failed_run_keeps_the_last_verdict(credit_monitor: ModelMonitor) -> None:
    monitor = apply(
        credit_monitor, plan_run_finished(credit_monitor, summary("r1", T0, Severity.CRITICAL), T0)
    )
    failed = failed_run_summary("r2", T0, T0 + timedelta(hours=1), "OOMKilled", invalid=False)
    monitor = apply(monitor, plan_run_finished(monitor, failed, T0 + timedelta(hours=1)))
    assert monitor.status.severity == Severity.CRITICAL
    assert monitor.status.last_evaluated_run_id == "r1"
    assert monitor.status.last_run is not None
    assert conditions(monitor)[c.DRIFT_DETECTED] == (ConditionStatus.TRUE, c.CRITICAL_DRIFT)
    assert conditions(monitor)[c.LAST_RUN_SUCCEEDED] == (ConditionStatus.FALSE, c.RUN_FAILED)
    invalid = failed_run_summary("r3", T0, T0, "column income missing", invalid=True)
    plan = plan_run_finished(monitor, invalid, T0 + timedelta(hours=2))
    assert [(e.type, e.reason) for e in plan.events] == [(EventType.WARNING, c.INVALID_INPUT)]


def test_insufficient_data_clears_the_verdict(credit_monitor: ModelMonitor) -> None:
    monitor = apply(
        credit_monitor, plan_run_finished(credit_monitor, summary("r1", T0, Severity.WARNING), T0)
    )
    thin = summary("r2", T0 + timedelta(hours=6), outcome=RunOutcome.INSUFFICIENT_DATA)
    monitor = apply(monitor, plan_run_finished(monitor, thin, T0 + timedelta(hours=6)))
    assert monitor.status.severity is None
    assert monitor.status.health_score is None
    assert conditions(monitor)[c.DRIFT_DETECTED] == (ConditionStatus.UNKNOWN, c.NOT_EVALUATED)
    assert conditions(monitor)[c.LAST_RUN_SUCCEEDED] == (ConditionStatus.FALSE, c.INSUFFICIENT_DATA)


def test_no_labels_means_performance_unknown(churn_monitor: ModelMonitor) -> None:
    monitor = apply(churn_monitor, plan_run_finished(churn_monitor, summary("r1", T0), T0))
    assert conditions(monitor)[c.PERFORMANCE_DEGRADED] == (ConditionStatus.UNKNOWN, c.NO_LABELS)


def test_ingesting_the_same_summary_twice_changes_nothing(credit_monitor: ModelMonitor) -> None:
    run = summary("r1", T0, Severity.CRITICAL)
    monitor = apply(credit_monitor, plan_run_finished(credit_monitor, run, T0))
    again = plan_run_finished(monitor, run, T0)
    assert not again.changed
    assert again.events == ()


def test_summary_round_trips_through_a_termination_message() -> None:
    run = summary("r1", T0, Severity.CRITICAL, Severity.WARNING)
    text = run.to_termination_message()
    assert len(text.encode()) <= 4096
    assert RunSummary.from_termination_message(text) == run
    many = run.model_copy(
        update={
            "message": "m" * 1000,
            "top_drifted": [
                DriftedFeature(
                    name="f" * 240 + str(i), method="psi", statistic=1.0, severity=Severity.CRITICAL
                )
                for i in range(10)
            ],
        }
    )
    text = many.to_termination_message()
    assert len(text.encode()) <= 4096
    assert 0 < len(RunSummary.from_termination_message(text).top_drifted) < 10
    newer = (
        '{"runId":"x","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:01:00Z",'
        '"outcome":"Succeeded","futureField":1}'
    )
    assert RunSummary.from_termination_message(newer).run_id == "x"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OUTCOMES = st.sampled_from(list(RunOutcome))
LEVELS = st.sampled_from([Severity.NONE, Severity.WARNING, Severity.CRITICAL])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(OUTCOMES, LEVELS, LEVELS), min_size=1, max_size=12))
def test_property_transitions_alone_move_times_and_emit_events(
    history: list[tuple[RunOutcome, Severity, Severity]],
) -> None:
    document = yaml.safe_load((EXAMPLES / "modelmonitor-postgres.yaml").read_text())
    document["metadata"] |= {"uid": "6f1c9a4e", "generation": 1}
    base = ModelMonitor.model_validate(document)
    monitor = apply(base, plan_accepted(base, "h", T0))
    for i, (outcome, drift, performance) in enumerate(history):
        at = T0 + timedelta(hours=6 * (i + 1))
        run = summary(f"r{i}", at, drift, performance, outcome)
        plan = plan_run_finished(monitor, run, at)
        before = {cond.type: cond for cond in monitor.status.conditions}
        after = {cond.type: cond for cond in plan.status.conditions}
        assert {t: (a.status, a.reason) for t, a in after.items() if t == c.READY} == {
            c.READY: (ConditionStatus.TRUE, c.RECONCILED)
        }  # what runs find never touches Ready
        moved = {
            t
            for t, cond in after.items()
            if (cond.status, cond.reason) != (before[t].status, before[t].reason)
        }
        for t, cond in after.items():
            if cond.status == before[t].status:
                assert cond.last_transition_time == before[t].last_transition_time
            else:
                assert cond.last_transition_time == at
        assert len(plan.events) <= len(moved)
        monitor = apply(monitor, plan)
        replay = plan_run_finished(monitor, run, at)
        assert replay.events == ()
        assert not replay.changed


def test_status_keys_of_another_operator_version_are_ignored(credit_monitor: ModelMonitor) -> None:
    document = credit_monitor.model_dump(mode="json", by_alias=True, exclude_none=True)
    document["status"] = {"observedGeneration": 2, "nextRunAt": "2026-01-01T00:00:00Z"}
    assert ModelMonitor.model_validate(document).status.observed_generation == 2
