"""The one Secret per namespace the operator may touch: read, create, replace, delete.

Used only with `--manage-tenant-credentials`; the operator's rights name that Secret
(`TENANCY_RULES` in `rbac`), so every call here is by name. A Secret's content never
appears in an error: the API server's Status payload is kept to its status and reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .errors import ApiError, NotFoundError
from .objects import FIELD_MANAGER, Cluster, Kind

SECRET: Final = Kind("/api/v1", "secrets")


def _quiet(exc: ApiError) -> ApiError:
    """The same error without the server's message (which may quote the object)."""
    return type(exc)(exc.status, exc.reason, "")


def read_secret(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    """The Secret, or None when there is none."""
    try:
        return cluster.get(SECRET, namespace, name)
    except ApiError as exc:
        raise _quiet(exc) from None


def create_secret(cluster: Cluster, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Create `manifest`; `AlreadyExistsError` when its name is taken."""
    namespace = str(manifest["metadata"]["namespace"])
    try:
        return cluster.request(
            "POST",
            SECRET.path(namespace),
            dict(manifest),
            query=[("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict")],
        )
    except ApiError as exc:
        raise _quiet(exc) from None


def replace_secret(
    cluster: Cluster, manifest: Mapping[str, Any], resource_version: str
) -> dict[str, Any]:
    """Replace the Secret with `manifest` if it is still at `resource_version`
    (`ConflictError` otherwise)."""
    body = json.loads(json.dumps(manifest))
    body["metadata"]["resourceVersion"] = resource_version
    metadata = body["metadata"]
    try:
        return cluster.request(
            "PUT",
            SECRET.path(metadata["namespace"], metadata["name"]),
            body,
            query=[("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict")],
        )
    except ApiError as exc:
        raise _quiet(exc) from None


def delete_secret(
    cluster: Cluster, namespace: str, name: str, uid: str, resource_version: str
) -> bool:
    """Delete the Secret if it is still the one read (uid and resourceVersion
    preconditions: a Secret replaced meanwhile is left alone, `ConflictError`). False when
    it was gone already."""
    options = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "preconditions": {"uid": uid, "resourceVersion": resource_version},
    }
    try:
        cluster.request("DELETE", SECRET.path(namespace, name), options)
    except NotFoundError:
        return False
    except ApiError as exc:
        raise _quiet(exc) from None
    return True
