"""A drift alert end to end, through the real servers: the operator on the real control
plane (pod runner, real PostgreSQL for the inference log and the results) serves
/metrics and its Alertmanager receiver; a real Prometheus scrapes it and evaluates the
shipped rules (charts/driftwarden/files/alert-rules.yaml, with the one documented test
override: 1 s evaluation, `for:` 0 s); a real Alertmanager runs examples/alertmanager.yaml
with the pager and chat receivers pointed at a webhook served by this test (a path each),
the copy route at the operator's own receiver, and group timings of a second.

From a drifted table the alert reaches the pager with the monitor's labels and
annotations naming the drifted features and their statistics, and the operator's alerts
table (`driftwarden alerts`) has it; an acknowledgement (the annotation) silences it in
Alertmanager and withdrawing it un-silences it; once the data is fixed and a clean run
follows, the resolved notification arrives and the table's row is resolved. Every wait polls with a
timeout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import pytest
import yaml
from kubernetes import client as k8s
from prometheus_client.parser import text_string_to_metric_families
from promstack import (
    Alertmanager,
    Prometheus,
    WebhookReceiver,
    free_port,
    poll,
    require,
    shorten_rules,
)

from cluster.controlplane import ControlPlane
from cluster.podrunner import PodRunner
from cluster.test_operator import (
    OperatorProcess,
    _apply,
    _await,
    _condition,
    _last_run,
    _monitor,
    _rows,
    _run_now,
    crds,
    databases,
    monitor_class,
    operator_rights,
    secrets_in,
)
from driftwarden.operator.api import GROUP, VERSION
from driftwarden.operator.reconcile.naming import short_hash

__all__ = ["crds", "databases", "monitor_class", "operator_rights", "secrets_in"]  # fixtures

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.monitoring, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "charts" / "driftwarden" / "files" / "alert-rules.yaml"
EXAMPLE = ROOT / "examples" / "alertmanager.yaml"
DASHBOARD = ROOT / "charts" / "driftwarden" / "files" / "dashboard.json"
#: Dashboard panels the test cannot fill (none: a manual RetrainPolicy governs the monitor,
#: so its decisions fill "Retraining decisions").
PANELS_WITHOUT_DATA: set[str] = set()
ALERT_TIMEOUT = 90.0


def alertmanager_config(hook: str, operator_receiver: str | None = None) -> dict[str, Any]:
    """examples/alertmanager.yaml with the pager and chat receivers webhooks of the test (a
    path each), the operator's copy to `operator_receiver` (else the test's webhook too),
    and group timings of a second; routes and inhibition as shipped."""
    config: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    receivers = []
    for receiver in config["receivers"]:
        url = f"{hook}/{receiver['name']}"
        if receiver.get("webhook_configs") and operator_receiver:
            url = operator_receiver
        receivers.append(
            {"name": receiver["name"], "webhook_configs": [{"url": url, "send_resolved": True}]}
        )
    config["receivers"] = receivers
    routes = [config["route"], *config["route"].get("routes", [])]
    for route in routes:
        route.update({"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"})
    return config


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://")


def add_labels(source_url: str) -> None:
    """Give the inference log a label column (so runs measure performance): defaulted
    with probability `score`, as a calibrated model's outcomes would be."""
    conn = psycopg2.connect(_dsn(source_url))
    with conn, conn.cursor() as cursor:
        cursor.execute("ALTER TABLE inference_log ADD COLUMN defaulted boolean")
        cursor.execute("UPDATE inference_log SET defaulted = random() < score")
    conn.close()


def fix_the_data(source_url: str) -> None:
    """Replace the drifted table's current window by rows drawn like the baseline."""
    dsn = _dsn(source_url)
    now = datetime.now(UTC)
    start, span = now - timedelta(hours=20), timedelta(hours=19, minutes=59)
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM inference_log WHERE ts > %s", (now - timedelta(days=2),))
        psycopg2.extras.execute_values(
            cursor,
            "INSERT INTO inference_log (ts, age, income, region, score) VALUES %s",
            _rows(start, span, False, 7),
        )
        cursor.execute(
            "UPDATE inference_log SET defaulted = random() < score WHERE defaulted IS NULL"
        )
    conn.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[WebhookReceiver, Alertmanager, int]]:
    """The test's webhook and an Alertmanager whose copy route goes to the operator's
    receiver on the port returned (the operator is started on it by the test)."""
    require("prometheus", "alertmanager")
    receiver_port = free_port()
    receiver = f"http://127.0.0.1:{receiver_port}/alertmanager/webhook"
    with (
        WebhookReceiver.start() as hook,
        Alertmanager.start(alertmanager_config(hook.url, receiver)) as am,
    ):
        yield hook, am, receiver_port


def _annotate(api: k8s.ApiClient, namespace: str, name: str, value: str | None) -> None:
    """Set (or with None remove) the acknowledgement annotation, as kubectl annotate does."""
    k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        name,
        {"metadata": {"annotations": {"driftwarden.io/acknowledge": value}}},
    )


def stored_alerts(results_url: str, namespace: str, name: str) -> list[dict[str, Any]]:
    """`driftwarden alerts --monitor NS/NAME --state all -o json`, as a user runs it."""
    exe = shutil.which("driftwarden", path=str(Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run(
        [exe, "alerts", "--monitor", f"{namespace}/{name}", "--state", "all", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DRIFTWARDEN_DATABASE_URL": results_url},
    )
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_a_drift_alert_fires_and_resolves_through_prometheus_and_alertmanager(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    pod_runner: PodRunner,
    operator_rights: None,
    stack: tuple[WebhookReceiver, Alertmanager, int],
    tmp_path: Path,
) -> None:
    hook, am, receiver_port = stack
    port = free_port()
    operator = OperatorProcess(
        control_plane,
        namespace,
        tmp_path / "operator.log",
        "--watch-inactivity-timeout",
        "30",
        "--metrics-port",
        str(port),
        "--database-url",
        secrets_in["results"],
        "--alert-receiver-port",
        str(receiver_port),
        "--alertmanager-url",
        am.url,
    )
    operator.start()
    rules = shorten_rules(RULES, tmp_path / "alert-rules.yaml")
    try:
        with Prometheus.start(
            scrape=[f"127.0.0.1:{port}"], rule_files=[rules], alertmanager=am.address
        ) as prom:
            _drift_then_resolve(
                admin_api, namespace, monitor_class, secrets_in, operator, prom, hook, am
            )
    finally:
        operator.stop()


def _drift_then_resolve(
    api: k8s.ApiClient,
    namespace: str,
    klass: str,
    databases: dict[str, str],
    operator: OperatorProcess,
    prom: Prometheus,
    hook: WebhookReceiver,
    am: Alertmanager,
) -> None:
    add_labels(databases["source"])
    began = time.time()
    body = _monitor("credit", klass, labels={"column": "defaulted", "task": "binary"})
    body["spec"]["alerting"] = {"labels": {"team": "risk-ml", "cost_center": "42"}}
    _apply(api, namespace, body)
    _await(
        api,
        namespace,
        "credit",
        lambda o: _condition(o, "Ready").get("status") == "True",
        operator,
        60,
    )
    poll(prom.targets_up, 60, lambda: f"Prometheus cannot scrape the operator:\n{operator.tail()}")
    # A policy that asks a person before retraining: its decision is counted, nothing trains.
    k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "retrainpolicies", _manual_policy("credit")
    )

    # A drifted window: the verdict reaches the pager (and the operator's copy).
    _run_now(api, namespace, "credit", "drifted")
    drifted_run = f"{namespace}/credit-now-{short_hash('drifted')}"
    drifted = _await(api, namespace, "credit", lambda o: _last_run(o) == drifted_run, operator)
    verdict = _condition(drifted, "DriftDetected")
    assert verdict["status"] == "True", drifted["status"]
    critical = verdict["reason"] == "CriticalDrift"
    alertname = "DriftwardenDriftCritical" if critical else "DriftwardenDriftWarning"
    receiver = "pager" if critical else "chat"
    match = {"alertname": alertname, "namespace": namespace, "monitor": "credit"}

    def firing() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(n, a) for n, a in hook.alerts("firing", match) if n["path"] == f"/{receiver}"]

    note, alert = poll(
        firing,
        ALERT_TIMEOUT,
        lambda: (
            f"no {alertname} at /{receiver}; Prometheus: {prom.alerts()}; "
            f"received: {hook.notifications()}"
        ),
    )[0]
    labels = alert["labels"]
    assert labels["severity"] == ("critical" if critical else "warning")
    assert labels["component"] == "driftwarden"
    assert labels["model"] == "credit-scoring"
    assert labels["model_version"] == "3.2.0"
    assert labels["team"] == "risk-ml"
    assert labels["cost_center"] == "42"
    assert note["groupLabels"] == {
        "namespace": namespace,
        "monitor": "credit",
        "alertname": alertname,
    }
    annotations = alert["annotations"]
    assert f"{namespace}/credit" in annotations["summary"]
    assert annotations["runbook_url"].endswith(f"/docs/runbook.md#{alertname.lower()}")
    described = dict(re.findall(r"(\w+) \((\w+ [0-9.e+-]+)\)", annotations["description"]))
    assert {"income", "region"} <= set(described), annotations["description"]
    assert "age" not in described, annotations["description"]
    for feature, text in described.items():
        method, value = text.split()
        series = prom.query(
            f'driftwarden_feature_statistic{{namespace="{namespace}",monitor="credit",'
            f'feature="{feature}",method="{method}"}}'
        )
        assert f"{float(series[0]['value'][1]):.3g}" == value, (feature, series)

    # The operator's receiver got its copy: the alerts table has it.
    def recorded(state: str) -> list[dict[str, Any]]:
        rows = stored_alerts(databases["results"], namespace, "credit")
        return [r for r in rows if r["alertname"] == alertname and r["state"] == state]

    (row,) = poll(
        lambda: recorded("firing"),
        ALERT_TIMEOUT,
        lambda: f"no firing row: {stored_alerts(databases['results'], namespace, 'credit')}",
    )
    assert row["severity"] == labels["severity"]
    assert set(row["affected_features"]) == set(annotations["features"].split(","))
    assert {"income", "region"} <= set(row["affected_features"])
    assert row["message"] == annotations["summary"]
    assert row["labels"]["team"] == "risk-ml"

    # An acknowledgement silences it in Alertmanager; withdrawing it un-silences it.
    def states() -> list[str]:
        return [
            a["status"]["state"]
            for a in am.alerts()
            if a["labels"].get("alertname") == alertname and a["labels"].get("monitor") == "credit"
        ]

    until = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = {"by": "alice@example.com", "until": until, "reason": "ETL fix, ML-123"}
    _annotate(api, namespace, "credit", json.dumps(request))
    poll(
        lambda: states() == ["suppressed"],
        ALERT_TIMEOUT,
        lambda: f"{am.alerts()}\n{operator.tail()}",
    )
    (acked,) = poll(lambda: recorded("acknowledged"), ALERT_TIMEOUT, "the row is not acknowledged")
    assert acked["acknowledged_by"] == "alice@example.com"
    (silence,) = [s for s in am.silences() if s["status"]["state"] == "active"]
    assert silence["createdBy"] == "alice@example.com"
    _annotate(api, namespace, "credit", None)
    poll(lambda: states() == ["active"], ALERT_TIMEOUT, lambda: f"{am.alerts()}\n{operator.tail()}")
    poll(lambda: recorded("firing"), ALERT_TIMEOUT, "the row is not firing again")

    # The data is fixed; a clean run resolves the alert.
    fix_the_data(databases["source"])
    _run_now(api, namespace, "credit", "fixed")
    clean_run = f"{namespace}/credit-now-{short_hash('fixed')}"
    clean = _await(api, namespace, "credit", lambda o: _last_run(o) == clean_run, operator)
    assert _condition(clean, "DriftDetected")["status"] == "False", clean["status"]

    def resolved() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(n, a) for n, a in hook.alerts("resolved", match) if n["path"] == f"/{receiver}"]

    _, gone = poll(
        resolved,
        ALERT_TIMEOUT,
        lambda: (
            f"no resolved {alertname}; Prometheus: {prom.alerts()}; "
            f"received: {hook.notifications()}"
        ),
    )[0]
    assert gone["labels"] == labels
    assert gone["endsAt"] >= alert["startsAt"]
    (closed,) = poll(lambda: recorded("resolved"), ALERT_TIMEOUT, "the alerts table kept it open")
    assert closed["alert_id"] == row["alert_id"]  # the same alert, now resolved
    assert closed["resolved_at"] is not None

    # Every panel of the shipped dashboard has data in this Prometheus, over the test.
    assert panels_without_data(prom, namespace, "credit", began) == PANELS_WITHOUT_DATA


def _manual_policy(monitor: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RetrainPolicy",
        "metadata": {"name": monitor},
        "spec": {
            "monitorRef": {"name": monitor},
            "triggers": [{"severity": "warning"}],
            "cooldown": "1h",
            "approval": "manual",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "train", "image": "registry.example/t:1"}],
                            "restartPolicy": "Never",
                        }
                    }
                }
            },
        },
    }


def panels_without_data(prom: Prometheus, namespace: str, monitor: str, since: float) -> set[str]:
    """Titles of the dashboard's panels none of whose queries returned a sample between
    `since` and now (the variables set to this monitor, $__rate_interval to 15s)."""
    board = json.loads(DASHBOARD.read_text())
    empty = set()
    for panel in board["panels"]:
        targets = panel.get("targets") or []
        if not targets:
            continue
        found = False
        for target in targets:
            expr = (
                target["expr"]
                .replace("$namespace", namespace)
                .replace("$monitor", monitor)
                .replace("$__rate_interval", "15s")
            )
            series = prom.query_range(expr, since, time.time())
            found = found or any(s["values"] for s in series)
        if not found:
            empty.add(panel["title"])
    return empty


def _scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _of(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> dict[frozenset[tuple[str, str]], float]:
    return {
        key: value
        for (metric, key), value in samples.items()
        if metric == name and set(labels.items()) <= key
    }


def test_a_restart_republishes_without_a_run_and_forgets_monitors_deleted_meanwhile(
    admin_api: k8s.ApiClient,
    control_plane: ControlPlane,
    namespace: str,
    monitor_class: str,
    secrets_in: dict[str, str],
    pod_runner: PodRunner,
    operator_rights: None,
    tmp_path: Path,
) -> None:
    port = free_port()
    args = ("--metrics-port", str(port), "--database-url", secrets_in["results"])

    def start(log: str) -> OperatorProcess:
        process = OperatorProcess(control_plane, namespace, tmp_path / log, *args)
        process.start()
        return process

    operator = start("first.log")
    try:
        _apply(admin_api, namespace, _monitor("kept", monitor_class))
        _apply(admin_api, namespace, _monitor("deleted", monitor_class))
        _run_now(admin_api, namespace, "kept", "once")
        run_id = f"{namespace}/kept-now-{short_hash('once')}"
        _await(admin_api, namespace, "kept", lambda o: _last_run(o) == run_id, operator)
        before = poll(
            lambda: _of(_scrape(port), "driftwarden_feature_statistic", monitor="kept"),
            30,
            "no feature series for the run",
        )
        assert {dict(k)["feature"] for k in before} >= {"age", "income", "region"}
        assert _of(
            _scrape(port), "driftwarden_monitor_schedule_interval_seconds", monitor="deleted"
        )
    finally:
        operator.stop()

    k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", "deleted"
    )
    operator = start("second.log")
    try:
        after = poll(
            lambda: _of(_scrape(port), "driftwarden_feature_statistic", monitor="kept"),
            60,
            lambda: f"nothing republished:\n{operator.tail()}",
        )
        assert after == before  # every feature of every method, from the results database
        samples = _scrape(port)
        assert set(
            _of(samples, "driftwarden_monitor_feature_results_complete", monitor="kept").values()
        ) == {1}
        assert _of(samples, "driftwarden_monitor_severity", monitor="kept")
        assert not [k for (_, k) in samples if ("monitor", "deleted") in k]
        runs = _of(samples, "driftwarden_monitor_runs_total", monitor="kept")
        assert set(runs.values()) == {0}  # a counter of this process: no run since the restart
    finally:
        operator.stop()
