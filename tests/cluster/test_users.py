"""The static-token users and their kubeconfigs, as the apiserver sees them."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from cluster.controlplane import USERS, ControlPlane

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("user", ["admin", "unprivileged", "operator", "pod-runner"])
def test_kubeconfig_authenticates_as_the_user(control_plane: ControlPlane, user: str) -> None:
    """Each kubeconfig works with the kubernetes client's own loader (as kopf and helm use it)."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(
        config_file=str(control_plane.kubeconfig(user)), client_configuration=configuration
    )
    with k8s.ApiClient(configuration) as api:
        review = k8s.AuthenticationV1Api(api).create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
    info = review.status.user_info
    assert info.username == USERS[user].name
    assert sorted(info.groups) == sorted({*USERS[user].groups, "system:authenticated"})


def test_service_account_token_authenticates_as_the_service_account(
    control_plane: ControlPlane, namespace: str
) -> None:
    api = control_plane.service_account_client(namespace, "default")
    review = k8s.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    info = review.status.user_info
    assert info.username == f"system:serviceaccount:{namespace}:default"
    assert "system:serviceaccounts" in info.groups
