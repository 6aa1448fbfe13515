"""A real Prometheus and a real Alertmanager on loopback, for tests and benchmarks.

Debian's `prometheus` and `prometheus-alertmanager` packages (tests/install-monitoring.sh
installs them when missing). Each server runs as a subprocess on a free 127.0.0.1 port with
its own temporary folder (configuration, data, log), short intervals, and no clustering
(Alertmanager's gossip port is off). `start()` returns once the server answers `/-/ready`
(polled with a timeout; a server that exits says why); `stop()` sends SIGTERM, waits,
kills only if it must, and removes the folder. Both are context managers.

Reuse from any test folder (pytest puts `tests/` on `sys.path`)::

    from promstack import Alertmanager, Prometheus, WebhookReceiver, poll

    with WebhookReceiver.start() as hook, Alertmanager.start(config) as am:
        with Prometheus.start(
            scrape=["127.0.0.1:9808"], rule_files=[rules], alertmanager=am.address
        ) as prom:
            poll(lambda: hook.alerts("firing"), 60, "no notification")

`WebhookReceiver` is a plain HTTP server in a thread that records every JSON body POSTed to
it: Alertmanager's webhook notifications (the test's receiver, not a stand-in for one).

Binaries: `$DRIFTWARDEN_PROMETHEUS_BIN`, `$DRIFTWARDEN_ALERTMANAGER_BIN`,
`$DRIFTWARDEN_PROMTOOL_BIN` and `$DRIFTWARDEN_AMTOOL_BIN` override the names found on PATH
(`prometheus`, `prometheus-alertmanager` or `alertmanager`, `promtool`, `amtool`). When one
is missing, `MonitoringUnavailableError` says which; `require()` turns that into a skip, or a
failure in CI (`CI=true` or `DRIFTWARDEN_REQUIRE_CLUSTER=1`, as for the control plane).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import yaml

# One polling helper and one free-port helper for every test support module.
from cluster.controlplane import free_port
from cluster.controlplane import wait_for as poll

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

T = TypeVar("T")


class MonitoringUnavailableError(RuntimeError):
    """A Prometheus or Alertmanager binary is not installed here."""


def binary(kind: str) -> str:
    """The path of `kind` (prometheus, alertmanager, promtool, amtool)."""
    names = {
        "prometheus": ("prometheus",),
        "alertmanager": ("prometheus-alertmanager", "alertmanager"),
        "promtool": ("promtool",),
        "amtool": ("amtool",),
    }[kind]
    override = os.environ.get(f"DRIFTWARDEN_{kind.upper()}_BIN")
    if override:
        if not Path(override).exists():
            raise MonitoringUnavailableError(f"DRIFTWARDEN_{kind.upper()}_BIN={override} not found")
        return override
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise MonitoringUnavailableError(
        f"{' or '.join(names)} not found: run tests/install-monitoring.sh "
        "(Debian's prometheus and prometheus-alertmanager)"
    )


def require(*kinds: str) -> None:
    """Skip the calling test when a binary is missing, except in CI where that fails it."""
    import pytest

    try:
        for kind in kinds:
            binary(kind)
    except MonitoringUnavailableError as exc:
        flags = (os.environ.get("CI", ""), os.environ.get("DRIFTWARDEN_REQUIRE_CLUSTER", ""))
        if any(flag.strip().lower() in {"1", "true", "yes"} for flag in flags):
            pytest.fail(f"CI must run the monitoring tests: {exc}", pytrace=False)
        pytest.skip(str(exc))


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


@dataclass
class _Server:
    """A server subprocess with its folder and port."""

    name: str
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def log(self) -> str:
        path = self.root / f"{self.name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    @classmethod
    def _spawn(cls, name: str, root: Path, port: int, command: Sequence[str]) -> Self:
        with (root / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
                start_new_session=True,
            )
        server = cls(name=name, root=root, port=port, process=process)
        try:
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log}"
                )
            return _ready(f"{self.url}/-/ready")

        poll(ready, START_TIMEOUT_S, lambda: f"{self.name} is not ready:\n{self.log}")

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL only if it does not stop; then remove the folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _with_default(args: Sequence[str], default: str) -> list[str]:
    """`args`, plus `default` unless they set that flag themselves."""
    flag = default.split("=", 1)[0]
    if any(arg.split("=", 1)[0] == flag for arg in args):
        return list(args)
    return [default, *args]


def _start_in_temp(prefix: str, start: Callable[[Path], T]) -> T:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return start(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


@dataclass
class Prometheus(_Server):
    """A Prometheus server scraping `scrape` targets and evaluating `rule_files`."""

    @classmethod
    def start(
        cls,
        *,
        scrape: Sequence[str] = (),
        rule_files: Sequence[Path] = (),
        alertmanager: str | None = None,
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        job: str = "driftwarden-operator",
        resend_delay: str = "1s",
        extra_args: Sequence[str] = (),
    ) -> Prometheus:
        """Start Prometheus; `scrape` are host:port targets of one job named `job`,
        `alertmanager` the host:port alerts go to. Rule files are copied into its folder.

        `resend_delay` is short (Prometheus' default is 1m): an alert evaluated before the
        notifier has discovered Alertmanager is dropped and would otherwise wait that long."""
        exe = binary("prometheus")

        def begin(root: Path) -> Prometheus:
            rules = []
            for index, path in enumerate(rule_files):
                target = root / f"rules-{index}-{Path(path).name}"
                shutil.copyfile(path, target)
                rules.append(str(target))
            config: dict[str, Any] = {
                "global": {
                    "scrape_interval": scrape_interval,
                    "scrape_timeout": scrape_interval,
                    "evaluation_interval": evaluation_interval,
                },
                "rule_files": rules,
                "scrape_configs": [
                    {"job_name": job, "static_configs": [{"targets": list(scrape)}]}
                ],
            }
            if alertmanager:
                config["alerting"] = {
                    "alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]
                }
            (root / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
            port = free_port()
            return cls._spawn(
                "prometheus",
                root,
                port,
                [
                    exe,
                    f"--config.file={root / 'prometheus.yml'}",
                    f"--storage.tsdb.path={root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--web.enable-lifecycle",
                    *_with_default(
                        _with_default(extra_args, f"--rules.alert.resend-delay={resend_delay}"),
                        "--log.level=warn",
                    ),
                ],
            )

        return _start_in_temp("driftwarden-prometheus-", begin)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (each: {"metric": labels, "value": [t, "v"]})."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = _get_json(url)
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def query_range(
        self, expr: str, start: float, end: float, step: str = "1s"
    ) -> list[dict[str, Any]]:
        """A range query's result matrix (each: {"metric": labels, "values": [[t, "v"]...]})."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
        url = f"{self.url}/api/v1/query_range?" + urllib.parse.urlencode(params)
        body = _get_json(url)
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Prometheus holds (pending and firing)."""
        found: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]
        return found

    def targets_up(self) -> bool:
        """Whether every active scrape target's last scrape succeeded."""
        active = _get_json(f"{self.url}/api/v1/targets")["data"]["activeTargets"]
        return bool(active) and all(t.get("health") == "up" for t in active)

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/rules")["data"]["groups"]
        return groups


@dataclass
class Alertmanager(_Server):
    """An Alertmanager with the given configuration (a mapping or YAML text)."""

    @classmethod
    def start(cls, config: Mapping[str, Any] | str, *, extra_args: Sequence[str] = ()) -> Self:
        exe = binary("alertmanager")

        def begin(root: Path) -> Self:
            text = config if isinstance(config, str) else yaml.safe_dump(dict(config))
            (root / "alertmanager.yml").write_text(text)
            port = free_port()
            return cls._spawn(
                "alertmanager",
                root,
                port,
                [
                    exe,
                    f"--config.file={root / 'alertmanager.yml'}",
                    f"--storage.path={root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                    *_with_default(extra_args, "--log.level=warn"),
                ],
            )

        return _start_in_temp("driftwarden-alertmanager-", begin)

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds (API v2)."""
        found: list[dict[str, Any]] = _get_json(f"{self.url}/api/v2/alerts")
        return found

    def silences(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = _get_json(f"{self.url}/api/v2/silences")
        return found


@dataclass
class WebhookReceiver:
    """An HTTP server on loopback recording every JSON notification POSTed to it."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls) -> WebhookReceiver:
        received: list[dict[str, Any]] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                with lock:
                    received.append({"path": self.path, **payload})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
        thread.start()
        return cls(server=server, thread=thread, received=received, lock=lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification so far, oldest first (a copy)."""
        with self.lock:
            return list(self.received)

    def alerts(
        self, status: str | None = None, matching: Mapping[str, str] | None = None
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(notification, alert) pairs, optionally of one alert `status` (firing/resolved)
        whose labels include `matching`."""
        found = []
        for note in self.notifications():
            for alert in note.get("alerts") or []:
                if status is not None and alert.get("status") != status:
                    continue
                labels = alert.get("labels") or {}
                if matching and any(labels.get(k) != v for k, v in matching.items()):
                    continue
                found.append((note, alert))
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def shorten_rules(source: Path, target: Path, interval: str = "1s", hold: str = "0s") -> Path:
    """The documented test override of the shipped rules: every group evaluated every
    `interval` and every `for:` set to `hold`; expressions, labels and annotations untouched.
    Writes `target` and returns it."""
    document = yaml.safe_load(Path(source).read_text())
    for group in document["groups"]:
        group["interval"] = interval
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = hold
    Path(target).write_text(yaml.safe_dump(document, sort_keys=False))
    return Path(target)


def run_tool(
    kind: str, args: Iterable[str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run promtool or amtool; the completed process (check its returncode and output)."""
    return subprocess.run(
        [binary(kind), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )
