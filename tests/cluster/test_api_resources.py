"""The generated CRDs on the real API server: install, what apply refuses, ratcheting,
RetrainRun's immutability, status, columns, kstatus, and the planners' objects.

Every CEL rule of the generated CRDs has a bad example here that the API server must refuse
with the rule's message; a rule without one fails the suite. The issue's list of specs that
were accepted before v1alpha1 was revised is refused here one by one.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotools import go_tool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client as k8s
from kubernetes import utils as k8s_utils
from kubernetes.client.exceptions import ApiException
from schema_strategy import from_openapi, mutations_of

from cluster.controlplane import wait_for
from driftwarden.detectors.config import Severity
from driftwarden.operator.api import GROUP, VERSION, ModelMonitor, RetrainPolicy, RunSummary
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.crd import RESOURCES, custom_resource_definition, walk
from driftwarden.operator.api.modelmonitor import (
    DriftedFeature,
    MetricChange,
    RunOutcome,
    WindowRows,
)
from driftwarden.operator.api.monitorclass import MonitorClass
from driftwarden.operator.api.retrainrun import RetrainRun
from driftwarden.operator.reconcile.monitor import (
    PlannerSettings,
    plan_config_map,
    plan_cronjob,
    plan_monitor,
    plan_run_now_job,
)
from driftwarden.operator.reconcile.naming import ANNOTATION_RUN_NOW
from driftwarden.operator.reconcile.retrain import (
    MonitorRuns,
    TrainingJob,
    plan_policy,
    plan_retrain_run_status,
    plan_template_probe,
)
from driftwarden.operator.reconcile.status import (
    Stall,
    plan_reconciled,
    plan_run_finished,
)

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
PLURALS = {r.kind: r.plural for r in RESOURCES}
CLUSTER_SCOPED = {r.kind for r in RESOURCES if not r.namespaced}
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


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
MODELS = {
    "ModelMonitor": ModelMonitor,
    "RetrainPolicy": RetrainPolicy,
    "MonitorClass": MonitorClass,
}


def _example(kind: str, name: str) -> dict[str, Any]:
    for _, document in EXAMPLES:
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return copy.deepcopy(document)
    raise LookupError(f"no {kind} {name} in examples/")


def _install(extensions: k8s.ApiextensionsV1Api, crd: dict[str, Any]) -> None:
    extensions.patch_custom_resource_definition(
        crd["metadata"]["name"],
        crd,
        field_manager="driftwarden-tests",
        force=True,
        _content_type="application/apply-patch+yaml",
    )


def _wait_served(admin_api: k8s.ApiClient, name: str, plural: str) -> None:
    extensions = k8s.ApiextensionsV1Api(admin_api)
    custom = k8s.CustomObjectsApi(admin_api)

    def established() -> bool:
        found = extensions.read_custom_resource_definition(name)
        return any(
            x.type == "Established" and x.status == "True" for x in (found.status.conditions or [])
        )

    def served() -> bool:
        try:
            custom.list_cluster_custom_object(GROUP, VERSION, plural)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    wait_for(established, 30, f"CRD {name} not Established")
    wait_for(served, 30, f"{plural} not served")


@pytest.fixture(scope="module")
def crds(admin_api: k8s.ApiClient) -> None:
    """The committed crds/*.yaml, installed (server-side apply) and served."""
    extensions = k8s.ApiextensionsV1Api(admin_api)
    for _, crd in _manifests(ROOT / "crds"):
        _install(extensions, crd)
    for _, crd in _manifests(ROOT / "crds"):
        _wait_served(admin_api, crd["metadata"]["name"], crd["spec"]["names"]["plural"])


def _create(
    api: k8s.ApiClient, namespace: str, document: dict[str, Any], dry_run: bool = False
) -> dict[str, Any]:
    body = copy.deepcopy(document)
    custom = k8s.CustomObjectsApi(api)
    plural = PLURALS[body["kind"]]
    if body["kind"] in CLUSTER_SCOPED:
        body["metadata"]["name"] = f"{body['metadata']['name']}-{namespace}"[:253]
        created: dict[str, Any] = custom.create_cluster_custom_object(
            GROUP, VERSION, plural, body, dry_run="All" if dry_run else None
        )
        return created
    body["metadata"]["namespace"] = namespace
    return custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, body, dry_run="All" if dry_run else None
    )


def _patch(
    api: k8s.ApiClient, namespace: str, kind: str, name: str, patch: dict[str, Any]
) -> dict[str, Any]:
    patched: dict[str, Any] = k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURALS[kind],
        name,
        patch,
        _content_type="application/merge-patch+json",
    )
    return patched


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
    assert by_name["retrainruns"].short_names == ["rr"]
    assert by_name["monitorclasses"].short_names == ["mcl"]
    for plural in ("modelmonitors", "retrainpolicies", "retrainruns", "monitorclasses"):
        assert by_name[plural].categories == ["driftwarden"]
    assert {"modelmonitors/status", "retrainpolicies/status", "retrainruns/status"} <= set(by_name)
    assert "monitorclasses/status" not in by_name
    assert by_name["modelmonitors"].namespaced
    assert not by_name["monitorclasses"].namespaced


@pytest.mark.parametrize(("filename", "document"), EXAMPLES, ids=lambda v: str(v)[:40])
def test_every_example_is_accepted(
    admin_api: k8s.ApiClient, namespace: str, crds: None, filename: str, document: dict[str, Any]
) -> None:
    created = _create(admin_api, namespace, document)
    MODELS[created["kind"]].model_validate(created)  # what the server stored reads back
    if created["kind"] == "ModelMonitor":
        spec = created["spec"]
        assert spec["schedule"]["startingDeadlineSeconds"] == 300
        assert spec["schedule"]["timeZone"] == document["spec"]["schedule"].get(
            "timeZone", "Etc/UTC"
        )
        # Statistical tunables get no schema default: omitted stays omitted.
        for tunable in ("decision", "performance", "healthWeights", "minSamples", "thresholds"):
            assert (tunable in spec) == (tunable in document["spec"]), tunable
        if "decision" in document["spec"]:
            assert spec["decision"] == document["spec"]["decision"]
    elif created["kind"] == "RetrainPolicy":
        assert created["spec"]["maxConcurrent"] == document["spec"].get("maxConcurrent", 1)


@pytest.mark.skipif(not OTHER_EXAMPLES, reason="examples/ holds only driftwarden resources")
@pytest.mark.parametrize(("filename", "document"), OTHER_EXAMPLES, ids=lambda v: str(v)[:40])
def test_every_other_example_manifest_passes_dry_run(
    admin_api: k8s.ApiClient, namespace: str, filename: str, document: dict[str, Any]
) -> None:
    created = k8s_utils.create_from_dict(admin_api, document, namespace=namespace, dry_run="All")
    assert created


# --- what apply refuses ------------------------------------------------------------------------

MONITOR = ("ModelMonitor", "credit-scoring")
FILES_MONITOR = ("ModelMonitor", "churn")
POLICY = ("RetrainPolicy", "credit-scoring")
CLASS = ("MonitorClass", "standard")
HEALTH_PARTS = (
    "dataDrift",
    "predictionDrift",
    "performance",
    "conceptDrift",
    "dataQuality",
    "operational",
)
WEIGHTS_ZERO = dict.fromkeys(HEALTH_PARTS, 0)

# (base example, dotted path to change, new value or ... to delete, field in the error, message)
BAD_EXAMPLES: list[tuple[tuple[str, str], str, Any, str, str]] = [
    (
        MONITOR,
        "spec.source.files",
        {"path": "/data/*.parquet", "timestampColumn": "ts"},
        "spec.source",
        "source must set exactly one of postgres or files",
    ),
    (
        MONITOR,
        "spec.current",
        {
            "relative": {"length": "1d"},
            "absolute": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
        },
        "spec.current",
        "a window is exactly one of relative or absolute",
    ),
    (
        MONITOR,
        "spec.baseline",
        {"relative": {"length": "30d"}, "profileRef": {"name": "credit-2026q1"}},
        "spec.baseline",
        "a baseline is exactly one of relative, absolute or profileRef",
    ),
    (
        MONITOR,
        "spec.baseline",
        {"absolute": {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}},
        "spec.baseline.absolute.end",
        "a window lasts at least a minute (start before end)",
    ),
    (
        MONITOR,
        "spec.current.relative.length",
        "1ms",
        "spec.current.relative.length",
        "a window lasts at least a minute (length)",
    ),
    (
        MONITOR,
        "spec.current",
        {"relative": {"length": "30d", "endOffset": "7d"}},
        "spec.baseline",
        "baseline and current are the same window",
    ),
    (
        FILES_MONITOR,
        "spec.current",
        {"absolute": {"start": "2026-09-15T00:00:00Z", "end": "2026-10-15T00:00:00Z"}},
        "spec.baseline",
        "the baseline window must end before the current window starts",
    ),
    (
        MONITOR,  # a Postgres source: 32 two-byte letters are 64 bytes, one too many
        "spec.features.0.name",
        "é" * 32,
        "spec.features",
        "with a postgres source, feature names are PostgreSQL column names",
    ),
    (
        MONITOR,
        "spec.prediction.type",
        "regression",
        "spec.prediction.type",
        "a regression prediction needs a regression task",
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
        {"relativeDrop": {"warning": 0.3, "critical": 0.1}},
        "spec.performance.relativeDrop.warning",
        "warning must not exceed critical",
    ),
    (
        MONITOR,
        "spec.features.0.methods",
        ["chi2"],
        "spec.features[0].methods",
        "a method does not apply to the feature's type",
    ),
    (
        MONITOR,
        "spec.healthWeights",
        WEIGHTS_ZERO,
        "spec.healthWeights",
        "at least one health weight must be positive",
    ),
    (
        MONITOR,
        "spec.schedule.timeZone",
        "Local",
        "spec.schedule.timeZone",
        "timeZone Local is refused",
    ),
    (
        MONITOR,
        "spec.alerting.labels",
        {"team-name": "risk"},
        "spec.alerting.labels",
        "alerting.labels keys must be Prometheus label names",
    ),
    (
        MONITOR,
        "spec.alerting.labels",
        {"namespace": "someone-else"},
        "spec.alerting.labels",
        "alerting.labels must not set __* or a label the system owns",
    ),
    (
        MONITOR,
        "spec.source.postgres.filters",
        {"a b": "x"},
        "spec.source.postgres.filters",
        "filter columns must be plain SQL identifiers",
    ),
    (
        MONITOR,
        "spec.job.resources",
        {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
        "spec.job.resources.requests",
        "a resource request must not exceed its limit",
    ),
    (
        POLICY,
        "spec.monitorSelector",
        {"matchLabels": {"team": "risk"}},
        "spec",
        "set exactly one of monitorRef and monitorSelector",
    ),
    (POLICY, "spec.cooldown", "1ms", "spec.cooldown", "cooldown must be at least 1m"),
    (
        POLICY,
        "spec.approvalTimeout",
        "30s",
        "spec.approvalTimeout",
        "approvalTimeout must be at least 1m",
    ),
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
        "spec.triggers",
        [{"severity": "warning", "persistFor": "0s"}],
        "spec.triggers[0].persistFor",
        "persistFor must be positive",
    ),
    (
        POLICY,
        "spec.triggers",
        [{"modelAge": "30s"}],
        "spec.triggers[0].modelAge",
        "modelAge must be at least 1m",
    ),
    (
        POLICY,
        "spec.triggers",
        [{"performanceDrop": {"metric": "f1", "relativeDrop": 0.1, "absoluteDrop": 0.1}}],
        "spec.triggers[0].performanceDrop",
        "performanceDrop sets exactly one of relativeDrop and absoluteDrop",
    ),
    (
        POLICY,
        "spec.triggers",
        [{"severity": "critical"}, {"severity": "critical"}],
        "spec.triggers",
        "triggers must not repeat",
    ),
    (
        POLICY,
        "spec.jobTemplate.spec.template.spec.containers",
        [],
        "spec.jobTemplate.spec.template.spec.containers",
        "jobTemplate.spec.template.spec.containers must list at least one container",
    ),
    (
        POLICY,
        "spec.monitorRef",
        ...,
        "spec",
        "set exactly one of monitorRef and monitorSelector",
    ),
]
# Rules whose bad example needs more than one edit, with their own tests below.
COVERED_ELSEWHERE = {
    "a selector needs matchLabels or matchExpressions",
    "In and NotIn need values",
    "is immutable",
    "approval changes once",
    "the decision's record is immutable",
    # maintenance windows: test_alert_receiver.py::test_the_api_server_refuses_unusable_...
    "a maintenance window sets cron and duration, or start and end",
    "a maintenance window's start must be before its end",
    "duration must be at least 1m",
}

# Refused by the schema's types, patterns and bounds: (base, path, value, field in the error).
REFUSED: list[tuple[tuple[str, str], str, Any, str]] = [
    (MONITOR, "spec.schedule.cron", "99 99 99 99 99", "spec.schedule.cron"),
    (MONITOR, "spec.schedule.cron", "*/0 * * * *", "spec.schedule.cron"),
    (MONITOR, "spec.schedule.cron", "foo bar baz qux quux", "spec.schedule.cron"),
    (MONITOR, "spec.schedule.timeZone", "", "spec.schedule.timeZone"),
    (MONITOR, "spec.features", [], "spec.features"),
    (MONITOR, "spec.features.0.methods", ["psi", "psi"], "spec.features[0].methods[1]"),
    (MONITOR, "spec.features.0.methods", [], "spec.features[0].methods"),
    (
        MONITOR,
        "spec.features.1.thresholds.psi",
        {"warning": 0, "critical": 0},
        "spec.features[1].thresholds.psi.critical",
    ),
    (MONITOR, "spec.baseline.relative.length", "3m2h1h", "spec.baseline.relative.length"),
    (MONITOR, "spec.baseline.relative.length", "1.5h", "spec.baseline.relative.length"),
    (MONITOR, "spec.baseline.relative.length", "99999999999w", "spec.baseline.relative.length"),
    (MONITOR, "spec.operational.latencyColumn", "", "spec.operational.latencyColumn"),
    (
        MONITOR,
        "spec.job.resources",
        {"requests": {"cpu": "-1"}},
        "spec.job.resources.requests.cpu",
    ),
    (FILES_MONITOR, "spec.source.files.path", "data/x.parquet", "spec.source.files.path"),
    (MONITOR, "spec.model.version", "", "spec.model.version"),
    (MONITOR, "spec.alerting.labels", {"team": "x" * 129}, "spec.alerting.labels.team"),
    (POLICY, "spec.approval", "Manual", "spec.approval"),
    (POLICY, "spec.validation.minimum", {"roc_auc": 5}, "spec.validation.minimum.roc_auc"),
    (
        POLICY,
        "spec.triggers",
        [{"performanceDrop": {"metric": "rocauc", "absoluteDrop": 0.1}}],
        "spec.triggers[0].performanceDrop.metric",
    ),
    (
        POLICY,
        "spec.triggers",
        [{"performanceDrop": {"metric": "f1", "absoluteDrop": 1e300}}],
        "spec.triggers[0].performanceDrop.absoluteDrop",
    ),
    # The old unit-less key is pruned as unknown; what remains names no unit and is refused.
    (
        POLICY,
        "spec.triggers",
        [{"performanceDrop": {"metric": "f1", "atLeast": 0.1}}],
        "spec.triggers[0].performanceDrop",
    ),
    (
        POLICY,
        "spec.jobTemplate.spec.template.spec.containers",
        [{"name": "train", "image": ""}],
        "spec.jobTemplate.spec.template.spec.containers[0].image",
    ),
    (CLASS, "spec.image", "", "spec.image"),
]


def _changed(base: tuple[str, str], path: str, value: Any) -> dict[str, Any]:
    document = _example(*base)
    *parents, last = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return document


def test_every_cel_rule_has_a_bad_example() -> None:
    messages = set()
    for resource in RESOURCES:
        schema = custom_resource_definition(resource)["spec"]["versions"][0]["schema"]
        for _, node in walk(schema["openAPIV3Schema"]):
            messages |= {rule["message"] for rule in node.get("x-kubernetes-validations", [])}
    covered = {message for *_, message in BAD_EXAMPLES} | COVERED_ELSEWHERE
    uncovered = {m for m in messages if not any(m.startswith(x) for x in covered)}
    assert uncovered == set(), "CEL rules without a bad example"


@pytest.mark.parametrize(
    ("base", "path", "value", "field", "message"),
    BAD_EXAMPLES,
    ids=[f"{b[1]}:{p}:{str(v)[:20]}" for b, p, v, *_ in BAD_EXAMPLES],
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


@pytest.mark.parametrize(
    ("base", "path", "value", "field"),
    REFUSED,
    ids=[f"{b[1]}:{p}:{str(v)[:20]}" for b, p, v, _ in REFUSED],
)
def test_schema_refuses(
    admin_api: k8s.ApiClient,
    namespace: str,
    crds: None,
    base: tuple[str, str],
    path: str,
    value: Any,
    field: str,
) -> None:
    status = _refusal(admin_api, namespace, _changed(base, path, value))
    fields = [cause.get("field") for cause in status["details"]["causes"]]
    assert field in fields, json.dumps(status["details"]["causes"], indent=1)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({}, "a selector needs matchLabels or matchExpressions"),
        (
            {"matchExpressions": [{"key": "team", "operator": "In"}]},
            "In and NotIn need values",
        ),
    ],
)
def test_selectors_are_never_empty(
    admin_api: k8s.ApiClient,
    namespace: str,
    crds: None,
    selector: dict[str, Any],
    message: str,
) -> None:
    document = _changed(POLICY, "spec.monitorRef", ...)
    document["spec"]["monitorSelector"] = selector
    status = _refusal(admin_api, namespace, document)
    assert message in status["message"], status["message"]


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


# --- ratcheting: a rule on the narrowest field never blocks unrelated edits ---------------------


def _loosened(crd: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """`crd` with the pattern and CEL rules of the given spec fields removed."""
    loose = copy.deepcopy(crd)
    schema = loose["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    for path in paths:
        node = schema
        for key in path:
            node = node["properties"][key]
        node.pop("pattern", None)
        node.pop("x-kubernetes-validations", None)
    return loose


def test_tightened_rules_ratchet_on_their_own_field(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    """An object stored before a rule tightened stays editable: minSamples and
    schedule.suspend change freely; only the offending field must become valid."""
    extensions = k8s.ApiextensionsV1Api(admin_api)
    (crd,) = [d for n, d in _manifests(ROOT / "crds") if n.startswith("modelmonitors")]
    fields = [("schedule", "cron"), ("alerting", "labels")]
    _install(extensions, _loosened(crd, fields))
    try:

        def stored() -> dict[str, Any]:
            document = _example(*MONITOR)
            document["spec"]["schedule"]["cron"] = "99 99 99 99 99"
            document["spec"]["alerting"]["labels"] = {"namespace": "other"}
            return _create(admin_api, namespace, document)

        created = wait_for(lambda: _try(stored), 30, "loosened CRD not in effect")
        name = created["metadata"]["name"]
    finally:
        _install(extensions, crd)
    _wait_served(admin_api, crd["metadata"]["name"], "modelmonitors")

    def edit(patch: dict[str, Any]) -> dict[str, Any]:
        return _patch(admin_api, namespace, "ModelMonitor", name, patch)

    def refused(patch: dict[str, Any]) -> bool:
        try:
            edit(patch)
        except ApiException as e:
            return e.status == 422
        return False

    # Wait until the tightened schema is in force (a new invalid cron is refused) ...
    wait_for(
        lambda: refused({"spec": {"schedule": {"cron": "98 98 98 98 98"}}}),
        30,
        "tightened CRD not in effect",
    )
    # ... then unrelated edits of the stored, now-invalid object still pass.
    assert edit({"spec": {"minSamples": 500}})["spec"]["minSamples"] == 500
    assert edit({"spec": {"schedule": {"suspend": True}}})["spec"]["schedule"]["suspend"] is True
    assert refused({"spec": {"alerting": {"labels": {"namespace": "x", "severity": "y"}}}})
    fixed = edit({"spec": {"schedule": {"cron": "@daily"}, "alerting": {"labels": None}}})
    assert fixed["spec"]["schedule"]["cron"] == "@daily"


def _try(make: Any) -> Any:
    try:
        return make()
    except ApiException as e:
        if e.status == 422:
            return None
        raise


# --- RetrainRun: an immutable record with a once-only approval ---------------------------------


def _critical_summary(run_id: str, at: datetime = NOW) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        started_at=at - timedelta(minutes=2),
        finished_at=at,
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


def _retrain_run(admin_api: k8s.ApiClient, namespace: str) -> tuple[RetrainPolicy, RetrainRun]:
    """The policy example (manual approval), created, and the RetrainRun it plans, created."""
    policy = RetrainPolicy.model_validate(_create(admin_api, namespace, _example(*POLICY)))
    try:
        stored = _create(admin_api, namespace, _example(*MONITOR))
    except ApiException as e:
        if e.status != 409:
            raise
        stored = _example(*MONITOR)
    monitor = ModelMonitor.model_validate(stored)
    plan = plan_policy(
        policy, [MonitorRuns(monitor, [_critical_summary("credit-scoring-1")])], [], [], NOW
    )
    (manifest,) = plan.objects
    assert manifest["kind"] == "RetrainRun"
    return policy, RetrainRun.model_validate(_create(admin_api, namespace, manifest))


def test_retrain_run_spec_is_immutable_but_approval(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    _, run = _retrain_run(admin_api, namespace)
    name = run.metadata.name
    assert run.spec.approval == "pending"

    def refused(patch: dict[str, Any]) -> str:
        with pytest.raises(ApiException) as info:
            _patch(admin_api, namespace, "RetrainRun", name, {"spec": patch})
        assert info.value.status == 422, info.value.body
        return str(json.loads(info.value.body)["message"])

    assert "is immutable" in refused({"trigger": "something else"})
    assert "is immutable" in refused({"driftedFeatures": ["age"]})
    assert "immutable" in refused(
        {"windows": {"current": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}}}
    )
    approved = _patch(admin_api, namespace, "RetrainRun", name, {"spec": {"approval": "approved"}})
    assert approved["spec"]["approval"] == "approved"
    assert "approval changes once" in refused({"approval": "denied"})
    assert "approval changes once" in refused({"approval": "pending"})


# --- status, printer columns and kstatus ------------------------------------------------------


def _write_status(
    admin_api: k8s.ApiClient, namespace: str, kind: str, name: str, status: dict[str, Any]
) -> dict[str, Any]:
    patched: dict[str, Any] = k8s.CustomObjectsApi(admin_api).patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURALS[kind],
        name,
        {"status": status},
        _content_type="application/merge-patch+json",
    )
    return patched


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _monitor_with_status(
    admin_api: k8s.ApiClient, namespace: str, *, run: bool = True, stall: Stall | None = None
) -> dict[str, Any]:
    monitor = ModelMonitor.model_validate(_create(admin_api, namespace, _example(*MONITOR)))
    monitor = monitor.model_copy(
        update={"status": plan_reconciled(monitor, NOW, spec_hash="h", stall=stall).status}
    )
    status = monitor.status
    if run:
        status = plan_run_finished(
            monitor, _critical_summary("credit-scoring-29400000"), NOW
        ).status
    return _write_status(admin_api, namespace, "ModelMonitor", monitor.metadata.name, _dump(status))


def test_planned_statuses_are_accepted_by_the_status_subresource(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    monitor = _monitor_with_status(admin_api, namespace)
    assert monitor["status"]["driftSummary"] == "3/25"
    assert {x["type"] for x in monitor["status"]["conditions"]} == set(c.MONITOR_CONDITION_TYPES)
    ModelMonitor.model_validate(monitor)
    policy, run = _retrain_run(admin_api, namespace)
    monitor_model = ModelMonitor.model_validate(monitor)
    plan = plan_policy(
        policy, [MonitorRuns(monitor_model, [_critical_summary("r1")])], [run], [], NOW
    )
    written = _write_status(
        admin_api, namespace, "RetrainPolicy", policy.metadata.name, _dump(plan.status)
    )
    assert written["status"]["monitors"][0]["name"] == "credit-scoring"
    RetrainPolicy.model_validate(written)
    job = TrainingJob(run.metadata.name, NOW, active=True)
    rr_status = plan_retrain_run_status(run, job, NOW)
    rr = _write_status(admin_api, namespace, "RetrainRun", run.metadata.name, _dump(rr_status))
    assert rr["status"]["jobName"] == run.metadata.name


def _table(admin_api: k8s.ApiClient, namespace: str, plural: str) -> dict[str, list[Any]]:
    """`kubectl get`'s view through the Table API: column name -> cells of the rows."""
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
    return isinstance(cell, str) and re.fullmatch(r"([0-9]+[smhdy])+", cell) is not None


def test_table_api_columns(admin_api: k8s.ApiClient, namespace: str, crds: None) -> None:
    _monitor_with_status(admin_api, namespace)
    _, run = _retrain_run(admin_api, namespace)
    _write_status(
        admin_api,
        namespace,
        "RetrainRun",
        run.metadata.name,
        _dump(plan_retrain_run_status(run, None, NOW)),
    )
    mm = _table(admin_api, namespace, "modelmonitors")
    assert mm["Model"] == ["credit-scoring"]
    assert mm["Schedule"] == ["0 */6 * * *"]
    assert _is_age(mm["Last Run"][0])
    assert mm["Health"] == [71]
    assert mm["Severity"] == ["critical"]
    assert mm["Drifted"] == ["3/25"]
    assert mm["Ready"] == ["True"]
    assert mm["Last Run Succeeded"] == ["RunSucceeded"]
    rr = _table(admin_api, namespace, "retrainruns")
    assert rr["Policy"] == ["credit-scoring"]
    assert rr["Monitor"] == ["credit-scoring"]
    assert rr["Trigger"] == ["severity>=critical"]
    assert rr["Approval"] == ["pending"]
    assert rr["State"] == ["PendingApproval"]
    assert _is_age(rr["Age"][0])


def _kstatus(obj: dict[str, Any]) -> str:
    done = subprocess.run(
        [str(go_tool("kstatus"))],
        input=json.dumps(obj),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    assert not result.get("error"), result
    status: str = result["status"]
    return status


def test_kstatus_reads_ready_stalled_and_reconciling(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    """What Flux and kubectl-wait style tools read, computed by kstatus itself."""
    fresh = _monitor_with_status(admin_api, namespace, run=False)
    assert fresh["status"]["conditions"][0]["type"] == c.READY
    assert _kstatus(fresh) == "Current"  # no run yet, and still Current
    name = fresh["metadata"]["name"]
    edited = _patch(admin_api, namespace, "ModelMonitor", name, {"spec": {"minSamples": 300}})
    assert edited["metadata"]["generation"] == 2
    assert _kstatus(edited) == "InProgress"  # generation not observed yet
    stalled = _write_status(
        admin_api,
        namespace,
        "ModelMonitor",
        name,
        _dump(
            plan_reconciled(
                ModelMonitor.model_validate(edited),
                NOW,
                stall=Stall(c.INVALID_TIME_ZONE, "unknown time zone 'Mars/Olympus_Mons'"),
            ).status
        ),
    )
    assert _kstatus(stalled) == "Failed"


# --- the planners' objects on the API server ---------------------------------------------------


def _class(admin_api: k8s.ApiClient, namespace: str) -> MonitorClass:
    return MonitorClass.model_validate(_create(admin_api, namespace, _example(*CLASS)))


def test_planned_objects_pass_server_side_dry_run(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    settings_ = PlannerSettings()
    created = _create(admin_api, namespace, _example(*MONITOR))
    created["metadata"]["annotations"] = {ANNOTATION_RUN_NOW: "2026-11-23T12:00:00Z"}
    monitor = ModelMonitor.model_validate(created)
    klass = _class(admin_api, namespace)
    core = k8s.CoreV1Api(admin_api)
    batch = k8s.BatchV1Api(admin_api)

    config_map = plan_config_map(monitor)
    echoed = core.create_namespaced_config_map(namespace, config_map, dry_run="All")
    assert echoed.immutable is True
    assert echoed.metadata.owner_references[0].uid == monitor.metadata.uid

    cronjob = plan_cronjob(monitor, klass, settings_)
    echoed_cron = batch.create_namespaced_cron_job(namespace, cronjob, dry_run="All")
    assert echoed_cron.spec.concurrency_policy == "Forbid"
    assert echoed_cron.spec.time_zone == "Europe/Berlin"

    job = plan_run_now_job(monitor, klass, settings_)
    assert job is not None
    echoed_job = batch.create_namespaced_job(namespace, job, dry_run="All")
    assert echoed_job.spec.pod_failure_policy.rules[0].action == "FailJob"
    assert batch.list_namespaced_job(namespace).items == []
    assert batch.list_namespaced_cron_job(namespace).items == []


def test_planned_pods_pass_restricted_security_and_a_quota(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    """Pod Security `restricted` (no fixed ids needed) and a ResourceQuota on cpu and memory
    (requests always set) both admit the detector and training Pods."""
    core = k8s.CoreV1Api(admin_api)
    core.patch_namespace(
        namespace,
        {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    )
    core.create_namespaced_resource_quota(
        namespace,
        {
            "metadata": {"name": "quota"},
            "spec": {"hard": {"requests.cpu": "8", "requests.memory": "16Gi"}},
        },
    )
    core.create_namespaced_service_account(
        namespace, {"metadata": {"name": "driftwarden-detector"}}
    )
    # The churn monitor sets no resources and the class no defaults: DEFAULT_REQUESTS apply.
    monitor = ModelMonitor.model_validate(_create(admin_api, namespace, _example(*FILES_MONITOR)))
    bare = _example(*CLASS)
    del bare["spec"]["defaultResources"]
    klass = MonitorClass.model_validate(_create(admin_api, namespace, bare))
    template = plan_cronjob(monitor, klass, PlannerSettings())["spec"]["jobTemplate"]["spec"][
        "template"
    ]
    container = template["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "detector", "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    }
    core.create_namespaced_pod(namespace, pod, dry_run="All")

    policy, run = _retrain_run(admin_api, namespace)
    monitor = ModelMonitor.model_validate(_example(*MONITOR))
    approved = _patch(
        admin_api, namespace, "RetrainRun", run.metadata.name, {"spec": {"approval": "approved"}}
    )
    plan = plan_policy(
        policy, [MonitorRuns(monitor, [])], [RetrainRun.model_validate(approved)], [], NOW
    )
    (job,) = plan.objects
    assert job["metadata"]["ownerReferences"][0]["uid"] == run.metadata.uid
    echoed = k8s.BatchV1Api(admin_api).create_namespaced_job(namespace, job, dry_run="All")
    assert echoed.spec.ttl_seconds_after_finished == 604_800
    training = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "training"},
        "spec": {
            **job["spec"]["template"]["spec"],
            "containers": [
                {
                    **container,
                    "resources": {
                        "requests": {"cpu": "1", "memory": "1Gi"},
                        "limits": {"memory": "8Gi"},
                    },
                }
                for container in job["spec"]["template"]["spec"]["containers"]
            ],
        },
    }
    core.create_namespaced_pod(namespace, training, dry_run="All")


def _strict_dry_run(
    admin_api: k8s.ApiClient, namespace: str, job: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """POST a Job with dryRun=All and fieldValidation=Strict, as the operator's adapter will
    (raw: the Python client's own models refuse unknown fields before sending)."""
    method, url, headers, body, _ = admin_api.param_serialize(
        "POST",
        f"/apis/batch/v1/namespaces/{namespace}/jobs",
        query_params=[("dryRun", "All"), ("fieldValidation", "Strict")],
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body=job,
        auth_settings=["BearerToken"],
    )
    response = admin_api.call_api(method, url, header_params=headers, body=body)
    response.read()
    return response.status, json.loads(response.data)


def test_job_template_dry_run_names_a_misspelt_field(
    admin_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    """The pure probe, sent with fieldValidation=Strict, refuses `serviceAcountName`
    (a warning only without Strict), so the policy can be Stalled before any trigger."""
    document = _example(*POLICY)
    pod_spec = document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod_spec["serviceAcountName"] = "trainer"
    policy = RetrainPolicy.model_validate(_create(admin_api, namespace, document))
    status, body = _strict_dry_run(admin_api, namespace, plan_template_probe(policy))
    assert status in (400, 422), body
    message = body["message"]
    assert "serviceAcountName" in message
    good = RetrainPolicy.model_validate(
        _create(admin_api, namespace, _changed(POLICY, "metadata.name", "ok"))
    )
    status, body = _strict_dry_run(admin_api, namespace, plan_template_probe(good))
    assert status == 201, body
    plan = plan_policy(good, [], [], [], NOW, template_error=message)
    stalled = next(x for x in plan.status.conditions if x.type == c.STALLED)
    assert (stalled.status, stalled.reason) == ("True", c.INVALID_JOB_TEMPLATE)


# --- no spec the API server accepts crashes a planner ---------------------------------------


@pytest.fixture(scope="module")
def monitor_spec_schema() -> dict[str, Any]:
    resource = next(r for r in RESOURCES if r.kind == "ModelMonitor")
    root = custom_resource_definition(resource)["spec"]["versions"][0]["schema"]
    schema: dict[str, Any] = root["openAPIV3Schema"]["properties"]["spec"]
    return schema


def test_property_accepted_specs_never_crash_the_planner(
    admin_api: k8s.ApiClient,
    crds: None,
    monitor_spec_schema: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Specs generated from the CRD's own schema go to the API server (dry-run); every one
    it accepts is planned without an exception (Stalled at worst)."""
    namespace = "default"
    base = _example(*MONITOR)
    classes = [MonitorClass.model_validate(_example(*CLASS))]
    accepted: list[int] = []

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        st.one_of(
            mutations_of(monitor_spec_schema, base["spec"]), from_openapi(monitor_spec_schema)
        )
    )
    def check(spec: dict[str, Any]) -> None:
        document = copy.deepcopy(base) | {"spec": spec}
        try:
            stored = _create(admin_api, namespace, document, dry_run=True)
        except ApiException as e:
            if e.status != 422:
                raise
            return
        accepted.append(1)
        stored["metadata"] |= {"uid": "u", "generation": 1}
        plan = plan_monitor(stored, classes, PlannerSettings(), NOW)
        assert plan.status.status.conditions

    check()
    print(f"\nthe API server accepted {len(accepted)} generated specs; each was planned")
    assert accepted, "no generated spec passed the API server: the test would prove nothing"


def test_approving_is_a_right_apart_from_editing_policies(
    admin_api: k8s.ApiClient, unprivileged_api: k8s.ApiClient, namespace: str, crds: None
) -> None:
    """The example approver role lets a user approve a RetrainRun, and nothing more: the
    policy stays read-only to them."""
    (role,) = [d for n, d in OTHER_EXAMPLES if d["kind"] == "ClusterRole"]
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    try:
        rbac.create_cluster_role(role)
    except ApiException as e:
        if e.status != 409:
            raise
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "approver"},
            "subjects": [
                {"kind": "User", "name": "unprivileged", "apiGroup": "rbac.authorization.k8s.io"}
            ],
            "roleRef": {
                "kind": "ClusterRole",
                "name": role["metadata"]["name"],
                "apiGroup": "rbac.authorization.k8s.io",
            },
        },
    )
    policy, run = _retrain_run(admin_api, namespace)

    def approve() -> dict[str, Any] | None:
        try:
            return _patch(
                unprivileged_api,
                namespace,
                "RetrainRun",
                run.metadata.name,
                {"spec": {"approval": "approved"}},
            )
        except ApiException as e:
            if e.status == 403:  # the binding is not in the authorizer's cache yet
                return None
            raise

    approved = wait_for(approve, 30, "approver binding never took effect")
    assert approved["spec"]["approval"] == "approved"
    with pytest.raises(ApiException) as info:
        _patch(
            unprivileged_api,
            namespace,
            "RetrainPolicy",
            policy.metadata.name,
            {"spec": {"approval": "automatic"}},
        )
    assert info.value.status == 403
