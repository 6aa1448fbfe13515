"""Retraining end to end: `driftwarden operator` as a subprocess against the real control
plane (the pod runner plays the kubelet, so detector and training Jobs run for real), a
real PostgreSQL server holding the inference logs, the results and `retrain_events`.

ModelMonitor run -> ingest -> RetrainPolicy decision -> RetrainRun -> training Job ->
termination message -> validation -> status, Events and retrain_events rows. Every wait
polls with a timeout; nothing sleeps to wait.
"""

from __future__ import annotations

import json
import secrets
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2
import psycopg2.extras
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pg import PostgresServer

from cluster.controlplane import ControlPlane, wait_for
from cluster.podrunner import PodRunner
from cluster.test_operator import (  # fixtures too: they take this module's `databases`
    OperatorProcess,
    _apply,
    _condition,
    _monitor,
    _run_now,
    crds,
    monitor_class,
    operator_rights,
    secrets_in,
)
from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.detectors.storage.retrain import (
    advisory_lock_id,
    policy_decisions,
    policy_lock,
    record_decision,
)
from driftwarden.detectors.storage.types import RetrainDecision, RetrainEventRow
from driftwarden.operator.api import GROUP, VERSION

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]
__all__ = ["crds", "monitor_class", "operator_rights", "secrets_in"]  # fixtures shared with
# the operator's tests (they take this module's `databases`)

ROOT = Path(__file__).resolve().parents[2]
ROWS = 1_500
TIMEOUT = 180.0

# The training "image": waits for a release file when told to, prints why it runs, and
# writes the trained model's metrics as its termination message (argv[1]).
TRAIN = (
    "import json, os, pathlib, sys, time\n"
    "release = os.environ.get('RELEASE_FILE')\n"
    "deadline = time.time() + 300\n"
    "while release and not os.path.exists(release) and time.time() < deadline:\n"
    "    time.sleep(0.2)\n"
    "print(sorted((k, v) for k, v in os.environ.items() if k.startswith('DRIFTWARDEN_')))\n"
    "metrics = os.environ.get('TRAIN_METRICS')\n"
    "if metrics:\n"
    "    pathlib.Path(sys.argv[1]).write_text(json.dumps({'metrics': json.loads(metrics)}))\n"
)


# --- data ---------------------------------------------------------------------------------


def _rows(
    start: datetime, span: timedelta, seed: int, *, drift: bool = False, informative: bool = True
) -> list[tuple[Any, ...]]:
    """Inference rows: income and region drift when `drift`; the score predicts the label
    (ROC-AUC about 0.9) when `informative`, else it is noise (about 0.5)."""
    rng = np.random.default_rng(seed)
    times = [start + span * (i + 0.5) / ROWS for i in range(ROWS)]
    age = rng.normal(40, 10, ROWS)
    income = rng.normal(80 if drift else 50, 10, ROWS)
    regions = rng.choice(
        ["north", "south", "east"], ROWS, p=[0.8, 0.1, 0.1] if drift else [0.34, 0.33, 0.33]
    )
    label = rng.integers(0, 2, ROWS)
    if informative:
        score = np.clip(0.25 + 0.5 * label + rng.normal(0, 0.18, ROWS), 0, 1)
    else:
        score = rng.uniform(0, 1, ROWS)
    return [
        (
            times[i],
            float(age[i]),
            float(income[i]),
            str(regions[i]),
            float(score[i]),
            int(label[i]),
        )
        for i in range(ROWS)
    ]


def _source_tables(dsn: str) -> None:
    now = datetime.now(UTC)
    baseline_start, baseline_span = now - timedelta(days=16), timedelta(days=13)
    current_start, current_span = now - timedelta(hours=20), timedelta(hours=19, minutes=59)
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        for table, drift, informative in (
            ("drift_log", True, True),
            ("labelled_log", False, False),
        ):
            cursor.execute(
                f"CREATE TABLE {table} (ts timestamptz NOT NULL, age double precision, "
                "income double precision, region text, score double precision, label integer)"
            )
            rows = _rows(baseline_start, baseline_span, 1)
            rows += _rows(current_start, current_span, 2, drift=drift, informative=informative)
            psycopg2.extras.execute_values(
                cursor, f"INSERT INTO {table} VALUES %s", rows, page_size=5000
            )
    conn.close()


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, str]]:
    with PostgresServer.start() as server:
        source = server.create_database("retrain_source")
        results = server.create_database("retrain_results")
        engine = create_engine(results)
        upgrade(engine)
        engine.dispose()
        _source_tables(server.dsn("retrain_source"))
        yield {"source": source, "results": results, "results_dsn": server.dsn("retrain_results")}


def _start_operator(
    plane: ControlPlane, namespace: str, log: Path, url: str, *extra: str
) -> OperatorProcess:
    process = OperatorProcess(
        plane,
        namespace,
        log,
        "--watch-inactivity-timeout",
        "30",
        "--database-url",
        url,
        "--retrain-sweep-interval",
        "2",
        *extra,
    )
    process.start()
    return process


@pytest.fixture
def operator(
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    pod_runner: PodRunner,
    operator_rights: None,
    secrets_in: dict[str, str],
) -> Iterator[OperatorProcess]:
    process = _start_operator(
        control_plane,
        namespace,
        tmp_path / "operator.log",
        secrets_in["results"],
        "--enable-automatic-retraining",
    )
    yield process
    process.stop()


@pytest.fixture
def switched_off_operator(
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    pod_runner: PodRunner,
    operator_rights: None,
    secrets_in: dict[str, str],
) -> Iterator[OperatorProcess]:
    """The operator as it starts by default: automatic retraining off."""
    process = _start_operator(
        control_plane, namespace, tmp_path / "operator.log", secrets_in["results"]
    )
    yield process
    process.stop()


# --- objects ------------------------------------------------------------------------------


def _policy(name: str, **spec: Any) -> dict[str, Any]:
    env = spec.pop("env", {})
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RetrainPolicy",
        "metadata": {"name": name},
        "spec": {
            "monitorRef": {"name": "credit"},
            "triggers": [{"severity": "critical"}],
            "cooldown": "1h",
            "approval": "automatic",
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "train",
                                    "image": "registry.example/credit-train:3",
                                    "command": ["python", "-c", TRAIN, "/dev/termination-log"],
                                    "env": [{"name": k, "value": v} for k, v in env.items()],
                                }
                            ],
                            "restartPolicy": "Never",
                        }
                    },
                }
            },
        },
    }
    body["spec"].update(spec)
    return body


def _custom(api: k8s.ApiClient) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(api)


def _create(api: k8s.ApiClient, namespace: str, plural: str, body: dict[str, Any]) -> None:
    _custom(api).create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


def _retrain_runs(api: k8s.ApiClient, namespace: str) -> list[dict[str, Any]]:
    found = _custom(api).list_namespaced_custom_object(GROUP, VERSION, namespace, "retrainruns")
    return sorted(found["items"], key=lambda r: r["metadata"]["creationTimestamp"])


def _training_jobs(api: k8s.ApiClient, namespace: str) -> list[Any]:
    jobs = k8s.BatchV1Api(api).list_namespaced_job(
        namespace, label_selector="driftwarden.io/retrain-run"
    )
    return list(jobs.items)


def _policy_obj(api: k8s.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _custom(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "retrainpolicies", name
    )
    return found


def _rr(api: k8s.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _custom(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "retrainruns", name
    )
    return found


def _state(rr: dict[str, Any]) -> str:
    return str(_condition(rr, "Ready").get("reason", ""))


def _events(dsn: str, namespace: str) -> list[dict[str, Any]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(
                "SELECT * FROM retrain_events WHERE namespace = %s ORDER BY created_at",
                (namespace,),
            )
            return [dict(r) for r in cursor.fetchall()]
    finally:
        conn.close()


def _kube_events(api: k8s.ApiClient, namespace: str, name: str) -> list[Any]:
    events = k8s.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    )
    return list(events.items)


def _story(operator: OperatorProcess) -> str:
    """The RetrainRuns' and training Jobs' status, for a failed wait's message."""
    api, namespace = operator.plane.client("admin"), operator.namespace
    runs = [
        (r["metadata"]["name"], r["spec"], r.get("status")) for r in _retrain_runs(api, namespace)
    ]
    jobs = [(j.metadata.name, j.status.to_dict()) for j in _training_jobs(api, namespace)]
    return f"RetrainRuns: {json.dumps(runs, indent=1, default=str)}\nJobs: {jobs}"


def _await(
    what: Callable[[], Any], operator: OperatorProcess, message: str, timeout: float = TIMEOUT
) -> Any:
    return wait_for(
        what,
        timeout,
        lambda: f"{message}\n{_story(operator)}\noperator log:\n{operator.tail()}",
    )


def _last_run(api: k8s.ApiClient, namespace: str, name: str) -> str:
    monitor = _custom(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", name
    )
    return str(monitor.get("status", {}).get("lastRun", {}).get("id", ""))


def _decided(dsn: str, namespace: str, run_id: str) -> dict[str, Any] | None:
    """The decision recorded for a run (None until it is)."""
    return next((e for e in _events(dsn, namespace) if e["run_id"] == run_id), None)


def _run_and_decide(
    api: k8s.ApiClient, namespace: str, monitor: str, value: str, dsn: str, op: OperatorProcess
) -> dict[str, Any]:
    """Request a run now; wait for its decision in retrain_events."""
    before = _last_run(api, namespace, monitor)
    _run_now(api, namespace, monitor, value)
    run_id = _await(
        lambda: (r := _last_run(api, namespace, monitor)) != before and r,
        op,
        f"no new run of {monitor}",
    )
    decided: dict[str, Any] = _await(
        lambda: _decided(dsn, namespace, run_id), op, f"no decision recorded for {run_id}"
    )
    return decided


def _env(job: Any) -> dict[str, str]:
    container = job.spec.template.spec.containers[0]
    return {e.name: e.value for e in container.env or []}


# --- tests ---------------------------------------------------------------------------------


def test_critical_drift_makes_one_retrain_run_and_one_job_then_cooldown_then_again(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    dsn = secrets_in["results_dsn"]
    _apply(admin_api, namespace, _monitor("credit", monitor_class, table="drift_log"))
    _create(admin_api, namespace, "retrainpolicies", _policy("credit", cooldown="1m"))
    first = _run_and_decide(admin_api, namespace, "credit", "one", dsn, operator)
    assert (first["decision"], first["reason"]) == ("triggered", "Triggered"), first
    (rr,) = _retrain_runs(admin_api, namespace)
    name = rr["metadata"]["name"]
    assert first["decision_key"] == f"{namespace}/{name}"
    assert rr["spec"]["approval"] == "approved"  # automatic
    assert rr["spec"]["severity"] == "critical"
    assert rr["spec"]["runId"] == first["run_id"]
    (job,) = _await(lambda: _training_jobs(admin_api, namespace), operator, "no training Job")
    assert job.metadata.name == name
    assert job.metadata.owner_references[0].kind == "RetrainRun"
    assert job.metadata.labels["app.kubernetes.io/managed-by"] == "driftwarden-operator"
    assert job.spec.ttl_seconds_after_finished == 604_800
    assert job.spec.template.spec.security_context.run_as_non_root is True
    env = _env(job)
    assert env["DRIFTWARDEN_MONITOR"] == "credit"
    assert env["DRIFTWARDEN_TRIGGER"] == "severity>=critical"
    assert env["DRIFTWARDEN_TRIGGER_RUN_ID"] == first["run_id"]
    assert env["DRIFTWARDEN_SEVERITY"] == "critical"
    assert "income" in env["DRIFTWARDEN_DRIFTED_FEATURES"].split(",")
    for window in ("BASELINE_START", "BASELINE_END", "CURRENT_START", "CURRENT_END"):
        assert env[f"DRIFTWARDEN_{window}"].endswith("Z"), env
    done = _await(
        lambda: _state(r := _rr(admin_api, namespace, name)) == "RunSucceeded" and r,
        operator,
        "the RetrainRun never succeeded",
    )
    assert done["status"]["jobName"] == name
    reasons = {e.reason for e in _kube_events(admin_api, namespace, "credit")}
    assert "Triggered" in reasons, reasons

    # A second critical run inside the cooldown: skipped, recorded, nothing created.
    second = _run_and_decide(admin_api, namespace, "credit", "two", dsn, operator)
    created = datetime.fromisoformat(rr["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    held = second["created_at"] < created + timedelta(minutes=1)  # true unless very slow
    if held:
        assert (second["decision"], second["reason"]) == ("skipped", "Cooldown"), second
        assert len(_retrain_runs(admin_api, namespace)) == 1
        assert len(_training_jobs(admin_api, namespace)) == 1
    # Once the one-minute cooldown is over, the latest run (still critical) retrains again:
    # the sweep decides, no new run is needed.
    again = _await(
        lambda: len(runs := _retrain_runs(admin_api, namespace)) == 2 and runs[1],
        operator,
        "no retrain after the cooldown",
        180,
    )
    made = datetime.fromisoformat(again["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    assert made >= created + timedelta(minutes=1) - timedelta(seconds=1)  # 1 s: API stamps
    assert again["spec"]["runId"] == second["run_id"]
    _await(lambda: len(_training_jobs(admin_api, namespace)) == 2, operator, "no second Job")
    triggered = [e for e in _events(dsn, namespace) if e["decision"] == "triggered"]
    assert len(triggered) == 2
    policy = _policy_obj(admin_api, namespace, "credit")
    recent = [d["reason"] for d in policy["status"]["recentDecisions"]]
    assert "Triggered" in recent
    assert "Cooldown" in recent or not held
    assert _condition(policy, "Ready")["status"] == "True"


def test_persistence_fires_only_after_its_duration(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    dsn = secrets_in["results_dsn"]
    _apply(admin_api, namespace, _monitor("credit", monitor_class, table="drift_log"))
    triggers = [{"severity": "warning", "persistFor": "40s"}]
    _create(admin_api, namespace, "retrainpolicies", _policy("credit", triggers=triggers))
    first = _run_and_decide(admin_api, namespace, "credit", "one", dsn, operator)
    assert (first["decision"], first["reason"]) == ("skipped", "NotTriggered"), first
    assert _retrain_runs(admin_api, namespace) == []
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT finished_at FROM monitor_runs WHERE run_id = %s", (first["run_id"],)
            )
            row = cursor.fetchone()
    finally:
        conn.close()
    assert row is not None
    finished: datetime = row[0]
    (rr,) = _await(lambda: _retrain_runs(admin_api, namespace), operator, "the sweep never fired")
    made = datetime.fromisoformat(rr["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    assert made >= finished + timedelta(seconds=40) - timedelta(seconds=1)  # 1 s: API stamps
    assert rr["spec"]["trigger"] == "severity>=warning for 40s"
    assert rr["spec"]["runId"] == first["run_id"]


def test_performance_drop_fires_on_a_labelled_table_whose_roc_auc_falls(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    dsn = secrets_in["results_dsn"]
    monitor = _monitor(
        "credit", monitor_class, table="labelled_log", labels={"column": "label", "task": "binary"}
    )
    _apply(admin_api, namespace, monitor)
    triggers = [{"performanceDrop": {"metric": "roc_auc", "absoluteDrop": 0.1}}]
    _create(admin_api, namespace, "retrainpolicies", _policy("credit", triggers=triggers))
    decided = _run_and_decide(admin_api, namespace, "credit", "one", dsn, operator)
    assert decided["reason"] == "Triggered", decided
    (rr,) = _retrain_runs(admin_api, namespace)
    assert rr["spec"]["trigger"] == "roc_auc dropped by >=0.1"
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT value, baseline_value FROM performance_metrics "
                "WHERE run_id = %s AND metric = 'roc_auc' AND split = 'current'",
                (decided["run_id"],),
            )
            value, baseline = cursor.fetchone() or (None, None)
    finally:
        conn.close()
    assert baseline - value > 0.1, (baseline, value)


def test_model_age_fires_and_deleting_old_jobs_does_not_reset_it(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    dsn = secrets_in["results_dsn"]
    trained = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monitor = _monitor("credit", monitor_class, table="drift_log")
    monitor["spec"]["model"]["trainedAt"] = trained
    _apply(admin_api, namespace, monitor)
    policy = _policy("credit", triggers=[{"modelAge": "1h"}], cooldown="1m")
    _create(admin_api, namespace, "retrainpolicies", policy)
    (rr,) = _await(lambda: _retrain_runs(admin_api, namespace), operator, "modelAge never fired")
    name = rr["metadata"]["name"]
    assert rr["spec"]["trigger"] == "model older than 1h"
    _await(
        lambda: _state(_rr(admin_api, namespace, name)) == "RunSucceeded",
        operator,
        "the training never succeeded",
    )
    _await(
        lambda: any(e["outcome"] == "succeeded" for e in _events(dsn, namespace)),
        operator,
        "the outcome never reached retrain_events",
    )
    # Delete the Job and the RetrainRun: the recorded success still dates the model.
    k8s.BatchV1Api(admin_api).delete_namespaced_job(
        name, namespace, propagation_policy="Background"
    )
    _custom(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "retrainruns", name
    )
    made = datetime.fromisoformat(rr["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    cooled = made + timedelta(minutes=1)
    wait_for(lambda: datetime.now(UTC) > cooled, 120, "clock")
    # A run after the cooldown is decided (and recorded): the model is young, nothing starts.
    after = _run_and_decide(admin_api, namespace, "credit", "after", dsn, operator)
    assert (after["decision"], after["reason"]) == ("skipped", "NotTriggered"), after
    assert _retrain_runs(admin_api, namespace) == []
    assert _training_jobs(admin_api, namespace) == []
    triggered = [e for e in _events(dsn, namespace) if e["decision"] == "triggered"]
    assert len(triggered) == 1


def test_max_concurrent_one_holds_under_three_monitors_firing_together(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    dsn = secrets_in["results_dsn"]
    release = tmp_path / "release"
    policy = _policy(
        "growth",
        monitorSelector={"matchLabels": {"team": "growth"}},
        maxConcurrent=1,
        env={"RELEASE_FILE": str(release)},
    )
    policy["spec"].pop("monitorRef")
    _create(admin_api, namespace, "retrainpolicies", policy)
    names = ("m-a", "m-b", "m-c")
    for name in names:
        body = _monitor(name, monitor_class, table="drift_log")
        body["metadata"]["labels"] = {"team": "growth"}
        body["metadata"]["annotations"] = {"driftwarden.io/run-now": "go"}
        _apply(admin_api, namespace, body)

    def all_decided() -> list[dict[str, Any]] | None:
        runs = {n: _last_run(admin_api, namespace, n) for n in names}
        if not all(runs.values()):
            return None
        found = [_decided(dsn, namespace, r) for r in runs.values()]
        return [f for f in found if f is not None] if all(found) else None

    decided = _await(all_decided, operator, "not every run was decided")
    assert sorted(d["reason"] for d in decided) == ["MaxConcurrent", "MaxConcurrent", "Triggered"]
    assert len(_retrain_runs(admin_api, namespace)) == 1
    assert len(_training_jobs(admin_api, namespace)) == 1
    release.write_text("go")
    seen_active: list[int] = []

    def all_trained() -> bool:
        jobs = _training_jobs(admin_api, namespace)
        seen_active.append(
            sum(1 for j in jobs if not j.status.completion_time and not j.status.failed)
        )
        runs = _retrain_runs(admin_api, namespace)
        return len(runs) == 3 and all(_state(r) == "RunSucceeded" for r in runs)

    _await(all_trained, operator, "the other monitors never trained", 300)
    assert max(seen_active) <= 1, seen_active


def _pause_training_jobs(api: k8s.ApiClient, namespace: str) -> Callable[[], None]:
    """A ValidatingAdmissionPolicy refusing training Jobs in `namespace` (the API server's
    own CEL admission; no webhook); returns the function that lifts it."""
    admission = k8s.AdmissionregistrationV1Api(api)
    name = f"pause-training-{secrets.token_hex(3)}"
    admission.create_validating_admission_policy(
        {
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["batch"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["jobs"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "!has(object.metadata.labels) || "
                        "!('driftwarden.io/retrain-run' in object.metadata.labels)",
                        "message": "training Jobs are paused by the test",
                        "reason": "Forbidden",
                    }
                ],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        }
    )
    probe = {
        "metadata": {"name": "probe", "labels": {"driftwarden.io/retrain-run": "probe"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "c", "image": "x", "command": ["true"]}],
                    "restartPolicy": "Never",
                }
            }
        },
    }
    batch = k8s.BatchV1Api(api)

    def refused() -> bool:
        try:
            batch.create_namespaced_job(namespace, probe, dry_run="All")
        except ApiException as e:
            if e.status in (403, 422):
                return True
            raise
        return False

    wait_for(refused, 60, "the admission policy never took effect")

    def lift() -> None:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)
        wait_for(lambda: not refused(), 60, "the admission policy was never lifted")

    return lift


def test_sigkill_between_decision_and_job_creation_leaves_one_job(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    """The API server refuses training Jobs (an admission policy), so the decision (a
    RetrainRun) is made and its Job is not; the operator is SIGKILLed there, the refusal
    lifted, the operator restarted: exactly one Job, one RetrainRun, one recorded decision."""
    dsn = secrets_in["results_dsn"]
    lift = _pause_training_jobs(admin_api, namespace)
    trained = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monitor = _monitor("credit", monitor_class, table="drift_log")
    monitor["spec"]["model"]["trainedAt"] = trained
    _apply(admin_api, namespace, monitor)
    policy = _policy("credit", triggers=[{"modelAge": "1h"}])
    _create(admin_api, namespace, "retrainpolicies", policy)
    (rr,) = _await(lambda: _retrain_runs(admin_api, namespace), operator, "no decision")
    _await(lambda: "paused by the test" in operator.tail(), operator, "the Job was never refused")
    assert _training_jobs(admin_api, namespace) == []
    operator.stop(signal.SIGKILL)
    lift()
    restarted = _start_operator(
        control_plane,
        namespace,
        operator.log_path,
        secrets_in["results"],
        "--enable-automatic-retraining",
    )
    try:
        _await(
            lambda: _state(_rr(admin_api, namespace, rr["metadata"]["name"])) == "RunSucceeded",
            restarted,
            "the Job never ran after the restart",
        )
        jobs = _training_jobs(admin_api, namespace)
        assert [j.metadata.name for j in jobs] == [rr["metadata"]["name"]]
        assert len(_retrain_runs(admin_api, namespace)) == 1
        triggered = [e for e in _events(dsn, namespace) if e["decision"] == "triggered"]
        assert len(triggered) == 1
        assert triggered[0]["decision_key"] == f"{namespace}/{rr['metadata']['name']}"
    finally:
        restarted.stop()


def _impersonating(api: k8s.ApiClient, user: str) -> k8s.ApiClient:
    return k8s.ApiClient(api.configuration, header_name="Impersonate-User", header_value=user)


def test_manual_approval_by_an_approver_denied_never_starts_others_refused(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    switched_off_operator: OperatorProcess,
) -> None:
    """With automatic retraining off (the default), an automatic policy decides Disabled
    and a manual one still works: approved by an approver, denied never starts, a stranger
    is refused."""
    operator = switched_off_operator
    approver_role = next(
        d
        for d in yaml.safe_load_all((ROOT / "examples/rbac-retrain-approver.yaml").read_text())
        if d and d["kind"] == "ClusterRole"
    )
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    try:
        rbac.create_cluster_role(approver_role)
    except ApiException as e:
        if e.status != 409:
            raise
    user = f"approver-{secrets.token_hex(3)}"
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "approvers"},
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {
                "kind": "ClusterRole",
                "name": approver_role["metadata"]["name"],
                "apiGroup": "rbac.authorization.k8s.io",
            },
        },
    )
    policy = _policy(
        "team",
        approval="manual",
        monitorSelector={"matchLabels": {"team": "risk"}},
    )
    policy["spec"].pop("monitorRef")
    _create(admin_api, namespace, "retrainpolicies", policy)
    automatic = _policy("auto", monitorRef={"name": "yes"})
    _create(admin_api, namespace, "retrainpolicies", automatic)
    for name in ("yes", "no"):
        body = _monitor(name, monitor_class, table="drift_log")
        body["metadata"]["labels"] = {"team": "risk"}
        body["metadata"]["annotations"] = {"driftwarden.io/run-now": "go"}
        _apply(admin_api, namespace, body)

    def pending() -> dict[str, str] | None:
        runs = _retrain_runs(admin_api, namespace)
        if len(runs) != 2 or not all(_state(r) == "PendingApproval" for r in runs):
            return None
        return {r["spec"]["monitorName"]: r["metadata"]["name"] for r in runs}

    names = _await(pending, operator, "two pending RetrainRuns never appeared")
    assert _training_jobs(admin_api, namespace) == []
    approver = k8s.CustomObjectsApi(_impersonating(admin_api, user))
    stranger = k8s.CustomObjectsApi(_impersonating(admin_api, f"stranger-{secrets.token_hex(3)}"))

    def patch(api: k8s.CustomObjectsApi, plural: str, name: str, body: dict[str, Any]) -> Any:
        return api.patch_namespaced_custom_object(GROUP, VERSION, namespace, plural, name, body)

    with pytest.raises(ApiException) as refused:
        patch(stranger, "retrainruns", names["yes"], {"spec": {"approval": "approved"}})
    assert refused.value.status == 403

    def approve() -> Any:
        try:
            return patch(approver, "retrainruns", names["yes"], {"spec": {"approval": "approved"}})
        except ApiException as e:
            if e.status == 403:  # the binding is not in the authorizer's cache yet
                return None
            raise

    wait_for(approve, 30, "the approver's binding never took effect")
    patch(approver, "retrainruns", names["no"], {"spec": {"approval": "denied"}})
    with pytest.raises(ApiException) as not_editor:
        patch(approver, "retrainpolicies", "team", {"spec": {"approval": "automatic"}})
    assert not_editor.value.status == 403
    _await(
        lambda: _state(_rr(admin_api, namespace, names["yes"])) == "RunSucceeded",
        operator,
        "the approved RetrainRun never trained",
    )
    _await(
        lambda: _state(_rr(admin_api, namespace, names["no"])) == "Denied",
        operator,
        "the denied RetrainRun was never marked",
    )
    assert [j.metadata.name for j in _training_jobs(admin_api, namespace)] == [names["yes"]]
    assert {r["spec"]["policyName"] for r in _retrain_runs(admin_api, namespace)} == {"team"}
    auto = _policy_obj(admin_api, namespace, "auto")
    assert auto["status"]["lastDecision"]["reason"] == "Disabled"
    outcomes = {
        e["job_name"] or e["decision_key"]: e["outcome"]
        for e in _events(secrets_in["results_dsn"], namespace)
        if e["decision"] == "triggered"
    }
    assert sorted(outcomes.values()) == ["denied", "succeeded"], outcomes


def test_low_metrics_end_rejected_with_the_numbers(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    trained = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monitor = _monitor("credit", monitor_class, table="drift_log")
    monitor["spec"]["model"]["trainedAt"] = trained
    _apply(admin_api, namespace, monitor)
    policy = _policy(
        "credit",
        triggers=[{"modelAge": "1h"}],
        validation={"minimum": {"roc_auc": 0.78}},
        env={"TRAIN_METRICS": json.dumps({"roc_auc": 0.61, "f1": 0.5})},
    )
    _create(admin_api, namespace, "retrainpolicies", policy)
    (rr,) = _await(lambda: _retrain_runs(admin_api, namespace), operator, "modelAge never fired")
    name = rr["metadata"]["name"]
    rejected = _await(
        lambda: _state(r := _rr(admin_api, namespace, name)) == "Rejected" and r,
        operator,
        "the RetrainRun was never rejected",
    )
    assert rejected["status"]["metrics"] == {"f1": 0.5, "roc_auc": 0.61}
    validated = _condition(rejected, "Validated")
    assert validated["status"] == "False"
    assert "roc_auc 0.61 < minimum 0.78" in validated["message"]
    events = _kube_events(admin_api, namespace, name)
    assert any(e.reason == "Rejected" and "0.61" in e.message for e in events), events
    dsn = secrets_in["results_dsn"]
    _await(
        lambda: any(e["outcome"] == "rejected" for e in _events(dsn, namespace)),
        operator,
        "retrain_events never said rejected",
    )


def test_an_unknown_jobtemplate_field_stalls_the_policy_before_any_trigger(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    trained = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monitor = _monitor("credit", monitor_class, table="drift_log")
    monitor["spec"]["model"]["trainedAt"] = trained
    _apply(admin_api, namespace, monitor)
    policy = _policy("credit", triggers=[{"modelAge": "1h"}])
    pod = policy["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod["serviceAcountName"] = "trainer"  # misspelt
    _create(admin_api, namespace, "retrainpolicies", policy)
    stalled = _await(
        lambda: (
            _condition(p := _policy_obj(admin_api, namespace, "credit"), "Stalled").get("status")
            == "True"
            and p
        ),
        operator,
        "the policy never stalled",
    )
    condition = _condition(stalled, "Stalled")
    assert condition["reason"] == "InvalidJobTemplate"
    assert "serviceAcountName" in condition["message"]
    assert _condition(stalled, "Ready")["status"] == "False"
    assert stalled["status"]["lastDecision"]["reason"] == "InvalidJobTemplate"
    assert _retrain_runs(admin_api, namespace) == []


def test_on_postgres_a_decision_key_is_recorded_once_and_the_policy_lock_is_exclusive(
    databases: dict[str, str],
) -> None:
    """Two engines (two replicas) record the same triggered decision: one row; while one
    holds a policy's advisory lock, another session cannot take it."""
    first, second = create_engine(databases["results"]), create_engine(databases["results"])
    try:
        now = datetime.now(UTC)
        key = f"replicas-{secrets.token_hex(3)}/credit-credit-1"

        def event(event_id: str) -> RetrainEventRow:
            return RetrainEventRow(
                event_id=event_id,
                namespace=key.split("/")[0],
                policy_name="credit",
                monitor_name="credit",
                decision=RetrainDecision.TRIGGERED,
                reason="Triggered",
                created_at=now,
                decision_key=key,
            )

        assert record_decision(first, event(key))
        assert not record_decision(second, event(f"{key}-other-replica"))
        (row,) = policy_decisions(second, key.split("/")[0], "credit")
        assert row.event_id == key
        lock_id = advisory_lock_id(f"driftwarden-retrain/{key}")
        with policy_lock(first, f"driftwarden-retrain/{key}"):
            conn = psycopg2.connect(databases["results_dsn"])
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                    assert cursor.fetchone() == (False,)
            finally:
                conn.close()
        conn = psycopg2.connect(databases["results_dsn"])
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                assert cursor.fetchone() == (True,)
        finally:
            conn.close()
    finally:
        first.dispose()
        second.dispose()
