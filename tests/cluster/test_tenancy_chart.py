"""`helm install` with `tenancy.enabled` into the real control plane: the operator's
ServiceAccount may create Secrets and touch exactly one Secret name, in every namespace
(the ClusterRole variant; test_tenancy.py runs the operator with the per-namespace Roles).
The real authorizer answers, through the ServiceAccount's own token."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cluster.chartops import helm
from cluster.controlplane import ControlPlane, wait_for
from cluster.plugin import create_test_namespace
from cluster.test_chart import CHART, can_i

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SECRET = "driftwarden-tenant-results"


def _status(call: object) -> int:
    assert callable(call)
    try:
        call()
    except ApiException as e:
        return int(e.status)
    return 200


def test_tenancy_enabled_grants_the_one_secret_name_everywhere_and_nothing_more(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, tmp_path: Path
) -> None:
    core = k8s.CoreV1Api(admin_api)
    suffix = secrets.token_hex(3)
    release, system, tenant = "dwtenancy", f"dw-tsys-{suffix}", f"dw-tenant-{suffix}"
    for name in (system, tenant):
        create_test_namespace(core, name)
    core.create_namespaced_secret(
        tenant, {"metadata": {"name": "inference-db"}, "stringData": {"url": "postgresql://x"}}
    )
    admin_kubeconfig = control_plane.kubeconfig("admin")
    home = tmp_path / "helm"
    helm(
        control_plane.helm, admin_kubeconfig, home,
        "install", release, str(CHART), "-n", system, "--take-ownership",
        "--set", "tenancy.enabled=true",
        "--set", "database.existingSecret.name=results",
        "--set", f"monitorClass.name={release}-{suffix}",
        "--set", "tests.enabled=false",
    )  # fmt: skip
    try:
        operator_sa = f"{release}-driftwarden-operator"
        user = f"system:serviceaccount:{system}:{operator_sa}"
        args = (
            k8s.AppsV1Api(admin_api)
            .read_namespaced_deployment(operator_sa, system)
            .spec.template.spec.containers[0]
            .args
        )
        assert "--manage-tenant-credentials" in args
        sa_core = k8s.CoreV1Api(
            control_plane.token_client(control_plane.service_account_token(system, operator_sa))
        )
        named = f"metadata.name={SECRET}"
        wait_for(
            lambda: (
                _status(lambda: sa_core.list_secret_for_all_namespaces(field_selector=named)) == 200
            ),
            30,
            "the tenancy ClusterRole's rights never arrived",
        )
        # The operator's own list and watch: every namespace, that one name.
        assert _status(lambda: sa_core.list_namespaced_secret(tenant, field_selector=named)) == 200
        # Any other Secret, or all of them: refused.
        assert _status(sa_core.list_secret_for_all_namespaces) == 403
        assert _status(lambda: sa_core.list_namespaced_secret(tenant)) == 403
        assert _status(lambda: sa_core.read_namespaced_secret("inference-db", tenant)) == 403
        assert (
            _status(
                lambda: sa_core.patch_namespaced_secret(
                    "inference-db", tenant, {"metadata": {"labels": {"x": "y"}}}
                )
            )
            == 403
        )
        assert _status(lambda: sa_core.delete_namespaced_secret("inference-db", tenant)) == 403
        # Its own name: create, read, replace, delete.
        body = {"metadata": {"name": SECRET}, "stringData": {"url": "postgresql://tenant"}}
        created = sa_core.create_namespaced_secret(tenant, body)
        created.metadata.annotations = {"driftwarden.io/rotated": "1"}
        sa_core.replace_namespaced_secret(SECRET, tenant, created)
        assert sa_core.read_namespaced_secret(SECRET, tenant).metadata.annotations
        sa_core.delete_namespaced_secret(SECRET, tenant)
        for verb in ("get", "update", "delete"):
            assert not can_i(admin_api, user, verb, "", "secrets", tenant)  # unnamed: no
        assert can_i(admin_api, user, "create", "", "secrets", tenant)
        assert not can_i(admin_api, user, "patch", "", "secrets", tenant)
    finally:
        helm(control_plane.helm, admin_kubeconfig, home, "uninstall", release, "-n", system)
        for name in (system, tenant):
            core.delete_namespace(name)
