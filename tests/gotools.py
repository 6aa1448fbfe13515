"""The Go test tools (kstatus, dashlint) built from pinned modules by
tests/controlplane/build-gotool.sh, cached like the control plane."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
from cluster.plugin import cluster_required

SCRIPT = Path(__file__).resolve().parent / "controlplane" / "build-gotool.sh"


@functools.cache
def go_tool(name: str) -> Path:
    """bin/<name>, built on first use when Go is installed (as the control plane is); without
    Go the calling test skips, or fails where cluster tests must run (CI)."""
    done = subprocess.run(
        ["bash", str(SCRIPT), name, "--print-dir"], capture_output=True, text=True
    )
    if done.returncode != 0:
        if shutil.which("go") is None:
            message = f"{name} is not built and Go is missing: run {SCRIPT.name} {name}"
            if cluster_required():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        done = subprocess.run(
            ["bash", str(SCRIPT), name], capture_output=True, text=True, timeout=900, check=True
        )
    return Path(done.stdout.strip().splitlines()[-1]) / "bin" / name
