"""CronJob -> Job -> Pod -> status, with the real controllers and the test-side pod runner."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cluster.controlplane import wait_for
from cluster.podrunner import PodRunner

pytestmark = pytest.mark.cluster

# A container's program, run by the pod runner in this Python environment. It writes a JSON
# summary to the path it is given (the Pod's terminationMessagePath, mapped to a per-Pod file).
SUMMARY_PROGRAM = """
import json, os, sys
summary = {"model": os.environ["MODEL"], "token": os.environ["DB_TOKEN"],
           "table": os.environ["TABLE"], "pod": os.environ["POD_NAME"], "argv": sys.argv[1:]}
with open(os.environ["SUMMARY_PATH"], "w") as f:
    json.dump(summary, f)
print("evaluated", summary["model"])
"""


def python(code: str, *args: str) -> list[str]:
    return ["python", "-c", code, *args]


def job_spec(command: list[str], backoff_limit: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "backoffLimit": backoff_limit,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": "ignored.example/driftwarden:test",
                        "command": command,
                        **extra,
                    }
                ],
            }
        },
    }


def job_condition(batch: k8s.BatchV1Api, namespace: str, name: str, kind: str) -> bool:
    job = batch.read_namespaced_job_status(name, namespace)
    return any(c.type == kind and c.status == "True" for c in job.status.conditions or [])


def job_pods(core: k8s.CoreV1Api, namespace: str, job: str) -> list[Any]:
    selector = f"batch.kubernetes.io/job-name={job}"
    pods: list[Any] = core.list_namespaced_pod(namespace, label_selector=selector).items
    return sorted(pods, key=lambda p: p.metadata.creation_timestamp)


def describe_job(batch: k8s.BatchV1Api, core: k8s.CoreV1Api, ns: str, name: str) -> str:
    job = batch.read_namespaced_job_status(name, ns)
    pods = [(p.metadata.name, p.status.phase) for p in job_pods(core, ns, name)]
    return f"job {name} status {job.status.to_dict()}; pods {pods}"


@pytest.fixture
def summary_cronjob(admin_api: k8s.ApiClient, namespace: str) -> Any:
    """A CronJob every minute whose Pod reads a Secret and a ConfigMap and writes a summary."""
    core = k8s.CoreV1Api(admin_api)
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "db"}, "stringData": {"token": "s3cret"}}
    )
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "settings"}, "data": {"table": "inference_log"}}
    )
    env = [
        {"name": "MODEL", "value": "credit-scoring"},
        {"name": "SUMMARY_PATH", "value": "/dev/termination-log"},
        {"name": "DB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "db", "key": "token"}}},
        {"name": "TABLE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "table"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    spec = job_spec(python(SUMMARY_PROGRAM, "--model", "$(MODEL)"), env=env)
    cronjob = {
        "metadata": {"name": "monitor"},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": spec},
        },
    }
    return k8s.BatchV1Api(admin_api).create_namespaced_cron_job(namespace, cronjob)


def assert_summary(core: k8s.CoreV1Api, namespace: str, job: str) -> None:
    (pod,) = job_pods(core, namespace, job)
    assert pod.status.phase == "Succeeded"
    (container,) = pod.status.container_statuses
    terminated = container.state.terminated
    assert terminated.exit_code == 0
    assert terminated.reason == "Completed"
    assert json.loads(terminated.message) == {
        "model": "credit-scoring",
        "token": "s3cret",
        "table": "inference_log",
        "pod": pod.metadata.name,
        "argv": ["--model", "credit-scoring"],
    }


def test_job_from_cronjob_template_completes_with_termination_message(
    admin_api: k8s.ApiClient,
    namespace: str,
    summary_cronjob: Any,
    pod_runner: PodRunner,
) -> None:
    """What `kubectl create job --from=cronjob/monitor` does, without waiting for the minute."""
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    cronjob = batch.read_namespaced_cron_job(summary_cronjob.metadata.name, namespace)
    owner = k8s.V1OwnerReference(
        api_version="batch/v1",
        kind="CronJob",
        name=cronjob.metadata.name,
        uid=cronjob.metadata.uid,
        controller=True,
    )
    job = k8s.V1Job(
        metadata=k8s.V1ObjectMeta(
            name="monitor-manual",
            annotations={"cronjob.kubernetes.io/instantiate": "manual"},
            owner_references=[owner],
        ),
        spec=cronjob.spec.job_template.spec,
    )
    batch.create_namespaced_job(namespace, job)
    wait_for(
        lambda: job_condition(batch, namespace, "monitor-manual", "Complete"),
        60,
        lambda: describe_job(batch, core, namespace, "monitor-manual"),
    )
    assert_summary(core, namespace, "monitor-manual")
    (pod,) = job_pods(core, namespace, "monitor-manual")
    assert "evaluated credit-scoring" in pod_runner.log(namespace, pod.metadata.name)


@pytest.mark.slow
def test_cronjob_schedule_creates_a_job_that_completes(
    admin_api: k8s.ApiClient, namespace: str, summary_cronjob: Any
) -> None:
    """The real schedule: the CronJob controller starts a Job within a minute."""
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    uid = summary_cronjob.metadata.uid

    def scheduled_job() -> str | None:
        for job in batch.list_namespaced_job(namespace).items:
            if any(o.uid == uid for o in job.metadata.owner_references or []):
                return str(job.metadata.name)
        return None

    name = wait_for(scheduled_job, 75, "the CronJob controller started no Job")
    wait_for(
        lambda: job_condition(batch, namespace, name, "Complete"),
        60,
        lambda: describe_job(batch, core, namespace, name),
    )
    assert_summary(core, namespace, name)

    def last_success() -> bool:
        status = batch.read_namespaced_cron_job_status("monitor", namespace).status
        return status.last_successful_time is not None

    wait_for(last_success, 30, "CronJob status.lastSuccessfulTime not set")


def test_failing_job_ends_failed_after_backoff_limit(
    admin_api: k8s.ApiClient, namespace: str
) -> None:
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    spec = job_spec(python("import sys; print('boom'); sys.exit(3)"), backoff_limit=1)
    spec["template"]["spec"]["containers"][0]["terminationMessagePolicy"] = "FallbackToLogsOnError"
    batch.create_namespaced_job(namespace, {"metadata": {"name": "fails"}, "spec": spec})
    # The Job controller waits ~10 s (its pod-failure backoff) before the second Pod.
    wait_for(
        lambda: job_condition(batch, namespace, "fails", "Failed"),
        90,
        lambda: describe_job(batch, core, namespace, "fails"),
    )
    job = batch.read_namespaced_job_status("fails", namespace)
    (failed,) = [c for c in job.status.conditions if c.type == "Failed"]
    assert failed.reason == "BackoffLimitExceeded"
    assert job.status.failed == 2
    pods = job_pods(core, namespace, "fails")
    assert [p.status.phase for p in pods] == ["Failed", "Failed"]
    for pod in pods:
        terminated = pod.status.container_statuses[0].state.terminated
        assert (terminated.exit_code, terminated.reason) == (3, "Error")
        assert terminated.message.strip() == "boom"  # the log tail, by the policy


def test_pod_failure_policy_fails_job_on_invalid_input_exit_code(
    admin_api: k8s.ApiClient, namespace: str
) -> None:
    """Exit code 2 (invalid input) fails the Job at once, without using up the backoffLimit."""
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    spec = job_spec(python("raise SystemExit(2)"), backoff_limit=5)
    spec["podFailurePolicy"] = {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": "main", "operator": "In", "values": [2]},
            }
        ]
    }
    batch.create_namespaced_job(namespace, {"metadata": {"name": "invalid"}, "spec": spec})
    wait_for(
        lambda: job_condition(batch, namespace, "invalid", "Failed"),
        60,
        lambda: describe_job(batch, core, namespace, "invalid"),
    )
    job = batch.read_namespaced_job_status("invalid", namespace)
    (failed,) = [c for c in job.status.conditions if c.type == "Failed"]
    assert failed.reason == "PodFailurePolicy"
    assert len(job_pods(core, namespace, "invalid")) == 1


def pod_body(name: str, code: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "ignored", "command": python(code)}
    return {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def read_pod(core: k8s.CoreV1Api, namespace: str, name: str) -> Any:
    return core.read_namespaced_pod(name, namespace)


def test_active_deadline_kills_the_pod(admin_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin_api)
    code = "import time; time.sleep(120)"
    core.create_namespaced_pod(namespace, pod_body("slow", code, activeDeadlineSeconds=2))

    def failed() -> Any:
        pod = read_pod(core, namespace, "slow")
        return pod if pod.status.phase == "Failed" else None

    pod = wait_for(failed, 30, lambda: str(read_pod(core, namespace, "slow").status))
    assert pod.status.reason == "DeadlineExceeded"
    assert pod.status.container_statuses[0].state.terminated.reason == "DeadlineExceeded"


def test_deleting_a_running_pod_kills_its_process(
    admin_api: k8s.ApiClient, namespace: str, pod_runner: PodRunner
) -> None:
    core = k8s.CoreV1Api(admin_api)
    code = "import os, time; open('pid', 'w').write(str(os.getpid())); time.sleep(120)"
    core.create_namespaced_pod(namespace, pod_body("sleeper", code))

    def running() -> bool:
        return bool(read_pod(core, namespace, "sleeper").status.phase == "Running")

    wait_for(running, 30, "the Pod never ran")
    folder = wait_for(lambda: pod_runner.pod_folder(namespace, "sleeper"), 10, "no pod folder")
    pid_file = folder / "main" / "pid"
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30, "no pid"))

    core.delete_namespaced_pod("sleeper", namespace)

    def gone() -> bool:
        try:
            read_pod(core, namespace, "sleeper")
        except ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    wait_for(gone, 30, "the deleted Pod is still there")

    def dead() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(dead, 10, f"process {pid} still runs")


def test_missing_secret_key_waits_then_runs(admin_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin_api)
    body = pod_body("needs-secret", "import os; print(os.environ['TOKEN'])")
    body["spec"]["containers"][0]["env"] = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "token"}}}
    ]
    core.create_namespaced_pod(namespace, body)

    def waiting_reason() -> str | None:
        statuses = read_pod(core, namespace, "needs-secret").status.container_statuses or []
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.reason if waiting else None

    wait_for(lambda: waiting_reason() == "CreateContainerConfigError", 30, "not waiting")
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "late"}, "stringData": {"token": "t"}}
    )
    wait_for(
        lambda: read_pod(core, namespace, "needs-secret").status.phase == "Succeeded",
        30,
        "the Pod did not run once the Secret existed",
    )


def test_runner_uses_this_python_environment(admin_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin_api)
    body = pod_body("which", "import sys; open(sys.argv[1], 'w').write(sys.prefix)")
    body["spec"]["containers"][0]["args"] = ["/dev/termination-log"]
    core.create_namespaced_pod(namespace, body)
    wait_for(
        lambda: read_pod(core, namespace, "which").status.phase == "Succeeded",
        30,
        "the Pod did not succeed",
    )
    pod = read_pod(core, namespace, "which")
    assert pod.status.container_statuses[0].state.terminated.message == sys.prefix


def test_on_failure_restarts_the_container_in_place(
    admin_api: k8s.ApiClient, namespace: str
) -> None:
    """restartPolicy OnFailure: the first run fails, the restart (same Pod) succeeds."""
    batch, core = k8s.BatchV1Api(admin_api), k8s.CoreV1Api(admin_api)
    code = (
        "import os, sys\n"
        "if not os.path.exists('tried'):\n"
        "    open('tried', 'w').close(); sys.exit(1)\n"
    )
    spec = job_spec(python(code), backoff_limit=3)
    spec["template"]["spec"]["restartPolicy"] = "OnFailure"
    batch.create_namespaced_job(namespace, {"metadata": {"name": "flaky"}, "spec": spec})
    wait_for(
        lambda: job_condition(batch, namespace, "flaky", "Complete"),
        60,
        lambda: describe_job(batch, core, namespace, "flaky"),
    )
    (pod,) = job_pods(core, namespace, "flaky")
    (container,) = pod.status.container_statuses
    assert container.restart_count == 1
    assert container.last_state.terminated.exit_code == 1
    assert container.state.terminated.exit_code == 0
