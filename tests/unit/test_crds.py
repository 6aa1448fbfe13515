"""The generated CRDs and reference page: fresh, structural, and within API conventions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwarden.operator.api.crd import RESOURCES, custom_resource_definition, walk
from driftwarden.operator.api.generate import render_all, stale_files

ROOT = Path(__file__).resolve().parents[2]

# Where unknown fields are kept on purpose: the training Pod is a core/v1 PodSpec the API
# server validates when the Job is created; typing all of it here would copy Kubernetes.
PRESERVE_UNKNOWN_ALLOWED = {
    "retrainpolicies.driftwarden.io": {
        "spec.jobTemplate.spec",
        "spec.jobTemplate.spec.template.spec",
        "spec.jobTemplate.spec.template.spec.containers[]",
    },
    # core/v1 Affinity, set by administrators; the API server checks it with the Pod.
    "monitorclasses.driftwarden.io": {"spec.affinity"},
    # kopf's handler progress (kept in status, not annotations); the handlers leave it empty.
    "modelmonitors.driftwarden.io": {"status.operatorState.progress"},
}


def _schemas() -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            resource.crd_name,
            custom_resource_definition(resource)["spec"]["versions"][0]["schema"][
                "openAPIV3Schema"
            ],
        )
        for resource in RESOURCES
    ]


def test_committed_copies_are_fresh() -> None:
    stale = stale_files(ROOT)
    assert not stale, f"run `make crds`: {stale} differ from the models"


def test_committed_crds_parse_as_yaml() -> None:
    for relative, content in render_all().items():
        if relative.startswith("crds/"):  # the chart's copies are templates (test_chart_template)
            document = yaml.safe_load(content)
            assert document["kind"] == "CustomResourceDefinition"


def convention_problems(schema: dict[str, Any], allowed: set[str]) -> list[str]:
    """What Kubernetes API conventions and structural schemas forbid, found in `schema`."""
    problems: list[str] = []
    if schema.get("properties", {}).get("spec", {}).get("x-kubernetes-preserve-unknown-fields"):
        problems.append("spec: preserves unknown fields")
    for path, node in walk(schema):
        if path.rsplit(".", 1)[-1] == "phase":
            problems.append(f"{path}: no `phase` (use conditions)")
        if node.get("x-kubernetes-preserve-unknown-fields") and path not in allowed:
            problems.append(f"{path}: preserves unknown fields")
        if path in ("", "metadata"):
            continue
        additional = node.get("additionalProperties")
        if additional is True or (
            isinstance(additional, dict)
            and not additional.get("x-kubernetes-int-or-string")
            and additional.get("type", "object") == "object"
            and not additional.get("properties")
        ):
            problems.append(f"{path}: untyped map of objects")
        if node.get("type") == "object" and not (
            node.get("properties")
            or isinstance(additional, dict)
            or node.get("x-kubernetes-preserve-unknown-fields")
        ):
            problems.append(f"{path}: object without a schema")
        if "type" not in node and not node.get("x-kubernetes-int-or-string"):
            problems.append(f"{path}: no type (not structural)")
        for forbidden in ("$ref", "allOf", "oneOf", "not", "title", "propertyNames", "const"):
            if forbidden in node:
                problems.append(f"{path}: {forbidden} is not allowed in a CRD schema")
        if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            problems.append(f"{path}: anyOf outside int-or-string")
        if node.get("uniqueItems"):
            problems.append(f"{path}: uniqueItems is forbidden (use a list-map)")
    return problems


@pytest.mark.parametrize(("crd_name", "schema"), _schemas(), ids=lambda v: str(v)[:30])
def test_schema_follows_api_conventions(crd_name: str, schema: dict[str, Any]) -> None:
    problems = convention_problems(schema, PRESERVE_UNKNOWN_ALLOWED.get(crd_name, set()))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("bad", "complaint"),
    [
        ({"status": {"type": "object", "properties": {"phase": {"type": "string"}}}}, "phase"),
        ({"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}, "spec:"),
        (
            {"spec": {"type": "object", "additionalProperties": {"type": "object"}}},
            "untyped map of objects",
        ),
        ({"spec": {"type": "object", "additionalProperties": True}}, "untyped map"),
        ({"spec": {"type": "object"}}, "object without a schema"),
    ],
)
def test_convention_check_catches(bad: dict[str, Any], complaint: str) -> None:
    schema = {"type": "object", "properties": bad}
    assert any(complaint in problem for problem in convention_problems(schema, set()))


@pytest.mark.parametrize(("crd_name", "schema"), _schemas(), ids=lambda v: str(v)[:30])
def test_every_field_is_described(crd_name: str, schema: dict[str, Any]) -> None:
    undescribed = []
    for path, node in walk(schema):
        if path.endswith(("[]", "}")) or path in ("", "metadata"):
            continue  # list items and map values are described by their field
        if not node.get("description", "").strip():
            undescribed.append(path)
    assert not undescribed, f"{crd_name}: fields without a description: {undescribed}"


@pytest.mark.parametrize(("crd_name", "schema"), _schemas(), ids=lambda v: str(v)[:30])
def test_conditions_are_a_list_map_by_type(crd_name: str, schema: dict[str, Any]) -> None:
    if "status" not in schema["properties"]:
        return  # MonitorClass: configuration, no status
    conditions = schema["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status", "reason", "lastTransitionTime"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]


def test_crd_shape() -> None:
    by_name = {r.crd_name: custom_resource_definition(r) for r in RESOURCES}
    mm = by_name["modelmonitors.driftwarden.io"]["spec"]
    rp = by_name["retrainpolicies.driftwarden.io"]["spec"]
    assert mm["group"] == rp["group"] == "driftwarden.io"
    assert mm["names"]["shortNames"] == ["mm"]
    assert rp["names"]["shortNames"] == ["rp"]
    for spec in (mm, rp):
        version = spec["versions"][0]
        assert spec["names"]["categories"] == ["driftwarden"]
        assert version["name"] == "v1alpha1"
        assert version["subresources"] == {"status": {}}
        assert version["additionalPrinterColumns"][-1]["name"] == "Age"
    columns = [c["name"] for c in mm["versions"][0]["additionalPrinterColumns"]]
    assert columns[:1] + columns[2:] == [
        "Model",
        "Schedule",
        "Last Run",
        "Health",
        "Severity",
        "Drifted",
        "Ready",
        "Last Run Succeeded",
        "Next Run",
        "Age",
    ]


def test_retrain_run_and_monitor_class_shape() -> None:
    by_name = {r.crd_name: custom_resource_definition(r) for r in RESOURCES}
    rr = by_name["retrainruns.driftwarden.io"]["spec"]
    assert rr["names"]["shortNames"] == ["rr"]
    assert rr["scope"] == "Namespaced"
    columns = [c["name"] for c in rr["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["Policy", "Monitor", "Trigger", "Approval", "State", "Job", "Age"]
    spec = rr["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    immutable = [
        name
        for name, node in spec["properties"].items()
        if {"rule": "self == oldSelf", "message": "is immutable"}
        in node.get("x-kubernetes-validations", [])
    ]
    assert sorted(immutable) == sorted(set(spec["properties"]) - {"approval"})
    assert spec["properties"]["approval"]["enum"] == ["pending", "approved", "denied"]
    mcl = by_name["monitorclasses.driftwarden.io"]["spec"]
    assert mcl["scope"] == "Cluster"
    assert "subresources" not in mcl["versions"][0]


def test_statistical_tunables_have_no_schema_default() -> None:
    by_name = {r.crd_name: r for r in RESOURCES}
    schema = _schemas()[0][1]
    assert by_name["modelmonitors.driftwarden.io"]
    spec = schema["properties"]["spec"]
    for name in ("decision", "performance", "healthWeights", "minSamples", "thresholds"):
        for path, node in walk(spec["properties"][name], name):
            assert "default" not in node, path
    # ... while operational knobs keep theirs.
    assert spec["properties"]["schedule"]["properties"]["timeZone"]["default"] == "Etc/UTC"


def test_enum_values_follow_one_casing_rule() -> None:
    """driftwarden's own enum values are lowercase words; Kubernetes' keep their casing."""
    kubernetes_owned = {"status", "operator", "effect", "imagePullPolicy", "restartPolicy"}
    for crd_name, schema in _schemas():
        for path, node in walk(schema):
            if "enum" not in node or path.rsplit(".", 1)[-1] in kubernetes_owned:
                continue
            for value in node["enum"]:
                assert value == value.lower(), f"{crd_name} {path}: {value}"


def test_cel_rules_name_their_message() -> None:
    for _, schema in _schemas():
        for path, node in walk(schema):
            for rule in node.get("x-kubernetes-validations", []):
                assert rule["message"], f"{path}: a rule without a message"
                assert "\\" not in rule["rule"], f"{path}: keep backslashes out of CEL"
