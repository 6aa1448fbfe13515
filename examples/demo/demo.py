"""`make demo` / `make demo-down`: the real product on real data, on a cluster of your own.

    python examples/demo/demo.py up      # everything below; returns once the run is shown
    python examples/demo/demo.py down    # stops everything `up` started

`up`: the census employment data (examples/demo/census.py) into a local PostgreSQL; a
cluster: the current kubeconfig's when it answers and DEMO_IMAGE (an image the cluster can
pull) and DEMO_DATABASE_URL (a Postgres its Pods can reach) are set, else the test control
plane (etcd, kube-apiserver, kube-controller-manager built from Go modules by
tests/controlplane/build.sh, cached; a pod runner plays the kubelet and runs Pods' commands
as local processes); `helm install` of charts/driftwarden; the operator the chart installed,
run here as the chart's ServiceAccount (no images run on the local control plane); the
MonitorClass, ModelMonitor and RetrainPolicy of examples/gitops/monitors/census.yaml (the
monitors the GitOps examples deploy); a run-now
request; progress while it runs; then `kubectl get mm,rp,rr`, the drifted features and where
to look next. Everything it starts is recorded in .demo/*.pid for `down`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

import census  # noqa: E402  (beside this file)

STATE = ROOT / ".demo"
RELEASE, SYSTEM, NAMESPACE, MONITOR = "driftwarden", "driftwarden-system", "census", "employment"
GROUP, VERSION = "driftwarden.io", "v1alpha1"
MANIFESTS = ROOT / "examples" / "gitops" / "monitors" / "census.yaml"
RUN_TIMEOUT = 600.0


def say(text: str) -> None:
    print(text, flush=True)


def step(number: int, text: str) -> None:
    say(f"[{number}/8] {text}")


# --- down ------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _stop_pid(name: str, pid: int, grace: float = 60.0) -> None:
    if not _alive(pid):
        return
    say(f"stopping {name} (pid {pid})")
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def down(state: Path) -> int:
    """Stop the operator, then the cluster and Postgres; wait until every recorded pid is gone."""
    if not state.exists():
        say("nothing to stop (no .demo folder)")
        return 0
    # The operator first, then the supervisor (which stops the pod runner, the control
    # plane and Postgres itself), then anything recorded that is still there.
    for name in ("operator", "serve"):
        path = state / f"{name}.pid"
        if path.exists():
            _stop_pid(name, int(path.read_text()))
    children = state / "children.json"
    if children.exists():
        for name, pid in json.loads(children.read_text()).items():
            _stop_pid(name, int(pid), grace=10)
    pids = {path.stem: int(path.read_text()) for path in state.glob("*.pid")}
    if children.exists():
        pids |= {name: int(pid) for name, pid in json.loads(children.read_text()).items()}
    left = [name for name, pid in pids.items() if _alive(pid)]
    if left:
        say(f"still running: {', '.join(left)}")
        return 1
    shutil.rmtree(state)
    say("the demo is down: nothing it started is running")
    return 0


# --- serve: the long-lived supervisor of the local cluster and Postgres --------------------


def serve(state: Path) -> int:
    """Postgres, the control plane and the pod runner, until SIGTERM."""
    from cluster.controlplane import locate_binaries
    from cluster.plugin import start_control_plane
    from cluster.podrunner import PodRunner
    from pg import PostgresServer

    stop = {"now": False}

    def on_term(_signum: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    say("starting PostgreSQL")
    server = PostgresServer.start()
    plane = runner = None
    try:
        source = server.create_database("census")
        results = server.create_database("driftwarden")
        say("locating the control plane binaries (a first build takes about 15 minutes)")
        bin_dir = locate_binaries(state / "build.log", say)
        plane = start_control_plane(bin_dir, state / "controlplane")
        runner = PodRunner(plane.client("pod-runner"), state / "pods")
        runner.start()
        children = {c.name: c.process.pid for c in plane.components}
        children["postgres"] = server.process.pid
        (state / "children.json").write_text(json.dumps(children))
        ready = {
            "mode": "local",
            "kubeconfig": str(plane.kubeconfig("admin")),
            "helm": str(plane.helm),
            "source_url": source,
            "results_url": results,
            "pods": str(state / "pods"),
        }
        (state / "ready.json").write_text(json.dumps(ready))  # holds passwords: 0600
        (state / "ready.json").chmod(0o600)
        say("ready")
        while not stop["now"]:
            time.sleep(0.5)
    finally:
        say("stopping")
        if runner is not None:
            runner.stop()
        if plane is not None:
            plane.stop()
        server.stop()
    return 0


# --- up -------------------------------------------------------------------------------------


def _current_cluster() -> str | None:
    """The current kubeconfig's API server when it answers, else None."""
    from kubernetes import client, config

    try:
        config.load_kube_config()
        api = client.ApiClient()
        client.VersionApi(api).get_code(_request_timeout=3)
        host: str = api.configuration.host
        api.close()
    except Exception:
        return None
    return host


def _start_supervisor(state: Path) -> dict[str, Any]:
    log = (state / "serve.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", "--state", str(state)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (state / "serve.pid").write_text(str(process.pid))
    ready = state / "ready.json"
    began = time.monotonic()
    last = ""
    while not ready.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the local cluster did not start; see {state / 'serve.log'}")
        lines = (state / "serve.log").read_text(errors="replace").splitlines()
        if lines and lines[-1] != last and not lines[-1].startswith(("I1", "W1", "E1")):
            last = lines[-1]
            say(f"      {last}")
        if time.monotonic() - began > 1800:
            raise RuntimeError("the local cluster did not start in 30 minutes")
        time.sleep(0.5)
    result: dict[str, Any] = json.loads(ready.read_text())
    return result


def _kubectl(kubeconfig: str, *args: str) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return "(kubectl is not installed: install it to see this table)\n"
    done = subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


def _apply(admin: Any, path: Path) -> None:
    """Create or update each document of `path` (server-side apply, as kubectl would)."""
    from kubernetes import client

    custom = client.CustomObjectsApi(admin)
    core = client.CoreV1Api(admin)
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        kind, name = doc["kind"], doc["metadata"]["name"]
        options = {
            "field_manager": "driftwarden-demo",
            "force": True,
            "_content_type": "application/apply-patch+yaml",
        }
        if kind == "Namespace":
            core.patch_namespace(name, doc, **options)
        elif kind == "MonitorClass":
            custom.patch_cluster_custom_object(
                GROUP, VERSION, "monitorclasses", name, doc, **options
            )
        else:
            plural = {"ModelMonitor": "modelmonitors", "RetrainPolicy": "retrainpolicies"}[kind]
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, doc["metadata"]["namespace"], plural, name, doc, **options
            )
        say(f"      {kind.lower()}/{name} applied")


def _secret(core: Any, namespace: str, name: str, url: str) -> None:
    from kubernetes.client.exceptions import ApiException

    body = {"metadata": {"name": name}, "data": {"url": base64.b64encode(url.encode()).decode()}}
    try:
        core.create_namespaced_secret(namespace, body)
    except ApiException as e:
        if e.status != 409:
            raise
        core.replace_namespaced_secret(name, namespace, body)


def _ensure_namespace(core: Any, name: str) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        core.create_namespace({"metadata": {"name": name}})
    except ApiException as e:
        if e.status != 409:
            raise
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the serviceaccount controller makes `default`
        try:
            core.read_namespaced_service_account("default", name)
            return
        except ApiException as e:
            if e.status != 404:
                raise
        time.sleep(0.2)
    raise RuntimeError(f"namespace {name} has no default ServiceAccount")


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return dict(cond)
    return {}


def _wait_for_run(admin: Any, request: str, operator: Any) -> dict[str, Any]:
    from kubernetes import client

    custom, batch = client.CustomObjectsApi(admin), client.BatchV1Api(admin)
    began = time.monotonic()
    shown = ""
    while time.monotonic() - began < RUN_TIMEOUT:
        operator.alive()
        monitor = custom.get_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "modelmonitors", MONITOR
        )
        status = monitor.get("status", {})
        if status.get("lastRunNowRequest") == request and "-now-" in status.get("lastRun", {}).get(
            "id", ""
        ):
            return dict(monitor)
        jobs = batch.list_namespaced_job(NAMESPACE).items
        now_jobs = [j for j in jobs if "-now-" in j.metadata.name]
        if now_jobs:
            job = now_jobs[-1]
            phase = (
                "succeeded"
                if job.status.succeeded
                else "failed"
                if job.status.failed
                else "running"
                if job.status.active
                else "created"
            )
            line = f"Job {job.metadata.name}: {phase}"
        else:
            reason = _condition(monitor, "Ready").get("reason", "waiting for the operator")
            line = f"monitor: {reason}"
        elapsed = int(time.monotonic() - began)
        if line != shown:
            say(f"      {elapsed:>3}s  {line}")
            shown = line
        time.sleep(1)
    raise RuntimeError(f"no run finished in {RUN_TIMEOUT:.0f}s; see {STATE / 'operator.log'}")


def up(state: Path) -> int:
    from cluster.chartops import LocalOperator, helm, service_account_kubeconfig
    from kubernetes import client, config

    if (state / "serve.pid").exists() or (state / "operator.pid").exists():
        say("a demo is already up: `make demo-down` first")
        return 1
    state.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    step(1, f"real data: US census employment, Massachusetts, from the {census.WHEEL} wheel")
    wheel = census.fetch_wheel()
    frame = census.read_census(wheel)
    counts = frame.groupby("year").size().to_dict()
    say(f"      {len(frame):,} rows; per survey year: {counts}")

    step(2, "a cluster")
    current = _current_cluster()
    image, external_db = os.environ.get("DEMO_IMAGE"), os.environ.get("DEMO_DATABASE_URL")
    if current and image and external_db:
        say(f"      using the current kubeconfig's cluster {current} (image {image})")
        kubeconfig = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))
        helm_bin = shutil.which("helm") or "helm"
        ready = {"mode": "current", "kubeconfig": kubeconfig, "helm": helm_bin}
        source_url = results_url = external_db
    else:
        if current:
            say(
                f"      {current} answers, but its Pods could neither pull a driftwarden image "
                "nor reach a local Postgres: set DEMO_IMAGE and DEMO_DATABASE_URL to use it. "
                "Using the local control plane instead."
            )
        say("      starting PostgreSQL and the local control plane (etcd, kube-apiserver, "
            "kube-controller-manager, pod runner)")  # fmt: skip
        ready = _start_supervisor(state)
        source_url, results_url = ready["source_url"], ready["results_url"]
    admin_kubeconfig = str(ready["kubeconfig"])
    admin = config.new_client_from_config(config_file=admin_kubeconfig)
    core = client.CoreV1Api(admin)

    step(3, f"loading the inference log into Postgres (table {census.TABLE})")
    say(f"      {census.load_postgres(source_url, frame):,} rows loaded")
    migrated = subprocess.run(
        [str(Path(sys.executable).parent / "driftwarden"), "db", "upgrade"],
        env={**os.environ, "DRIFTWARDEN_DATABASE_URL": results_url},
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"driftwarden db upgrade: {migrated.stderr.strip()}")
    say(f"      results database: {migrated.stdout.strip()}")

    step(4, f"helm install {RELEASE} charts/driftwarden -n {SYSTEM}")
    for namespace in (SYSTEM, NAMESPACE):
        _ensure_namespace(core, namespace)
    _secret(core, SYSTEM, "driftwarden-results", results_url)
    values = [
        f"watch.namespaces={{{NAMESPACE}}}",
        "database.existingSecret.name=driftwarden-results",
        "tests.checkService=false",
    ]
    if ready["mode"] == "current" and image:
        repository, _, tag = image.rpartition(":")
        values += [f"image.repository={repository}", f"image.tag={tag}"]
    args = ["upgrade", "--install", RELEASE, str(ROOT / "charts" / "driftwarden"), "-n", SYSTEM]
    for value in values:
        args += ["--set", value]
    out = helm(Path(ready["helm"]), Path(admin_kubeconfig), state / "helm", *args)
    say("      " + "\n      ".join(line for line in out.splitlines()[:6] if line.strip()))

    step(5, "the chart's operator, as its ServiceAccount (a local process)")
    kubeconfig = service_account_kubeconfig(
        admin, SYSTEM, f"{RELEASE}-operator", state / "operator-kubeconfig.yaml", seconds=86400
    )
    operator = LocalOperator.from_deployment(
        admin, SYSTEM, f"{RELEASE}-operator", kubeconfig, state / "operator.log"
    )
    operator.start()
    assert operator.process is not None
    (state / "operator.pid").write_text(str(operator.process.pid))
    deadline = time.monotonic() + 60
    while not operator.alive():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the operator did not answer: {operator.tail()}")
        time.sleep(0.2)
    say(f"      {' '.join(Path(a).name if a.startswith('/') else a for a in operator.argv[:3])} "
        f"... healthy at {operator.health_url}")  # fmt: skip
    if operator.dropped:
        say(f"      (this operator version does not know {', '.join(operator.dropped)} yet)")

    step(6, f"kubectl apply -f {MANIFESTS.relative_to(ROOT)}")
    _secret(core, NAMESPACE, "inference-db", source_url)
    _secret(core, NAMESPACE, "driftwarden-results", results_url)
    _apply(admin, MANIFESTS)

    step(7, "run now: kubectl annotate mm employment driftwarden.io/run-now=...")
    request = str(int(time.time()))
    client.CustomObjectsApi(admin).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        NAMESPACE,
        "modelmonitors",
        MONITOR,
        {"metadata": {"annotations": {"driftwarden.io/run-now": request}}},
    )
    monitor = _wait_for_run(admin, request, operator)

    step(8, f"done in {time.monotonic() - began:.0f}s")
    say(f"\n$ kubectl get mm,rp,rr -n {NAMESPACE}")
    say(_kubectl(admin_kubeconfig, "get", "mm,rp,rr", "-n", NAMESPACE).rstrip())
    status = monitor.get("status", {})
    drifted = status.get("topDriftedFeatures", [])
    say(f"\ndrift:       {_condition(monitor, 'DriftDetected').get('message', '')}")
    performance = _condition(monitor, "PerformanceDegraded")
    say(f"performance: {performance.get('reason', '')}: {performance.get('message', '')}")
    say(f"drifted features ({status.get('driftedFeatures', len(drifted))} of "
        f"{status.get('totalFeatures', '?')}):")  # fmt: skip
    for feature in drifted:
        say("  " + ", ".join(f"{k}={v}" for k, v in feature.items()))
    run_id = status.get("lastRun", {}).get("id", "")
    report = state / "report.html"
    made = subprocess.run(
        [str(Path(sys.executable).parent / "driftwarden"), "report", "--run", run_id,
         "--output", str(report)],
        env={**os.environ, "DRIFTWARDEN_DATABASE_URL": results_url},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    metrics = [a.split("=", 1)[1] for a in operator.argv if a.startswith("--metrics-port=")]
    env_file = state / "env"
    env_file.write_text(f"export DRIFTWARDEN_DATABASE_URL='{results_url}'\n")
    env_file.chmod(0o600)
    exe = Path(sys.executable).parent / "driftwarden"
    shown = [p.relative_to(ROOT) if p.is_relative_to(ROOT) else p for p in (env_file, exe)]
    url_env = f"source {shown[0]} && {shown[1]}"
    say("\nwhere to look next:")
    say(f"  kubectl --kubeconfig {admin_kubeconfig} describe mm {MONITOR} -n {NAMESPACE}")
    if metrics:
        say(f"  metrics:  curl -s http://127.0.0.1:{metrics[0]}/metrics | grep driftwarden_")
    else:
        say("  metrics:  not served by this operator version (--metrics-port)")
    say(f"  history:  {url_env} history runs --monitor {NAMESPACE}/{MONITOR}")
    say(f"  run:      {url_env} history show {run_id}")
    if made.returncode == 0:
        say(f"  report:   {report} ({shown[1]} report --run {run_id} --output report.html)")
    say(f"  operator log: {state / 'operator.log'}")
    say("  stop everything: make demo-down")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "command",
        choices=("up", "down", "serve"),
        help="up: start the demo (make demo); down: stop it all (make demo-down); serve: "
        "Postgres, the control plane and the pod runner until SIGTERM (what up starts)",
    )
    parser.add_argument(
        "--state", type=Path, default=STATE, help="where pids and logs go (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.state)
    if args.command == "down":
        return down(args.state)
    try:
        return up(args.state)
    except (RuntimeError, OSError) as error:
        say(f"demo: error: {error}")
        say("stop what was started with: make demo-down")
        return 1


if __name__ == "__main__":
    sys.exit(main())
