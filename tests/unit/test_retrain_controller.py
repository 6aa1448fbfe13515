"""The retrain planner's safeguards: cooldown and model age from recorded decisions, the
master switch, maxConcurrent across monitors, approval expiry, and the trained model's
validation from its termination message (hand-checked numbers in the comments)."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from test_retrain import NOW, automatic, created, decide, named, run, with_spec

from driftwarden.detectors.config import Severity
from driftwarden.detectors.storage.types import PerformanceRow, RunOutcome, RunRecord
from driftwarden.operator import command
from driftwarden.operator.api import ModelMonitor, RetrainPolicy
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.retrainpolicy import ValidationSpec
from driftwarden.operator.handlers.retrain import Retraining
from driftwarden.operator.reconcile.retrain import (
    MonitorRuns,
    PastDecision,
    TrainingJob,
    parse_training_metrics,
    plan_retrain_run_update,
    selects,
    stored_run_summary,
    validate_model,
)


def _validation(**spec: object) -> ValidationSpec:
    return ValidationSpec.model_validate(spec)


def test_metrics_come_from_the_termination_message_or_not_at_all() -> None:
    assert parse_training_metrics('{"metrics": {"roc_auc": 0.81, "rmse": 3}}') == {
        "roc_auc": 0.81,
        "rmse": 3.0,
    }
    for bad in (None, "", "not json", "[]", '{"roc_auc": 0.8}', '{"metrics": [1]}'):
        assert parse_training_metrics(bad) is None
    # bad names and values are dropped, the rest kept
    kept = parse_training_metrics(
        '{"metrics": {"Bad Name": 1, "ok": true, "nan": NaN, "f1": 0.5, "x": "1"}}'
    )
    assert kept == {"f1": 0.5}
    many = {f"m{i:02d}": i for i in range(40)}
    assert len(parse_training_metrics(f'{{"metrics": {many}}}'.replace("'", '"')) or {}) == 16


def test_validation_floors_ceilings_and_drop_against_serving() -> None:
    spec = _validation(
        minimum={"roc_auc": 0.78, "rmse": 2.0}, maxRelativeDropVsServing={"roc_auc": 0.01}
    )
    # 0.80 >= 0.78; rmse 1.5 <= 2; vs serving 0.81: (0.81 - 0.80) / 0.81 = 1.23% > 1%
    result = validate_model(spec, {"roc_auc": 0.80, "rmse": 1.5}, {"roc_auc": 0.81})
    assert result is not None
    assert not result.passed
    assert "+1.23% worse (allowed 1.00%)" in result.message
    ok = validate_model(spec, {"roc_auc": 0.805, "rmse": 1.5}, {"roc_auc": 0.81})
    assert ok is not None
    assert ok.passed
    low = validate_model(spec, {"roc_auc": 0.70, "rmse": 2.5}, {})
    assert low is not None
    assert not low.passed
    assert "roc_auc 0.7 < minimum 0.78" in low.message
    assert "rmse 2.5 > maximum 2" in low.message  # an error metric: the floor is a ceiling
    assert "no serving value" in low.message  # never measured: named, not compared
    missing = validate_model(spec, {"rmse": 1.0}, {"roc_auc": 0.8})
    assert missing is not None
    assert "roc_auc not reported" in missing.message
    nothing = validate_model(spec, None, {})
    assert nothing is not None
    assert not nothing.passed
    assert validate_model(None, {"roc_auc": 0.1}, {}) is None
    assert validate_model(_validation(), {"roc_auc": 0.1}, {}) is None


def test_a_rejected_model_has_numbers_and_an_event_and_does_not_reset_the_model_age(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(credit_policy)
    plan = decide(policy, [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL)])])
    rr = created(plan.objects[0], NOW)
    done = TrainingJob(rr.metadata.name, NOW, active=False, succeeded=True, completed_at=NOW)
    verdict = validate_model(policy.spec.validation, {"roc_auc": 0.7}, {"roc_auc": 0.8})
    update = plan_retrain_run_update(
        rr, done, NOW, timeout=timedelta(days=7), metrics={"roc_auc": 0.7}, validation=verdict
    )
    assert update.outcome == "rejected"
    assert update.status.metrics == {"roc_auc": 0.7}
    (event,) = update.events
    assert (event.type, event.reason) == ("Warning", c.REJECTED)
    assert "0.7 < minimum 0.78" in event.message
    rejected = rr.model_copy(update={"status": update.status})
    aged = with_spec(policy, triggers=[{"modelAge": "1d"}], min_new_labelled_samples=0)
    trained = credit_monitor.spec.model.trained_at
    assert trained is not None
    later = max(NOW, trained) + timedelta(days=30)
    again = decide(aged, [MonitorRuns(credit_monitor, [])], later, [rejected])
    assert again.decisions[0].reason == c.TRIGGERED  # a rejected model is no new model


def test_cooldown_and_model_age_survive_deleted_runs_and_jobs(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(
        with_spec(credit_policy, triggers=[{"modelAge": "30d"}, {"severity": "critical"}])
    )
    critical = [MonitorRuns(credit_monitor, [run("r9", NOW, Severity.CRITICAL)])]
    # the RetrainRun of a day ago was deleted; retrain_events still holds its decision
    past = [
        PastDecision(
            "credit-scoring", NOW - timedelta(days=1), "succeeded", NOW - timedelta(hours=20)
        )
    ]
    plan = decide(policy, critical, past=past)
    assert plan.decisions[0].reason == c.COOLDOWN
    assert plan.status.monitors[0].last_retrain_succeeded_time == NOW - timedelta(hours=20)
    calm = [MonitorRuns(credit_monitor, [])]
    later = NOW + timedelta(days=20)  # model 20 days old counted from that success
    assert decide(policy, calm, later, past=past).decisions[0].reason == c.NOT_TRIGGERED


def test_a_failed_retrain_holds_the_cooldown_unless_the_policy_resets_it(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(with_spec(credit_policy, cooldown="7d"))
    critical = [MonitorRuns(credit_monitor, [run("r2", NOW, Severity.CRITICAL)])]
    past = [PastDecision("credit-scoring", NOW - timedelta(days=1), "failed", NOW)]
    assert decide(policy, critical, past=past).decisions[0].reason == c.COOLDOWN
    resetting = with_spec(policy, reset_cooldown_on_failure=True)
    plan = decide(resetting, critical, past=past)
    assert plan.decisions[0].reason == c.TRIGGERED
    # a retry inside the same trigger window gets a name of its own
    first = plan.objects[0]["metadata"]["name"]
    retry = decide(resetting, critical, past=past, recorded_names=frozenset({first}))
    assert retry.objects[0]["metadata"]["name"] == f"{first}-2"
    assert len(retry.objects[0]["metadata"]["name"]) <= 63


def test_the_master_switch_stops_automatic_policies_not_manual_approvals(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    critical = [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL)])]
    auto = automatic(credit_policy)
    off = decide(auto, critical, enabled=False)
    assert (off.decisions[0].reason, off.objects) == (c.DISABLED, ())
    manual = decide(credit_policy, critical, enabled=False)
    assert manual.decisions[0].reason == c.TRIGGERED
    rr = created(manual.objects[0], NOW)
    approved = rr.model_copy(update={"spec": rr.spec.model_copy(update={"approval": "approved"})})
    started = decide(credit_policy, critical, NOW + timedelta(minutes=1), [approved], enabled=False)
    assert [o["kind"] for o in started.objects] == ["Job"]
    # an automatic policy's approved RetrainRun waits while the switch is off
    auto_rr = created(decide(auto, critical).objects[0], NOW)
    assert decide(auto, critical, NOW, [auto_rr], enabled=False).objects == ()


def test_max_concurrent_counts_approved_runs_still_waiting_for_their_job(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = automatic(with_spec(credit_policy, max_concurrent=1))
    monitors = [
        MonitorRuns(named(credit_monitor, name), [run(f"{name}-1", NOW, Severity.CRITICAL)])
        for name in ("a", "b", "c")
    ]
    plan = decide(policy, monitors)
    assert [d.reason for d in plan.decisions] == [c.TRIGGERED, c.MAX_CONCURRENT, c.MAX_CONCURRENT]
    rr = created(plan.objects[0], NOW)
    # decided again before the Job exists: still one in flight
    again = decide(policy, monitors, NOW + timedelta(seconds=1), [rr])
    assert [o["kind"] for o in again.objects] == ["Job"]
    assert [d.reason for d in again.decisions][1:] == [c.MAX_CONCURRENT, c.MAX_CONCURRENT]
    finished = TrainingJob(rr.metadata.name, NOW, active=False, succeeded=True, completed_at=NOW)
    later = NOW + timedelta(minutes=5)
    newer = [
        MonitorRuns(m.monitor, [run(f"{m.monitor.metadata.name}-2", later, Severity.CRITICAL)])
        for m in monitors
    ]
    freed = decide(policy, newer, later, [rr], [finished])
    assert [d.reason for d in freed.decisions] == [c.COOLDOWN, c.TRIGGERED, c.MAX_CONCURRENT]


def test_a_pending_run_expires_and_never_starts(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    policy = with_spec(credit_policy, approval_timeout="2h")
    critical = [MonitorRuns(credit_monitor, [run("r1", NOW, Severity.CRITICAL)])]
    rr = created(decide(policy, critical).objects[0], NOW)
    later = NOW + timedelta(hours=3)
    update = plan_retrain_run_update(rr, None, later, timeout=timedelta(hours=2))
    assert update.outcome == "expired"
    assert [e.reason for e in update.events] == [c.EXPIRED]
    expired = rr.model_copy(update={"status": update.status})
    approved = expired.model_copy(
        update={"spec": expired.spec.model_copy(update={"approval": "approved"})}
    )
    newer = [MonitorRuns(credit_monitor, [run("r2", later, Severity.CRITICAL)])]
    plan = decide(policy, newer, later, [approved])
    assert plan.objects == ()  # approved too late: no Job
    assert plan.decisions[0].reason == c.COOLDOWN  # and it still holds the cooldown
    with pytest.raises(ValueError, match="approvalTimeout"):
        with_spec(policy, approval_timeout="30s")


def _operator_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_subcommand(parser.add_subparsers())
    return parser.parse_args(["operator", *argv])


def test_automatic_retraining_is_off_until_the_flag_or_the_environment_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(command.ENV_AUTOMATIC_RETRAINING, raising=False)
    assert _operator_args().enable_automatic_retraining is False
    assert _operator_args("--enable-automatic-retraining").enable_automatic_retraining is True
    monkeypatch.setenv(command.ENV_AUTOMATIC_RETRAINING, "true")
    assert _operator_args().enable_automatic_retraining is True
    monkeypatch.setenv(command.ENV_AUTOMATIC_RETRAINING, "yes please")
    assert _operator_args().enable_automatic_retraining is False
    assert _operator_args().retrain_sweep_interval == Retraining.sweep_seconds


def test_a_policy_selects_by_name_or_labels_in_its_namespace(
    credit_policy: RetrainPolicy, credit_monitor: ModelMonitor
) -> None:
    assert selects(credit_policy, credit_monitor)
    assert not selects(credit_policy, named(credit_monitor, "other"))
    elsewhere = credit_monitor.model_copy(
        update={"metadata": credit_monitor.metadata.model_copy(update={"namespace": "x"})}
    )
    assert not selects(credit_policy, elsewhere)
    by_label = with_spec(
        credit_policy, monitor_ref=None, monitor_selector={"matchLabels": {"team": "risk-ml"}}
    )
    assert selects(by_label, named(credit_monitor, "any"))
    unlabelled = credit_monitor.model_copy(
        update={"metadata": credit_monitor.metadata.model_copy(update={"labels": {}})}
    )
    assert not selects(by_label, unlabelled)


def test_a_stored_run_reads_as_a_summary_with_its_drops_and_windows() -> None:
    start = NOW - timedelta(days=1)
    record = RunRecord(
        run_id="r1",
        monitor_namespace="risk",
        monitor_name="credit-scoring",
        started_at=NOW - timedelta(minutes=1),
        finished_at=NOW,
        outcome=RunOutcome.SUCCEEDED,
        severity=Severity.WARNING,
        current_labelled_rows=812,
        baseline_start=start - timedelta(days=7),
        baseline_end=start,
        current_start=start,
        current_end=NOW,
    )
    performance = [
        PerformanceRow("roc_auc", 0.70, 0.84),  # higher is better: drop 0.84 - 0.70 = 0.14
        PerformanceRow("rmse", 3.0, 2.5),  # an error metric: drop 3.0 - 2.5 = 0.5
        PerformanceRow("f1", 0.5, None),  # no baseline value: not a change
        PerformanceRow("f1", 0.6, 0.7, split="baseline"),
    ]
    summary, windows = stored_run_summary(record, performance)
    assert summary.labelled_rows == 812
    assert summary.severity == Severity.WARNING
    drops = {m.metric: round(m.drop, 12) for m in summary.performance}
    assert drops == {"roc_auc": 0.14, "rmse": 0.5}
    assert windows.current is not None
    assert (windows.current.start, windows.current.end) == (start, NOW)
    bare, none = stored_run_summary(
        RunRecord("r2", "risk", "m", NOW, RunOutcome.SUCCEEDED, finished_at=NOW)
    )
    assert (none.baseline, none.current, bare.performance) == (None, None, [])
