"""A Kubernetes client from the in-cluster configuration or the current kubeconfig."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from .errors import ApiError


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    """In a Pod the in-cluster ServiceAccount; elsewhere `kubeconfig`, `$KUBECONFIG` or
    ~/.kube/config (its current context). An `ApiError` (status 0) names what is missing."""
    configuration = k8s.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            load_incluster: Any = k8s_config.load_incluster_config
            load_incluster(client_configuration=configuration)
        else:
            load_kube: Any = k8s_config.load_kube_config
            load_kube(config_file=kubeconfig, client_configuration=configuration)
    except (ConfigException, OSError) as exc:
        raise ApiError(0, "NoConfiguration", f"no Kubernetes configuration: {exc}") from None
    configuration.retries = 0  # retrying is the caller's decision
    return k8s.ApiClient(configuration)


@dataclass(frozen=True)
class Credentials:
    """How to reach and authenticate to the API server, for clients other than ours (kopf's
    watches), taken from the same configuration."""

    server: str
    ca_path: str | None
    insecure: bool
    token: str | None
    certificate_path: str | None
    private_key_path: str | None


def credentials(api: k8s.ApiClient) -> Credentials:
    configuration = api.configuration
    header = (configuration.api_key or {}).get("authorization") or (
        configuration.api_key or {}
    ).get("BearerToken")
    token = None
    if header:
        token = str(header).removeprefix("Bearer ").strip()
    return Credentials(
        server=str(configuration.host),
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )
