"""Gather, plan, apply for a monitor's silences (acknowledgement, maintenance windows).

Called on every ModelMonitor event (by the handlers) and for every monitor by one
operator-wide thread every `--alert-sync-interval` (so a maintenance occurrence gets its
silence ahead of time, an acknowledgement that ended is noticed, and a silence lost by an
Alertmanager without persistence is made again). Gathers the monitor's silences from
Alertmanager, asks `plan.plan_silences`, creates and expires silences, marks the monitor's
alerts in the history (acknowledged, or firing again), and writes `status.alerting` with
the resourceVersion it planned from.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from driftwarden.detectors.errors import DriftwardenError
from driftwarden.detectors.storage.alerts import (
    acknowledge_monitor_alerts,
    release_monitor_alerts,
)
from driftwarden.operator.api.alerting import AlertingStatus
from driftwarden.operator.api.modelmonitor import ModelMonitor
from driftwarden.operator.k8s.errors import ApiError, ConflictError, NotFoundError
from driftwarden.operator.k8s.objects import MODEL_MONITOR, Cluster

from .alertmanager import AlertmanagerClient, AlertmanagerError, Silence
from .plan import (
    SilencePlan,
    acknowledged_by,
    created_events,
    matchers,
    plan_deleted,
    plan_silences,
    silences_by_monitor,
    status_after,
    status_events,
    wants_silences,
)
from .windows import DEFAULT_LOOKAHEAD

log = logging.getLogger("driftwarden.operator.alerting")

ATTEMPTS = 3
DEFAULT_INTERVAL = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SilenceSync:
    cluster: Cluster
    alertmanager: AlertmanagerClient
    results: Engine | None = None
    lookahead: timedelta = DEFAULT_LOOKAHEAD
    clock: Callable[[], datetime] = _now

    def sync(self, body: Mapping[str, Any], existing: list[Silence] | None = None) -> None:
        """Bring one monitor's silences and `status.alerting` in line with its request.

        `existing`: the silences Alertmanager holds for it, when the caller read them
        already (the periodic pass); else they are read here, and only when the monitor asks
        for a silence or has one recorded (a monitor without acknowledgement, windows or
        `status.alerting` costs no call; the periodic pass finds any stray silence).
        """
        for attempt in range(ATTEMPTS):
            if self._sync_once(body, existing if attempt == 0 else None):
                return
            metadata = body.get("metadata") or {}
            found = self.cluster.get(
                MODEL_MONITOR, metadata.get("namespace"), str(metadata.get("name"))
            )
            if found is None:
                return
            body = found
        log.warning("status.alerting kept changing; the next sync writes it")

    def deleted(self, namespace: str, name: str) -> None:
        """The monitor was deleted: its silences end now."""
        existing = self.alertmanager.silences(matchers(namespace, name))
        self._carry_out(plan_deleted(namespace, name, existing), None)
        if self.results is not None:
            release_monitor_alerts(self.results, namespace, name)

    def _sync_once(self, body: Mapping[str, Any], existing: list[Silence] | None) -> bool:
        metadata = body.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            return True
        try:
            monitor = ModelMonitor.model_validate(body)
        except ValidationError:
            return True  # the reconcile reports an unreadable monitor (Stalled)
        namespace, name = monitor.metadata.namespace, monitor.metadata.name
        if existing is None and not wants_silences(monitor):
            return True
        now = self.clock()
        if existing is None:
            existing = self.alertmanager.silences(matchers(namespace, name))
        plan = plan_silences(monitor, existing, now, self.lookahead)
        ids = self._carry_out(plan, body)
        previous = monitor.status.alerting
        status = status_after(plan, ids, previous)
        self._mark_alerts(namespace, name, acknowledged_by(previous, now), status, now)
        if status == previous:
            return True
        patch = {"status": {"alerting": _body(status)}}
        try:
            self.cluster.merge_patch(
                MODEL_MONITOR,
                namespace,
                name,
                patch,
                subresource="status",
                resource_version=str(metadata.get("resourceVersion")),
            )
        except ConflictError:
            return False
        except NotFoundError:
            return True
        for event_type, reason, message in status_events(plan, previous):
            self.cluster.post_event(body, event_type, reason, message)
        return True

    def _carry_out(self, plan: SilencePlan, body: Mapping[str, Any] | None) -> dict[str, str]:
        ids: dict[str, str] = {}
        for silence in plan.expire:
            self.alertmanager.expire_silence(silence.id)
        for desired in plan.create:
            ids[desired.key] = self.alertmanager.create_silence(desired.silence)
        if body is not None:
            for event_type, reason, message in [*plan.events, *created_events(plan, ids)]:
                self.cluster.post_event(body, event_type, reason, message)
        return ids

    def _mark_alerts(
        self,
        namespace: str,
        name: str,
        before: str | None,
        status: AlertingStatus | None,
        now: datetime,
    ) -> None:
        if self.results is None:
            return
        holder = acknowledged_by(status, now)
        try:
            if holder is not None:
                acknowledge_monitor_alerts(self.results, namespace, name, holder, now)
            elif before is not None:
                release_monitor_alerts(self.results, namespace, name)
        except DriftwardenError as exc:  # the history is best effort; the silence is what counts
            log.warning("alert history of %s/%s: %s", namespace, name, exc)

    def sync_all(self, namespaces: tuple[str, ...]) -> None:
        """Every monitor, with one read of Alertmanager's silences; the live silences of
        ours whose monitor no longer exists (deleted while the operator was down) expire."""
        by_monitor = silences_by_monitor(self.alertmanager.silences({}))
        seen: set[tuple[str, str]] = set()
        for namespace in namespaces or (None,):
            for item in self.cluster.list(MODEL_MONITOR, namespace):
                meta = item.get("metadata") or {}
                key = (str(meta.get("namespace")), str(meta.get("name")))
                seen.add(key)
                try:
                    self.sync(item, by_monitor.get(key, []))
                except (AlertmanagerError, ApiError) as exc:
                    log.warning("silences of %s/%s: %s", *key, exc)
        for (namespace, name), existing in sorted(by_monitor.items()):
            if (namespace, name) in seen or (namespaces and namespace not in namespaces):
                continue
            if self.cluster.get(MODEL_MONITOR, namespace, name) is None:
                self._carry_out(plan_deleted(namespace, name, existing), None)

    def start_periodic(
        self, namespaces: tuple[str, ...], interval: timedelta = DEFAULT_INTERVAL
    ) -> threading.Event:
        """Sync every monitor every `interval` in one daemon thread; set the returned event
        to stop it."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval.total_seconds()):
                try:
                    self.sync_all(namespaces)
                except (AlertmanagerError, ApiError) as exc:
                    log.warning("periodic silence sync: %s", exc)

        threading.Thread(target=loop, name="silence-sync", daemon=True).start()
        return stop


def _body(status: AlertingStatus | None) -> dict[str, Any] | None:
    """The merge patch of `status.alerting`: a field that is None is sent as null, which
    removes it (a withdrawn acknowledgement disappears)."""
    if status is None:
        return None
    dumped: dict[str, Any] = status.model_dump(mode="json", by_alias=True)
    return dumped


def sync_silences(silences: SilenceSync, body: Mapping[str, Any], event_type: str | None) -> None:
    """A ModelMonitor event: sync its silences; a failure is logged and the periodic sync
    tries again (the reconcile never waits on Alertmanager)."""
    metadata = body.get("metadata") or {}
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    try:
        if event_type == "DELETED":
            silences.deleted(namespace, name)
        else:
            silences.sync(body)
    except (AlertmanagerError, ApiError) as exc:
        log.warning("silences of %s/%s: %s (the periodic sync retries)", namespace, name, exc)
