"""A test-side kubelet for one fake Node: it runs Pods' commands as local processes.

No scheduler and no real kubelet run in the test control plane. :class:`PodRunner` stands in
for both, for one Node (``driftwarden-test-node``):

- It registers the Node with a ``Ready`` condition, watches Pods in every namespace, binds each
  pending unscheduled Pod to the Node through the ``pods/binding`` subresource, and runs the
  Pods bound to it.
- **The image is ignored.** Each container's ``command`` + ``args`` (a command is required: there
  is no image to take an entrypoint from) runs as a local subprocess of the test session, with
  ``$(VAR)`` references expanded as Kubernetes does. ``PATH`` starts with the current Python
  environment's ``bin`` folder, so ``driftwarden ...`` and ``python -c ...`` run the code under
  test. The environment is the Pod's (``value``, ``valueFrom`` ``secretKeyRef`` /
  ``configMapKeyRef`` / ``fieldRef``, ``envFrom``) plus ``PATH``, ``HOME``, ``LANG`` and
  ``HOSTNAME``; nothing else leaks in from the test process. Volumes, resources, probes,
  security contexts and ports are ignored. Init containers run first, one by one; then the
  containers run side by side.
- **Files:** each Pod gets a folder ``<root>/<namespace>/<pod>-<uid>/``; each container runs
  with its working directory ``<pod folder>/<container>/`` (``workingDir`` is ignored), its
  stdout and stderr go to ``<pod folder>/<container>.log`` (:meth:`PodRunner.log`).
- **Termination messages:** a container's ``terminationMessagePath`` (default
  ``/dev/termination-log``) is mapped to ``<pod folder>/<container>.termination-log``: every
  occurrence of that path in the command, args and env values is replaced by the per-Pod file
  before the process starts. So a program that is *told* where to write
  (``--summary-file=/dev/termination-log`` or an env var) writes its message where the runner
  reads it. ConfigMap and Secret volumes are written to ``<pod folder>/volumes/<mount>/`` and
  their ``mountPath`` is replaced by that folder in the same way (other volumes are ignored).
  ``terminationMessagePolicy: FallbackToLogsOnError`` uses the log tail when the file
  is empty and the container failed. Messages are cut to 4096 bytes, as the kubelet does.
- **Status:** written through ``pods/status``: ``Running`` with running containerStatuses, then
  ``Succeeded`` or ``Failed`` with each container's exit code, reason (``Completed``,
  ``Error``, ``DeadlineExceeded``) and termination message. ``restartPolicy: OnFailure`` (and
  ``Always``, treated the same) reruns a failed container in place and counts ``restartCount``.
  A missing Secret or ConfigMap key leaves the container ``Waiting`` with
  ``CreateContainerConfigError`` and is retried, as the kubelet does.
- **Deadlines and deletion:** ``activeDeadlineSeconds`` (counted from ``status.startTime``)
  kills the processes and fails the Pod with reason ``DeadlineExceeded``. A Pod that gets a
  ``deletionTimestamp`` has its processes sent SIGTERM, then SIGKILL after its grace period
  (at most 10 s here); its final status is written and it is deleted with grace period 0,
  which is how a kubelet confirms a deletion (finalizers such as the Job controller's
  ``batch.kubernetes.io/job-tracking`` still hold it until they are removed). Finished Pods are
  never deleted by the runner.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("driftwarden.tests.podrunner")

NODE_NAME = "driftwarden-test-node"
MAX_MESSAGE_BYTES = 4096
MAX_KILL_GRACE = 10.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: defined names are replaced, ``$$`` escapes ``$``."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _VAR_REF.sub(one, text)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process group of a process the runner started (it leads its own group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


class ConfigError(Exception):
    """A container cannot be configured yet (missing Secret/ConfigMap key)."""


@dataclass
class _PodWork:
    """What the runner tracks of one Pod it runs."""

    namespace: str
    name: str
    uid: str
    folder: Path
    thread: threading.Thread | None = None
    deleting: threading.Event = field(default_factory=threading.Event)
    grace: float = 0.0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class PodRunner:
    """Plays the kubelet (and the scheduler) for one fake Node; see the module docstring.

    ``api`` should be the ``pod-runner`` user's client. Start with :meth:`start`, stop with
    :meth:`stop` (kills whatever still runs and joins every thread).
    """

    def __init__(self, api: k8s.ApiClient, root: Path, node_name: str = NODE_NAME) -> None:
        self.core = k8s.CoreV1Api(api)
        self.root = root
        self.node_name = node_name
        self._stop = threading.Event()
        self._pods: dict[str, _PodWork] = {}
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._watch: watch.Watch | None = None
        self.errors: list[str] = []
        bin_dir = Path(sys.executable).parent
        self.base_env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }

    # ------------------------------------------------------------------ public

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._register_node()
        self._watcher = threading.Thread(target=self._watch_loop, name="pod-runner", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        with self._lock:
            works = list(self._pods.values())
        for work in works:
            work.deleting.set()
            self._kill(work, 0.0)
        for work in works:
            if work.thread is not None:
                work.thread.join(30)
        if self._watcher is not None:
            self._watcher.join(30)

    def pod_folder(self, namespace: str, name: str) -> Path | None:
        """The folder of a Pod the runner has started (the newest one of that name)."""
        with self._lock:
            matches = [w for w in self._pods.values() if (w.namespace, w.name) == (namespace, name)]
        return matches[-1].folder if matches else None

    def log(self, namespace: str, name: str, container: str | None = None) -> str:
        """A container's stdout and stderr (the first container when none is named)."""
        folder = self.pod_folder(namespace, name)
        if folder is None:
            return ""
        if container is None:
            logs = sorted(folder.glob("*.log"))
            return logs[0].read_text(errors="replace") if logs else ""
        path = folder / f"{container}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ------------------------------------------------------------------ node

    def _register_node(self) -> None:
        body = {
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "driftwarden.io/test-node": "true",
                },
            },
        }
        try:
            self.core.create_node(body)
        except ApiException as e:
            if e.status != 409:
                raise
        capacity = {"cpu": "64", "memory": "256Gi", "pods": "1000", "ephemeral-storage": "1Ti"}
        status = {
            "status": {
                "capacity": capacity,
                "allocatable": capacity,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "driftwarden test pod runner is ready",
                        "lastHeartbeatTime": _now(),
                        "lastTransitionTime": _now(),
                    }
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "127.0.0.1"},
                    {"type": "Hostname", "address": self.node_name},
                ],
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "kubeletVersion": "driftwarden-pod-runner",
                    "kubeProxyVersion": "",
                    "containerRuntimeVersion": "local-process://1",
                    "bootID": "",
                    "kernelVersion": "",
                    "machineID": "",
                    "osImage": "",
                    "systemUUID": "",
                },
            }
        }
        self.core.patch_node_status(self.node_name, status)

    # ------------------------------------------------------------------ watch

    def _watch_loop(self) -> None:
        """List, then watch from the list's resourceVersion; list again only on 410 or error.

        Each watch request ends server-side after a few seconds, so :meth:`stop` is never
        blocked for long on an open stream.
        """
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listing = self.core.list_pod_for_all_namespaces()
                    for pod in listing.items:
                        self._handle(pod, deleted=False)
                    version = listing.metadata.resource_version
                self._watch = watch.Watch()
                stream: Iterator[dict[str, Any]] = self._watch.stream(
                    self.core.list_pod_for_all_namespaces,
                    resource_version=version,
                    timeout_seconds=3,
                )
                for event in stream:
                    if self._stop.is_set():
                        break
                    if event["type"] == "ERROR":
                        version = None
                        break
                    self._handle(event["object"], deleted=event["type"] == "DELETED")
                    version = self._watch.resource_version
            except Exception as e:
                if self._stop.is_set():
                    return
                if not (isinstance(e, ApiException) and e.status == 410):
                    log.warning("pod runner watch restarts after: %r", e)
                version = None
                self._stop.wait(0.2)

    def _handle(self, pod: Any, deleted: bool) -> None:
        meta, spec = pod.metadata, pod.spec
        uid = meta.uid
        with self._lock:
            work = self._pods.get(uid)
        if work is not None:
            if deleted or meta.deletion_timestamp is not None:
                grace = meta.deletion_grace_period_seconds
                work.grace = min(float(grace or 0), MAX_KILL_GRACE)
                work.deleting.set()
            return
        if deleted or meta.deletion_timestamp is not None:
            if spec.node_name == self.node_name and pod.status.phase in (None, "Pending"):
                self._confirm_deletion(meta.namespace, meta.name, uid)
            return
        phase = pod.status.phase if pod.status else None
        if phase in ("Succeeded", "Failed"):
            return
        if not spec.node_name:
            if spec.scheduler_name not in (None, "default-scheduler"):
                return
            self._bind(meta.namespace, meta.name)
            return  # the binding's MODIFIED event brings the Pod back, bound
        if spec.node_name != self.node_name or phase != "Pending":
            return
        folder = self.root / meta.namespace / f"{meta.name}-{uid[:8]}"
        work = _PodWork(meta.namespace, meta.name, uid, folder)
        work.thread = threading.Thread(
            target=self._run_guarded, args=(work, pod), name=f"pod {meta.name}", daemon=True
        )
        with self._lock:
            self._pods[uid] = work
        work.thread.start()

    def _bind(self, namespace: str, name: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
        }
        try:
            # The response is a Status, which the generated model cannot deserialize.
            self.core.create_namespaced_pod_binding(
                name, namespace, body, _preload_content=False
            ).release_conn()
        except ApiException as e:
            if e.status not in (404, 409):  # gone, or bound meanwhile
                raise

    # ------------------------------------------------------------------ running

    def _run_guarded(self, work: _PodWork, pod: Any) -> None:
        try:
            self._run(work, pod)
        except Exception as e:
            if not self._stop.is_set():
                self.errors.append(f"{work.namespace}/{work.name}: {e!r}")
                log.exception("pod runner failed on %s/%s", work.namespace, work.name)

    def _patch_status(self, work: _PodWork, status: dict[str, Any]) -> None:
        try:
            # A JSON merge patch replaces the status lists whole: each container state is
            # exactly the one written (a strategic merge would keep `waiting` beside `running`).
            self.core.patch_namespaced_pod_status(
                work.name,
                work.namespace,
                {"status": status},
                _content_type="application/merge-patch+json",
            )
        except ApiException as e:
            if e.status != 404:
                raise

    def _env(self, pod: Any, container: Any, work: _PodWork) -> dict[str, str]:
        env: dict[str, str] = {}
        ns = pod.metadata.namespace
        for source in container.env_from or []:
            prefix = source.prefix or ""
            if source.config_map_ref is not None:
                ref = source.config_map_ref
                data = self._config_map(ns, ref.name, bool(ref.optional))
            else:
                ref = source.secret_ref
                data = self._secret(ns, ref.name, bool(ref.optional))
            env.update({prefix + k: v for k, v in (data or {}).items()})
        for var in container.env or []:
            if var.value_from is None:
                env[var.name] = expand(var.value or "", env)
                continue
            value = self._value_from(pod, var.value_from)
            if value is not None:
                env[var.name] = value
        return env

    def _volumes(self, pod: Any, container: Any, work: _PodWork) -> list[tuple[str, str]]:
        """ConfigMap and Secret volumes as files in the Pod's folder: (mountPath, folder)
        pairs; the mountPath is replaced by the folder in the command, args and env, as the
        termination-message path is."""
        volumes = {v.name: v for v in pod.spec.volumes or []}
        ns = pod.metadata.namespace
        mounts: list[tuple[str, str]] = []
        for mount in container.volume_mounts or []:
            volume = volumes.get(mount.name)
            if volume is None:
                continue
            if volume.config_map is not None:
                source = volume.config_map
                data = self._config_map(ns, source.name, bool(source.optional))
            elif volume.secret is not None:
                source = volume.secret
                data = self._secret(ns, source.secret_name, bool(source.optional))
            else:
                continue
            data = data or {}
            files = {i.key: i.path for i in source.items or []} or {k: k for k in data}
            local = work.folder / "volumes" / mount.name
            local.mkdir(parents=True, exist_ok=True)
            for key, path in files.items():
                if key not in data:
                    raise ConfigError(f"couldn't find key {key} for volume {mount.name}")
                (local / path).write_text(data[key])
            mounts.append((mount.mount_path.rstrip("/"), str(local)))
        return mounts

    def _value_from(self, pod: Any, source: Any) -> str | None:
        ns = pod.metadata.namespace
        if source.secret_key_ref is not None:
            ref = source.secret_key_ref
            data = self._secret(ns, ref.name, bool(ref.optional))
            return self._key(data, ref, "Secret")
        if source.config_map_key_ref is not None:
            ref = source.config_map_key_ref
            data = self._config_map(ns, ref.name, bool(ref.optional))
            return self._key(data, ref, "ConfigMap")
        if source.field_ref is not None:
            return self._field(pod, source.field_ref.field_path)
        raise ConfigError("only secretKeyRef, configMapKeyRef and fieldRef are supported")

    @staticmethod
    def _key(data: dict[str, str] | None, ref: Any, kind: str) -> str | None:
        if data is not None and ref.key in data:
            return data[ref.key]
        if ref.optional:
            return None
        raise ConfigError(f"couldn't find key {ref.key} in {kind} {ref.name}")

    def _secret(self, namespace: str, name: str, optional: bool) -> dict[str, str] | None:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as e:
            if e.status == 404 and optional:
                return None
            if e.status == 404:
                raise ConfigError(f'secret "{name}" not found') from e
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    def _config_map(self, namespace: str, name: str, optional: bool) -> dict[str, str] | None:
        try:
            config_map = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as e:
            if e.status == 404 and optional:
                return None
            if e.status == 404:
                raise ConfigError(f'configmap "{name}" not found') from e
            raise
        return dict(config_map.data or {})

    def _field(self, pod: Any, path: str) -> str:
        meta = pod.metadata
        simple = {
            "metadata.name": meta.name,
            "metadata.namespace": meta.namespace,
            "metadata.uid": meta.uid,
            "spec.nodeName": self.node_name,
            "spec.serviceAccountName": pod.spec.service_account_name or "default",
            "status.podIP": "127.0.0.1",
            "status.hostIP": "127.0.0.1",
        }
        if path in simple:
            return str(simple[path])
        match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
        if match:
            values = (meta.labels if match.group(1) == "labels" else meta.annotations) or {}
            return str(values.get(match.group(2), ""))
        raise ConfigError(f"unsupported fieldRef {path}")

    def _run(self, work: _PodWork, pod: Any) -> None:
        spec = pod.spec
        started = pod.status.start_time or _now()
        start_time = _parse_time(started)
        assert start_time is not None
        deadline = (
            start_time + dt.timedelta(seconds=spec.active_deadline_seconds)
            if spec.active_deadline_seconds
            else None
        )
        work.folder.mkdir(parents=True, exist_ok=True)
        restart = spec.restart_policy in ("OnFailure", "Always")
        statuses: dict[str, dict[str, Any]] = {
            c.name: self._waiting(c, "ContainerCreating", "") for c in spec.containers
        }
        init_statuses: dict[str, dict[str, Any]] = {
            c.name: self._waiting(c, "PodInitializing", "") for c in spec.init_containers or []
        }

        def write(phase: str, **extra: Any) -> None:
            ready = phase == "Running"
            condition = "True" if ready else "False"
            reason = {} if ready else {"reason": "PodCompleted"}
            if phase == "Pending":
                reason = {"reason": "ContainersNotReady"}
            status = {
                "phase": phase,
                "startTime": started if isinstance(started, str) else start_time.isoformat(),
                "hostIP": "127.0.0.1",
                "hostIPs": [{"ip": "127.0.0.1"}],
                "podIP": "127.0.0.1",
                "podIPs": [{"ip": "127.0.0.1"}],
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Initialized", "status": "True"},
                    {"type": "ContainersReady", "status": condition, **reason},
                    {"type": "Ready", "status": condition, **reason},
                ],
                "containerStatuses": list(statuses.values()),
                **extra,
            }
            if init_statuses:
                status["initContainerStatuses"] = list(init_statuses.values())
            self._patch_status(work, status)

        write("Pending")
        outcome = "ok"
        for container in spec.init_containers or []:
            outcome = self._run_container(
                work, pod, container, init_statuses, deadline, restart, lambda: write("Pending")
            )
            if outcome != "ok":
                break
        if outcome == "ok":
            threads = []
            outcomes: dict[str, str] = {}

            def run_one(container: Any) -> None:
                outcomes[container.name] = self._run_container(
                    work, pod, container, statuses, deadline, restart, lambda: write("Running")
                )

            for container in spec.containers:
                thread = threading.Thread(target=run_one, args=(container,), daemon=True)
                threads.append(thread)
                thread.start()
            for thread in threads:
                thread.join()
            bad = [o for o in outcomes.values() if o != "ok"]
            outcome = bad[0] if bad else "ok"
            if outcome == "ok" and any(
                s["state"].get("terminated", {}).get("exitCode", 0) != 0 for s in statuses.values()
            ):
                outcome = "failed"
        for status in [*statuses.values(), *init_statuses.values()]:
            if "terminated" not in status["state"]:
                status["state"] = {
                    "terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}
                    | {"startedAt": None, "finishedAt": _now()}
                }
                status["ready"] = False
                status["started"] = False
        if outcome == "deadline":
            write(
                "Failed",
                reason="DeadlineExceeded",
                message="Pod was active on the node longer than the specified deadline",
            )
        else:
            write("Succeeded" if outcome == "ok" else "Failed")
        if work.deleting.is_set():
            self._confirm_deletion(work.namespace, work.name, work.uid)

    @staticmethod
    def _waiting(container: Any, reason: str, message: str) -> dict[str, Any]:
        return {
            "name": container.name,
            "image": container.image or "",
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {"waiting": {"reason": reason, **({"message": message} if message else {})}},
        }

    def _run_container(
        self,
        work: _PodWork,
        pod: Any,
        container: Any,
        statuses: dict[str, dict[str, Any]],
        deadline: dt.datetime | None,
        restart: bool,
        report: Callable[[], None],
    ) -> str:
        """Run one container to its end; return ``ok``, ``failed``, ``deadline`` or ``deleted``."""
        status = statuses[container.name]
        message_file = work.folder / f"{container.name}.termination-log"
        message_path = container.termination_message_path or "/dev/termination-log"
        # Configuration, retried while a Secret or ConfigMap key is missing.
        while True:
            try:
                env = self._env(pod, container, work)
                mounts = self._volumes(pod, container, work)
                break
            except ConfigError as e:
                status["state"] = {
                    "waiting": {"reason": "CreateContainerConfigError", "message": str(e)}
                }
                report()
                if self._wait_interrupt(work, deadline, 1.0):
                    return "deadline" if not work.deleting.is_set() else "deleted"
        if not container.command:
            status["state"] = {
                "waiting": {
                    "reason": "CreateContainerError",
                    "message": "the pod runner ignores images: the container needs a command",
                }
            }
            report()
            return "failed"
        env = {k: v.replace(message_path, str(message_file)) for k, v in env.items()}
        for mount_path, local in mounts:
            env = {k: v.replace(mount_path, local) for k, v in env.items()}
        full_env = {
            **self.base_env,
            "HOME": str(work.folder),
            "HOSTNAME": pod.metadata.name,
            **env,
        }
        argv = [
            expand(a, env).replace(message_path, str(message_file))
            for a in [*container.command, *(container.args or [])]
        ]
        for mount_path, local in mounts:
            argv = [a.replace(mount_path, local) for a in argv]
        cwd = work.folder / container.name
        cwd.mkdir(exist_ok=True)
        while True:
            message_file.write_bytes(b"")
            if shutil.which(argv[0], path=full_env["PATH"]) is None and "/" not in argv[0]:
                status["state"] = {
                    "terminated": {
                        "exitCode": 127,
                        "reason": "StartError",
                        "message": f"executable {argv[0]!r} not found in PATH",
                        "startedAt": _now(),
                        "finishedAt": _now(),
                    }
                }
                report()
                return "failed"
            started_at = _now()
            with (work.folder / f"{container.name}.log").open("ab") as out, work.lock:
                if work.deleting.is_set() or self._stop.is_set():
                    return "deleted"
                process = subprocess.Popen(
                    argv,
                    env=full_env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                work.processes.append(process)
            status.update(
                ready=True,
                started=True,
                containerID=f"local-process://{process.pid}",
                state={"running": {"startedAt": started_at}},
            )
            report()
            interrupted = ""
            while process.poll() is None:
                if self._wait_interrupt(work, deadline, 0.2):
                    interrupted = "deleted" if work.deleting.is_set() else "deadline"
                    self._kill(work, work.grace if interrupted == "deleted" else 0.0)
            code = process.wait()
            with work.lock:
                work.processes.remove(process)
            message = message_file.read_bytes()[:MAX_MESSAGE_BYTES].decode(errors="replace")
            if (
                not message
                and code != 0
                and container.termination_message_policy == "FallbackToLogsOnError"
            ):
                logged = (work.folder / f"{container.name}.log").read_bytes()
                lines = logged.splitlines()[-80:]
                message = b"\n".join(lines)[-2048:].decode(errors="replace")
            reason = "Completed" if code == 0 else "Error"
            if interrupted == "deadline":
                reason = "DeadlineExceeded"
            terminated: dict[str, Any] = {
                "exitCode": code if code >= 0 else 128 - code,
                "reason": reason,
                "startedAt": started_at,
                "finishedAt": _now(),
                "containerID": f"local-process://{process.pid}",
            }
            if message:
                terminated["message"] = message
            status.update(ready=False, started=False)
            if interrupted or code == 0 or not restart:
                status["state"] = {"terminated": terminated}
                report()
                return interrupted or ("ok" if code == 0 else "failed")
            status["lastState"] = {"terminated": terminated}
            status["restartCount"] = status["restartCount"] + 1

    def _wait_interrupt(self, work: _PodWork, deadline: dt.datetime | None, wait: float) -> bool:
        """Wait up to ``wait`` seconds; True when the Pod is deleted or past its deadline."""
        if deadline is not None:
            left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
            if left <= 0:
                return True
            wait = min(wait, left)
        return work.deleting.wait(wait) or self._stop.is_set()

    def _kill(self, work: _PodWork, grace: float) -> None:
        """SIGTERM every process of the Pod (its whole process group), SIGKILL after grace."""
        with work.lock:
            processes = list(work.processes)
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        end = time.monotonic() + grace
        for process in processes:
            try:
                process.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()

    def _confirm_deletion(self, namespace: str, name: str, uid: str) -> None:
        """What a kubelet does once a deleted Pod's containers are gone: delete it, grace 0."""
        try:
            self.core.delete_namespaced_pod(
                name,
                namespace,
                grace_period_seconds=0,
                body={"preconditions": {"uid": uid}, "gracePeriodSeconds": 0},
            )
        except ApiException as e:
            if e.status not in (404, 409):
                raise
