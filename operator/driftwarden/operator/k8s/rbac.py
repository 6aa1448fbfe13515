"""The API rights the operator needs, and nothing more: its ClusterRole's rules.

One list, used by the Helm chart's ClusterRole and by the tests, which run the operator as
a user bound to exactly these rules so a missing right fails a test, not a cluster.
"""

from __future__ import annotations

from typing import Any, Final

from driftwarden.operator.api.common import GROUP
from driftwarden.operator.api.tenancy import TENANT_SECRET_NAME

OPERATOR_RULES: Final[list[dict[str, Any]]] = [
    # Its own resources: read and watch; status through the subresource only.
    {
        "apiGroups": [GROUP],
        "resources": ["modelmonitors"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [GROUP], "resources": ["modelmonitors/status"], "verbs": ["get", "patch"]},
    {"apiGroups": [GROUP], "resources": ["monitorclasses"], "verbs": ["get", "list", "watch"]},
    # Retraining: policies are read; RetrainRuns are created (never approved: spec.approval
    # is a person's, or set at creation for approval automatic); both statuses are written.
    {
        "apiGroups": [GROUP],
        "resources": ["retrainpolicies"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": [GROUP],
        "resources": ["retrainruns"],
        "verbs": ["get", "list", "watch", "create"],
    },
    {
        "apiGroups": [GROUP],
        "resources": ["retrainpolicies/status", "retrainruns/status"],
        "verbs": ["get", "patch"],
    },
    # Children: created and replaced, never deleted (garbage collection does that).
    {
        "apiGroups": ["batch"],
        "resources": ["cronjobs"],
        "verbs": ["get", "list", "watch", "create", "update"],
    },
    # Jobs: run-now Jobs are created; every detector Job is annotated once ingested.
    {
        "apiGroups": ["batch"],
        "resources": ["jobs"],
        "verbs": ["get", "list", "watch", "create", "patch"],
    },
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create"]},
    # Detector Pods: their termination messages (the run summaries) and waiting reasons.
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    # Leader election between replicas.
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "create", "update"],
    },
]


#: With `--manage-tenant-credentials` (chart: `tenancy.enabled`), in the watched namespaces:
#: the one Secret of the tenant credentials, by name. RBAC cannot limit `create` to a name,
#: so create is granted on Secrets; every other verb (list and watch included: the operator
#: lists with `fieldSelector=metadata.name=...`) only on that name. No other Secret can be
#: read.
TENANCY_RULES: Final[list[dict[str, Any]]] = [
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    {
        "apiGroups": [""],
        "resources": ["secrets"],
        "resourceNames": [TENANT_SECRET_NAME],
        "verbs": ["get", "list", "watch", "update", "delete"],
    },
]


def cluster_role(name: str) -> dict[str, Any]:
    """The operator's ClusterRole."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "driftwarden"}},
        "rules": [dict(rule) for rule in OPERATOR_RULES],
    }


def tenancy_cluster_role(name: str) -> dict[str, Any]:
    """The tenant-credentials rights as a ClusterRole (bind it per namespace or everywhere)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "driftwarden"}},
        "rules": [dict(rule) for rule in TENANCY_RULES],
    }
