"""The generated CRDs on the real API server: install, CEL rules, examples, columns, dry-run.

Every CEL rule of the generated CRDs has a bad example here that the API server must refuse
with the rule's message on the field it names; a rule without one fails the suite.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import utils as k8s_utils
from kubernetes.client.exceptions import ApiException

from cluster.controlplane import ControlPlane, wait_for
from driftwarden.detectors.config import Severity
from driftwarden.operator.api import GROUP, VERSION, ModelMonitor, RetrainPolicy, RunSummary
from driftwarden.operator.api.crd import RESOURCES, walk
from driftwarden.operator.api.modelmonitor import (
    DriftedFeature,
    MetricChange,
    RunOutcome,
    WindowRows,
)
from driftwarden.operator.reconcile.monitor import (
    PlannerSettings,
    plan_config_map,
    plan_cronjob,
    plan_run_now_job,
    spec_hash,
)
from driftwarden.operator.reconcile.naming import ANNOTATION_RUN_NOW
from driftwarden.operator.reconcile.retrain import (
    MonitorRuns,
    decide_retrain,
    plan_policy_status,
)
from driftwarden.operator.reconcile.status import plan_accepted, plan_run_finished

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
PLURALS = {"ModelMonitor": "modelmonitors", "RetrainPolicy": "retrainpolicies"}


def _manifests(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict):
                found.append((path.name, document))
    return found


ALL_EXAMPLES = [
    (name, doc)
    for name, doc in _manifests(ROOT / "examples")
    if "apiVersion" in doc and "kind" in doc
]
EXAMPLES = [
    (name, doc) for name, doc in ALL_EXAMPLES if str(doc["apiVersion"]).startswith(f"{GROUP}/")
]
OTHER_EXAMPLES = [(name, doc) for name, doc in ALL_EXAMPLES if (name, doc) not in EXAMPLES]


def _example(kind: str, name: str) -> dict[str, Any]:
    for _, document in EXAMPLES:
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return copy.deepcopy(document)
    raise LookupError(f"no {kind} {name} in examples/")


@pytest.fixture(scope="module")
def crds(admin_api: k8s.ApiClient) -> None:
    """The committed crds/*.yaml, installed (server-side apply) and served.

    Left installed afterwards: applying is idempotent, objects live in per-test namespaces,
    and other modules of the session may use the same CRDs.
    """
    extensions = k8s.ApiextensionsV1Api(admin_api)
    custom = k8s.CustomObjectsApi(admin_api)
    installed = []
    for _, crd in _manifests(ROOT / "crds"):
        name = crd["metadata"]["name"]
        extensions.patch_custom_resource_definition(
            name,
            crd,
            field_manager="driftwarden-tests",
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        installed.append((name, crd["spec"]["names"]["plural"]))

    for name, plural in installed:

        def established(name: str = name) -> bool:
            found = extensions.read_custom_resource_definition(name)
            return any(
                c.type == "Established" and c.status == "True"
                for c in (found.status.conditions or [])
            )

        def served(plural: str = plural) -> bool:
            try:
                custom.list_cluster_custom_object(GROUP, VERSION, plural)
            except ApiException as e:
                if e.status == 404:
                    return False
                raise
            return True

        wait_for(established, 30, f"CRD {name} not Established")
        wait_for(served, 30, f"{plural} not served")


def _create(
    api: k8s.ApiClient, namespace: str, document: dict[str, Any], dry_run: bool = False
) -> dict[str, Any]:
    body = copy.deepcopy(document)
    body["metadata"]["namespace"] = namespace
    created: dict[str, Any] = k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURALS[body["kind"]],
        body,
        dry_run="All" if dry_run else None,
    )
    return created


def _refusal(api: k8s.ApiClient, namespace: str, document: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ApiException) as info:
        _create(api, namespace, document, dry_run=True)
    assert info.value.status == 422, info.value.body
    status: dict[str, Any] = json.loads(info.value.body)
    return status


# --- install -------------------------------------------------------------------------------------


def test_crds_install_with_names_and_categories(admin_api: k8s.ApiClient, crds: None) -> None:
    resources = k8s.CustomObjectsApi(admin_api).get_api_resources(GROUP, VERSION)
    by_name = {r.name: r for r in resources.resources}
    assert by_name["modelmonitors"].short_names == ["mm"]
    assert by_name["retrainpolicies"].short_names == ["rp"]
    assert by_name["modelmonitors"].categories == ["driftwarden"]
    assert by_name["retrainpolicies"].categories == ["driftwarden"]
    assert {"modelmonitors/status", "retrainpolicies/status"} <= set(by_name)
    assert by_name["modelmonitors"].namespaced


@pytest.mark.parametrize(("filename", "document"), EXAMPLES, ids=lambda v: str(v)[:40])
def test_every_example_is_accepted(
    admin_api: k8s.ApiClient, namespace: str, crds: None, filename: str, document: dict[str, Any]
) -> None:
    created = _create(admin_api, namespace, document)
    # What the server stored (defaults applied) still reads as the model.
    model = {"ModelMonitor": ModelMonitor, "RetrainPolicy": RetrainPolicy}[created["kind"]]
    model.model_validate(created)
    if created["kind"] == "ModelMonitor":
        assert created["spec"]["schedule"]["startingDeadlineSeconds"] == 300
        assert created["spec"]["decision"] == {
            "alpha": document["spec"].get("decision", {}).get("alpha", 0.05),
            "bins": 10,
        }
    else:
        assert created["spec"]["maxConcurrent"] == document["spec"].get("maxConcurrent", 1)


@pytest.mark.skipif(not OTHER_EXAMPLES, reason="examples/ holds only driftwarden resources")
@pytest.mark.parametrize(("filename", "document"), OTHER_EXAMPLES, ids=lambda v: str(v)[:40])
def test_every_other_example_manifest_passes_dry_run(
    admin_api: k8s.ApiClient, namespace: str, filename: str, document: dict[str, Any]
) -> None:
    created = k8s_utils.create_from_dict(admin_api, document, namespace=namespace, dry_run="All")
    assert created


# --- CEL rules: each refuses its own bad example -----------------------------------------------

MONITOR = ("ModelMonitor", "credit-scoring")
POLICY = ("RetrainPolicy", "credit-scoring")

# (base example, dotted path to change, new value or ... to delete, field in the error, message)
BAD_EXAMPLES: list[tuple[tuple[str, str], str, Any, str, str]] = [
    (MONITOR, "spec.features", [], "spec.features", "features must list at least one feature"),
    (
        MONITOR,
        "spec.schedule.cron",
        "every six hours",
        "spec.schedule.cron",
        "cron must have five fields",
    ),
    (
        MONITOR,
        "spec.source.files",
        {"path": "/data/*.parquet", "timestampColumn": "ts"},
        "spec.source",
        "source must set exactly one of postgres or files",
    ),
    (
        MONITOR,
        "spec.baseline",
        {"relative": {"length": "30d"}, "start": "2026-01-01T00:00:00Z"},
        "spec.baseline",
        "a window is either relative or absolute (start and end), not both",
    ),
    (
        MONITOR,
        "spec.current",
        {"start": "2026-01-01T00:00:00Z"},
        "spec.current",
        "an absolute window needs both start and end",
    ),
    (
        MONITOR,
        "spec.baseline",
        {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        "spec.baseline.start",
        "window start must be before its end",
    ),
    (
        MONITOR,
        "spec.current.relative.length",
        "0h",
        "spec.current.relative.length",
        "window length must be positive",
    ),
    (
        MONITOR,
        "spec.features.1.thresholds.psi",
        {"warning": 0.3, "critical": 0.2},
        "spec.features[1].thresholds.psi.warning",
        "warning must not exceed critical",
    ),
    (
        MONITOR,
        "spec.performance",
        {"warning": 0.3, "critical": 0.1},
        "spec.performance.warning",
        "warning must not exceed critical",
    ),
    (
        MONITOR,
        "spec.alerting.labels",
        {"team-name": "risk"},
        "spec.alerting.labels",
        "alerting.labels keys must be Prometheus label names",
    ),
    (
        POLICY,
        "spec.monitorSelector",
        {"matchLabels": {"team": "risk"}},
        "spec",
        "set exactly one of monitorRef and monitorSelector",
    ),
    (POLICY, "spec.cooldown", "0d", "spec.cooldown", "cooldown must be positive"),
    (
        POLICY,
        "spec.triggers",
        [{"severity": "critical", "modelAge": "30d"}],
        "spec.triggers[0]",
        "a trigger sets exactly one of severity, performanceDrop or modelAge",
    ),
    (
        POLICY,
        "spec.triggers",
        [{"modelAge": "30d", "persistFor": "1h"}],
        "spec.triggers[0].persistFor",
        "persistFor applies only to a severity trigger",
    ),
    (
        POLICY,
        "spec.jobTemplate.spec.template.spec.containers",
        [],
        "spec.jobTemplate.spec.template.spec.containers",
        "jobTemplate.spec.template.spec.containers must list at least one container",
    ),
]


def _changed(base: tuple[str, str], path: str, value: Any) -> dict[str, Any]:
    document = _example(*base)
    *parents, last = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return document


def test_every_cel_rule_has_a_bad_example() -> None:
    from driftwarden.operator.api.crd import custom_resource_definition

    messages = set()
    for resource in RESOURCES:
        schema = custom_resource_definition(resource)["spec"]["versions"][0]["schema"]
        for _, node in walk(schema["openAPIV3Schema"]):
            messages |= {rule["message"] for rule in node.get("x-kubernetes-validations", [])}
    covered = {message for *_, message in BAD_EXAMPLES}
    uncovered = {m for m in messages if not any(c in m for c in covered)}
    assert uncovered == set(), "CEL rules without a bad example"


@pytest.mark.parametrize(
    ("base", "path", "value", "field", "message"),
    BAD_EXAMPLES,
    ids=[f"{b[0]}:{p}" for b, p, *_ in BAD_EXAMPLES],
)
def test_cel_rule_refuses_its_bad_example(
    admin_api: k8s.ApiClient,
    namespace: str,
    crds: None,
    base: tuple[str, str],
    path: str,
    value: Any,
    field: str,
    message: str,
) -> None:
    status = _refusal(admin_api, namespace, _changed(base, path, value))
    causes = status["details"]["causes"]
    assert any(
        cause.get("field") == field and message in cause.get("message", "") for cause in causes
    ), json.dumps(causes, indent=1)


def test_duplicate_feature_names_are_refused(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    document = _changed(MONITOR, "spec.features", [{"name": "age"}, {"name": "age"}])
    status = _refusal(admin_api, namespace, document)
    assert any(
        cause.get("field") == "spec.features[1]" and cause.get("reason") == "FieldValueDuplicate"
        for cause in status["details"]["causes"]
    ), status


def test_secrets_are_references_only(admin_api: k8s.ApiClient, namespace: str, crds: None) -> None:
    document = _changed(MONITOR, "spec.source.postgres.connectionSecretRef", {"name": "db"})
    status = _refusal(admin_api, namespace, document)
    assert "spec.source.postgres.connectionSecretRef.key: Required value" in status["message"]


# --- status and printer columns -----------------------------------------------------------------

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _critical_summary(run_id: str) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        started_at=NOW - timedelta(minutes=2),
        finished_at=NOW,
        outcome=RunOutcome.SUCCEEDED,
        rows=WindowRows(baseline=812_331, current=40_512),
        labelled_rows=9_000,
        severity=Severity.CRITICAL,
        drift_severity=Severity.CRITICAL,
        health_score=71.2,
        drifted_features=3,
        total_features=25,
        top_drifted=[
            DriftedFeature(name="income", method="psi", statistic=0.31, severity=Severity.CRITICAL)
        ],
        performance=[MetricChange(metric="roc_auc", baseline=0.84, current=0.83, drop=0.01)],
    )


def _monitor_with_status(admin_api: k8s.ApiClient, namespace: str) -> dict[str, Any]:
    custom = k8s.CustomObjectsApi(admin_api)
    created = _create(admin_api, namespace, _example(*MONITOR))
    monitor = ModelMonitor.model_validate(created)
    monitor = monitor.model_copy(
        update={"status": plan_accepted(monitor, spec_hash(monitor), NOW).status}
    )
    plan = plan_run_finished(monitor, _critical_summary("credit-scoring-29400000"), NOW)
    patched: dict[str, Any] = custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        monitor.metadata.name,
        {"status": plan.status.model_dump(mode="json", by_alias=True, exclude_none=True)},
        _content_type="application/merge-patch+json",
    )
    return patched


def _policy_with_status(admin_api: k8s.ApiClient, namespace: str) -> dict[str, Any]:
    custom = k8s.CustomObjectsApi(admin_api)
    document = _example(*POLICY)
    document["spec"]["approval"] = "Automatic"
    created = _create(admin_api, namespace, document)
    policy = RetrainPolicy.model_validate(created)
    monitor = ModelMonitor.model_validate(_example(*MONITOR))
    decision = decide_retrain(policy, [MonitorRuns(monitor, [_critical_summary("r1")])], [], NOW)
    assert decision.trigger
    plan = plan_policy_status(policy, decision, [], [monitor.metadata.name], NOW)
    patched: dict[str, Any] = custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        "retrainpolicies",
        policy.metadata.name,
        {"status": plan.status.model_dump(mode="json", by_alias=True, exclude_none=True)},
        _content_type="application/merge-patch+json",
    )
    return patched


def test_planned_status_is_accepted_by_the_status_subresource(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    monitor = _monitor_with_status(admin_api, namespace)
    assert monitor["metadata"]["generation"] == 1
    assert monitor["status"]["driftSummary"] == "3/25"
    assert {c["type"] for c in monitor["status"]["conditions"]} == {
        "Accepted",
        "Ready",
        "DriftDetected",
        "PerformanceDegraded",
    }
    ModelMonitor.model_validate(monitor)
    policy = _policy_with_status(admin_api, namespace)
    assert policy["status"]["lastDecision"]["reason"] == "Triggered"
    RetrainPolicy.model_validate(policy)


def _table(admin_api: k8s.ApiClient, namespace: str, plural: str) -> dict[str, list[str]]:
    """`kubectl get`'s view through the Table API: column name -> cells of the first row."""
    method, url, headers, body, _ = admin_api.param_serialize(
        "GET",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}",
        header_params={"Accept": "application/json;as=Table;g=meta.k8s.io;v=v1"},
        auth_settings=["BearerToken"],
    )
    response = admin_api.call_api(method, url, header_params=headers, body=body)
    response.read()
    assert response.status == 200, response.data
    table = json.loads(response.data)
    names = [column["name"] for column in table["columnDefinitions"]]
    return {name: [row["cells"][i] for row in table["rows"]] for i, name in enumerate(names)}


def _is_age(cell: object) -> bool:
    """A `date` column: the server prints the time since, e.g. 6h42m or 3d."""
    return isinstance(cell, str) and re.fullmatch(r"([0-9]+[smhdy])+", cell) is not None


def test_table_api_columns(admin_api: k8s.ApiClient, namespace: str, crds: None) -> None:
    _monitor_with_status(admin_api, namespace)
    _policy_with_status(admin_api, namespace)
    mm = _table(admin_api, namespace, "modelmonitors")
    assert mm["Model"] == ["credit-scoring"]
    assert mm["Schedule"] == ["0 */6 * * *"]
    assert _is_age(mm["Last Run"][0])
    assert mm["Health"] == [71]
    assert mm["Severity"] == ["critical"]
    assert mm["Drifted"] == ["3/25"]
    assert mm["Ready"] == ["True"]
    rp = _table(admin_api, namespace, "retrainpolicies")
    assert rp["Monitor"] == ["credit-scoring"]
    assert rp["Approval"] == ["Automatic"]
    assert rp["Cooldown Until"] == ["2026-11-30T06:00:00Z"]
    assert _is_age(rp["Last Triggered"][0])
    assert rp["Active"] == [1]
    assert rp["Last Decision"] == ["Triggered"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl binary on this machine")
def test_kubectl_get_prints_the_columns(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    _monitor_with_status(admin_api, namespace)
    _policy_with_status(admin_api, namespace)
    kubeconfig = str(control_plane.kubeconfig("admin"))

    def kubectl(*args: str) -> list[list[str]]:
        done = subprocess.run(
            ["kubectl", "--kubeconfig", kubeconfig, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return [line.split() for line in done.stdout.strip().splitlines()]

    header, row = kubectl("get", "mm", "-n", namespace)
    assert header == [
        "NAME",
        "MODEL",
        "SCHEDULE",
        "LAST",
        "RUN",
        "HEALTH",
        "SEVERITY",
        "DRIFTED",
        "AGE",
    ]
    assert row[:4] == ["credit-scoring", "credit-scoring", "0", "*/6"]
    assert row[-4:-1] == ["71", "critical", "3/25"]
    header, row = kubectl("get", "rp", "-n", namespace)
    assert header == [
        "NAME",
        "MONITOR",
        "APPROVAL",
        "COOLDOWN",
        "UNTIL",
        "LAST",
        "TRIGGERED",
        "ACTIVE",
        "AGE",
    ]
    assert row[:3] == ["credit-scoring", "credit-scoring", "Automatic"]
    assert row[-2] == "1"
    everything = kubectl("get", "driftwarden", "-n", namespace, "-o", "name")
    assert sorted(line[0] for line in everything) == [
        "modelmonitor.driftwarden.io/credit-scoring",
        "retrainpolicy.driftwarden.io/credit-scoring",
    ]


# --- the planners' objects pass server-side dry-run ---------------------------------------------


def test_planned_objects_pass_server_side_dry_run(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    settings = PlannerSettings(image="registry.example/driftwarden:0.1.0")
    created = _create(admin_api, namespace, _example(*MONITOR))
    created["metadata"]["annotations"] = {ANNOTATION_RUN_NOW: "2026-11-23T12:00:00Z"}
    monitor = ModelMonitor.model_validate(created)
    core = k8s.CoreV1Api(admin_api)
    batch = k8s.BatchV1Api(admin_api)

    config_map = plan_config_map(monitor)
    echoed = core.create_namespaced_config_map(namespace, config_map, dry_run="All")
    assert echoed.metadata.owner_references[0].uid == monitor.metadata.uid

    cronjob = plan_cronjob(monitor, settings)
    echoed_cron = batch.create_namespaced_cron_job(namespace, cronjob, dry_run="All")
    assert echoed_cron.spec.concurrency_policy == "Forbid"
    assert echoed_cron.spec.time_zone == "Europe/Berlin"

    job = plan_run_now_job(monitor, settings)
    assert job is not None
    echoed_job = batch.create_namespaced_job(namespace, job, dry_run="All")
    assert echoed_job.spec.pod_failure_policy.rules[0].action == "FailJob"

    policy_doc = _example(*POLICY)
    policy_doc["spec"]["approval"] = "Automatic"
    policy = RetrainPolicy.model_validate(_create(admin_api, namespace, policy_doc))
    decision = decide_retrain(policy, [MonitorRuns(monitor, [_critical_summary("r1")])], [], NOW)
    assert decision.job is not None
    echoed_training = batch.create_namespaced_job(namespace, decision.job, dry_run="All")
    env = {e.name for e in echoed_training.spec.template.spec.containers[0].env}
    assert {"DRIFTWARDEN_TRIGGER", "DRIFTWARDEN_TRIGGER_RUN_ID"} <= env
    # Nothing was created: dry-run only.
    assert batch.list_namespaced_job(namespace).items == []
    assert batch.list_namespaced_cron_job(namespace).items == []
