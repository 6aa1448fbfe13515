"""Time from a run-now request to a filled status, against the detector run alone.

Starts what the operator tests start (the control plane built from Go modules, the pod
runner, PostgreSQL 15 with a drifted inference log, `driftwarden operator` as a subprocess
with the rights it ships with) and prints:

1. baseline: `driftwarden run` alone as a subprocess on the same run configuration and
   databases (what every run costs whatever schedules it), median of `--baseline-runs`;
2. operator: `kubectl annotate ... driftwarden.io/run-now=<n>` (a merge patch) until the
   status names that run, median and p95 of `--runs` requests one after the other, and the
   ratio of each to the baseline median; the difference is the operator, the Job
   controller and the pod runner;
3. where the time goes, median over the requests of each step as a watch in this process
   sees it: the operator creates the Job (request -> Job), the Job controller creates its
   Pod (-> Pod), the pod runner starts the container (-> Running), `driftwarden run` runs
   (-> Pod ended: the termination message is written), the operator ingests it (-> status
   filled; the Job is marked as ingested just after); aside, when the Job controller marks
   the Job finished, which the ingest no longer waits for. Beside it, the start-up of a
   `driftwarden run` process: the interpreter and the CLI (`driftwarden --version`) and
   every import a run makes.

    python benchmarks/bench_operator.py              # 20 requests (a few minutes)
    python benchmarks/bench_operator.py --runs 5

Needs the control plane (`bash tests/controlplane/build.sh`, or
DRIFTWARDEN_CONTROLPLANE_DIR) and PostgreSQL 15.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from cluster.controlplane import locate_binaries, wait_for  # noqa: E402
from cluster.plugin import start_control_plane  # noqa: E402
from cluster.podrunner import PodRunner  # noqa: E402
from cluster.test_operator import (  # noqa: E402
    GROUP,
    VERSION,
    OperatorProcess,
    _apply,
    _get,
    _last_run,
    _monitor,
    _run_now,
    cluster_role,
    source_tables,
)
from kubernetes import client as k8s  # noqa: E402
from kubernetes import watch  # noqa: E402
from pg import PostgresServer  # noqa: E402

from driftwarden.detectors.storage import create_engine, upgrade  # noqa: E402


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


STEPS = (
    ("job", "request -> Job created (operator)"),
    ("pod", "Job -> Pod created (Job controller)"),
    ("running", "Pod -> container running (pod runner)"),
    ("pod_ended", "running -> Pod ended (`driftwarden run`)"),
    ("status", "Pod ended -> status filled (operator ingest)"),
)
#: Not on the path since the operator ingests a run when its Pod Succeeded; before, the
#: ingest waited for it.
ASIDE = ("job_ended", "pod_ended", "Pod ended -> Job ended (Job controller)")


class Timeline:
    """When this process first sees each step of each Job (watches on the namespace's Jobs
    and Pods): {job name: {step: perf_counter time}}."""

    def __init__(self, api: k8s.ApiClient, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.seen: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._follow, args=(kind,), daemon=True)
            for kind in ("jobs", "pods")
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def mark(self, job: str, step: str) -> None:
        with self._lock:
            self.seen.setdefault(job, {}).setdefault(step, time.perf_counter())

    def _follow(self, kind: str) -> None:
        batch, core = k8s.BatchV1Api(self.api), k8s.CoreV1Api(self.api)
        lister = batch.list_namespaced_job if kind == "jobs" else core.list_namespaced_pod
        version: str | None = None  # resume where the last stream ended: no step missed
        while not self._stop.is_set():
            follower = watch.Watch()
            options: dict[str, Any] = {"timeout_seconds": 5}
            if version:
                options["resource_version"] = version
            for event in follower.stream(lister, self.namespace, **options):
                version = follower.resource_version
                obj = event["object"]
                if kind == "jobs":
                    self._job(obj)
                else:
                    self._pod(obj)

    def _job(self, job: Any) -> None:
        name = job.metadata.name
        self.mark(name, "job")
        if job.status and (job.status.succeeded or job.status.failed):
            self.mark(name, "job_ended")

    def _pod(self, pod: Any) -> None:
        job = (pod.metadata.labels or {}).get("batch.kubernetes.io/job-name")
        if not job:
            return
        self.mark(job, "pod")
        phase = pod.status.phase if pod.status else None
        if phase == "Running":
            self.mark(job, "running")
        if phase in ("Succeeded", "Failed"):
            self.mark(job, "running")
            self.mark(job, "pod_ended")


def _steps(timeline: Timeline, requests: list[tuple[str, float, float]]) -> dict[str, list[float]]:
    """Each step's duration per request: (job name, requested at, status filled at)."""
    steps: dict[str, list[float]] = {key: [] for key, _ in STEPS}
    for job, began, shown in requests:
        seen = dict(timeline.seen.get(job, {}))
        seen["status"] = shown
        previous = began
        for key, _ in STEPS:
            if key not in seen:
                break
            steps[key].append(seen[key] - previous)
            previous = seen[key]
    return steps


def _startup(runs: int) -> tuple[list[float], list[float]]:
    """A `driftwarden` process's start-up (interpreter and CLI), and every import of a run."""
    exe = str(Path(sys.executable).parent / "driftwarden")
    imports = "import driftwarden.detectors.cli, driftwarden.detectors.job.run"
    cli, everything = [], []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([exe, "--version"], check=True, stdout=subprocess.DEVNULL)
        cli.append(time.perf_counter() - began)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", imports], check=True)
        everything.append(time.perf_counter() - began)
    return cli, everything


def _install(admin: k8s.ApiClient, namespace: str, urls: dict[str, str]) -> None:
    import yaml

    extensions = k8s.ApiextensionsV1Api(admin)
    for path in sorted((REPO / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            extensions.patch_custom_resource_definition(
                crd["metadata"]["name"],
                crd,
                field_manager="bench",
                force=True,
                _content_type="application/apply-patch+yaml",
            )
    custom = k8s.CustomObjectsApi(admin)

    def served() -> bool:
        try:
            custom.list_cluster_custom_object(GROUP, VERSION, "monitorclasses")
            custom.list_cluster_custom_object(GROUP, VERSION, "modelmonitors")
        except k8s.ApiException:
            return False
        return True

    wait_for(served, 60, "CRDs not served")
    rbac = k8s.RbacAuthorizationV1Api(admin)
    rbac.create_cluster_role(cluster_role("bench-operator"))
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": "bench-operator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "bench-operator",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "operator"}
            ],
        }
    )
    core = k8s.CoreV1Api(admin)
    core.create_namespace({"metadata": {"name": namespace}})
    wait_for(
        lambda: any(
            sa.metadata.name == "default"
            for sa in core.list_namespaced_service_account(namespace).items
        ),
        30,
        "no default ServiceAccount",
    )
    for name, url in (("inference-db", urls["source"]), ("results", urls["results"])):
        core.create_namespaced_secret(
            namespace, {"metadata": {"name": name}, "stringData": {"url": url}}
        )
    custom.create_cluster_custom_object(
        GROUP,
        VERSION,
        "monitorclasses",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "MonitorClass",
            "metadata": {"name": "bench"},
            "spec": {
                "image": "ignored.example/driftwarden:bench",
                "serviceAccountName": "default",
                "resultsSecretRef": {"name": "results", "key": "url"},
            },
        },
    )


def _baseline(admin: k8s.ApiClient, namespace: str, urls: dict[str, str], runs: int) -> list[float]:
    """`driftwarden run` alone on the run configuration the operator planned."""
    monitor = _get(admin, namespace, "bench")
    config_map = k8s.CoreV1Api(admin).read_namespaced_config_map(
        monitor["status"]["configMapName"], namespace
    )
    exe = str(Path(sys.executable).parent / "driftwarden")
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "run.yaml"
        config.write_text(config_map.data["run.yaml"])
        for i in range(runs):
            env = {
                **os.environ,
                "DRIFTWARDEN_RUN_ID": f"bench-alone-{i}",
                "DRIFTWARDEN_SOURCE_URL": urls["source"],
                "DRIFTWARDEN_DATABASE_URL": urls["results"],
                "DRIFTWARDEN_SUMMARY_PATH": str(Path(folder) / "summary.json"),
            }
            began = time.perf_counter()
            subprocess.run([exe, "run", "--config", str(config)], env=env, check=True)
            seconds.append(time.perf_counter() - began)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline-runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}")

    work = Path(tempfile.mkdtemp(prefix="bench-operator-"))
    bin_dir = locate_binaries(work / "build.log")
    plane = start_control_plane(bin_dir, work)
    runner = PodRunner(plane.client("pod-runner"), work / "pods")
    runner.start()
    server = PostgresServer.start()
    process: OperatorProcess | None = None
    try:
        urls = {
            "source": server.create_database("bench_source"),
            "results": server.create_database("bench_results"),
        }
        engine = create_engine(urls["results"])
        upgrade(engine)
        engine.dispose()
        source_tables(server.dsn("bench_source"))
        admin = plane.client("admin")
        namespace = "bench"
        _install(admin, namespace, urls)
        process = OperatorProcess(plane, namespace, work / "operator.log")
        process.start()
        _apply(admin, namespace, _monitor("bench", "bench"))
        wait_for(
            lambda: bool(_get(admin, namespace, "bench").get("status", {}).get("configMapName")),
            60,
            process.tail,
        )
        alone = _baseline(admin, namespace, urls, args.baseline_runs)
        cli, imports = _startup(args.baseline_runs)

        timeline = Timeline(admin, namespace)
        timeline.start()
        latencies: list[float] = []
        requests: list[tuple[str, float, float]] = []
        previous = ""
        for i in range(args.runs):
            began = time.perf_counter()
            _run_now(admin, namespace, "bench", f"bench-{i}")

            def shown(before: str = previous) -> Any:
                current = _last_run(_get(admin, namespace, "bench"))
                return current if current not in ("", before) else None

            previous = wait_for(shown, 180, process.tail, interval=0.02, max_interval=0.05)
            latencies.append(time.perf_counter() - began)
            job = previous.rpartition("/")[2]  # a run id is <namespace>/<Job name>
            requests.append((job, began, time.perf_counter()))
        timeline.stop()

        base = statistics.median(alone)
        median, p95 = statistics.median(latencies), _p95(latencies)
        print(f"baseline: driftwarden run alone, median of {len(alone)}: {base:.2f} s")
        print(
            f"operator: run-now request -> status, {len(latencies)} requests: "
            f"median {median:.2f} s ({median / base:.2f}x the baseline), "
            f"p95 {p95:.2f} s ({p95 / base:.2f}x), min {min(latencies):.2f} s, "
            f"max {max(latencies):.2f} s"
        )
        print(f"operator overhead (median - baseline): {median - base:.2f} s")
        print(
            f"start-up of a run process, median of {len(cli)}: interpreter and CLI "
            f"{statistics.median(cli):.2f} s, with every import of a run "
            f"{statistics.median(imports):.2f} s ({statistics.median(imports) / base:.2f}x "
            "the baseline)"
        )
        print("where the time goes (median of each step, seconds):")
        for key, label in STEPS:
            values = _steps(timeline, requests)[key]
            if values:
                print(f"  {label:<48} {statistics.median(values):6.2f}  (n={len(values)})")
        key, since, label = ASIDE
        aside = [
            seen[key] - seen[since]
            for seen in (timeline.seen.get(job, {}) for job, _, _ in requests)
            if key in seen and since in seen
        ]
        if aside:
            print(f"  aside: {label:<41} {statistics.median(aside):6.2f}  (n={len(aside)})")
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    finally:
        if process is not None:
            process.stop()
        runner.stop()
        plane.stop()
        server.stop()


if __name__ == "__main__":
    main()
