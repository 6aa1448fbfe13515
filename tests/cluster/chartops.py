"""Run the chart's operator as a local process, as the chart's ServiceAccount.

Where images cannot run (the test control plane, the demo on a machine without a container
engine) the Deployment the chart installed is read back from the API server and its
container is started here: the same arguments and environment (the `fieldRef`s and Secrets it
names resolved through the API), a token of the chart's operator ServiceAccount from the
TokenRequest API in a kubeconfig of its own, and free local ports instead of the container's.
So the operator has exactly the rights the chart grants, and the chart's arguments are the
ones that run. Used by tests/cluster/test_chart.py and by the demo (examples/demo).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s

from cluster.controlplane import free_port

#: Operator flags the chart passes that other work adds (metrics, the Alertmanager receiver,
#: retraining). An older operator that does not know one runs without it.
PENDING_FLAGS = frozenset(
    {
        "--metrics-port",
        "--alert-receiver-port",
        "--alertmanager-url",
        "--enable-automatic-retraining",
    }
)
#: Flags whose value is a port (or a URL with one) the container listens on.
PORT_FLAGS = ("--metrics-port", "--alert-receiver-port")


def helm(helm_bin: Path, kubeconfig: Path, home: Path, *args: str, timeout: float = 300) -> str:
    """Run helm with its own home folders; raise with its output when it fails."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(kubeconfig),
    }
    done = subprocess.run(
        [str(helm_bin), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args[:2])} failed: {done.stdout}{done.stderr}")
    return done.stdout


def service_account_kubeconfig(
    admin: k8s.ApiClient, namespace: str, name: str, path: Path, seconds: int = 3600
) -> Path:
    """A kubeconfig for the ServiceAccount `namespace/name`: the admin client's server and CA,
    a token from the TokenRequest API (never a long-lived Secret)."""
    request: dict[str, Any] = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": seconds},
    }
    core = k8s.CoreV1Api(admin)
    token = core.create_namespaced_service_account_token(name, namespace, request).status.token
    config = admin.configuration
    cluster: dict[str, Any] = {"server": config.host}
    if config.ssl_ca_cert:
        cluster["certificate-authority-data"] = base64.b64encode(
            Path(config.ssl_ca_cert).read_bytes()
        ).decode()
    user = f"system:serviceaccount:{namespace}:{name}"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "cluster", "user": user}}],
        "current-context": "operator",
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


def known_flags() -> set[str]:
    """Every option `driftwarden operator` accepts (from the real parser)."""
    from driftwarden.detectors.cli import build_parser

    parser = build_parser()
    flags: set[str] = set()
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in getattr(action, "choices", {}).items():
            if name == "operator":
                for option in sub._actions:
                    flags.update(option.option_strings)
    return flags


@dataclass
class LocalOperator:
    """The chart's operator container, started here."""

    argv: list[str]
    env: dict[str, str]
    health_url: str
    log_path: Path
    dropped: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_deployment(
        cls, admin: k8s.ApiClient, namespace: str, name: str, kubeconfig: Path, log_path: Path
    ) -> LocalOperator:
        deployment = k8s.AppsV1Api(admin).read_namespaced_deployment(name, namespace)
        (container,) = [c for c in deployment.spec.template.spec.containers if c.name == "operator"]
        exe = shutil.which("driftwarden", path=str(Path(sys.executable).parent))
        if exe is None:
            raise RuntimeError("no driftwarden command beside this Python")
        known = known_flags()
        health_port = free_port()
        args: list[str] = []
        dropped: list[str] = []
        for arg in container.args or []:
            flag, _, value = arg.partition("=")
            if flag in PENDING_FLAGS and flag not in known:
                dropped.append(arg)
                continue
            if flag == "--liveness":
                arg = f"--liveness=http://127.0.0.1:{health_port}/healthz"
            elif flag in PORT_FLAGS and value:
                arg = f"{flag}={free_port()}"
            args.append(arg)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONUNBUFFERED": "1",
        }
        core = k8s.CoreV1Api(admin)
        for var in container.env or []:
            env[var.name] = _value(core, namespace, var)
        return cls(
            argv=[exe, *args, f"--kubeconfig={kubeconfig}"],
            env=env,
            health_url=f"http://127.0.0.1:{health_port}/healthz",
            log_path=log_path,
            dropped=dropped,
        )

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def alive(self) -> bool:
        """True once the health endpoint answers; raises when the process has exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the operator exited {self.process.returncode}: {self.tail()}")
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _value(core: k8s.CoreV1Api, namespace: str, var: Any) -> str:
    """An env var's value as the kubelet would resolve it for a Pod named like the container."""
    if var.value_from is None:
        return str(var.value or "")
    source = var.value_from
    if source.field_ref is not None:
        path = source.field_ref.field_path
        if path == "metadata.namespace":
            return namespace
        if path == "metadata.name":
            return "driftwarden-operator-local"
        raise ValueError(f"the local operator cannot resolve fieldRef {path}")
    if source.secret_key_ref is not None:
        ref = source.secret_key_ref
        secret = core.read_namespaced_secret(ref.name, namespace)
        return base64.b64decode(secret.data[ref.key]).decode()
    raise ValueError(f"the local operator cannot resolve env {var.name}")
