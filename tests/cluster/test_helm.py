"""The helm CLI built from its Go module works against the test control plane."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kubernetes import client as k8s

from cluster.controlplane import ControlPlane

pytestmark = pytest.mark.cluster

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: smoke\nversion: 0.1.0\n",
    "values.yaml": "greeting: hello\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-smoke\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
}


def helm(plane: ControlPlane, home: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(plane.kubeconfig("admin")),
    }
    done = subprocess.run(
        [str(plane.helm), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"helm {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def test_helm_lints_installs_and_uninstalls(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, namespace: str, tmp_path: Path
) -> None:
    chart = tmp_path / "smoke"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    home = tmp_path / "home"

    assert helm(control_plane, home, "version", "--short").startswith("v4.")
    helm(control_plane, home, "lint", str(chart))
    helm(
        control_plane, home, "install", "demo", str(chart), "-n", namespace, "--set", "greeting=hi"
    )

    core = k8s.CoreV1Api(admin_api)
    config_map = core.read_namespaced_config_map("demo-smoke", namespace)
    assert config_map.data == {"greeting": "hi"}
    assert "demo" in helm(control_plane, home, "list", "-n", namespace, "-q")

    helm(control_plane, home, "uninstall", "demo", "-n", namespace, "--wait")
    names = [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
    assert "demo-smoke" not in names
