"""ModelMonitor -> the ConfigMap, CronJob and run-now Job that should exist.

Everything is a plain dict in the API server's wire format, with a deterministic name and
key order, owned by the monitor (garbage-collected with it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from driftwarden.operator.api import run as contract
from driftwarden.operator.api.common import SecretKeyRef
from driftwarden.operator.api.modelmonitor import KIND, ModelMonitor, detection_part

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

DETECTOR_CONTAINER: Final = "detector"
DETECTOR_UID: Final = 10001  # the image's non-root user (Dockerfile)
DEFAULT_IMAGE: Final = "ghcr.io/driftwarden/driftwarden:0.1.0"


@dataclass(frozen=True)
class PlannerSettings:
    """Operator-wide settings the planners need (from the operator's configuration)."""

    image: str = DEFAULT_IMAGE
    detector_service_account: str = "driftwarden-detector"
    results_secret: SecretKeyRef | None = field(
        default_factory=lambda: SecretKeyRef(name="driftwarden-results", key="url")
    )
    run_now_ttl_seconds: int = 86_400
    retrain_enabled: bool = True


def cronjob_name(monitor: ModelMonitor) -> str:
    """The CronJob's name: the monitor's, so run ids read `<monitor>-<minutes>`."""
    return bounded(monitor.metadata.name, CRONJOB_NAME_LIMIT)


def config_map_name(monitor: ModelMonitor) -> str:
    return bounded(f"{monitor.metadata.name}-driftwarden-run", 253)


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
    """The ConfigMap mounted into every detector Pod at /etc/driftwarden."""
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
            "data": {
                contract.CONFIG_FILE: yaml.safe_dump(run_config(monitor), sort_keys=False),
            },
        }
    )


def _secret_env(name: str, ref: SecretKeyRef) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def _detector_env(monitor: ModelMonitor, settings: PlannerSettings) -> list[dict[str, Any]]:
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
    postgres = monitor.spec.source.postgres
    if postgres is not None:
        env.append(_secret_env(contract.ENV_SOURCE_URL, postgres.connection_secret_ref))
    results = (
        monitor.spec.storage.connection_secret_ref
        if monitor.spec.storage is not None
        else settings.results_secret
    )
    if results is not None:
        env.append(_secret_env(contract.ENV_DATABASE_URL, results))
    return env


def _pod_spec(monitor: ModelMonitor, settings: PlannerSettings) -> dict[str, Any]:
    job = monitor.spec.job
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
        "image": job.image or settings.image,
        "command": ["driftwarden"],
        "args": ["run", "--config", contract.CONFIG_PATH],
        "env": _detector_env(monitor, settings),
        "volumeMounts": mounts,
        "terminationMessagePath": contract.SUMMARY_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if job.image_pull_policy is not None:
        container["imagePullPolicy"] = str(job.image_pull_policy)
    if job.resources is not None:
        container["resources"] = job.resources.model_dump(by_alias=True, exclude_defaults=True)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": job.service_account_name or settings.detector_service_account,
        "automountServiceAccountToken": False,  # detector Jobs need no API rights
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": DETECTOR_UID,
            "runAsGroup": DETECTOR_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    if job.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s.name} for s in job.image_pull_secrets]
    if job.node_selector:
        spec["nodeSelector"] = dict(job.node_selector)
    if job.tolerations:
        spec["tolerations"] = [
            t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in job.tolerations
        ]
    return spec


def _job_spec(monitor: ModelMonitor, settings: PlannerSettings, trigger: str) -> dict[str, Any]:
    job = monitor.spec.job
    labels = {**monitor_labels(monitor), LABEL_RUN_TRIGGER: trigger}
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
                "annotations": {ANNOTATION_SPEC_HASH: spec_hash(monitor)},
            },
            "spec": _pod_spec(monitor, settings),
        },
    }


def plan_cronjob(monitor: ModelMonitor, settings: PlannerSettings) -> dict[str, Any]:
    """The CronJob that runs the detector on the monitor's schedule."""
    schedule = monitor.spec.schedule
    job = monitor.spec.job
    labels = monitor_labels(monitor)
    spec: dict[str, Any] = {"schedule": schedule.cron}
    if schedule.time_zone is not None:
        spec["timeZone"] = schedule.time_zone
    spec |= {
        "suspend": schedule.suspend,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": schedule.starting_deadline_seconds,
        "successfulJobsHistoryLimit": job.successful_jobs_history_limit,
        "failedJobsHistoryLimit": job.failed_jobs_history_limit,
        "jobTemplate": {
            "metadata": {"labels": {**labels, LABEL_RUN_TRIGGER: "schedule"}},
            "spec": _job_spec(monitor, settings, "schedule"),
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


def plan_run_now_job(monitor: ModelMonitor, settings: PlannerSettings) -> dict[str, Any] | None:
    """The one-off Job for a pending `driftwarden.io/run-now` request, or None.

    The name depends only on the monitor and the request value, so a restart that plans it
    again gets 409 AlreadyExists instead of a second run.
    """
    request = run_now_request(monitor)
    if request is None:
        return None
    spec = _job_spec(monitor, settings, "run-now")
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
