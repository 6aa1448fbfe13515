"""Gather, plan, apply: one function per thing the operator reacts to.

Each function reads what exists through the adapters, asks a pure planner what should be,
and makes it so. Status is written only when the planner says it changed, with the
resourceVersion it was planned from (a concurrent writer makes it re-plan, never
overwrite); Events come from the planner's transitions only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from driftwarden.detectors.errors import DriftwardenError
from driftwarden.detectors.storage import get_run, run_drifted_features
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.modelmonitor import ModelMonitor
from driftwarden.operator.api.monitorclass import MonitorClass
from driftwarden.operator.api.run import RunSummary
from driftwarden.operator.k8s.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    InvalidError,
    NotFoundError,
)
from driftwarden.operator.k8s.objects import (
    JOB,
    MODEL_MONITOR,
    MONITOR_CLASS,
    POD,
    Cluster,
    kind_of,
)
from driftwarden.operator.metrics.view import FleetView
from driftwarden.operator.reconcile.apply import ApplyAction, plan_apply
from driftwarden.operator.reconcile.ingest import (
    ANNOTATION_INGESTED,
    RunEnded,
    has_ended,
    is_newer,
    job_run_ids,
    monitor_of,
    plan_ingest,
    pod_summary,
    summary_from_record,
)
from driftwarden.operator.reconcile.monitor import (
    PlannerSettings,
    plan_monitor,
    run_now_request,
)
from driftwarden.operator.reconcile.status import (
    Stall,
    StatusPlan,
    plan_reconciled,
    plan_reconciling,
    plan_run_finished,
    plan_run_now_acted,
)

from .observe import observe_monitor

log = logging.getLogger("driftwarden.operator")

STATUS_ATTEMPTS: Final = 5
_IMMUTABLE_KINDS: Final = frozenset({"ConfigMap", "Job"})


class ClassCache:
    """The MonitorClasses, listed once and kept until a MonitorClass watch event says they
    changed: every monitor's reconcile needs them, and listing them each time was a third of
    the API requests a fleet's first reconcile made (benchmarks/bench_fleet.py)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classes: list[MonitorClass] | None = None

    def get(self, cluster: Cluster) -> list[MonitorClass]:
        with self._lock:
            if self._classes is None:
                self._classes = _list_classes(cluster)
            return list(self._classes)

    def invalidate(self) -> None:
        with self._lock:
            self._classes = None


class OwnWrites:
    """The resourceVersion each monitor got from our last status write. The watch event of
    that version shows an object whose only change is what we planned and wrote, so
    reconciling it again would plan the same thing: the handler skips it. Any other change
    (spec, labels, someone else's write) has another version and is reconciled."""

    LIMIT: Final = 100_000  # entries; beyond it the oldest go (a skipped skip costs one plan)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str], str] = {}

    def wrote(self, namespace: str, name: str, resource_version: str) -> None:
        with self._lock:
            if len(self._versions) >= self.LIMIT:
                self._versions.pop(next(iter(self._versions)))
            self._versions[(namespace, name)] = resource_version

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._versions.pop((namespace, name), None)

    def is_own(self, namespace: str, name: str, resource_version: str) -> bool:
        with self._lock:
            return self._versions.get((namespace, name)) == resource_version


class Ingests:
    """One ingest at a time per Job, and the Job UIDs this process has recorded. A run's end
    reaches the operator by its Job's event, its Pod's and any re-list, possibly at once
    in two handler threads; the second waits and finds it done. (The Job's annotation
    says the same across restarts; this is the in-process half, before the annotation's
    event arrives.)"""

    STRIPES: Final = 64
    LIMIT: Final = 100_000  # remembered UIDs; beyond it the oldest go (the annotation stays)

    def __init__(self) -> None:
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]
        self._lock = threading.Lock()
        self._done: dict[str, None] = {}

    def lock(self, uid: str) -> threading.Lock:
        return self._stripes[hash(uid) % self.STRIPES]

    def done(self, uid: str) -> bool:
        with self._lock:
            return uid in self._done

    def recorded(self, uid: str) -> None:
        with self._lock:
            if len(self._done) >= self.LIMIT:
                self._done.pop(next(iter(self._done)))
            self._done[uid] = None


@dataclass(frozen=True)
class Operator:
    """What every handler needs: the adapters, the planners' settings and, when configured,
    the results database (read only to recover a run whose termination message was lost),
    and the operator's memory of what it listed and wrote (caches only: a restart loses
    nothing but their savings)."""

    cluster: Cluster
    settings: PlannerSettings
    results: Engine | None = None
    after_ingest: list[Callable[[str, str, RunSummary], None]] = field(default_factory=list)
    """Called with (namespace, monitor, summary) once a run is recorded (retraining)."""
    metrics: FleetView | None = None  # the metrics' view of the monitors (--metrics-port)
    classes: ClassCache = field(default_factory=ClassCache)
    own_writes: OwnWrites = field(default_factory=OwnWrites)
    before_apply: list[Callable[[ModelMonitor], Stall | None]] = field(default_factory=list)
    """Called before a monitor's objects are applied (tenancy: its namespace's credentials
    exist); a Stall stops the apply, an ApiError retries it."""
    ingests: Ingests = field(default_factory=Ingests)


def _now() -> datetime:
    return datetime.now(UTC)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _status_body(plan: StatusPlan) -> dict[str, Any]:
    # Fields set to None are sent as null, which a merge patch removes.
    return plan.status.model_dump(mode="json", by_alias=True, exclude={"operator_state"})


def write_status(op: Operator, obj: Mapping[str, Any], plan: StatusPlan) -> bool:
    """Patch the status planned from `obj` (at its resourceVersion) and post its Events.
    False when the object changed meanwhile (its next event re-plans)."""
    if not plan.changed:
        return True
    metadata = _meta(obj)
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    try:
        written = op.cluster.merge_patch(
            MODEL_MONITOR,
            namespace,
            name,
            {"status": _status_body(plan)},
            subresource="status",
            resource_version=str(metadata.get("resourceVersion")),
        )
    except (ConflictError, NotFoundError):
        # Re-planned at the next event, which may be one of our own writes (the ingest
        # wrote meanwhile): that one must not be skipped.
        op.own_writes.forget(namespace, name)
        return False
    version = _meta(written).get("resourceVersion")
    if version:
        op.own_writes.wrote(namespace, name, str(version))
    for event in plan.events:
        op.cluster.post_event(obj, str(event.type), event.reason, event.message)
    return True


def _list_classes(cluster: Cluster) -> list[MonitorClass]:
    classes = []
    for item in cluster.list(MONITOR_CLASS):
        try:
            classes.append(MonitorClass.model_validate(item))
        except ValidationError:
            log.warning("MonitorClass %s is unreadable", _meta(item).get("name"))
    return classes


def _apply(op: Operator, desired: Mapping[str, Any], owner_uid: str) -> ApplyAction:
    """Make `desired` exist: create it, replace ours when its planned hash changed, and
    leave an object of that name that is not ours alone (CONFLICT)."""
    kind = kind_of(desired)
    metadata = _meta(desired)
    immutable = desired.get("kind") in _IMMUTABLE_KINDS
    for _ in range(3):
        existing = op.cluster.get(kind, metadata.get("namespace"), str(metadata["name"]))
        action = plan_apply(existing, desired, owner_uid, immutable=immutable)
        try:
            if action == ApplyAction.CREATE:
                op.cluster.create(desired)
            elif action == ApplyAction.UPDATE:
                assert existing is not None
                op.cluster.replace(desired, str(_meta(existing).get("resourceVersion")))
        except (AlreadyExistsError, ConflictError):
            continue  # someone was faster: look again
        return action
    raise ConflictError(409, "Conflict", f"{desired.get('kind')} {metadata['name']} keeps changing")


def reconcile_monitor(op: Operator, body: Mapping[str, Any]) -> None:
    """A ModelMonitor changed (or the operator started, or its class changed)."""
    if _meta(body).get("deletionTimestamp"):
        return  # garbage collection removes the children
    observe_monitor(op, body)
    now = _now()
    plan = plan_monitor(body, op.classes.get(op.cluster), op.settings, now)
    monitor = plan.monitor
    status = plan.status
    failure: ApiError | None = None
    if monitor is not None and plan.objects:
        status, failure = _apply_plan(op, monitor, plan.objects, status, now)
    write_status(op, body, status)
    if failure is not None:
        raise failure  # Reconciling=True is written; the handler queues a retry


def _apply_plan(
    op: Operator,
    monitor: ModelMonitor,
    objects: tuple[Mapping[str, Any], ...],
    status: StatusPlan,
    now: datetime,
) -> tuple[StatusPlan, ApiError | None]:
    request = run_now_request(monitor)
    for prepare in op.before_apply:
        try:
            stall = prepare(monitor)
        except ApiError as exc:
            return plan_reconciling(monitor, now, str(exc)), exc
        if stall is not None:
            return plan_reconciled(monitor, now, stall=stall), None
    for desired in objects:
        try:
            action = _apply(op, desired, monitor.metadata.uid)
        except InvalidError as exc:
            stall = Stall(c.INVALID_SPEC, f"{desired.get('kind')} refused: {exc.message}")
            return plan_reconciled(monitor, now, stall=stall), None
        except ApiError as exc:
            log.warning("applying %s: %s", desired.get("kind"), exc)
            message = f"applying {desired.get('kind')}: {exc}"
            return plan_reconciling(monitor, now, message), exc
        if action == ApplyAction.CONFLICT:
            name = _meta(desired).get("name")
            stall = Stall(
                c.OBJECT_CONFLICT,
                f"{desired.get('kind')} {name} exists and is not this ModelMonitor's",
            )
            return plan_reconciled(monitor, now, stall=stall), None
    if request is not None:
        acted = plan_run_now_acted(monitor, request)
        updated = status.status.model_copy(
            update={"last_run_now_request": acted.last_run_now_request}
        )
        status = StatusPlan(updated, status.events, updated != monitor.status)
    return status, None


def reconcile_all_monitors(op: Operator, namespaces: tuple[str, ...]) -> None:
    """A MonitorClass changed: every monitor may choose differently now."""
    op.classes.invalidate()
    for namespace in namespaces or (None,):
        for item in op.cluster.list(MODEL_MONITOR, namespace):
            try:
                reconcile_monitor(op, item)
            except ApiError as exc:
                log.warning("reconciling %s: %s", _meta(item).get("name"), exc)


def ingest_job(op: Operator, job: Mapping[str, Any]) -> None:
    """A detector Job changed: when its run ended, record it once (keyed by its UID)."""
    metadata = _meta(job)
    uid = str(metadata.get("uid"))
    if (metadata.get("annotations") or {}).get(ANNOTATION_INGESTED) == uid:
        return
    owner = monitor_of(job)
    if owner is None:
        return
    with op.ingests.lock(uid):
        if not op.ingests.done(uid):
            _ingest(op, job, owner)


def _ingest(op: Operator, job: Mapping[str, Any], owner: tuple[str, str, str]) -> None:
    metadata = _meta(job)
    uid = str(metadata.get("uid"))
    namespace = str(metadata.get("namespace"))
    pods = op.cluster.list(POD, namespace, f"batch.kubernetes.io/controller-uid={uid}")
    fallback = None
    if op.results is not None and has_ended(job):
        run_ids = job_run_ids(job)
        if pod_summary(pods, run_ids) is None:
            fallback = next(filter(None, (_recorded(op.results, i) for i in run_ids)), None)
    ended = plan_ingest(job, pods, _now(), fallback)
    if ended is None:
        return
    _record(op, owner, ended)
    for hook in op.after_ingest:  # before the mark: a failed hook is retried with the ingest
        hook(owner[0], owner[1], ended.summary)
    if op.metrics is not None:
        op.metrics.count_run(owner[0], owner[1], str(ended.summary.outcome))
    op.cluster.merge_patch(
        JOB,
        namespace,
        str(metadata.get("name")),
        {"metadata": {"annotations": {ANNOTATION_INGESTED: uid}}},
    )
    op.ingests.recorded(uid)


def _recorded(results: Engine, run_id: str) -> RunSummary | None:
    try:
        record = get_run(results, run_id)
        if record is None:
            return None
        return summary_from_record(record, run_drifted_features(results, run_id))
    except DriftwardenError as exc:  # the database is down: the Job's condition will do
        log.warning("results database: %s", exc)
        return None


def _record(op: Operator, owner: tuple[str, str, str], ended: RunEnded) -> None:
    namespace, name, uid = owner
    for _ in range(STATUS_ATTEMPTS):
        obj = op.cluster.get(MODEL_MONITOR, namespace, name)
        if obj is None or _meta(obj).get("uid") != uid:
            return  # the monitor is gone (or replaced): nothing to report on
        try:
            monitor = ModelMonitor.model_validate(obj)
        except ValidationError:
            return
        last = monitor.status.last_run
        if last is not None and last.id == ended.summary.run_id:
            return  # recorded before a restart
        if not is_newer(ended, last.completion_time if last else None):
            return
        plan = plan_run_finished(monitor, ended.summary, _now(), ended.reason)
        if write_status(op, obj, plan):
            return
    raise ConflictError(
        409, "Conflict", f"status of {namespace}/{name} kept changing; run {ended.summary.run_id}"
    )


def job_of_pod(op: Operator, pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The detector Job a Pod belongs to (a Pod that cannot start ends its run early)."""
    labels = _meta(pod).get("labels") or {}
    name = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
    if not name:
        return None
    return op.cluster.get(JOB, _meta(pod).get("namespace"), str(name))
