"""Garbage collection of owned objects and RBAC, by the real controllers and authorizer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cluster.controlplane import ControlPlane, wait_for

pytestmark = pytest.mark.cluster


def exists(read: Callable[[], Any]) -> bool:
    try:
        read()
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    return True


def status_of(call: Callable[[], Any]) -> int:
    """The HTTP status of an API call: 200 when it succeeds, else the error's status."""
    try:
        call()
    except ApiException as e:
        return int(e.status)
    return 200


def owned_config_maps(core: k8s.CoreV1Api, namespace: str) -> dict[str, Any]:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
        "blockOwnerDeletion": True,
    }
    for child in ("child-a", "child-b"):
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": child, "ownerReferences": [ref]}}
        )
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "child-s", "ownerReferences": [ref]}}
    )
    return ref


@pytest.mark.parametrize("propagation", ["Background", "Foreground"])
def test_deleting_owner_deletes_owned_objects(
    admin_api: k8s.ApiClient, namespace: str, propagation: str
) -> None:
    core = k8s.CoreV1Api(admin_api)
    owned_config_maps(core, namespace)
    core.delete_namespaced_config_map("owner", namespace, body={"propagationPolicy": propagation})

    def children() -> list[str]:
        names = [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
        names += [s.metadata.name for s in core.list_namespaced_secret(namespace).items]
        return sorted(n for n in names if n.startswith(("child", "owner")))

    wait_for(lambda: children() == [], 60, lambda: f"left behind: {children()}")


def test_orphan_propagation_keeps_owned_objects(admin_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin_api)
    owned_config_maps(core, namespace)
    core.delete_namespaced_config_map("owner", namespace, body={"propagationPolicy": "Orphan"})
    wait_for(
        lambda: not exists(lambda: core.read_namespaced_config_map("owner", namespace)),
        60,
        "owner not deleted",
    )

    def orphaned() -> bool:
        child = core.read_namespaced_config_map("child-a", namespace)
        return not child.metadata.owner_references

    wait_for(orphaned, 60, "child-a still has its owner reference")
    assert exists(lambda: core.read_namespaced_config_map("child-b", namespace))


def test_deleting_a_cronjob_deletes_its_jobs_and_pods(
    admin_api: k8s.ApiClient, namespace: str
) -> None:
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    template = {
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "x", "command": ["true"]}],
                }
            }
        }
    }
    cronjob = batch.create_namespaced_cron_job(
        namespace,
        {"metadata": {"name": "cj"}, "spec": {"schedule": "0 0 1 1 *", "jobTemplate": template}},
    )
    ref = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": "cj",
        "uid": cronjob.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    batch.create_namespaced_job(
        namespace, {"metadata": {"name": "cj-now", "ownerReferences": [ref]}, **template}
    )

    def complete() -> bool:
        job = batch.read_namespaced_job_status("cj-now", namespace)
        return any(c.type == "Complete" for c in job.status.conditions or [])

    wait_for(complete, 60, "the Job did not complete")
    batch.delete_namespaced_cron_job("cj", namespace, body={"propagationPolicy": "Background"})

    def leftovers() -> list[str]:
        jobs = [j.metadata.name for j in batch.list_namespaced_job(namespace).items]
        pods = [p.metadata.name for p in core.list_namespaced_pod(namespace).items]
        return jobs + pods

    wait_for(lambda: leftovers() == [], 60, lambda: f"left behind: {leftovers()}")


def test_unprivileged_user_cannot_list_secrets(
    unprivileged_api: k8s.ApiClient, operator_api: k8s.ApiClient, namespace: str
) -> None:
    for api in (unprivileged_api, operator_api):
        core = k8s.CoreV1Api(api)
        with pytest.raises(ApiException) as info:
            core.list_namespaced_secret(namespace)
        assert info.value.status == 403
        message = json.loads(info.value.body)["message"]
        assert 'cannot list resource "secrets"' in message
        assert status_of(core.list_secret_for_all_namespaces) == 403


def access_review(api: k8s.ApiClient, namespace: str, verb: str, resource: str) -> bool:
    group, _, plural = resource.rpartition("/")
    review = {
        "spec": {
            "resourceAttributes": {
                "namespace": namespace,
                "verb": verb,
                "group": group,
                "resource": plural,
            }
        }
    }
    result = k8s.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(result.status.allowed)


def test_service_account_can_do_exactly_what_its_role_allows(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, namespace: str
) -> None:
    core, rbac = k8s.CoreV1Api(admin_api), k8s.RbacAuthorizationV1Api(admin_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "reader"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}})
    rules = [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
    ]
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "reader"}, "rules": rules})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
        },
    )
    api = control_plane.service_account_client(namespace, "reader")
    sa_core = k8s.CoreV1Api(api)

    # The authorizer's RBAC cache follows the new binding within moments.
    wait_for(
        lambda: status_of(lambda: sa_core.list_namespaced_config_map(namespace)) == 200,
        30,
        "the Role's rights never arrived",
    )
    assert sa_core.read_namespaced_config_map("cfg", namespace).metadata.name == "cfg"
    assert (
        status_of(
            lambda: sa_core.create_namespaced_config_map(namespace, {"metadata": {"name": "x"}})
        )
        == 403
    )
    assert status_of(lambda: sa_core.delete_namespaced_config_map("cfg", namespace)) == 403
    assert status_of(lambda: sa_core.list_namespaced_secret(namespace)) == 403
    assert status_of(lambda: sa_core.list_namespaced_config_map("default")) == 403
    assert status_of(sa_core.list_config_map_for_all_namespaces) == 403

    expected = {
        ("get", "configmaps"): True,
        ("list", "configmaps"): True,
        ("watch", "configmaps"): True,
        ("create", "configmaps"): False,
        ("update", "configmaps"): False,
        ("patch", "configmaps"): False,
        ("delete", "configmaps"): False,
        ("create", "batch/jobs"): True,
        ("get", "batch/jobs"): False,
        ("delete", "batch/jobs"): False,
        ("create", "batch/cronjobs"): False,
        ("get", "secrets"): False,
        ("list", "secrets"): False,
        ("create", "pods"): False,
        ("list", "pods"): False,
    }
    actual = {
        (verb, resource): access_review(api, namespace, verb, resource)
        for verb, resource in expected
    }
    assert actual == expected
