"""pytest plugin: the real control plane, the pod runner, clients and per-test namespaces.

Loaded for the whole suite by ``tests/conftest.py`` (``pytest_plugins``), so every test folder
can use these fixtures. See ``tests/README.md``.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cluster.controlplane import (
    ControlPlane,
    ControlPlaneUnavailableError,
    locate_binaries,
    wait_for,
)
from cluster.podrunner import PodRunner

_ACTIVE: dict[str, ControlPlane | PodRunner] = {}
_STARTUP: dict[str, float] = {}


def cluster_required() -> bool:
    """In CI (``CI=true``, or ``DRIFTWARDEN_REQUIRE_CLUSTER=1`` from ``.ci/run``) never skip."""
    flags = (os.environ.get("CI", ""), os.environ.get("DRIFTWARDEN_REQUIRE_CLUSTER", ""))
    return any(flag.strip().lower() in {"1", "true", "yes"} for flag in flags)


@pytest.fixture(scope="session")
def control_plane(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver + kube-controller-manager, with the pod runner, for the session.

    Skips when Go is missing and no prebuilt folder is given, except in CI (``CI=true`` or
    ``DRIFTWARDEN_REQUIRE_CLUSTER=1``) where that, like a failed build, fails the tests.
    """
    workdir = tmp_path_factory.mktemp("controlplane")
    began = time.monotonic()
    try:
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")

        def announce(text: str) -> None:
            if reporter is not None:
                reporter.write_line(f"\n{text}")

        bin_dir = locate_binaries(workdir / "build.log", announce)
    except ControlPlaneUnavailableError as e:
        if cluster_required():
            pytest.fail(f"CI must run the cluster tests: {e}", pytrace=False)
        pytest.skip(str(e))
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    _STARTUP["locate/build binaries"] = round(time.monotonic() - began, 2)
    began = time.monotonic()
    plane = start_control_plane(bin_dir, workdir)
    runner = PodRunner(plane.client("pod-runner"), workdir / "pods")
    try:
        runner.start()
    except BaseException:
        plane.stop()
        raise
    _STARTUP.update(plane.startup_seconds)
    _STARTUP["total start"] = round(time.monotonic() - began, 2)
    _ACTIVE["control_plane"] = plane
    _ACTIVE["pod_runner"] = runner
    try:
        yield plane
    finally:
        _ACTIVE.clear()
        runner.stop()
        plane.stop()
    assert not runner.errors, f"the pod runner hit errors: {runner.errors}"


def start_control_plane(bin_dir: Path, workdir: Path, attempts: int = 3) -> ControlPlane:
    """Start a control plane; on a port taken between picking and binding, try new ports."""
    for attempt in range(1, attempts + 1):
        plane = ControlPlane(bin_dir, workdir / f"attempt-{attempt}")
        try:
            plane.start()
        except RuntimeError as e:
            if attempt == attempts or "address already in use" not in str(e):
                raise
            continue
        return plane
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def pod_runner(control_plane: ControlPlane) -> PodRunner:
    """The test-side kubelet started with the control plane (for its logs and folders)."""
    runner = _ACTIVE["pod_runner"]
    assert isinstance(runner, PodRunner)
    return runner


@pytest.fixture(scope="session")
def admin_api(control_plane: ControlPlane) -> k8s.ApiClient:
    """A client as ``admin`` (``system:masters``)."""
    return control_plane.client("admin")


@pytest.fixture(scope="session")
def unprivileged_api(control_plane: ControlPlane) -> k8s.ApiClient:
    """A client as ``unprivileged``, a user with no RBAC rights of its own."""
    return control_plane.client("unprivileged")


@pytest.fixture(scope="session")
def operator_api(control_plane: ControlPlane) -> k8s.ApiClient:
    """A client as ``operator``, a user with no groups and only the rights tests grant it."""
    return control_plane.client("operator")


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{stem}-{secrets.token_hex(3)}"


def create_test_namespace(core: k8s.CoreV1Api, name: str) -> None:
    """Create namespace `name`, labelled as the tests', and wait for its ``default``
    ServiceAccount (Pods cannot be created before the controller makes it)."""
    core.create_namespace({"metadata": {"name": name, "labels": {"driftwarden.io/test": "true"}}})

    def has_default_sa() -> bool:
        try:
            core.read_namespaced_service_account("default", name)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    wait_for(has_default_sa, 30, f"no default ServiceAccount in {name}")


@pytest.fixture
def namespace(request: pytest.FixtureRequest, admin_api: k8s.ApiClient) -> Iterator[str]:
    """A fresh namespace for one test, with its ``default`` ServiceAccount; deleted afterwards.

    The deletion is not awaited: the namespace controller finishes it in the background.
    """
    core = k8s.CoreV1Api(admin_api)
    name = _namespace_name(request.node.name)
    create_test_namespace(core, name)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as e:
        if e.status != 404:
            raise


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the control plane carries the ``cluster`` marker."""
    for item in items:
        if "control_plane" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the last lines of every component's log to a failed cluster test's report."""
    report = yield
    plane = _ACTIVE.get("control_plane")
    runner = _ACTIVE.get("pod_runner")
    if report.failed and "control_plane" in getattr(item, "fixturenames", ()):
        if isinstance(plane, ControlPlane):
            for name, text in plane.logs().items():
                report.sections.append((f"{name} log (last lines)", text))
            report.sections.append(("control plane folder", str(plane.workdir)))
        if isinstance(runner, PodRunner) and runner.errors:
            report.sections.append(("pod runner errors", "\n".join(runner.errors)))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _STARTUP:
        parts = ", ".join(f"{k} {v:g}s" for k, v in _STARTUP.items())
        terminalreporter.write_line(f"control plane start-up: {parts}")
