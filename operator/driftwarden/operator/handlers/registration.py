"""The kopf handlers: level-based event handlers that call the glue.

Every watch event of a ModelMonitor (including the initial listing after a start, which is
how a restarted operator catches up) reconciles it; events of our Jobs and Pods (server-side
label selectors, see `settings`) ingest ended runs; a MonitorClass event reconciles the
monitors. Event handlers keep no state in the objects: nothing of kopf's is written.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from driftwarden.operator.api.common import GROUP, VERSION
from driftwarden.operator.k8s.client import credentials
from driftwarden.operator.k8s.errors import ApiError
from driftwarden.operator.reconcile.ingest import stuck_pod

from . import glue

log = logging.getLogger("driftwarden.operator")


def build_registry(op: glue.Operator, namespaces: tuple[str, ...]) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        # The watches authenticate exactly as the adapters do (one configuration).
        found = credentials(op.cluster.api)
        return kopf.ConnectionInfo(
            server=found.server,
            ca_path=found.ca_path,
            insecure=found.insecure,
            token=found.token,
            certificate_path=found.certificate_path,
            private_key_path=found.private_key_path,
        )

    @kopf.on.probe(id="api", registry=registry)
    def api_reachable(**_: Any) -> bool:
        return True  # answered on the event loop: a blocked loop fails the liveness probe

    @kopf.on.event(GROUP, VERSION, "modelmonitors", registry=registry)
    def monitor_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            return
        try:
            glue.reconcile_monitor(op, dict(body))
        except ApiError as exc:
            log.warning("reconciling %s: %s", body.metadata.name, exc)

    @kopf.on.event(GROUP, VERSION, "monitorclasses", registry=registry)
    def monitor_class_event(type: str | None, **_: Any) -> None:
        if type is None:
            return  # the initial listing: the monitors' own listing reconciles them
        glue.reconcile_all_monitors(op, namespaces)

    @kopf.on.event("batch", "v1", "jobs", registry=registry)
    def job_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            return
        try:
            glue.ingest_job(op, dict(body))
        except ApiError as exc:
            log.warning("ingesting Job %s: %s", body.metadata.name, exc)

    @kopf.on.event("", "v1", "pods", registry=registry)
    def pod_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED" or stuck_pod([dict(body)]) is None:
            return
        try:
            job = glue.job_of_pod(op, dict(body))
            if job is not None:
                glue.ingest_job(op, job)
        except ApiError as exc:
            log.warning("ingesting Pod %s: %s", body.metadata.name, exc)

    return registry
