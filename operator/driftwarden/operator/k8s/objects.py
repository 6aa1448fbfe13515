"""Create, read, replace and patch the objects the operator owns; Events; dry-run.

One small REST adapter over the Kubernetes client's `call_api`, working on plain dicts in
the API server's wire format (the planners' format), so no model conversion sits between a
plan and the request. Every call has a request timeout; every failure is an `ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from driftwarden.operator.api.common import GROUP, VERSION

from .errors import (
    AlreadyExistsError,
    ApiError,
    NotFoundError,
    TransientApiError,
    error_from,
    translate,
)

REQUEST_TIMEOUT: Final = (5.0, 30.0)
"""(connect, read) seconds of every request: a stalled connection never hangs a worker."""
FIELD_MANAGER: Final = "driftwarden-operator"


@dataclass(frozen=True)
class Kind:
    """Where objects of one kind live in the API."""

    prefix: str  # "/api/v1" or "/apis/<group>/<version>"
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None, name: str | None = None, sub: str = "") -> str:
        base = self.prefix
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


CONFIG_MAP: Final = Kind("/api/v1", "configmaps")
POD: Final = Kind("/api/v1", "pods")
EVENT: Final = Kind("/api/v1", "events")
JOB: Final = Kind("/apis/batch/v1", "jobs")
CRON_JOB: Final = Kind("/apis/batch/v1", "cronjobs")
MODEL_MONITOR: Final = Kind(f"/apis/{GROUP}/{VERSION}", "modelmonitors")
MONITOR_CLASS: Final = Kind(f"/apis/{GROUP}/{VERSION}", "monitorclasses", namespaced=False)
RETRAIN_POLICY: Final = Kind(f"/apis/{GROUP}/{VERSION}", "retrainpolicies")
RETRAIN_RUN: Final = Kind(f"/apis/{GROUP}/{VERSION}", "retrainruns")

_BY_KIND: Final = {
    ("v1", "ConfigMap"): CONFIG_MAP,
    ("v1", "Pod"): POD,
    ("batch/v1", "Job"): JOB,
    ("batch/v1", "CronJob"): CRON_JOB,
    (f"{GROUP}/{VERSION}", "ModelMonitor"): MODEL_MONITOR,
    (f"{GROUP}/{VERSION}", "MonitorClass"): MONITOR_CLASS,
    (f"{GROUP}/{VERSION}", "RetrainPolicy"): RETRAIN_POLICY,
    (f"{GROUP}/{VERSION}", "RetrainRun"): RETRAIN_RUN,
}


def kind_of(manifest: Mapping[str, Any]) -> Kind:
    key = (str(manifest.get("apiVersion")), str(manifest.get("kind")))
    if key not in _BY_KIND:
        raise ValueError(f"no adapter for {key[1]} ({key[0]})")
    return _BY_KIND[key]


class Cluster:
    """The API calls the operator makes, as plain-dict adapters."""

    def __init__(self, api: k8s.ApiClient, reporting_instance: str) -> None:
        self.api = api
        self.reporting_instance = reporting_instance

    # --- the one request function ------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        try:
            method, url, headers, body_out, post = self.api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(
                method, url, headers, body_out, post, _request_timeout=REQUEST_TIMEOUT
            )
            data = response.read()  # type: ignore[no-untyped-call]
        except ApiException as exc:
            raise translate(exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientApiError(0, "Unreachable", str(exc)[:300]) from None
        if response.status >= 400:
            raise error_from(response.status, data)
        parsed = json.loads(data or b"{}")
        return parsed if isinstance(parsed, dict) else {}

    # --- objects ------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", kind.path(namespace, name))
        except NotFoundError:
            return None

    def list(
        self, kind: Kind, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else []
        items = self.request("GET", kind.path(namespace), query=query).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    def create(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Create `manifest`; `AlreadyExistsError` when its name is taken."""
        kind = kind_of(manifest)
        query = [("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict")]
        if dry_run:
            query.append(("dryRun", "All"))
        namespace = manifest.get("metadata", {}).get("namespace")
        return self.request("POST", kind.path(namespace), dict(manifest), query=query)

    def replace(self, manifest: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
        """Replace an object with `manifest`, if it is still at `resource_version`."""
        kind = kind_of(manifest)
        body = json.loads(json.dumps(manifest))
        body["metadata"]["resourceVersion"] = resource_version
        metadata = body["metadata"]
        return self.request(
            "PUT",
            kind.path(metadata.get("namespace"), metadata["name"]),
            body,
            query=[("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict")],
        )

    def merge_patch(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        patch: Mapping[str, Any],
        *,
        subresource: str = "",
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """A JSON merge patch; with `resource_version`, `ConflictError` if it moved on."""
        body = json.loads(json.dumps(patch))
        if resource_version is not None:
            body.setdefault("metadata", {})["resourceVersion"] = resource_version
        return self.request(
            "PATCH",
            kind.path(namespace, name, subresource),
            body,
            query=[("fieldManager", FIELD_MANAGER)],
            content_type="application/merge-patch+json",
        )

    def apply_dry_run(self, manifest: Mapping[str, Any], field_manager: str) -> dict[str, Any]:
        """A server-side apply with dryRun=All: what the object would become."""
        kind = kind_of(manifest)
        metadata = manifest.get("metadata", {})
        return self.request(
            "PATCH",
            kind.path(metadata.get("namespace"), metadata["name"]),
            dict(manifest),
            query=[("fieldManager", field_manager), ("dryRun", "All"), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )

    # --- Events -------------------------------------------------------------------------

    def post_event(
        self, involved: Mapping[str, Any], event_type: str, reason: str, message: str
    ) -> None:
        """A core/v1 Event on `involved` (reportingInstance: this Pod's name)."""
        metadata = involved.get("metadata", {})
        namespace = metadata.get("namespace") or "default"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": f"{metadata.get('name', 'object')[:200]}.",
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": metadata.get("name"),
                "namespace": namespace,
                "uid": metadata.get("uid"),
                "resourceVersion": metadata.get("resourceVersion"),
            },
            "type": event_type,
            "reason": reason[:128],
            "message": message[:1024],
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": FIELD_MANAGER,
            "reportingInstance": self.reporting_instance[:128],
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self.request("POST", EVENT.path(namespace), event)
        except (AlreadyExistsError, NotFoundError):
            pass
        except ApiError:
            # An Event is best effort: a lost one never blocks a reconcile.
            return
