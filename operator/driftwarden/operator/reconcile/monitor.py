"""ModelMonitor -> the ConfigMap, CronJob and run-now Job that should exist.

Everything is a plain dict in the API server's wire format, with a deterministic name and
key order, owned by the monitor (garbage-collected with it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import yaml
from pydantic import ValidationError

from driftwarden.operator.api import conditions as c
from driftwarden.operator.api import run as contract
from driftwarden.operator.api.common import SecretKeyRef, parse_quantity
from driftwarden.operator.api.modelmonitor import KIND, ModelMonitor, detection_part
from driftwarden.operator.api.monitorclass import (
    ANNOTATION_DEFAULT_CLASS,
    MonitorClass,
    resources_beyond,
)

from .apply import stamped
from .naming import (
    ANNOTATION_RUN_NOW,
    ANNOTATION_SPEC_HASH,
    CRONJOB_NAME_LIMIT,
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_MONITOR,
    LABEL_MONITOR_UID,
    LABEL_NAME,
    LABEL_RUN_TRIGGER,
    MANAGED_BY,
    bounded,
    label_value,
    owner_reference,
    short_hash,
)
from .status import Stall, StatusPlan, one_line, plan_reconciled, plan_unreadable, schedule_stall

POD_SECURITY_CONTEXT: Final = {
    # No fixed runAsUser/runAsGroup: OpenShift's restricted profile assigns its own ids and
    # refuses fixed ones; the image's USER is non-root and runAsNonRoot makes sure of it.
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: Final = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}

DETECTOR_CONTAINER: Final = "detector"
DEFAULT_REQUESTS: Final = {"cpu": "100m", "memory": "256Mi"}
"""Requests of a detector container when neither the monitor nor its class sets any, so
namespaces with a ResourceQuota accept the Pods."""


@dataclass(frozen=True)
class PlannerSettings:
    """Operator-wide settings the planners need (from the operator's configuration)."""

    results_secret: SecretKeyRef | None = field(
        default_factory=lambda: SecretKeyRef(name="driftwarden-results", key="url")
    )
    run_now_ttl_seconds: int = 86_400
    training_job_ttl_seconds: int = 7 * 86_400
    retrain_enabled: bool = True
    tenant_secret: SecretKeyRef | None = None
    """With tenant credentials managed by the operator: the namespace's own Secret, which
    the detector Pods read instead of the class's results Secret."""


def select_class(monitor: ModelMonitor, classes: Sequence[MonitorClass]) -> MonitorClass | Stall:
    """The monitor's MonitorClass: the named one, else the default (the newest, if several
    are marked, as Kubernetes picks a default StorageClass). A Stall (MonitorClassNotFound,
    to be retried) when there is none."""
    name = monitor.spec.monitor_class_name
    if name is not None:
        for candidate in classes:
            if candidate.metadata.name == name:
                return candidate
        return Stall(c.MONITOR_CLASS_NOT_FOUND, f"MonitorClass {name} does not exist")
    defaults = [candidate for candidate in classes if candidate.is_default]
    if not defaults:
        return Stall(
            c.MONITOR_CLASS_NOT_FOUND,
            "spec.monitorClassName is empty and no MonitorClass is annotated "
            f"{ANNOTATION_DEFAULT_CLASS}=true",
        )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return max(
        defaults,
        key=lambda k: (k.metadata.creation_timestamp or epoch, k.metadata.name),
    )


def effective_resources(monitor: ModelMonitor, monitor_class: MonitorClass) -> dict[str, Any]:
    """The detector container's resources: the monitor's, else the class's defaults, and
    DEFAULT_REQUESTS for whatever neither requests."""
    chosen = monitor.spec.job.resources or monitor_class.spec.default_resources
    requests = dict(DEFAULT_REQUESTS)
    limits: dict[str, str] = {}
    if chosen is not None:
        requests |= chosen.requests
        limits = dict(chosen.limits)
    chosen_requests = chosen.requests if chosen is not None else {}
    for name, limit in limits.items():
        # A default request above the user's limit would be refused by the API server.
        defaulted = name in DEFAULT_REQUESTS and name not in chosen_requests
        if defaulted and parse_quantity(requests[name]) > parse_quantity(limit):
            requests[name] = limit
    result: dict[str, Any] = {"requests": dict(sorted(requests.items()))}
    if limits:
        result["limits"] = dict(sorted(limits.items()))
    return result


def resources_stall(monitor: ModelMonitor, monitor_class: MonitorClass) -> Stall | None:
    """The monitor asks for more than its class allows (Stalled, ResourcesExceedClass)."""
    if monitor.spec.job.resources is None:
        return None
    problem = resources_beyond(monitor.spec.job.resources, monitor_class.spec.max_resources)
    if problem is None:
        return None
    return Stall(
        c.RESOURCES_EXCEED_CLASS,
        f"job.resources: {problem} (MonitorClass {monitor_class.metadata.name})",
    )


def cronjob_name(monitor: ModelMonitor) -> str:
    """The CronJob's name: the monitor's, so run ids read `<monitor>-<minutes>`."""
    return bounded(monitor.metadata.name, CRONJOB_NAME_LIMIT)


def config_map_name(monitor: ModelMonitor) -> str:
    """`<monitor>-run-<spec hash>`: a new spec gets a new, immutable ConfigMap, so a Job
    retried after an edit still reads the configuration it started with."""
    return f"{bounded(monitor.metadata.name, 200)}-run-{spec_hash(monitor)[:10]}"


def run_now_job_name(monitor: ModelMonitor, request: str) -> str:
    """One name per run-now request value: creating it twice is a harmless 409."""
    return f"{bounded(monitor.metadata.name, 50)}-now-{short_hash(request)}"


def monitor_labels(monitor: ModelMonitor) -> dict[str, str]:
    return {
        LABEL_NAME: "driftwarden",
        LABEL_COMPONENT: "detector",
        LABEL_INSTANCE: label_value(monitor.metadata.name),
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_MONITOR: label_value(monitor.metadata.name),
        LABEL_MONITOR_UID: monitor.metadata.uid,
    }


def _owner(monitor: ModelMonitor) -> list[dict[str, object]]:
    return [owner_reference(KIND, monitor.metadata.name, monitor.metadata.uid)]


def run_config(monitor: ModelMonitor) -> dict[str, Any]:
    """The resolved run configuration: the monitor as a manifest, every default filled in.

    It is what `driftwarden run --config` reads, and what `driftwarden detect --config` reads
    too (it takes the detection keys of `spec`). Secrets stay references: the Job gets their
    values as environment variables (see `driftwarden.operator.api.run`).
    """
    return {
        contract.CONFIG_VERSION_KEY: contract.RUN_CONFIG_VERSION,
        "apiVersion": monitor.api_version,
        "kind": monitor.kind,
        "metadata": {
            "name": monitor.metadata.name,
            "namespace": monitor.metadata.namespace,
            "uid": monitor.metadata.uid,
            "generation": monitor.metadata.generation,
        },
        "spec": _own_fields_first(
            monitor.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        ),
    }


def _own_fields_first(spec: dict[str, Any]) -> dict[str, Any]:
    """The operator's keys (model, schedule, source, ...) first, then the detection keys."""
    detection = detection_part(spec)
    return {**{k: v for k, v in spec.items() if k not in detection}, **detection}


def spec_hash(monitor: ModelMonitor) -> str:
    """Hash of the resolved spec: changes exactly when what a run does changes."""
    canonical = json.dumps(run_config(monitor)["spec"], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def plan_config_map(monitor: ModelMonitor) -> dict[str, Any]:
    """The immutable ConfigMap mounted into every detector Pod at /etc/driftwarden; named by
    the spec hash (older ones are garbage-collected with the monitor, or pruned by the
    handler once no Job uses them)."""
    return stamped(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": config_map_name(monitor),
                "namespace": monitor.metadata.namespace,
                "labels": monitor_labels(monitor),
                "annotations": {ANNOTATION_SPEC_HASH: spec_hash(monitor)},
                "ownerReferences": _owner(monitor),
            },
            "immutable": True,
            "data": {
                contract.CONFIG_FILE: yaml.safe_dump(run_config(monitor), sort_keys=False),
            },
        }
    )


def _secret_env(name: str, ref: SecretKeyRef) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def _detector_env(
    monitor: ModelMonitor, monitor_class: MonitorClass, settings: PlannerSettings, trigger: str
) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {
            "name": contract.ENV_RUN_ID,
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}
            },
        },
        {
            "name": contract.ENV_MONITOR,
            "value": f"{monitor.metadata.namespace}/{monitor.metadata.name}",
        },
        {"name": contract.ENV_SUMMARY_PATH, "value": contract.SUMMARY_PATH},
    ]
    if trigger == "schedule":
        # A Pod cannot read its Job's cronjob-scheduled-timestamp annotation; the Job's name
        # (`<cronjob>-<Unix minutes>`) carries the same instant. `$(...)` expands the run id.
        env.append(
            {
                "name": contract.ENV_SCHEDULED_TIME,
                "value": f"{contract.SCHEDULED_FROM_JOB_NAME}$({contract.ENV_RUN_ID})",
            }
        )
    postgres = monitor.spec.source.postgres
    if postgres is not None:
        env.append(_secret_env(contract.ENV_SOURCE_URL, postgres.connection_secret_ref))
    results = (
        settings.tenant_secret or monitor_class.spec.results_secret_ref or settings.results_secret
    )
    if results is not None:
        env.append(_secret_env(contract.ENV_DATABASE_URL, results))
    return env


def _pod_spec(
    monitor: ModelMonitor, monitor_class: MonitorClass, settings: PlannerSettings, trigger: str
) -> dict[str, Any]:
    klass = monitor_class.spec
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": contract.CONFIG_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {
            "name": "config",
            "configMap": {
                "name": config_map_name(monitor),
                "items": [{"key": contract.CONFIG_FILE, "path": contract.CONFIG_FILE}],
            },
        },
        {"name": "tmp", "emptyDir": {}},
    ]
    files = monitor.spec.source.files
    if files is not None and files.volume_claim_name is not None:
        mounts.append({"name": "data", "mountPath": contract.DATA_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "data",
                "persistentVolumeClaim": {"claimName": files.volume_claim_name, "readOnly": True},
            }
        )
    container: dict[str, Any] = {
        "name": DETECTOR_CONTAINER,
        "image": klass.image,
        "command": ["driftwarden"],
        "args": ["run", "--config", contract.CONFIG_PATH],
        "env": _detector_env(monitor, monitor_class, settings, trigger),
        "resources": effective_resources(monitor, monitor_class),
        "volumeMounts": mounts,
        "terminationMessagePath": contract.SUMMARY_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": dict(CONTAINER_SECURITY_CONTEXT),
    }
    if klass.image_pull_policy is not None:
        container["imagePullPolicy"] = str(klass.image_pull_policy)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": klass.service_account_name,
        "automountServiceAccountToken": False,  # detector Jobs need no API rights
        "securityContext": dict(POD_SECURITY_CONTEXT),
        "containers": [container],
        "volumes": volumes,
    }
    if klass.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s.name} for s in klass.image_pull_secrets]
    if klass.node_selector:
        spec["nodeSelector"] = dict(klass.node_selector)
    if klass.tolerations:
        spec["tolerations"] = [
            t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in klass.tolerations
        ]
    if klass.affinity:
        spec["affinity"] = dict(klass.affinity)
    if klass.priority_class_name:
        spec["priorityClassName"] = klass.priority_class_name
    return spec


def _job_spec(
    monitor: ModelMonitor, monitor_class: MonitorClass, settings: PlannerSettings, trigger: str
) -> dict[str, Any]:
    job = monitor.spec.job
    labels = {
        **monitor_class.spec.pod_labels,
        **monitor_labels(monitor),
        LABEL_RUN_TRIGGER: trigger,
    }
    return {
        "backoffLimit": job.backoff_limit,
        "activeDeadlineSeconds": job.active_deadline_seconds,
        # Exit code 2 is invalid input: retrying cannot help. Evictions are not failures.
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": DETECTOR_CONTAINER,
                        "operator": "In",
                        "values": [contract.EXIT_INVALID_INPUT],
                    },
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            ]
        },
        "template": {
            "metadata": {
                "labels": labels,
                "annotations": {
                    **monitor_class.spec.pod_annotations,
                    ANNOTATION_SPEC_HASH: spec_hash(monitor),
                },
            },
            "spec": _pod_spec(monitor, monitor_class, settings, trigger),
        },
    }


def plan_cronjob(
    monitor: ModelMonitor, monitor_class: MonitorClass, settings: PlannerSettings
) -> dict[str, Any]:
    """The CronJob that runs the detector on the monitor's schedule, always in an explicit
    time zone (the controller-manager's own zone is nobody's choice)."""
    schedule = monitor.spec.schedule
    job = monitor.spec.job
    labels = monitor_labels(monitor)
    spec: dict[str, Any] = {"schedule": schedule.cron, "timeZone": schedule.time_zone}
    spec |= {
        "suspend": schedule.suspend,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": schedule.starting_deadline_seconds,
        "successfulJobsHistoryLimit": job.successful_jobs_history_limit,
        "failedJobsHistoryLimit": job.failed_jobs_history_limit,
        "jobTemplate": {
            "metadata": {"labels": {**labels, LABEL_RUN_TRIGGER: "schedule"}},
            "spec": _job_spec(monitor, monitor_class, settings, "schedule"),
        },
    }
    return stamped(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {
                "name": cronjob_name(monitor),
                "namespace": monitor.metadata.namespace,
                "labels": labels,
                "annotations": {ANNOTATION_SPEC_HASH: spec_hash(monitor)},
                "ownerReferences": _owner(monitor),
            },
            "spec": spec,
        }
    )


def run_now_request(monitor: ModelMonitor) -> str | None:
    """The pending run-now request: the annotation's value, unless already acted on."""
    request = monitor.metadata.annotations.get(ANNOTATION_RUN_NOW, "").strip()
    if not request or request == monitor.status.last_run_now_request:
        return None
    return request


def plan_run_now_job(
    monitor: ModelMonitor, monitor_class: MonitorClass, settings: PlannerSettings
) -> dict[str, Any] | None:
    """The one-off Job for a pending `driftwarden.io/run-now` request, or None.

    The name depends only on the monitor and the request value, so a restart that plans it
    again gets 409 AlreadyExists instead of a second run.
    """
    request = run_now_request(monitor)
    if request is None:
        return None
    spec = _job_spec(monitor, monitor_class, settings, "run-now")
    spec["ttlSecondsAfterFinished"] = settings.run_now_ttl_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": run_now_job_name(monitor, request),
            "namespace": monitor.metadata.namespace,
            "labels": {**monitor_labels(monitor), LABEL_RUN_TRIGGER: "run-now"},
            "annotations": {
                ANNOTATION_RUN_NOW: request,
                ANNOTATION_SPEC_HASH: spec_hash(monitor),
            },
            "ownerReferences": _owner(monitor),
        },
        "spec": spec,
    }


@dataclass(frozen=True)
class MonitorPlan:
    """Everything one reconcile of a ModelMonitor decides: the objects to apply (none when
    stalled or waiting) and the status to write once they are applied."""

    objects: tuple[dict[str, Any], ...]
    status: StatusPlan
    monitor: ModelMonitor | None


def plan_monitor(
    obj: Mapping[str, Any],
    classes: Sequence[MonitorClass],
    settings: PlannerSettings,
    now: datetime,
) -> MonitorPlan:
    """From a ModelMonitor as the API server returns it to what should exist. Never raises
    on a spec the API server accepted: what the schema cannot check becomes Stalled."""
    try:
        monitor = ModelMonitor.model_validate(obj)
    except ValidationError as exc:
        return MonitorPlan((), plan_unreadable(obj, one_line(exc), now), None)
    stall = schedule_stall(monitor)
    if stall is not None:
        return MonitorPlan((), plan_reconciled(monitor, now, stall=stall), monitor)
    chosen = select_class(monitor, classes)
    if isinstance(chosen, Stall):
        return MonitorPlan((), plan_reconciled(monitor, now, waiting=chosen), monitor)
    stall = resources_stall(monitor, chosen)
    if stall is not None:
        return MonitorPlan(
            (),
            plan_reconciled(monitor, now, stall=stall, monitor_class_name=chosen.metadata.name),
            monitor,
        )
    objects: list[dict[str, Any]] = [
        plan_config_map(monitor),
        plan_cronjob(monitor, chosen, settings),
    ]
    run_now = plan_run_now_job(monitor, chosen, settings)
    if run_now is not None:
        objects.append(run_now)
    status = plan_reconciled(
        monitor,
        now,
        spec_hash=spec_hash(monitor),
        config_map_name=config_map_name(monitor),
        monitor_class_name=chosen.metadata.name,
    )
    return MonitorPlan(tuple(objects), status, monitor)
