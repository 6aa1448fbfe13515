"""A real Kubernetes control plane for the tests: etcd, kube-apiserver, kube-controller-manager.

The binaries come from ``tests/controlplane/build.sh`` (built from pinned Go modules, cached
outside the repository). :class:`ControlPlane` starts each component as its own process on
free loopback ports, with TLS from a throw-away CA, RBAC authorization, ServiceAccount signing
keys and a static token file, and stops them all again. Nothing here is a mock.

Users (static bearer tokens, see :data:`USERS`):

- ``admin``: group ``system:masters``, bypasses RBAC; the fixtures use it.
- ``unprivileged``: no groups beyond ``system:authenticated``, no rights of its own.
- ``operator``: no groups; gets exactly what a test (or the chart) grants it.
- ``pod-runner``: the test-side kubelet (:mod:`cluster.podrunner`); granted what a kubelet for
  one node needs by :meth:`ControlPlane.start`.
- ``system:kube-controller-manager``: bound by RBAC's bootstrap policy; runs each controller
  under its own ServiceAccount (``--use-service-account-credentials``).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from kubernetes import client as k8s
from ports import free_port as free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "tests" / "controlplane" / "build.sh"

#: Controllers kube-controller-manager runs. Left out on purpose: the scheduler (the pod
#: runner binds Pods itself), node-lifecycle and pod-garbage-collector (they would evict or
#: delete Pods of the fake Node), and everything about Deployments, Services and volumes.
CONTROLLERS = (
    "job-controller",
    "cronjob-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "ttl-after-finished-controller",
)

T = TypeVar("T")


class WaitTimeoutError(AssertionError):
    """A polled condition did not become true in time."""


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str],
    interval: float = 0.05,
    max_interval: float = 1.0,
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Polls at ``interval`` seconds, doubling up to ``max_interval``. After ``timeout`` seconds
    raises :class:`WaitTimeoutError` with ``message`` (a string, or a callable evaluated then, so it
    can describe the state that was last seen). Exceptions from the predicate propagate.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        now = time.monotonic()
        if now >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeoutError(f"{text} (waited {timeout:g}s)")
        time.sleep(min(interval, deadline - now))
        interval = min(interval * 2, max_interval)


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


#: The static-token users, by the short name the helpers take.
USERS: dict[str, User] = {
    "admin": User("admin", ("system:masters",)),
    "unprivileged": User("unprivileged"),
    "operator": User("operator"),
    "pod-runner": User("driftwarden:pod-runner"),
    "controller-manager": User("system:kube-controller-manager"),
}

#: What the pod runner may do: one kubelet's worth, minus everything it does not emulate.
POD_RUNNER_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["create", "get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch", "update"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/binding"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch", "update"]},
    {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
]


class ControlPlaneUnavailableError(Exception):
    """The binaries are not there and cannot be built here (no Go)."""


def locate_binaries(build_log: Path, on_build: Callable[[str], None] = lambda _: None) -> Path:
    """Return the folder holding ``bin/kcp`` and ``bin/helm``, building them if needed.

    ``DRIFTWARDEN_CONTROLPLANE_DIR`` names a prebuilt folder and wins. Otherwise
    ``tests/controlplane/build.sh`` runs (a no-op in well under a second when the versioned cache
    folder exists; a cold build takes about 15 minutes on 2 cores), and ``on_build`` is told
    first when it really has to build. Raises
    :class:`ControlPlaneUnavailableError` when Go is missing, :class:`RuntimeError` when the build
    fails (its output is in ``build_log``).
    """
    given = os.environ.get("DRIFTWARDEN_CONTROLPLANE_DIR")
    if given:
        folder = Path(given)
        if not (folder / "bin" / "kcp").is_file():
            raise RuntimeError(f"DRIFTWARDEN_CONTROLPLANE_DIR={given} has no bin/kcp")
        return folder
    if shutil.which("go") is None:
        raise ControlPlaneUnavailableError(
            "Go is not installed, so the test control plane (etcd, kube-apiserver, "
            "kube-controller-manager) cannot be built. Install Go >= 1.26 and run "
            "tests/controlplane/build.sh once (about 15 min cold, cached afterwards), or set "
            "DRIFTWARDEN_CONTROLPLANE_DIR to a folder that build.sh made on another machine."
        )
    build_log.parent.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--print-dir"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        on_build(
            f"building the test control plane with {BUILD_SCRIPT} (about 15 min the first "
            f"time on 2 cores; log: {build_log})"
        )
    with build_log.open("wb") as log:
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=log, check=False
        )
    if done.returncode != 0:
        tail = build_log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{BUILD_SCRIPT} failed ({done.returncode}):\n{tail}")
    return Path(done.stdout.decode().strip().splitlines()[-1])


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_pki(folder: Path) -> Pki:
    """A throw-away CA, a serving certificate for 127.0.0.1/localhost and an SA key pair."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "driftwarden-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes.default.svc"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(
        ca_cert=folder / "ca.crt",
        serving_cert=folder / "serving.crt",
        serving_key=folder / "serving.key",
        sa_key=folder / "sa.key",
        sa_pub=folder / "sa.pub",
    )
    pki.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(serving.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.serving_key, serving_key)
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.sa_key, sa_key)
    pki.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


# --------------------------------------------------------------------------- processes


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise RuntimeError(f"{self.name} exited with {code}; last log lines:\n{self.tail()}")

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the component's process group, SIGKILL it after ``grace`` seconds."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _get(url: str, context: ssl.SSLContext | None, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        e.close()
        return e.code, body
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


class ControlPlane:
    """etcd, kube-apiserver and kube-controller-manager, each its own process.

    ``workdir`` receives certificates, the token file, kubeconfigs (``kubeconfig-<user>.yaml``),
    etcd's data and one log file per component (``<component>.log``).
    """

    def __init__(self, bin_dir: Path, workdir: Path) -> None:
        self.kcp = bin_dir / "bin" / "kcp"
        self.helm = bin_dir / "bin" / "helm"
        self.workdir = workdir
        self.tokens = {short: secrets.token_urlsafe(24) for short in USERS}
        self.components: list[Component] = []
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.port = free_port()
        self.kcm_port = free_port()
        self.pki: Pki | None = None
        self.startup_seconds: dict[str, float] = {}
        self._clients: list[k8s.ApiClient] = []

    # ---------------------------------------------------------------- addresses, files

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        assert self.pki is not None, "the control plane is not started"
        return self.pki.ca_cert

    def kubeconfig(self, user: str = "admin") -> Path:
        """Path of a kubeconfig for one of :data:`USERS` (by short name)."""
        path = self.workdir / f"kubeconfig-{user}.yaml"
        if not path.exists():
            self.write_kubeconfig(path, user, self.tokens[user])
        return path

    def write_kubeconfig(self, path: Path, user: str, token: str) -> Path:
        """Write a kubeconfig that talks to this control plane with ``token``."""
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "driftwarden-test",
                    "cluster": {"server": self.server, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "driftwarden-test", "user": user}}],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def logs(self) -> dict[str, str]:
        """The last lines of every component's log, by component name."""
        return {c.name: c.tail() for c in self.components}

    # ---------------------------------------------------------------- clients

    def token_client(self, token: str) -> k8s.ApiClient:
        """An API client authenticating with a bearer token; closed by :meth:`stop`."""
        config = k8s.Configuration()
        config.host = self.server
        config.ssl_ca_cert = str(self.ca_file)
        config.api_key = {"authorization": f"Bearer {token}"}
        api = k8s.ApiClient(config)
        self._clients.append(api)
        return api

    def client(self, user: str = "admin") -> k8s.ApiClient:
        """An API client as one of :data:`USERS` (``admin``, ``unprivileged``, ``operator``...)."""
        return self.token_client(self.tokens[user])

    def service_account_token(self, namespace: str, name: str, seconds: int = 3600) -> str:
        """A fresh token for a ServiceAccount from the TokenRequest API (as admin)."""
        core = k8s.CoreV1Api(self.client("admin"))
        request: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        response = core.create_namespaced_service_account_token(name, namespace, request)
        token: str = response.status.token
        return token

    def service_account_client(self, namespace: str, name: str) -> k8s.ApiClient:
        """An API client that is the ServiceAccount ``namespace/name``."""
        return self.token_client(self.service_account_token(namespace, name))

    # ---------------------------------------------------------------- lifecycle

    def _spawn(self, name: str, args: list[str]) -> Component:
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(self.kcp), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                # SIGTERM from the kernel if this test process dies without stopping it.
                env={**os.environ, "KCP_DIE_WITH_PARENT": "1"},
                start_new_session=True,  # its own process group, so stop() reaches children
            )
        component = Component(name, process, log)
        self.components.append(component)
        return component

    def _await(self, component: Component, probe: Callable[[], bool], timeout: float) -> None:
        started = time.monotonic()

        def ready() -> bool:
            component.check_alive()
            return probe()

        wait_for(
            ready,
            timeout,
            lambda: f"{component.name} not ready; last log lines:\n{component.tail()}",
        )
        self.startup_seconds[component.name] = round(time.monotonic() - started, 2)

    def start(self, timeout: float = 120.0) -> None:
        """Start etcd, kube-apiserver, kube-controller-manager; return when all are ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = pki = make_pki(self.workdir / "pki")
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        try:
            self._start_etcd(timeout)
            self._start_apiserver(pki, context, timeout)
            self._grant_pod_runner()
            self._start_controller_manager(pki, context, timeout)
        except BaseException:
            self.stop()
            raise

    def _start_etcd(self, timeout: float) -> None:
        etcd = self._spawn(
            "etcd",
            [
                "etcd",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-url=http://127.0.0.1:{self.etcd_port}",
                f"--listen-peer-url=http://127.0.0.1:{self.etcd_peer_port}",
            ],
        )

        def healthy() -> bool:
            status, body = _get(f"http://127.0.0.1:{self.etcd_port}/health", None)
            return status == 200 and json.loads(body).get("health") == "true"

        self._await(etcd, healthy, timeout)

    def _start_apiserver(self, pki: Pki, context: ssl.SSLContext, timeout: float) -> None:
        tokens = self.workdir / "tokens.csv"
        # token,user,uid[,"group1,group2"]: an empty groups column would be a group named "".
        tokens.write_text(
            "".join(
                f"{self.tokens[short]},{user.name},uid-{short}"
                + (f',"{",".join(user.groups)}"' if user.groups else "")
                + "\n"
                for short, user in USERS.items()
            )
        )
        tokens.chmod(0o600)
        apiserver = self._spawn(
            "kube-apiserver",
            [
                "apiserver",
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                # The `kubernetes` Service's endpoints would be a loopback IP, which
                # Endpoints validation rejects: no reconciler, no log noise.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
            ],
        )

        def ready() -> bool:
            status, _ = _get(f"{self.server}/readyz", context, self.tokens["admin"])
            return status == 200

        self._await(apiserver, ready, timeout)

    def _grant_pod_runner(self) -> None:
        rbac = k8s.RbacAuthorizationV1Api(self.client("admin"))
        name = "driftwarden-test:pod-runner"
        rbac.create_cluster_role({"metadata": {"name": name}, "rules": POD_RUNNER_RULES})
        rbac.create_cluster_role_binding(
            {
                "metadata": {"name": name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": name,
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "User",
                        "name": USERS["pod-runner"].name,
                    }
                ],
            }
        )

    def _start_controller_manager(self, pki: Pki, context: ssl.SSLContext, timeout: float) -> None:
        kubeconfig = self.kubeconfig("controller-manager")
        kcm = self._spawn(
            "kube-controller-manager",
            [
                "controller-manager",
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
                # No front-proxy (request-header) CA is configured; without this the
                # delegated authenticator logs an error about it every few seconds.
                "--authentication-skip-lookup=true",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.kcm_port}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                "--kube-api-qps=100",
                "--kube-api-burst=200",
                "--profiling=false",
                "--v=1",
            ],
        )

        def healthy() -> bool:
            status, _ = _get(f"https://127.0.0.1:{self.kcm_port}/healthz", context)
            return status == 200

        self._await(kcm, healthy, timeout)
        # Controllers really run once the serviceaccount controller made `default/default`.
        core = k8s.CoreV1Api(self.client("admin"))

        def default_sa() -> bool:
            kcm.check_alive()
            items = core.list_namespaced_service_account("default").items
            return any(sa.metadata.name == "default" for sa in items)

        started = time.monotonic()
        wait_for(default_sa, timeout, "the serviceaccount controller made no default SA")
        self.startup_seconds["default ServiceAccount"] = round(time.monotonic() - started, 2)

    def stop(self) -> None:
        """Stop every component, newest first; close every client handed out."""
        for api in self._clients:
            api.close()
        self._clients.clear()
        for component in reversed(self.components):
            component.stop()
