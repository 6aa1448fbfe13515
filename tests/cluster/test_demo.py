"""`make demo` and `make demo-down` end to end: the demo comes up on the local control plane
with the real census data, shows a finished run, and `down` leaves none of its processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.controlplane import ControlPlane

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo" / "demo.py"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_demo_up_shows_a_run_and_down_stops_everything(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    # `control_plane` only makes sure the binaries are there (built or given); the demo
    # starts a control plane of its own, as `make demo` does.
    state = tmp_path / "demo"
    env = {
        **os.environ,
        "DRIFTWARDEN_CONTROLPLANE_DIR": str(control_plane.kcp.parent.parent),
        "KUBECONFIG": str(tmp_path / "no-cluster-here"),  # not a reachable cluster
    }
    try:
        up = subprocess.run(
            [sys.executable, str(DEMO), "up", "--state", str(state)],
            env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert up.returncode == 0, up.stdout + up.stderr
        assert "[8/8] done" in up.stdout
        assert "modelmonitor.driftwarden.io/employment" in up.stdout
        assert "drift:" in up.stdout
        assert "features drifted" in up.stdout
        assert "277,677 rows loaded" in up.stdout
        assert (state / "report.html").is_file()
    finally:
        pids = {p.stem: int(p.read_text()) for p in state.glob("*.pid")}
        children = state / "children.json"
        if children.exists():
            pids |= json.loads(children.read_text())
        down = subprocess.run(
            [sys.executable, str(DEMO), "down", "--state", str(state)],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert down.returncode == 0, down.stdout + down.stderr
    assert "nothing it started is running" in down.stdout
    assert {"serve", "operator", "etcd", "kube-apiserver", "postgres"} <= set(pids)
    assert not [name for name, pid in pids.items() if _running(pid)]
    assert not state.exists()
