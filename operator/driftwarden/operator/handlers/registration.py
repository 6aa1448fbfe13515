"""The kopf handlers: level-based event handlers that call the glue.

Work that fails on a transient API error is retried by one operator-wide queue (`retry`).
Every watch event of a ModelMonitor (including the initial listing after a start, which is
how a restarted operator catches up) reconciles it; events of our Jobs and Pods (server-side
label selectors, see `settings`) ingest ended runs; a MonitorClass event reconciles the
monitors. Event handlers keep no state in the objects: nothing of kopf's is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import kopf

from driftwarden.operator.alerting.sync import SilenceSync, sync_silences
from driftwarden.operator.api.common import GROUP, VERSION
from driftwarden.operator.k8s.client import credentials
from driftwarden.operator.k8s.errors import ApiError
from driftwarden.operator.k8s.objects import JOB, MODEL_MONITOR
from driftwarden.operator.reconcile.apply import ANNOTATION_DESIRED_HASH
from driftwarden.operator.reconcile.ingest import stuck_pod

from . import glue
from .observe import observe_monitor
from .retrain import Retraining
from .retrain_registration import register_retraining, retry_policy
from .retry import Key, RetryQueue

log = logging.getLogger("driftwarden.operator")


def _succeeded(pod: kopf.Body) -> bool:
    return (pod.get("status") or {}).get("phase") == "Succeeded"


def _retry_work(op: glue.Operator, retraining: Retraining | None = None) -> Callable[[Key], None]:
    def work(key: Key) -> None:
        what, namespace, name = key
        if what == "monitor":
            found = op.cluster.get(MODEL_MONITOR, namespace, name)
            if found is not None:
                glue.reconcile_monitor(op, found)
        elif what == "job":
            job = op.cluster.get(JOB, namespace, name)
            if job is not None:
                glue.ingest_job(op, job)
        elif what == "policy" and retraining is not None:
            retry_policy(retraining, namespace, name)

    return work


def build_registry(
    op: glue.Operator,
    namespaces: tuple[str, ...],
    retraining: Retraining | None = None,
    silences: SilenceSync | None = None,
) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    retry_work = _retry_work(op, retraining)
    retries = RetryQueue(retry_work)
    if op.metrics is not None:
        op.metrics.queue_depth = retries.pending

    def guarded(key: Key, action: Callable[[], None]) -> None:
        try:
            action()
        except ApiError as exc:
            log.warning("%s %s/%s: %s (retried)", *key, exc)
            if op.metrics is not None:
                op.metrics.count_reconcile_error()
            retries.failed(key)
        else:
            retries.succeeded(key)

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
    async def api_reachable(**_: Any) -> bool:
        # Answered on the event loop itself (async: no worker thread needed), so a blocked
        # loop fails the liveness probe and busy workers do not.
        return True

    @kopf.on.event(GROUP, VERSION, "modelmonitors", registry=registry)
    def monitor_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            if op.metrics is not None:
                op.metrics.forget(str(body.metadata.namespace), str(body.metadata.name))
            if silences is not None:
                sync_silences(silences, dict(body), type)
            return
        key = ("monitor", str(body.metadata.namespace), str(body.metadata.name))
        version = str(body.metadata.get("resourceVersion"))
        if op.own_writes.is_own(key[1], key[2], version):
            # Our own status write: nothing to plan, but the metrics show the new status.
            observe_monitor(op, dict(body))
        else:
            guarded(key, lambda: glue.reconcile_monitor(op, dict(body)))
        if silences is not None:  # after the reconcile, which never waits on Alertmanager
            sync_silences(silences, dict(body), type)

    @kopf.on.event(GROUP, VERSION, "monitorclasses", registry=registry)
    def monitor_class_event(type: str | None, **_: Any) -> None:
        if type is None:
            return  # the initial listing: the monitors' own listing reconciles them
        glue.reconcile_all_monitors(op, namespaces)

    @kopf.on.event("batch", "v1", "cronjobs", registry=registry)
    def cronjob_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        # Our CronJob was deleted, or replaced by something without our desired-hash
        # annotation: put the monitor's plan back. (Status updates of the CronJob
        # controller keep the annotation and cost nothing here.)
        annotations = body.metadata.annotations or {}
        if type != "DELETED" and ANNOTATION_DESIRED_HASH in annotations:
            return
        for owner in body.metadata.get("ownerReferences") or []:
            if owner.get("kind") == "ModelMonitor" and owner.get("controller"):
                key: Key = ("monitor", str(body.metadata.namespace), str(owner.get("name")))
                guarded(key, partial(retry_work, key))

    @kopf.on.event("batch", "v1", "jobs", registry=registry)
    def job_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            return
        key = ("job", str(body.metadata.namespace), str(body.metadata.name))
        guarded(key, lambda: glue.ingest_job(op, dict(body)))

    @kopf.on.event("", "v1", "pods", registry=registry)
    def pod_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        # A Pod that cannot start ends its run early; one that Succeeded ends it a second
        # before the Job controller marks the Job Complete (the status shows it that much
        # sooner; the Job's own event then finds it ingested).
        if type == "DELETED" or (stuck_pod([dict(body)]) is None and not _succeeded(body)):
            return
        labels = body.metadata.labels or {}
        job_name = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
        if not job_name:
            return
        key = ("job", str(body.metadata.namespace), str(job_name))

        def ingest() -> None:
            job = glue.job_of_pod(op, dict(body))
            if job is not None:
                glue.ingest_job(op, job)

        guarded(key, ingest)

    if retraining is not None:
        register_retraining(registry, retraining, namespaces, guarded)
    return registry
