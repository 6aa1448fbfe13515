"""The ingest planner: a Job and its Pods as the API server returns them -> the run's outcome.

The dicts below are shaped as the real API server and the Job controller write them (Job
conditions `Complete`/`Failed` with reasons DeadlineExceeded, BackoffLimitExceeded and
PodFailurePolicy; container states with a termination message or a waiting reason).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftwarden.detectors.config import Severity
from driftwarden.detectors.errors import InputError
from driftwarden.detectors.job.run import parse_scheduled_time
from driftwarden.detectors.outcome import FailureReason
from driftwarden.detectors.storage.types import DriftResultRow, RunRecord
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.modelmonitor import RunOutcome
from driftwarden.operator.api.run import RunSummary
from driftwarden.operator.reconcile.ingest import (
    is_newer,
    monitor_of,
    plan_ingest,
    stuck_pod,
    summary_from_record,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _job(name: str = "m-29400000", condition: tuple[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-11-29T11:59:00Z"}
    if condition is not None:
        kind, reason = condition
        status["conditions"] = [
            {"type": kind, "status": "True", "reason": reason, "message": f"{reason} message"}
        ]
        if kind == "Complete":
            status["completionTime"] = "2026-11-29T11:59:30Z"
    return {
        "metadata": {
            "name": name,
            "namespace": "risk",
            "uid": "job-uid",
            "labels": {"driftwarden.io/monitor": "m", "driftwarden.io/monitor-uid": "mon-uid"},
        },
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "detector",
                            "env": [{"name": "DRIFTWARDEN_MONITOR", "value": "risk/m"}],
                        }
                    ]
                }
            }
        },
        "status": status,
    }


def _pod(state: dict[str, Any], created: str = "2026-11-29T11:59:01Z") -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "creationTimestamp": created},
        "status": {"containerStatuses": [{"name": "detector", "state": state}]},
    }


def _summary(run_id: str = "risk/m-29400000", **changes: Any) -> RunSummary:
    values: dict[str, Any] = {
        "run_id": run_id,
        "started_at": NOW - timedelta(seconds=30),
        "finished_at": NOW,
        "outcome": RunOutcome.SUCCEEDED,
        "drift_severity": Severity.CRITICAL,
    }
    return RunSummary(**(values | changes))


def _terminated(summary: RunSummary, code: int = 0) -> dict[str, Any]:
    return {"terminated": {"exitCode": code, "message": summary.to_termination_message()}}


def test_a_running_job_has_no_outcome_yet() -> None:
    assert plan_ingest(_job(), [_pod({"running": {}})], NOW) is None


def test_a_complete_job_reports_its_summary() -> None:
    summary = _summary()
    ended = plan_ingest(
        _job(condition=("Complete", "CompletionsReached")), [_pod(_terminated(summary))], NOW
    )
    assert ended is not None
    assert ended.summary == summary
    assert ended.reason == c.RUN_SUCCEEDED


def test_the_newest_pods_summary_wins() -> None:
    old = _pod(_terminated(_summary(outcome=RunOutcome.FAILED, reason=FailureReason.TIMEOUT), 3))
    new = _pod(_terminated(_summary()), created="2026-11-29T11:59:20Z")
    ended = plan_ingest(_job(condition=("Complete", "CompletionsReached")), [old, new], NOW)
    assert ended is not None
    assert ended.summary.outcome == RunOutcome.SUCCEEDED


def test_a_detectors_failure_reason_becomes_the_condition_reason() -> None:
    summary = _summary(outcome=RunOutcome.INVALID_INPUT, reason=FailureReason.TABLE_NOT_FOUND)
    job = _job(condition=("Failed", "PodFailurePolicy"))
    ended = plan_ingest(job, [_pod(_terminated(summary, 2))], NOW)
    assert ended is not None
    assert ended.reason == "TableNotFound"


@pytest.mark.parametrize(
    ("job_reason", "reason", "outcome"),
    [
        ("DeadlineExceeded", c.DEADLINE_EXCEEDED, RunOutcome.FAILED),
        ("BackoffLimitExceeded", c.BACKOFF_LIMIT_EXCEEDED, RunOutcome.FAILED),
        ("PodFailurePolicy", c.POD_FAILURE_POLICY, RunOutcome.INVALID_INPUT),
        ("SomethingNew", c.RUN_FAILED, RunOutcome.FAILED),
    ],
)
def test_a_failed_job_without_a_summary_is_named_by_its_condition(
    job_reason: str, reason: str, outcome: RunOutcome
) -> None:
    ended = plan_ingest(
        _job(condition=("Failed", job_reason)), [_pod({"terminated": {"exitCode": 137}})], NOW
    )
    assert ended is not None
    assert (ended.reason, ended.summary.outcome) == (reason, outcome)
    assert job_reason in ended.summary.message


def test_a_summary_of_another_run_is_not_taken() -> None:
    stray = _pod(_terminated(_summary(run_id="other")))
    ended = plan_ingest(_job(condition=("Complete", "CompletionsReached")), [stray], NOW)
    assert ended is not None
    assert ended.reason == c.RUN_FAILED


def test_an_unreadable_termination_message_falls_back_to_the_database_summary() -> None:
    garbled = _pod({"terminated": {"exitCode": 0, "message": "Traceback (most recent call"}})
    job = _job(condition=("Complete", "CompletionsReached"))
    ended = plan_ingest(job, [garbled], NOW, fallback=_summary())
    assert ended is not None
    assert ended.reason == c.RUN_SUCCEEDED


@pytest.mark.parametrize(
    ("waiting", "reason"),
    [
        ("CreateContainerConfigError", c.SECRET_NOT_FOUND),
        ("ErrImagePull", c.IMAGE_PULL_FAILED),
        ("ImagePullBackOff", c.IMAGE_PULL_FAILED),
    ],
)
def test_a_pod_that_cannot_start_ends_the_run_early(waiting: str, reason: str) -> None:
    pod = _pod({"waiting": {"reason": waiting, "message": 'secret "db" not found'}})
    assert stuck_pod([pod]) == (reason, 'secret "db" not found')
    ended = plan_ingest(_job(), [pod], NOW)
    assert ended is not None
    assert ended.reason == reason
    assert ended.summary.outcome == RunOutcome.FAILED


def test_a_pod_still_creating_is_not_stuck() -> None:
    assert stuck_pod([_pod({"waiting": {"reason": "ContainerCreating"}})]) is None


def test_the_monitor_comes_from_the_detector_environment_and_the_uid_label() -> None:
    assert monitor_of(_job()) == ("risk", "m", "mon-uid")
    unlabelled = _job()
    del unlabelled["metadata"]["labels"]["driftwarden.io/monitor-uid"]
    assert monitor_of(unlabelled) is None


def test_a_late_job_does_not_roll_the_status_back() -> None:
    ended = plan_ingest(
        _job(condition=("Complete", "CompletionsReached")), [_pod(_terminated(_summary()))], NOW
    )
    assert ended is not None
    assert is_newer(ended, None)
    assert is_newer(ended, NOW - timedelta(minutes=1))
    assert not is_newer(ended, NOW + timedelta(minutes=1))


def test_the_scheduled_time_is_read_from_a_cronjob_job_name() -> None:
    # The CronJob controller names Jobs <cronjob>-<scheduled Unix minutes>.
    minutes = int(NOW.timestamp()) // 60
    assert parse_scheduled_time(f"cronjob-job:credit-scoring-{minutes}") == NOW
    with pytest.raises(InputError, match="Unix minutes"):
        parse_scheduled_time("cronjob-job:credit-scoring-now-abc")


def test_a_run_read_back_from_the_database_becomes_a_summary() -> None:
    record = RunRecord(
        run_id="m-29400000",
        monitor_namespace="risk",
        monitor_name="m",
        started_at=NOW - timedelta(seconds=30),
        finished_at=NOW,
        outcome=RunOutcome.SUCCEEDED,
        baseline_rows=1000,
        current_rows=500,
        severity=Severity.CRITICAL,
        health_score=60.0,
    )
    rows = [
        DriftResultRow("income", "psi", 0.4, None, 0.25, True, Severity.CRITICAL),
        DriftResultRow("income", "ks", 0.3, 1e-9, 0.05, True, Severity.CRITICAL),
        DriftResultRow("region", "chi2", 12.0, 1e-4, 0.05, True, Severity.WARNING),
    ]
    summary = summary_from_record(record, rows)
    assert summary.drift_severity == Severity.CRITICAL
    assert summary.drifted_features == 2
    assert [f.name for f in summary.top_drifted] == ["income", "income", "region"]
    assert summary.rows is not None
    assert summary.rows.current == 500
    # The same summary fits the termination message the Job would have written.
    assert RunSummary.from_termination_message(summary.to_termination_message()) == summary


def test_jobs_of_one_name_in_two_namespaces_make_two_runs() -> None:
    """A Job's name is unique only in its namespace; the results database keys runs by id."""
    risk, staging = _job(), _job()
    staging["metadata"]["namespace"] = "staging"
    done = ("Complete", "Completed")
    risk["status"] = staging["status"] = _job(condition=done)["status"]
    pod = _pod(_terminated(_summary()))
    ended = plan_ingest(risk, [pod], NOW)
    assert ended is not None
    assert ended.summary.run_id == "risk/m-29400000"
    # The risk Pod's summary is not staging's run: it ends without one of its own.
    other = plan_ingest(staging, [pod], NOW)
    assert other is not None
    assert other.summary.run_id == "staging/m-29400000"
    assert other.summary.outcome is RunOutcome.FAILED


def test_a_job_planned_by_an_older_operator_keeps_its_bare_run_id() -> None:
    """Jobs still running at an upgrade were given their bare name as run id."""
    job = _job(condition=("Complete", "Completed"))
    ended = plan_ingest(job, [_pod(_terminated(_summary(run_id="m-29400000")))], NOW)
    assert ended is not None
    assert ended.summary.run_id == "m-29400000"
    assert ended.summary.outcome is RunOutcome.SUCCEEDED


def _succeeded_pod(state: dict[str, Any]) -> dict[str, Any]:
    pod = _pod(state)
    pod["status"]["phase"] = "Succeeded"
    return pod


def test_a_succeeded_pod_ends_the_run_before_its_job_is_marked_complete() -> None:
    # The Job controller marks the Job Complete about a second after the Pod succeeds.
    summary = _summary()
    ended = plan_ingest(_job(), [_succeeded_pod(_terminated(summary))], NOW)
    assert ended is not None
    assert ended.summary == summary
    assert ended.reason == c.RUN_SUCCEEDED


def test_only_a_succeeded_pod_with_this_runs_summary_ends_a_running_job() -> None:
    failed = _pod(_terminated(_summary(), 1))
    failed["status"]["phase"] = "Failed"  # the Job may start another Pod
    other = _succeeded_pod(_terminated(_summary(run_id="another-run")))
    unreadable = _succeeded_pod({"terminated": {"exitCode": 0, "message": "garbled"}})
    terminated_but_not_succeeded = _pod(_terminated(_summary()))  # phase not yet written
    for pod in (failed, other, unreadable, terminated_but_not_succeeded):
        assert plan_ingest(_job(), [pod], NOW) is None
