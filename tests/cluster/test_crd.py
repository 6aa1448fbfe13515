"""CustomResourceDefinitions on the real apiserver: structural schema, CEL, status subresource."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cluster.controlplane import wait_for

pytestmark = pytest.mark.cluster

GROUP = "test.driftwarden.io"
CEL_MESSAGE = "maxSamples must be at least minSamples"


def widget_crd(plural: str) -> dict[str, Any]:
    kind = plural.capitalize()[:-1]
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["model"],
                "properties": {
                    "model": {"type": "string", "minLength": 1},
                    "minSamples": {"type": "integer", "minimum": 1, "default": 200},
                    "maxSamples": {"type": "integer"},
                },
                "x-kubernetes-validations": [
                    {
                        "rule": "!has(self.maxSamples) || self.maxSamples >= self.minSamples",
                        "message": CEL_MESSAGE,
                    }
                ],
            },
            "status": {
                "type": "object",
                "properties": {
                    "observedGeneration": {"type": "integer"},
                    "healthScore": {"type": "integer", "minimum": 0, "maximum": 100},
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Model", "type": "string", "jsonPath": ".spec.model"},
                        {"name": "Health", "type": "integer", "jsonPath": ".status.healthScore"},
                    ],
                }
            ],
        },
    }


@pytest.fixture
def plural(admin_api: k8s.ApiClient) -> Iterator[str]:
    """A freshly installed, Established CRD (a unique name per test); removed afterwards."""
    extensions = k8s.ApiextensionsV1Api(admin_api)
    custom = k8s.CustomObjectsApi(admin_api)
    plural = f"widgets{secrets.token_hex(3)}"
    extensions.create_custom_resource_definition(widget_crd(plural))

    def established() -> bool:
        crd = extensions.read_custom_resource_definition(f"{plural}.{GROUP}")
        conditions = crd.status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    wait_for(established, 30, f"CRD {plural} not Established")

    def served() -> bool:  # discovery and the handler follow Established closely, not at once
        try:
            custom.list_cluster_custom_object(GROUP, "v1alpha1", plural)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    wait_for(served, 30, f"{plural} not served")
    yield plural
    extensions.delete_custom_resource_definition(f"{plural}.{GROUP}")


def widget(name: str, plural: str, **spec: Any) -> dict[str, Any]:
    kind = plural.capitalize()[:-1]
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def test_valid_object_is_accepted_and_defaulted(
    admin_api: k8s.ApiClient, namespace: str, plural: str
) -> None:
    custom = k8s.CustomObjectsApi(admin_api)
    body = widget("ok", plural, model="credit-scoring", maxSamples=500, unknownField=1)
    created = custom.create_namespaced_custom_object(GROUP, "v1alpha1", namespace, plural, body)
    assert created["spec"] == {"model": "credit-scoring", "minSamples": 200, "maxSamples": 500}
    assert created["metadata"]["generation"] == 1


def test_cel_rule_rejects_with_its_message(
    admin_api: k8s.ApiClient, namespace: str, plural: str
) -> None:
    custom = k8s.CustomObjectsApi(admin_api)
    body = widget("bad", plural, model="m", minSamples=100, maxSamples=10)
    with pytest.raises(ApiException) as info:
        custom.create_namespaced_custom_object(GROUP, "v1alpha1", namespace, plural, body)
    assert info.value.status == 422
    status = json.loads(info.value.body)
    assert status["reason"] == "Invalid"
    assert CEL_MESSAGE in status["message"]
    causes = status["details"]["causes"]
    assert any(c["field"] == "spec" and CEL_MESSAGE in c["message"] for c in causes)


def test_schema_rejects_missing_required_field(
    admin_api: k8s.ApiClient, namespace: str, plural: str
) -> None:
    custom = k8s.CustomObjectsApi(admin_api)
    with pytest.raises(ApiException) as info:
        custom.create_namespaced_custom_object(
            GROUP, "v1alpha1", namespace, plural, widget("bad", plural, minSamples=1)
        )
    assert info.value.status == 422
    assert "spec.model: Required value" in json.loads(info.value.body)["message"]


def test_status_subresource_does_not_bump_generation(
    admin_api: k8s.ApiClient, namespace: str, plural: str
) -> None:
    custom = k8s.CustomObjectsApi(admin_api)
    args = (GROUP, "v1alpha1", namespace, plural)
    custom.create_namespaced_custom_object(*args, widget("w", plural, model="m"))

    patched = custom.patch_namespaced_custom_object_status(
        *args,
        "w",
        {"status": {"observedGeneration": 1, "healthScore": 71, "undeclared": "pruned"}},
        _content_type="application/merge-patch+json",
    )
    assert patched["metadata"]["generation"] == 1
    assert patched["status"] == {"observedGeneration": 1, "healthScore": 71}

    # Status sent to the main resource is ignored; a spec change bumps the generation.
    patched = custom.patch_namespaced_custom_object(
        *args,
        "w",
        {"spec": {"model": "m2"}, "status": {"healthScore": 5}},
        _content_type="application/merge-patch+json",
    )
    assert patched["metadata"]["generation"] == 2
    assert patched["status"]["healthScore"] == 71

    with pytest.raises(ApiException) as info:
        custom.patch_namespaced_custom_object_status(
            *args,
            "w",
            {"status": {"healthScore": 101}},
            _content_type="application/merge-patch+json",
        )
    assert info.value.status == 422
