"""The monitor planners: golden manifests and the properties a restarted operator relies on."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from driftwarden.detectors.cli import load_config
from driftwarden.detectors.config import DetectionSpec
from driftwarden.operator.api import ModelMonitor
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api import run as contract
from driftwarden.operator.api.monitorclass import MonitorClass
from driftwarden.operator.reconcile.apply import (
    ANNOTATION_DESIRED_HASH,
    ApplyAction,
    desired_hash,
    plan_apply,
)
from driftwarden.operator.reconcile.monitor import (
    PlannerSettings,
    config_map_name,
    cronjob_name,
    plan_config_map,
    plan_cronjob,
    plan_monitor,
    plan_run_now_job,
    run_now_job_name,
    select_class,
    spec_hash,
)
from driftwarden.operator.reconcile.naming import ANNOTATION_RUN_NOW, bounded
from driftwarden.operator.reconcile.status import Stall

SETTINGS = PlannerSettings()
CLASSES = {
    k.metadata.name: k
    for k in (
        MonitorClass.model_validate(d)
        for d in yaml.safe_load_all(
            (Path(__file__).resolve().parents[2] / "examples" / "monitorclass.yaml").read_text()
        )
    )
}
STANDARD = CLASSES["standard"]
BATCH = CLASSES["batch-nodes"]

Golden = Callable[[str, Any], None]  # the `golden` fixture of conftest.py


def _annotated(monitor: ModelMonitor, **annotations: str) -> ModelMonitor:
    metadata = monitor.metadata.model_copy(update={"annotations": annotations})
    return monitor.model_copy(update={"metadata": metadata})


def test_golden_cronjob_postgres(credit_monitor: ModelMonitor, golden: Golden) -> None:
    golden("cronjob-credit-scoring", plan_cronjob(credit_monitor, STANDARD, SETTINGS))


def test_golden_cronjob_files(churn_monitor: ModelMonitor, golden: Golden) -> None:
    golden("cronjob-churn", plan_cronjob(churn_monitor, BATCH, SETTINGS))


def test_golden_config_map(credit_monitor: ModelMonitor, golden: Golden) -> None:
    golden("configmap-credit-scoring", plan_config_map(credit_monitor))


def test_golden_run_now_job(credit_monitor: ModelMonitor, golden: Golden) -> None:
    monitor = _annotated(credit_monitor, **{ANNOTATION_RUN_NOW: "2026-11-23T12:00:00Z"})
    golden("job-run-now-credit-scoring", plan_run_now_job(monitor, STANDARD, SETTINGS))


def test_cronjob_essentials(credit_monitor: ModelMonitor) -> None:
    cronjob = plan_cronjob(credit_monitor, STANDARD, SETTINGS)
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["timeZone"] == "Europe/Berlin"
    assert spec["suspend"] is False
    assert spec["startingDeadlineSeconds"] == 300
    owner = cronjob["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "ModelMonitor",
        credit_monitor.metadata.uid,
        True,
    )
    job = spec["jobTemplate"]["spec"]
    rule = job["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["values"] == [contract.EXIT_INVALID_INPUT]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["args"] == ["run", "--config", contract.CONFIG_PATH]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    env = {e["name"]: e for e in container["env"]}
    assert env[contract.ENV_SOURCE_URL]["valueFrom"]["secretKeyRef"] == {
        "name": "inference-db",
        "key": "url",
    }
    assert "value" not in env[contract.ENV_SOURCE_URL]  # secrets by reference only


def test_config_map_is_a_readable_monitor_manifest(credit_monitor: ModelMonitor) -> None:
    config_map = plan_config_map(credit_monitor)
    document = yaml.safe_load(config_map["data"][contract.CONFIG_FILE])
    again = ModelMonitor.model_validate(document)
    assert again.spec == credit_monitor.spec
    assert again.spec.detection() == credit_monitor.spec.detection()
    assert document["spec"]["minSamples"] == 200
    assert document["spec"]["decision"] == {"alpha": 0.05, "bins": 10}  # defaults resolved
    assert document[contract.CONFIG_VERSION_KEY] == contract.RUN_CONFIG_VERSION


def test_a_stored_baseline_reaches_the_run_configuration(credit_monitor: ModelMonitor) -> None:
    # The Job reads {profileRef: {name}} from run.yaml and never re-reads the source for it.
    spec = credit_monitor.spec.model_validate(
        {
            **credit_monitor.spec.model_dump(by_alias=True, exclude_none=True),
            "baseline": {"profileRef": {"name": "credit-2026q1"}},
        }
    )
    monitor = credit_monitor.model_copy(update={"spec": spec})
    document = yaml.safe_load(plan_config_map(monitor)["data"][contract.CONFIG_FILE])
    assert document["spec"]["baseline"] == {"profileRef": {"name": "credit-2026q1"}}
    assert ModelMonitor.model_validate(document).spec == spec
    assert config_map_name(monitor) != config_map_name(credit_monitor)


def test_spec_hash_follows_the_spec_only(credit_monitor: ModelMonitor) -> None:
    before = spec_hash(credit_monitor)
    assert spec_hash(_annotated(credit_monitor, anything="x")) == before
    changed_spec = credit_monitor.spec.model_copy(update={"min_samples": 500})
    assert spec_hash(credit_monitor.model_copy(update={"spec": changed_spec})) != before
    hashes = {
        plan_config_map(credit_monitor)["metadata"]["annotations"]["driftwarden.io/spec-hash"],
        plan_cronjob(credit_monitor, STANDARD, SETTINGS)["metadata"]["annotations"][
            "driftwarden.io/spec-hash"
        ],
    }
    assert hashes == {before}


def test_run_now_is_one_job_per_request(credit_monitor: ModelMonitor) -> None:
    assert plan_run_now_job(credit_monitor, STANDARD, SETTINGS) is None
    first = _annotated(credit_monitor, **{ANNOTATION_RUN_NOW: "a"})
    job = plan_run_now_job(first, STANDARD, SETTINGS)
    assert job is not None
    assert job == plan_run_now_job(first, STANDARD, SETTINGS)
    second = plan_run_now_job(
        _annotated(credit_monitor, **{ANNOTATION_RUN_NOW: "b"}), STANDARD, SETTINGS
    )
    assert second is not None
    assert second["metadata"]["name"] != job["metadata"]["name"]
    handled_status = first.status.model_copy(update={"last_run_now_request": "a"})
    assert (
        plan_run_now_job(first.model_copy(update={"status": handled_status}), STANDARD, SETTINGS)
        is None
    )


def test_long_names_stay_valid(credit_monitor: ModelMonitor) -> None:
    long_name = "a-very-long-monitor-name-" * 9
    metadata = credit_monitor.metadata.model_copy(update={"name": long_name.strip("-")})
    monitor = credit_monitor.model_copy(update={"metadata": metadata})
    assert len(cronjob_name(monitor)) <= 52
    assert len(run_now_job_name(monitor, "x")) <= 63
    assert len(config_map_name(monitor)) <= 253
    cronjob = plan_cronjob(monitor, STANDARD, SETTINGS)
    assert all(len(v) <= 63 for v in cronjob["metadata"]["labels"].values())
    assert bounded("x" * 60, 52) != bounded("x" * 61, 52)


def test_storage_override_and_files_volume(churn_monitor: ModelMonitor) -> None:
    pod = plan_cronjob(churn_monitor, BATCH, SETTINGS)["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {
        "claimName": "churn-predictions",
        "readOnly": True,
    }
    env = {e["name"] for e in pod["containers"][0]["env"]}
    assert contract.ENV_SOURCE_URL not in env
    assert contract.ENV_DATABASE_URL in env
    no_results = PlannerSettings(results_secret=None)
    pod = plan_cronjob(churn_monitor, BATCH, no_results)["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]
    assert contract.ENV_DATABASE_URL not in {e["name"] for e in pod["containers"][0]["env"]}


def test_apply_plan_writes_only_what_changed(credit_monitor: ModelMonitor) -> None:
    uid = credit_monitor.metadata.uid
    desired = plan_cronjob(credit_monitor, STANDARD, SETTINGS)
    assert plan_apply(None, desired, uid) == ApplyAction.CREATE
    # What the API server returns has more in it (status, defaults): still up to date.
    existing = copy.deepcopy(desired)
    existing["metadata"]["resourceVersion"] = "42"
    existing["status"] = {"lastScheduleTime": "2026-11-23T06:00:00Z"}
    assert plan_apply(existing, desired, uid) == ApplyAction.KEEP
    newer = STANDARD.spec.model_copy(update={"image": "registry.example/dw:0.2.0"})
    upgraded = plan_cronjob(credit_monitor, STANDARD.model_copy(update={"spec": newer}), SETTINGS)
    assert plan_apply(existing, upgraded, uid) == ApplyAction.UPDATE
    foreign = copy.deepcopy(existing)
    foreign["metadata"]["ownerReferences"] = []
    assert plan_apply(foreign, desired, uid) == ApplyAction.CONFLICT
    assert plan_apply(existing, desired, uid, immutable=True) == ApplyAction.KEEP
    assert desired_hash(desired) == desired["metadata"]["annotations"][ANNOTATION_DESIRED_HASH]


def test_run_config_is_what_the_detect_cli_reads(
    credit_monitor: ModelMonitor, tmp_path: Path
) -> None:
    path = tmp_path / contract.CONFIG_FILE
    path.write_text(plan_config_map(credit_monitor)["data"][contract.CONFIG_FILE])
    settings = DetectionSpec.model_validate(load_config(path))
    assert settings == credit_monitor.spec.detection()


def _with_class_name(monitor: ModelMonitor, name: str | None) -> ModelMonitor:
    spec = monitor.spec.model_copy(update={"monitor_class_name": name})
    return monitor.model_copy(update={"spec": spec})


def test_monitor_class_named_default_or_missing(credit_monitor: ModelMonitor) -> None:
    classes = list(CLASSES.values())
    assert select_class(credit_monitor, classes) == STANDARD  # the one marked default
    assert select_class(_with_class_name(credit_monitor, "batch-nodes"), classes) == BATCH
    missing = select_class(_with_class_name(credit_monitor, "gpu"), classes)
    assert isinstance(missing, Stall)
    assert missing.reason == c.MONITOR_CLASS_NOT_FOUND
    none_default = select_class(credit_monitor, [BATCH])
    assert isinstance(none_default, Stall)
    # Several marked default: the newest wins, as with StorageClasses.
    newer = STANDARD.model_copy(
        update={
            "metadata": STANDARD.metadata.model_copy(
                update={"name": "newer", "creation_timestamp": datetime(2027, 1, 1, tzinfo=UTC)}
            )
        }
    )
    assert select_class(credit_monitor, [STANDARD, newer]) == newer


def test_plan_monitor_stalls_instead_of_planning(credit_monitor: ModelMonitor) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    document = credit_monitor.model_dump(mode="json", by_alias=True, exclude_none=True)
    ok = plan_monitor(document, list(CLASSES.values()), SETTINGS, now)
    assert [o["kind"] for o in ok.objects] == ["ConfigMap", "CronJob"]
    greedy = copy.deepcopy(document)
    greedy["spec"]["job"]["resources"] = {"requests": {"memory": "64Gi"}}
    plan = plan_monitor(greedy, list(CLASSES.values()), SETTINGS, now)
    assert plan.objects == ()
    reasons = {x.type: x.reason for x in plan.status.status.conditions}
    assert reasons[c.STALLED] == c.RESOURCES_EXCEED_CLASS
    overlapping = copy.deepcopy(document)
    overlapping["spec"]["baseline"] = {"relative": {"length": "30d", "endOffset": "1d"}}
    plan = plan_monitor(overlapping, list(CLASSES.values()), SETTINGS, now)
    message = next(x.message for x in plan.status.status.conditions if x.type == c.STALLED)
    assert message.startswith("spec: the baseline window must end before")
    never = copy.deepcopy(document)
    never["spec"]["schedule"]["cron"] = "0 0 31 2 *"
    plan = plan_monitor(never, list(CLASSES.values()), SETTINGS, now)
    reasons = {x.type: x.reason for x in plan.status.status.conditions}
    assert reasons[c.STALLED] == c.INVALID_SCHEDULE
    assert plan.status.status.next_run_time is None


def test_pods_have_no_fixed_ids_and_always_request_resources(
    churn_monitor: ModelMonitor,
) -> None:
    pod = plan_cronjob(churn_monitor, BATCH, SETTINGS)["spec"]["jobTemplate"]["spec"]["template"]
    spec = pod["spec"]
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}}
    assert spec["nodeSelector"] == {"workload": "batch"}
    assert spec["priorityClassName"] == "batch-low"
    assert pod["metadata"]["labels"]["cost-center"] == "ml-platform"
    assert plan_cronjob(churn_monitor, BATCH, SETTINGS)["spec"]["timeZone"] == "Etc/UTC"


def test_config_map_is_immutable_and_named_by_the_spec(credit_monitor: ModelMonitor) -> None:
    config_map = plan_config_map(credit_monitor)
    assert config_map["immutable"] is True
    assert config_map["metadata"]["name"] == f"credit-scoring-run-{spec_hash(credit_monitor)[:10]}"
    changed = credit_monitor.spec.model_copy(update={"min_samples": 500})
    other = plan_config_map(credit_monitor.model_copy(update={"spec": changed}))
    assert other["metadata"]["name"] != config_map["metadata"]["name"]
