"""Alert history and acknowledgement against real servers: Debian's Alertmanager started on
loopback by the test, the operator (`driftwarden operator`, a subprocess) on the real control
plane, and a real PostgreSQL server holding the alerts table.

Alerts are posted to Alertmanager's API (as Prometheus would); Alertmanager routes every
notification to the operator's receiver. Shown: a notification lands in `alerts` once
however often it is sent; resolved updates it; an acknowledgement annotation becomes a
silence that Alertmanager reports active and that suppresses the alert; withdrawing it
expires the silence; a maintenance window gets a silence for its next occurrence.

`start_alertmanager` is a starter of this module's own; tests/promstack.py (the metrics
branch) will hold the shared one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pg import PostgresServer

from cluster.controlplane import ControlPlane, free_port, wait_for
from cluster.plugin import cluster_required
from cluster.podrunner import PodRunner
from cluster.test_operator import (  # the operator's fixtures and helpers
    OperatorProcess,
    _apply,
    _events,
    _get,
    _monitor,
    crds,
    operator_rights,
)
from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.operator.api import GROUP, VERSION

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

__all__ = ["crds", "operator_rights"]  # fixtures used by name

ALERTMANAGER = os.environ.get("DRIFTWARDEN_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
TIMEOUT = 90.0
ACK = "driftwarden.io/acknowledge"


# --- Alertmanager ----------------------------------------------------------------------------


@dataclass
class Alertmanager:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw.strip() else None

    def post_alert(self, labels: dict[str, str], annotations: dict[str, str], **times: str) -> None:
        self.call(
            "POST", "/api/v2/alerts", [{"labels": labels, "annotations": annotations, **times}]
        )

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        found: list[dict[str, Any]] = self.call("GET", f"/api/v2/alerts?{query}")
        return found

    def silences(self, **labels: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        found: list[dict[str, Any]] = self.call("GET", f"/api/v2/silences?{query}")
        return found

    def silence(self, silence_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/api/v2/silence/{silence_id}")
        return found

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def start_alertmanager(config: str, workdir: Path) -> Alertmanager:
    """Debian's Alertmanager on a free loopback port, no clustering, state in `workdir`."""
    binary = shutil.which(ALERTMANAGER) or shutil.which("alertmanager")
    if binary is None:
        message = f"{ALERTMANAGER} is missing: install Debian's prometheus-alertmanager"
        if cluster_required():  # CI never skips (.ci/run installs it)
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(config)
    port = free_port()
    log = workdir / "alertmanager.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    manager = Alertmanager(process, f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"alertmanager exited {process.returncode}: {manager.tail()}")
        try:
            with urllib.request.urlopen(f"{manager.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_for(ready, 30, manager.tail)
    return manager


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class Stack:
    dsn: str
    url: str
    receiver_port: int
    alertmanager: Alertmanager


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """PostgreSQL with the migrated results database, and an Alertmanager routing every
    alert to the operator's receiver port (the operator binds it in each test)."""
    receiver_port = free_port()
    config = f"""
route:
  receiver: operator
  group_by: [namespace, monitor]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: operator
    webhook_configs:
      - url: http://127.0.0.1:{receiver_port}/alertmanager/webhook
        send_resolved: true
"""
    with PostgresServer.start() as server:
        url = server.create_database("alert_history")
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        manager = start_alertmanager(config, tmp_path_factory.mktemp("alertmanager"))
        try:
            yield Stack(server.dsn("alert_history"), url, receiver_port, manager)
        finally:
            stop_process(manager.process)


@pytest.fixture
def operator(
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    pod_runner: PodRunner,
    operator_rights: None,
    stack: Stack,
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(
        control_plane,
        namespace,
        tmp_path / "operator.log",
        "--watch-inactivity-timeout",
        "30",
        "--database-url",
        stack.url,
        "--alert-receiver-port",
        str(stack.receiver_port),
        "--alertmanager-url",
        stack.alertmanager.url,
        "--alert-sync-interval",
        "1",
    )
    process.start()
    yield process
    process.stop()


# --- helpers ---------------------------------------------------------------------------------


def _rows(dsn: str, namespace: str, monitor: str) -> list[dict[str, Any]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT alert_id, state, fingerprint, notifications, severity, affected_features, "
                "recommended_action, resolved_at, acknowledged_by, alertname, message "
                "FROM alerts WHERE monitor_namespace = %s AND monitor_name = %s",
                (namespace, monitor),
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()


def _labels(namespace: str, monitor: str) -> dict[str, str]:
    return {
        "alertname": "DriftwardenDriftCritical",
        "namespace": namespace,
        "monitor": monitor,
        "model": "credit-scoring",
        "severity": "critical",
        "drift_type": "data",
    }


ANNOTATIONS = {
    "summary": "2/3 features drifted in risk/credit",
    "features": "income, region",
    "recommended_action": "check the upstream ETL, then retrain on the last 30 days",
}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _fire(stack: Stack, namespace: str, monitor: str, starts: datetime) -> None:
    stack.alertmanager.post_alert(
        _labels(namespace, monitor),
        ANNOTATIONS,
        startsAt=_iso(starts),
        endsAt=_iso(starts + timedelta(hours=1)),
    )


def _await_rows(
    stack: Stack, namespace: str, monitor: str, check: Any, operator: OperatorProcess
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def done() -> bool:
        seen[:] = _rows(stack.dsn, namespace, monitor)
        return bool(check(seen))

    wait_for(
        done,
        TIMEOUT,
        lambda: (
            f"rows: {seen}\noperator:\n{operator.tail()}\nalertmanager:\n"
            + stack.alertmanager.tail()
        ),
    )
    return seen


def _annotate(api: k8s.ApiClient, namespace: str, name: str, value: str | None) -> None:
    k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        name,
        {"metadata": {"annotations": {ACK: value}}},
    )


def _await_status(
    api: k8s.ApiClient, namespace: str, name: str, check: Any, operator: OperatorProcess
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.clear()
        seen.update(_get(api, namespace, name).get("status", {}).get("alerting") or {})
        return bool(check(seen))

    wait_for(done, TIMEOUT, lambda: f"status.alerting: {seen}\noperator:\n{operator.tail()}")
    return dict(seen)


# --- tests -----------------------------------------------------------------------------------


def test_a_notification_lands_once_however_often_it_is_sent_and_resolved_updates_it(
    namespace: str, operator: OperatorProcess, stack: Stack
) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    _fire(stack, namespace, "credit", starts)
    (row,) = _await_rows(stack, namespace, "credit", lambda r: len(r) == 1, operator)
    assert row["state"] == "firing"
    assert row["severity"] == "critical"
    assert row["alertname"] == "DriftwardenDriftCritical"
    assert row["affected_features"] == ["income", "region"]
    assert row["recommended_action"] == ANNOTATIONS["recommended_action"]
    assert row["message"] == ANNOTATIONS["summary"]
    assert len(row["fingerprint"]) == 16

    # Sent again (Prometheus re-sends every evaluation; Alertmanager repeats every 2 s here):
    # still one row, the notifications counted.
    _fire(stack, namespace, "credit", starts)
    rows = _await_rows(
        stack, namespace, "credit", lambda r: r and r[0]["notifications"] >= 3, operator
    )
    assert len(rows) == 1
    assert rows[0]["alert_id"] == row["alert_id"]

    # Resolved: Alertmanager sends the resolved notification, the row is resolved.
    ended = datetime.now(UTC).replace(microsecond=0)
    stack.alertmanager.post_alert(
        _labels(namespace, "credit"), ANNOTATIONS, startsAt=_iso(starts), endsAt=_iso(ended)
    )
    (resolved,) = _await_rows(
        stack, namespace, "credit", lambda r: r and r[0]["state"] == "resolved", operator
    )
    assert resolved["resolved_at"] == ended
    assert resolved["alert_id"] == row["alert_id"]


def test_an_acknowledgement_is_a_silence_that_withdrawing_expires(
    admin_api: k8s.ApiClient, namespace: str, operator: OperatorProcess, stack: Stack
) -> None:
    manager = stack.alertmanager
    _apply(admin_api, namespace, _monitor("credit", "no-such-class"))
    _fire(stack, namespace, "credit", datetime.now(UTC).replace(microsecond=0))
    _await_rows(stack, namespace, "credit", lambda r: len(r) == 1, operator)

    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    request = {"by": "alice@example.com", "until": _iso(until), "reason": "ETL fix, ML-123"}
    _annotate(admin_api, namespace, "credit", json.dumps(request))
    status = _await_status(
        admin_api,
        namespace,
        "credit",
        lambda s: (s.get("acknowledgement") or {}).get("silenceId"),
        operator,
    )
    ack = status["acknowledgement"]
    assert (ack["by"], ack["reason"], ack["message"]) == (
        "alice@example.com",
        "ETL fix, ML-123",
        "",
    )
    silence = manager.silence(ack["silenceId"])
    assert silence["status"]["state"] == "active"
    assert silence["createdBy"] == "alice@example.com"
    assert silence["comment"].startswith("ETL fix, ML-123")
    assert datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) == until
    matchers = {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]}
    assert matchers == {("namespace", namespace, False), ("monitor", "credit", False)}

    # Alertmanager suppresses the alert with that silence; the history marks it.
    def suppressed() -> bool:
        (alert,) = manager.alerts(namespace=namespace, monitor="credit")
        return bool(
            alert["status"]["state"] == "suppressed"
            and ack["silenceId"] in alert["status"]["silencedBy"]
        )

    wait_for(suppressed, TIMEOUT, lambda: str(manager.alerts(namespace=namespace)))
    (row,) = _await_rows(
        stack, namespace, "credit", lambda r: r and r[0]["state"] == "acknowledged", operator
    )
    assert row["acknowledged_by"] == "alice@example.com"

    # Withdrawn: the silence expires, the alert is active again, the row firing again.
    _annotate(admin_api, namespace, "credit", None)
    _await_status(admin_api, namespace, "credit", lambda s: not s.get("acknowledgement"), operator)
    wait_for(
        lambda: manager.silence(ack["silenceId"])["status"]["state"] == "expired",
        TIMEOUT,
        lambda: str(manager.silence(ack["silenceId"])),
    )
    wait_for(
        lambda: (
            manager.alerts(namespace=namespace, monitor="credit")[0]["status"]["state"] == "active"
        ),
        TIMEOUT,
        lambda: str(manager.alerts(namespace=namespace)),
    )
    _await_rows(stack, namespace, "credit", lambda r: r and r[0]["state"] == "firing", operator)
    # However many times the monitor was synced meanwhile, it had exactly one silence.
    # (every sync after the first found it and made none: one silence, one Event).
    ours = manager.silences(namespace=namespace, monitor="credit")
    assert len(ours) == 1, ours
    reasons = [e.reason for e in _events(admin_api, namespace, "credit")]
    assert reasons.count("Acknowledged") == 1, reasons
    assert reasons.count("AcknowledgementWithdrawn") == 1, reasons


def test_a_silence_lost_by_alertmanager_is_made_again_once(
    admin_api: k8s.ApiClient, namespace: str, operator: OperatorProcess, stack: Stack
) -> None:
    """Restarted operator, and the silence gone from Alertmanager (as after a restart of an
    Alertmanager without persistence): the periodic pass makes exactly one new silence."""
    manager = stack.alertmanager
    _apply(admin_api, namespace, _monitor("credit", "no-such-class"))
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    _annotate(
        admin_api,
        namespace,
        "credit",
        json.dumps({"by": "bob", "until": _iso(until), "reason": "r"}),
    )
    first = _await_status(
        admin_api,
        namespace,
        "credit",
        lambda s: (s.get("acknowledgement") or {}).get("silenceId"),
        operator,
    )["acknowledgement"]["silenceId"]
    operator.stop()
    operator.start()
    manager.call("DELETE", f"/api/v2/silence/{first}")
    second = _await_status(
        admin_api,
        namespace,
        "credit",
        lambda s: (s.get("acknowledgement") or {}).get("silenceId") not in (None, first),
        operator,
    )["acknowledgement"]["silenceId"]
    states = {s["id"]: s["status"]["state"] for s in manager.silences(namespace=namespace)}
    assert states == {first: "expired", second: "active"}
    reasons = [e.reason for e in _events(admin_api, namespace, "credit")]
    assert reasons.count("Acknowledged") == 2, reasons


def test_a_malformed_acknowledgement_is_refused_with_a_warning(
    admin_api: k8s.ApiClient, namespace: str, operator: OperatorProcess, stack: Stack
) -> None:
    _apply(admin_api, namespace, _monitor("credit", "no-such-class"))
    _annotate(admin_api, namespace, "credit", '{"by": "bob"}')
    status = _await_status(
        admin_api,
        namespace,
        "credit",
        lambda s: (s.get("acknowledgement") or {}).get("message"),
        operator,
    )
    assert "until" in status["acknowledgement"]["message"]
    assert "silenceId" not in status["acknowledgement"]
    assert stack.alertmanager.silences(namespace=namespace) == []
    wait_for(
        lambda: (
            "InvalidAcknowledgement" in {e.reason for e in _events(admin_api, namespace, "credit")}
        ),
        TIMEOUT,
        "no InvalidAcknowledgement event",
    )


def test_a_maintenance_window_is_silenced_ahead_of_its_next_occurrence(
    admin_api: k8s.ApiClient, namespace: str, operator: OperatorProcess, stack: Stack
) -> None:
    manager = stack.alertmanager
    soon = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    later = soon + timedelta(days=2)
    windows = [
        {"name": "nightly-etl", "cron": f"{soon.minute} {soon.hour} * * *", "duration": "90m"},
        {"name": "migration", "start": _iso(later), "end": _iso(later + timedelta(hours=4))},
    ]
    monitor = _monitor("credit", "no-such-class", alerting={"maintenanceWindows": windows})
    _apply(admin_api, namespace, monitor)
    status = _await_status(
        admin_api,
        namespace,
        "credit",
        lambda s: len(s.get("maintenanceSilences") or []) == 2,
        operator,
    )
    nightly, migration = status["maintenanceSilences"]
    assert nightly["window"] == "nightly-etl"
    assert migration["window"] == "migration"
    silence = manager.silence(nightly["silenceId"])
    assert silence["status"]["state"] == "pending"
    assert silence["createdBy"] == "driftwarden-operator"
    starts = datetime.fromisoformat(silence["startsAt"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert (starts, ends) == (soon, soon + timedelta(minutes=90))
    assert manager.silence(migration["silenceId"])["status"]["state"] == "pending"
    assert "MaintenanceSilenced" in {e.reason for e in _events(admin_api, namespace, "credit")}

    # The window removed from the spec: its silence is expired, the other one stays.
    _apply(
        admin_api,
        namespace,
        _monitor("credit", "no-such-class", alerting={"maintenanceWindows": windows[1:]}),
    )
    _await_status(
        admin_api,
        namespace,
        "credit",
        lambda s: len(s.get("maintenanceSilences") or []) == 1,
        operator,
    )
    assert manager.silence(nightly["silenceId"])["status"]["state"] == "expired"
    assert manager.silence(migration["silenceId"])["status"]["state"] == "pending"
    reasons = [e.reason for e in _events(admin_api, namespace, "credit")]
    assert reasons.count("MaintenanceSilenced") == 2, reasons

    # The monitor deleted while the operator is down (it never sees the deletion): once
    # back, its periodic pass finds the silence of a monitor that is gone and expires it.
    operator.stop()
    k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", "credit"
    )
    wait_for(
        lambda: (
            not k8s.CustomObjectsApi(admin_api).list_namespaced_custom_object(
                GROUP, VERSION, namespace, "modelmonitors"
            )["items"]
        ),
        TIMEOUT,
        "the monitor is not deleted",
    )
    assert manager.silence(migration["silenceId"])["status"]["state"] == "pending"
    operator.start()
    wait_for(
        lambda: manager.silence(migration["silenceId"])["status"]["state"] == "expired",
        TIMEOUT,
        lambda: f"{manager.silence(migration['silenceId'])}\noperator:\n{operator.tail()}",
    )


def test_the_alertmanager_client_against_the_real_one(stack: Stack) -> None:
    """The adapter's calls and typed errors, on the real API (no control plane needed)."""
    from driftwarden.operator.alerting.alertmanager import (
        AlertmanagerClient,
        AlertmanagerRejectedError,
        AlertmanagerUnavailableError,
        NewSilence,
    )

    client = AlertmanagerClient(stack.alertmanager.url)
    now = datetime.now(UTC)
    labels = {"namespace": "client-test", "monitor": "m"}
    silence_id = client.create_silence(
        NewSilence(labels, now, now + timedelta(hours=1), "tester", "c [driftwarden:x]")
    )
    (found,) = client.silences(labels)
    assert (found.id, found.state, found.created_by) == (silence_id, "active", "tester")
    assert client.silences({"namespace": "client-test", "monitor": "other"}) == []
    client.expire_silence(silence_id)
    client.expire_silence(silence_id)  # expired already: nothing to do
    found_again = client.silence(silence_id)
    assert found_again is not None
    assert found_again.state == "expired"
    with pytest.raises(AlertmanagerRejectedError, match="HTTP 400"):
        client.create_silence(NewSilence(labels, now, now - timedelta(hours=1), "t", "ends first"))
    with pytest.raises(AlertmanagerUnavailableError, match="Alertmanager GET /api/v2/silences"):
        AlertmanagerClient(f"http://127.0.0.1:{free_port()}", timeout=2).silences(labels)
    with pytest.raises(ValueError, match="--alertmanager-url"):
        AlertmanagerClient("ftp://alertmanager")


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"name": "w", "cron": "0 2 * * *"}, "sets cron and duration, or start and end"),
        (
            {"name": "w", "cron": "0 2 * * *", "duration": "1h", "start": "2026-12-01T00:00:00Z"},
            "sets cron and duration, or start and end",
        ),
        (
            {"name": "w", "start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
            "start must be before its end",
        ),
        ({"name": "w", "cron": "0 2 * * *", "duration": "30s"}, "duration must be at least 1m"),
        ({"name": "W!", "cron": "0 2 * * *", "duration": "1h"}, "name"),
    ],
)
def test_the_api_server_refuses_unusable_maintenance_windows(
    admin_api: k8s.ApiClient, namespace: str, crds: None, window: dict[str, Any], message: str
) -> None:
    monitor = _monitor("credit", "no-such-class", alerting={"maintenanceWindows": [window]})
    with pytest.raises(ApiException) as refused:
        _apply(admin_api, namespace, monitor)
    assert refused.value.status == 422
    assert message in str(refused.value.body)
