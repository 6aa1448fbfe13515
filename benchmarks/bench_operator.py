"""Time from a run-now request to a filled status, against the detector run alone.

Starts what the operator tests start (the control plane built from Go modules, the pod
runner, PostgreSQL 15 with a drifted inference log, `driftwarden operator` as a subprocess
with the rights it ships with) and prints:

1. baseline: `driftwarden run` alone as a subprocess on the same run configuration and
   databases (what every run costs whatever schedules it), median of `--baseline-runs`;
2. operator: `kubectl annotate ... driftwarden.io/run-now=<n>` (a merge patch) until the
   status names that run, median and p95 of `--runs` requests one after the other, and the
   ratio of each to the baseline median; the difference is the operator, the Job
   controller and the pod runner.

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
from pg import PostgresServer  # noqa: E402

from driftwarden.detectors.storage import create_engine, upgrade  # noqa: E402


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


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

        latencies: list[float] = []
        previous = ""
        for i in range(args.runs):
            began = time.perf_counter()
            _run_now(admin, namespace, "bench", f"bench-{i}")

            def shown(before: str = previous) -> Any:
                current = _last_run(_get(admin, namespace, "bench"))
                return current if current not in ("", before) else None

            previous = wait_for(shown, 180, process.tail, interval=0.02, max_interval=0.05)
            latencies.append(time.perf_counter() - began)

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
    finally:
        if process is not None:
            process.stop()
        runner.stop()
        plane.stop()
        server.stop()


if __name__ == "__main__":
    main()
