"""The operator end to end: `driftwarden operator` as a subprocess against the real control
plane, the pod runner playing the kubelet (so `driftwarden run` runs for real), and a real
PostgreSQL server holding the inference logs and the results.

ModelMonitor -> CronJob / run-now Job -> Pod -> `driftwarden run` -> Postgres rows and a
termination message -> status, conditions and Events. Every wait polls with a timeout.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections import Counter
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

from cluster.controlplane import ControlPlane, free_port, wait_for
from cluster.faultproxy import FaultProxy, HttpFaultProxy, ProxyTLS, watched_resource
from cluster.podrunner import PodRunner
from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.operator.api import GROUP, VERSION
from driftwarden.operator.k8s.rbac import cluster_role

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ROWS = 1_500
RUN_TIMEOUT = 180.0


# --- data ---------------------------------------------------------------------------------


def _rows(start: datetime, span: timedelta, drift: bool, seed: int) -> list[tuple[Any, ...]]:
    """An inference log: income and region drift in the current window when `drift`; age
    never does."""
    rng = np.random.default_rng(seed)
    times = [start + span * (i + 0.5) / ROWS for i in range(ROWS)]
    age = rng.normal(40, 10, ROWS)
    income = rng.normal(65 if drift else 50, 10, ROWS)
    regions = rng.choice(
        ["north", "south", "east"], ROWS, p=[0.7, 0.15, 0.15] if drift else [0.34, 0.33, 0.33]
    )
    score = rng.uniform(0, 1, ROWS)
    return [
        (times[i], float(age[i]), float(income[i]), str(regions[i]), float(score[i]))
        for i in range(ROWS)
    ]


def source_tables(dsn: str) -> None:
    """Three inference logs: drifted, clean, and one with no rows in the current window."""
    now = datetime.now(UTC)
    baseline_start, baseline_span = now - timedelta(days=16), timedelta(days=13)
    # The current window is the last day before each run; rows end a minute before now
    # and start early enough to stay inside it for the whole module.
    current_start, current_span = now - timedelta(hours=20), timedelta(hours=19, minutes=59)
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        for table, drift, current in (
            ("inference_log", True, True),
            ("clean_log", False, True),
            ("baseline_only_log", False, False),
        ):
            cursor.execute(
                f"CREATE TABLE {table} (ts timestamptz NOT NULL, age double precision, "
                "income double precision, region text, score double precision)"
            )
            rows = _rows(baseline_start, baseline_span, False, 1)
            if current:
                rows += _rows(current_start, current_span, drift, 2)
            psycopg2.extras.execute_values(
                cursor, f"INSERT INTO {table} VALUES %s", rows, page_size=5000
            )
    conn.close()


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, str]]:
    """A source database with three tables (drifted, clean, baseline only) and a migrated
    results database, on a real PostgreSQL server."""
    with PostgresServer.start() as server:
        source = server.create_database("operator_source")
        results = server.create_database("operator_results")
        engine = create_engine(results)
        upgrade(engine)
        engine.dispose()
        source_tables(server.dsn("operator_source"))
        yield {"source": source, "results": results, "results_dsn": server.dsn("operator_results")}


# --- cluster objects --------------------------------------------------------------------


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def crds(admin_api: k8s.ApiClient) -> None:
    extensions = k8s.ApiextensionsV1Api(admin_api)
    custom = k8s.CustomObjectsApi(admin_api)
    plurals = []
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        for crd in _documents(path):
            extensions.patch_custom_resource_definition(
                crd["metadata"]["name"],
                crd,
                field_manager="driftwarden-tests",
                force=True,
                _content_type="application/apply-patch+yaml",
            )
            plurals.append(crd["spec"]["names"]["plural"])

    def served() -> bool:
        try:
            for plural in plurals:
                custom.list_cluster_custom_object(GROUP, VERSION, plural)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    wait_for(served, 60, "the CRDs are not served")


@pytest.fixture(scope="module")
def operator_rights(admin_api: k8s.ApiClient, crds: None) -> None:
    """The `operator` user gets the operator's ClusterRole and nothing else, so the
    operator under test runs with exactly the rights it ships with. Idempotent: other
    modules import this fixture, and the control plane lives for the whole session."""
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    name = "driftwarden-operator-test"
    role = cluster_role(name)
    try:
        rbac.create_cluster_role(role)
    except ApiException as e:
        if e.status != 409:
            raise
        rbac.replace_cluster_role(name, role)  # the rules as this code ships them
    binding = {
        "metadata": {"name": name},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": name,
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "operator"}],
    }
    try:
        rbac.create_cluster_role_binding(binding)
    except ApiException as e:
        if e.status != 409:
            raise


@pytest.fixture
def monitor_class(admin_api: k8s.ApiClient, crds: None) -> Iterator[str]:
    """A MonitorClass of this test (cluster-scoped) whose Pods read `results`/url."""
    name = f"class-{secrets.token_hex(4)}"
    custom = k8s.CustomObjectsApi(admin_api)
    custom.create_cluster_custom_object(
        GROUP,
        VERSION,
        "monitorclasses",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "MonitorClass",
            "metadata": {"name": name},
            "spec": {
                "image": "ignored.example/driftwarden:test",
                "serviceAccountName": "default",
                "resultsSecretRef": {"name": "results", "key": "url"},
            },
        },
    )
    yield name
    custom.delete_cluster_custom_object(GROUP, VERSION, "monitorclasses", name)


@pytest.fixture
def secrets_in(
    admin_api: k8s.ApiClient, namespace: str, databases: dict[str, str]
) -> dict[str, str]:
    core = k8s.CoreV1Api(admin_api)
    for name, url in (("inference-db", databases["source"]), ("results", databases["results"])):
        core.create_namespaced_secret(
            namespace, {"metadata": {"name": name}, "stringData": {"url": url}}
        )
    return databases


class OperatorProcess:
    """`driftwarden operator` as a subprocess (so a test can kill it like a Pod)."""

    def __init__(
        self,
        plane: ControlPlane,
        namespace: str,
        log: Path,
        *extra: str,
        name: str = "test",
        kubeconfig: Path | None = None,
    ) -> None:
        self.plane, self.namespace, self.log_path = plane, namespace, log
        self.extra, self.name = extra, name
        self.kubeconfig = kubeconfig or plane.kubeconfig("operator")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        exe = shutil.which("driftwarden", path=str(Path(sys.executable).parent))
        assert exe is not None
        env = {
            **os.environ,
            "POD_NAME": f"driftwarden-operator-{self.name}",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("KUBECONFIG", None)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    exe,
                    "operator",
                    "--namespace",
                    self.namespace,
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "--liveness",
                    f"http://127.0.0.1:{self.port}/healthz",
                    *(self.extra or ("--watch-inactivity-timeout", "30")),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        if wait:
            wait_for(self.alive, 60, self.tail)

    def alive(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the operator exited {self.process.returncode}: {self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def operator(
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    pod_runner: PodRunner,
    operator_rights: None,
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(control_plane, namespace, tmp_path / "operator.log")
    process.start()
    yield process
    process.stop()


def _monitor(name: str, klass: str, table: str = "inference_log", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": name, "labels": {"team": "risk-ml"}},
        "spec": {
            "monitorClassName": klass,
            "model": {"name": "credit-scoring", "version": "3.2.0"},
            "schedule": {"cron": "0 0 1 1 *"},
            "source": {
                "postgres": {
                    "connectionSecretRef": {"name": "inference-db", "key": "url"},
                    "table": table,
                    "timestampColumn": "ts",
                }
            },
            "baseline": {"relative": {"length": "14d", "endOffset": "2d"}},
            "current": {"relative": {"length": "1d"}},
            "features": [
                {"name": "age", "type": "numeric"},
                {"name": "income", "type": "numeric"},
                {"name": "region", "type": "categorical"},
            ],
            "prediction": {"column": "score", "type": "probability"},
            "minSamples": 200,
        },
    }
    body["spec"].update(spec)
    return body


def _apply(api: k8s.ApiClient, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply as a user would (`kubectl apply --server-side`)."""
    custom = k8s.CustomObjectsApi(api)
    result: dict[str, Any] = custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        body["metadata"]["name"],
        body,
        field_manager="kubectl",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    return result


def _get(api: k8s.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", name
    )
    return found


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return dict(cond)
    return {}


def _run_now(api: k8s.ApiClient, namespace: str, name: str, value: str) -> None:
    k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        name,
        {"metadata": {"annotations": {"driftwarden.io/run-now": value}}},
    )


def _await(
    api: k8s.ApiClient,
    namespace: str,
    name: str,
    check: Callable[[dict[str, Any]], bool],
    operator: OperatorProcess,
    timeout: float = RUN_TIMEOUT,
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.clear()
        seen.update(_get(api, namespace, name))
        return check(seen)

    wait_for(
        done,
        timeout,
        lambda: (
            f"status: {json.dumps(seen.get('status'), indent=1)}\noperator log:\n" + operator.tail()
        ),
    )
    return copy.deepcopy(seen)


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj.get("status") or {})


def _last_run(obj: dict[str, Any]) -> str:
    return str(obj.get("status", {}).get("lastRun", {}).get("id", ""))


def _run_job(obj: dict[str, Any]) -> str:
    """The Job part of the last run's id (`<namespace>/<Job name>`): the test namespaces'
    names come from the tests' and may hold "-now-" themselves."""
    return _last_run(obj).rpartition("/")[2]


def _run_rows(dsn: str, run_id: str) -> tuple[int, int]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM monitor_runs WHERE run_id = %s", (run_id,))
            runs = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM drift_results WHERE run_id = %s", (run_id,))
            drift = cursor.fetchone()
    finally:
        conn.close()
    assert runs is not None
    assert drift is not None
    return int(runs[0]), int(drift[0])


def _events(api: k8s.ApiClient, namespace: str, name: str) -> list[Any]:
    events = k8s.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    )
    return list(events.items)


# --- tests ---------------------------------------------------------------------------------


def test_run_now_and_the_cron_schedule_fill_status_with_the_drifted_features(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    """run-now, then a real one-minute CronJob: CronJob -> Job -> Pod -> run -> status."""
    _apply(admin_api, namespace, _monitor("credit", monitor_class))
    ready = _await(
        admin_api,
        namespace,
        "credit",
        lambda o: _condition(o, "Ready").get("status") == "True",
        operator,
        60,
    )
    assert _condition(ready, "LastRunSucceeded")["reason"] == "AwaitingFirstRun"
    batch = k8s.BatchV1Api(admin_api)
    cronjob = batch.read_namespaced_cron_job("credit", namespace)
    assert cronjob.spec.time_zone == "Etc/UTC"
    assert cronjob.metadata.labels.get("team") is None  # our labels, not the owner's
    assert cronjob.metadata.owner_references[0].name == "credit"

    _run_now(admin_api, namespace, "credit", "first")
    now_run = _await(
        admin_api,
        namespace,
        "credit",
        lambda o: "-now-" in _run_job(o),
        operator,
    )
    status = now_run["status"]
    assert _condition(now_run, "LastRunSucceeded")["status"] == "True", status
    assert _condition(now_run, "DriftDetected")["status"] == "True", status
    drifted = {f["name"] for f in status["topDriftedFeatures"]}
    assert {"income", "region"} <= drifted, status
    assert "age" not in drifted, status
    assert status["severity"] in ("warning", "critical")
    assert status["lastRunNowRequest"] == "first"
    assert _run_rows(secrets_in["results_dsn"], _last_run(now_run))[0] == 1
    assert _run_rows(secrets_in["results_dsn"], _last_run(now_run))[1] > 0
    reasons = {e.reason for e in _events(admin_api, namespace, "credit")}
    assert {"RunSucceeded"} <= reasons or {"CriticalDrift", "WarningDrift"} & reasons, reasons

    # The same request value again starts nothing; a new value starts one more Job.
    jobs = batch.list_namespaced_job(namespace, label_selector="driftwarden.io/run-trigger=run-now")
    assert len(jobs.items) == 1

    # kubectl prints the columns.
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        out = subprocess.run(
            [kubectl, "--kubeconfig", str(control_plane.kubeconfig("admin")), "get", "mm", "-A"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        described = subprocess.run(
            [
                kubectl,
                "--kubeconfig",
                str(control_plane.kubeconfig("admin")),
                "describe",
                "mm",
                "-n",
                namespace,
                "credit",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert "DriftDetected" in described
        record = os.environ.get("DRIFTWARDEN_KUBECTL_OUT")
        if record:  # for the README: the real output of this run
            Path(record).write_text(
                f"$ kubectl get mm -A\n{out}\n$ kubectl describe mm\n{described}"
            )
        header = out.splitlines()[0]
        for column in ("MODEL", "SCHEDULE", "LAST RUN", "HEALTH", "SEVERITY", "DRIFTED", "READY"):
            assert column in header, out
        assert "credit-scoring" in out

    # A real CronJob run: every minute, then the run-now schedule is restored.
    k8s.CustomObjectsApi(admin_api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        "credit",
        {"spec": {"schedule": {"cron": "* * * * *"}}},
    )
    scheduled = _await(
        admin_api,
        namespace,
        "credit",
        lambda o: _run_job(o).startswith("credit-") and "-now-" not in _run_job(o),
        operator,
        RUN_TIMEOUT + 60,
    )
    run_id = _last_run(scheduled)
    assert _condition(scheduled, "DriftDetected")["status"] == "True"
    assert _run_rows(secrets_in["results_dsn"], run_id)[0] == 1
    # The Job's name carries its scheduled minute, which the run resolved its windows at.
    minutes = int(run_id.rsplit("-", 1)[1])
    conn = psycopg2.connect(secrets_in["results_dsn"])
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT * FROM monitor_runs WHERE run_id = %s", (run_id,))
            names = [d[0] for d in cursor.description or []]
            row = dict(zip(names, cursor.fetchone() or (), strict=True))
    finally:
        conn.close()
    scheduled_at = row.get("scheduled_at")
    if isinstance(scheduled_at, datetime):
        assert scheduled_at == datetime.fromtimestamp(minutes * 60, tz=UTC)


def test_a_clean_table_gives_no_drift(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    body = _monitor("clean", monitor_class, table="clean_log")
    body["metadata"]["annotations"] = {"driftwarden.io/run-now": "1"}
    _apply(admin_api, namespace, body)
    done = _await(admin_api, namespace, "clean", lambda o: bool(_last_run(o)), operator)
    assert _condition(done, "LastRunSucceeded")["status"] == "True", done["status"]
    assert _condition(done, "DriftDetected")["status"] == "False", done["status"]
    assert _condition(done, "DriftDetected")["reason"] == "NoDrift"
    events = _events(admin_api, namespace, "clean")
    assert events, "no Event for the run"
    for event in events:  # reported as the operator's Pod
        assert event.reporting_instance == "driftwarden-operator-test"
        assert event.reporting_component == "driftwarden-operator"


def test_failures_name_their_cause_and_the_next_good_run_clears_them(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    """A missing table, a missing Secret, an empty window: LastRunSucceeded False with a
    reason naming the cause; a good run afterwards makes it True again."""
    cases = {
        "no-table": (_monitor("no-table", monitor_class, table="no_such_table"), "TableNotFound"),
        "no-secret": (
            _monitor(
                "no-secret",
                monitor_class,
                source={
                    "postgres": {
                        "connectionSecretRef": {"name": "missing", "key": "url"},
                        "table": "inference_log",
                        "timestampColumn": "ts",
                    }
                },
            ),
            "SecretNotFound",
        ),
        "empty": (_monitor("empty", monitor_class, table="baseline_only_log"), "InsufficientData"),
    }
    for body, _ in cases.values():
        body["metadata"]["annotations"] = {"driftwarden.io/run-now": "1"}
        _apply(admin_api, namespace, body)
    for name, (_, reason) in cases.items():
        failed = _await(admin_api, namespace, name, lambda o: bool(_last_run(o)), operator)
        cond = _condition(failed, "LastRunSucceeded")
        assert (cond["status"], cond["reason"]) == ("False", reason), failed["status"]
        warnings = [e for e in _events(admin_api, namespace, name) if e.type == "Warning"]
        assert any(e.reason == reason for e in warnings), [e.reason for e in warnings]

    # Fix the table and ask again: the next good run clears the failure.
    fixed = _monitor("no-table", monitor_class)
    fixed["metadata"]["annotations"] = {"driftwarden.io/run-now": "2"}
    _apply(admin_api, namespace, fixed)
    cleared = _await(
        admin_api,
        namespace,
        "no-table",
        lambda o: _condition(o, "LastRunSucceeded").get("status") == "True",
        operator,
    )
    assert _condition(cleared, "DriftDetected")["status"] == "True"
    reasons = {e.reason for e in _events(admin_api, namespace, "no-table")}
    assert "RunRecovered" in reasons, reasons


def test_spec_edit_updates_the_cronjob_once_and_deletion_removes_children(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    body = _monitor("edited", monitor_class)
    body["metadata"]["annotations"] = {"driftwarden.io/run-now": "a"}
    _apply(admin_api, namespace, body)
    _await(admin_api, namespace, "edited", lambda o: bool(_last_run(o)), operator)
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    before = batch.read_namespaced_cron_job("edited", namespace)
    assert before.metadata.generation == 1

    # GitOps: nothing of kopf's on the user's object; a server-side dry-run apply of the
    # original manifest changes nothing.
    live = _get(admin_api, namespace, "edited")
    assert not [k for k in live["metadata"].get("annotations", {}) if "kopf" in k]
    assert not live["metadata"].get("finalizers")
    dry = k8s.CustomObjectsApi(admin_api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        "edited",
        body,
        field_manager="kubectl",
        force=True,
        dry_run="All",
        _content_type="application/apply-patch+yaml",
    )
    assert dry["metadata"]["generation"] == live["metadata"]["generation"]
    assert dry["spec"] == live["spec"]
    assert dry["metadata"].get("annotations") == live["metadata"].get("annotations")

    edited = copy.deepcopy(body)
    edited["spec"]["minSamples"] = 300
    _apply(admin_api, namespace, edited)
    _await(
        admin_api,
        namespace,
        "edited",
        lambda o: (
            o["status"].get("observedGeneration") == o["metadata"]["generation"]
            and _condition(o, "Ready").get("status") == "True"
        ),
        operator,
        60,
    )
    after = batch.read_namespaced_cron_job("edited", namespace)
    assert after.metadata.generation == 2
    # More reconciles of the same spec (an unrelated annotation) leave the CronJob alone.
    k8s.CustomObjectsApi(admin_api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", "edited", {"metadata": {"labels": {"x": "y"}}}
    )
    _run_now(admin_api, namespace, "edited", "b")
    _await(
        admin_api,
        namespace,
        "edited",
        lambda o: o["status"].get("lastRunNowRequest") == "b",
        operator,
        60,
    )
    assert batch.read_namespaced_cron_job("edited", namespace).metadata.generation == 2
    # A deleted CronJob is put back.
    batch.delete_namespaced_cron_job("edited", namespace)

    def recreated() -> bool:
        try:
            found = batch.read_namespaced_cron_job("edited", namespace)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return bool(found.metadata.uid != after.metadata.uid)

    wait_for(recreated, 60, operator.tail)
    maps = core.list_namespaced_config_map(
        namespace, label_selector="driftwarden.io/monitor=edited"
    )
    assert len(maps.items) == 2  # one immutable ConfigMap per spec hash
    assert all(m.immutable for m in maps.items)

    k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", "edited"
    )
    selector = "driftwarden.io/monitor=edited"

    def children_gone() -> bool:
        return not (
            batch.list_namespaced_cron_job(namespace, label_selector=selector).items
            or batch.list_namespaced_job(namespace, label_selector=selector).items
            or core.list_namespaced_config_map(namespace, label_selector=selector).items
        )

    wait_for(children_gone, 90, "the CronJob, Jobs and ConfigMaps outlived their monitor")


def test_a_job_that_ends_while_the_operator_is_down_is_ingested_once_after_a_restart(
    admin_api: k8s.ApiClient,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    """SIGKILL the operator once the run-now Job exists; the Job finishes while it is down;
    the restarted operator catches up: one Job, one run row, status filled."""
    batch = k8s.BatchV1Api(admin_api)
    body = _monitor("restarted", monitor_class)
    body["metadata"]["annotations"] = {"driftwarden.io/run-now": "once"}
    _apply(admin_api, namespace, body)
    selector = "driftwarden.io/monitor=restarted,driftwarden.io/run-trigger=run-now"
    wait_for(
        lambda: batch.list_namespaced_job(namespace, label_selector=selector).items,
        60,
        operator.tail,
    )
    operator.stop(signal.SIGKILL)

    def job_ended() -> bool:
        (job,) = batch.list_namespaced_job(namespace, label_selector=selector).items
        return bool(job.status.succeeded or job.status.failed)

    wait_for(job_ended, RUN_TIMEOUT, "the run-now Job did not end")
    assert not _last_run(_get(admin_api, namespace, "restarted"))  # nobody ingested it yet

    operator.start()
    # The ingest and the monitor's reconcile both run at start-up and write the status
    # separately: wait for both, in either order.
    done = _await(
        admin_api,
        namespace,
        "restarted",
        lambda o: bool(_last_run(o)) and _status(o).get("lastRunNowRequest") == "once",
        operator,
    )
    assert _condition(done, "LastRunSucceeded")["status"] == "True", done["status"]

    def ingested() -> Any:
        (job,) = batch.list_namespaced_job(namespace, label_selector=selector).items
        marked = (job.metadata.annotations or {}).get("driftwarden.io/ingested-uid")
        return job if marked == job.metadata.uid else None

    # The Job is marked just after the status is written: poll, do not race it.
    job = wait_for(ingested, 30, "the ended Job was never marked as ingested")
    assert _run_rows(secrets_in["results_dsn"], f"{namespace}/{job.metadata.name}")[0] == 1
    # A second restart finds nothing new: no second Job, no new Events of the run.
    events = len(_events(admin_api, namespace, "restarted"))
    operator.stop(signal.SIGKILL)
    operator.start()
    _run_now(admin_api, namespace, "restarted", "once")  # the same value: nothing to do
    k8s.CustomObjectsApi(admin_api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        "restarted",
        {"metadata": {"labels": {"a": "b"}}},
    )
    wait_for(
        lambda: _get(admin_api, namespace, "restarted")["metadata"]["labels"].get("a") == "b",
        30,
        "label not applied",
    )
    assert len(batch.list_namespaced_job(namespace, label_selector=selector).items) == 1
    assert len(_events(admin_api, namespace, "restarted")) == events


def test_two_replicas_one_acts_and_the_other_takes_over_within_the_lease(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    pod_runner: PodRunner,
    operator_rights: None,
    tmp_path: Path,
) -> None:
    """Leader election through a Lease: one Job per run-now request with two replicas, and
    after the leader is SIGKILLed the other acts within the lease duration."""
    lease = ("--leader-elect", "--lease-namespace", namespace, "--lease-seconds", "6")
    lease += ("--watch-inactivity-timeout", "30")
    first = OperatorProcess(control_plane, namespace, tmp_path / "a.log", *lease, name="a")
    second = OperatorProcess(control_plane, namespace, tmp_path / "b.log", *lease, name="b")
    coordination = k8s.CoordinationV1Api(admin_api)

    def holder() -> str:
        try:
            found = coordination.read_namespaced_lease("driftwarden-operator", namespace)
        except ApiException as e:
            if e.status == 404:
                return ""
            raise
        return str(found.spec.holder_identity or "")

    try:
        first.start(wait=False)
        wait_for(lambda: holder() == "driftwarden-operator-a", 60, first.tail)
        wait_for(first.alive, 60, first.tail)
        second.start(wait=False)
        body = _monitor("elected", monitor_class)
        body["metadata"]["annotations"] = {"driftwarden.io/run-now": "1"}
        _apply(admin_api, namespace, body)
        ran = _await(admin_api, namespace, "elected", lambda o: bool(_last_run(o)), first)
        batch = k8s.BatchV1Api(admin_api)
        selector = "driftwarden.io/monitor=elected,driftwarden.io/run-trigger=run-now"
        assert len(batch.list_namespaced_job(namespace, label_selector=selector).items) == 1
        assert not second.alive()  # the follower serves nothing: it does not act

        first.stop(signal.SIGKILL)
        wait_for(lambda: holder() == "driftwarden-operator-b", 30, second.tail)
        wait_for(second.alive, 60, second.tail)
        _run_now(admin_api, namespace, "elected", "2")
        _await(
            admin_api,
            namespace,
            "elected",
            lambda o: _last_run(o) not in ("", _last_run(ran)),
            second,
        )
        assert len(batch.list_namespaced_job(namespace, label_selector=selector).items) == 2
    finally:
        first.stop()
        second.stop()


def _api_port(plane: ControlPlane) -> int:
    return int(plane.server.rsplit(":", 1)[1])


def _via_proxy(plane: ControlPlane, proxy: FaultProxy | HttpFaultProxy, folder: Path) -> Path:
    """The operator's kubeconfig, pointed at the proxy."""
    config = yaml.safe_load(plane.kubeconfig("operator").read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    kubeconfig = folder / "via-proxy.yaml"
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig


def test_a_black_holed_watch_reconnects_and_changes_made_meanwhile_are_handled(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    pod_runner: PodRunner,
    operator_rights: None,
    tmp_path: Path,
) -> None:
    """Every connection of the operator silently dead for longer than the watch inactivity
    timeout (a dropped NAT entry): once the network is back, a run-now request made during
    the outage is acted on and ingested."""
    proxy = FaultProxy(_api_port(control_plane))
    kubeconfig = _via_proxy(control_plane, proxy, tmp_path)
    inactivity = 5
    operator = OperatorProcess(
        control_plane,
        namespace,
        tmp_path / "operator.log",
        "--watch-inactivity-timeout",
        str(inactivity),
        kubeconfig=kubeconfig,
    )
    try:
        operator.start()
        _apply(admin_api, namespace, _monitor("holed", monitor_class))
        _await(
            admin_api,
            namespace,
            "holed",
            lambda o: _condition(o, "Ready").get("status") == "True",
            operator,
            60,
        )
        proxy.black_hole()
        before = proxy.connections
        _run_now(admin_api, namespace, "holed", "during-outage")
        # The watches notice their streams went silent (the inactivity timeout) and open
        # new connections, which are dead too while the hole lasts.
        wait_for(
            lambda: proxy.connections > before,
            6 * inactivity,
            "the watches never gave up on their dead streams",
        )
        assert not _last_run(_get(admin_api, namespace, "holed"))
        proxy.restore()
        _await(  # the ingest and the reconcile write the status separately, in any order
            admin_api,
            namespace,
            "holed",
            lambda o: bool(_last_run(o)) and _status(o).get("lastRunNowRequest") == "during-outage",
            operator,
        )
    finally:
        operator.stop()
        proxy.stop()


@pytest.mark.parametrize("answer", ["event", "http"])
def test_a_410_gone_on_the_jobs_watch_relists_and_ingests_every_run_exactly_once(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    pod_runner: PodRunner,
    operator_rights: None,
    tmp_path: Path,
    answer: str,
) -> None:
    """The Jobs and Pods watches go down while three run-now Jobs end, and their
    reconnections are answered with 410 Gone (the version they would resume from has
    expired): as the API server's own ERROR event (`event`) or as an HTTP 410 response
    (`http`). The events in between are lost for good; the operator must re-list, ingest
    each ended run exactly once although the Job and its Pod both say it ended (one run
    row, one ingested mark, lastRun right, no Event twice) and carry on watching."""
    plane = control_plane
    assert plane.pki is not None
    tls = ProxyTLS(plane.pki.serving_cert, plane.pki.serving_key, plane.ca_file)
    proxy = HttpFaultProxy(_api_port(plane), tls)
    operator = OperatorProcess(
        plane,
        namespace,
        tmp_path / "operator.log",
        "--watch-inactivity-timeout",
        "120",  # longer than the outage: the held watch request must not give up first
        kubeconfig=_via_proxy(plane, proxy, tmp_path),
    )
    names = [f"gone-{answer}-{i}" for i in range(3)]
    batch = k8s.BatchV1Api(admin_api)
    selector = "driftwarden.io/run-trigger=run-now"

    def jobs() -> dict[str, Any]:
        found = batch.list_namespaced_job(namespace, label_selector=selector).items
        return {j.metadata.labels["driftwarden.io/monitor"]: j for j in found}

    def jobs_watched() -> bool:
        return any(watched_resource(r.split(" ", 1)[1]) == "jobs" for r in list(proxy.requests))

    try:
        operator.start()
        for name in names:
            _apply(admin_api, namespace, _monitor(name, monitor_class))
        for name in names:
            _await(
                admin_api,
                namespace,
                name,
                lambda o: _condition(o, "Ready").get("status") == "True",
                operator,
                60,
            )
        wait_for(jobs_watched, 30, "the operator never watched the Jobs")
        # The Pods watch too: a Pod that Succeeded ends its run as well as its Job does.
        proxy.expire_watches(("jobs", "pods"), answer)  # type: ignore[arg-type]
        wait_for(lambda: proxy.held >= 2, 30, "the Jobs and Pods watches never reconnected")
        for name in names:
            _run_now(admin_api, namespace, name, "1")

        def ended() -> bool:
            found = jobs()
            return len(found) == len(names) and all(
                j.status.succeeded or j.status.failed for j in found.values()
            )

        wait_for(ended, RUN_TIMEOUT, lambda: f"the run-now Jobs did not end\n{operator.tail()}")
        # The watches are down: nothing has seen the runs end yet.
        assert not [n for n in names if _last_run(_get(admin_api, namespace, n))]
        before = len(proxy.requests)
        proxy.release()
        wait_for(lambda: proxy.gone >= 1, 30, "no 410 Gone reached the operator")
        for name in names:
            _await(
                admin_api,
                namespace,
                name,
                lambda o: bool(_last_run(o)) and _status(o).get("lastRunNowRequest") == "1",
                operator,
            )
        relists = [
            r
            for r in proxy.requests[before:]
            if r.startswith("GET ") and "/jobs?" in r and not watched_resource(r.split(" ", 1)[1])
        ]
        assert relists, proxy.requests[before:]
        rewatched = [r for r in proxy.requests[before:] if watched_resource(r.split(" ", 1)[1])]
        assert any("/jobs?" in r for r in rewatched), rewatched  # forwarded, not held

        ran = jobs()
        for name in names:
            job = ran[name]

            def marked(name: str = name) -> Any:
                job = jobs()[name]
                mark = (job.metadata.annotations or {}).get("driftwarden.io/ingested-uid")
                return job if mark == job.metadata.uid else None

            wait_for(marked, 30, f"the Job of {name} was never marked as ingested")
            done = _get(admin_api, namespace, name)
            run_id = f"{namespace}/{job.metadata.name}"
            assert _last_run(done) == run_id
            assert _condition(done, "LastRunSucceeded")["status"] == "True", done["status"]
            assert _run_rows(secrets_in["results_dsn"], run_id)[0] == 1

        # It carries on: the next run's end comes through the re-established watch.
        _run_now(admin_api, namespace, names[0], "2")
        _await(
            admin_api,
            namespace,
            names[0],
            lambda o: _last_run(o) not in ("", f"{namespace}/{ran[names[0]].metadata.name}"),
            operator,
        )
        made = batch.list_namespaced_job(namespace, label_selector=selector).items
        assert len(made) == len(names) + 1  # no Job of the first requests was made again
        for name in names:
            events = _events(admin_api, namespace, name)
            twice = [k for k, n in Counter((e.reason, e.message) for e in events).items() if n > 1]
            assert not twice, twice
            assert all((e.count or 1) == 1 for e in events), [(e.reason, e.count) for e in events]
        assert operator.alive()  # carried on in the same process
    finally:
        operator.stop()
        proxy.stop()


_WRITES = re.compile(
    r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.MULTILINE
)


def _write_counts(plane: ControlPlane) -> dict[tuple[str, str, str], float]:
    """The API server's own count of writes, by (verb, resource, subresource)."""
    context = ssl.create_default_context(cafile=str(plane.ca_file))
    request = urllib.request.Request(
        f"{plane.server}/metrics", headers={"Authorization": f"Bearer {plane.tokens['admin']}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        text = response.read().decode()
    counts: dict[tuple[str, str, str], float] = {}
    for match in _WRITES.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels.get("verb") not in ("POST", "PUT", "PATCH", "DELETE", "APPLY"):
            continue
        key = (labels["verb"], labels.get("resource", ""), labels.get("subresource", ""))
        counts[key] = counts.get(key, 0.0) + float(match["value"])
    return counts


def test_a_restart_over_unchanged_monitors_writes_nothing(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    operator: OperatorProcess,
) -> None:
    """The idle cost: the operator replays every monitor, Job, Pod and CronJob when it starts;
    for monitors whose objects and status are already right it writes nothing (counted by
    the API server itself)."""
    names = [f"idle-{i}" for i in range(4)]
    for name in names:
        body = _monitor(name, monitor_class)
        body["metadata"]["annotations"] = {"driftwarden.io/run-now": "1"}
        _apply(admin_api, namespace, body)
    for name in names:
        _await(admin_api, namespace, name, lambda o: bool(_last_run(o)), operator)
    operator.stop()
    before = _write_counts(control_plane)
    operator.start()
    # A barrier: a new monitor reconciled after the restart's initial listing.
    _apply(admin_api, namespace, _monitor("idle-barrier", monitor_class))
    _await(
        admin_api,
        namespace,
        "idle-barrier",
        lambda o: _condition(o, "Ready").get("status") == "True",
        operator,
        60,
    )
    after = _write_counts(control_plane)
    grown = {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}
    # The barrier itself: its server-side apply, its ConfigMap, its CronJob, its status.
    assert grown.get(("PATCH", "modelmonitors", "status"), 0) == 1, grown
    assert grown.get(("POST", "cronjobs", ""), 0) == 1, grown
    assert grown.get(("POST", "configmaps", ""), 0) == 1, grown
    for write in (("PUT", "cronjobs", ""), ("PATCH", "jobs", ""), ("POST", "jobs", "")):
        assert grown.get(write, 0) == 0, grown
