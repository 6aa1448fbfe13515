"""The container image, as far as it can be tested without a container engine.

The Dockerfile is parsed; its facts are checked (slim base, non-root numeric user that the
chart runs as, `driftwarden` entry point, OCI labels matching the package, no build tools in
the final stage, numba's cache under the /tmp the chart mounts); and its pip steps (the
build stage's wheels, the final stage's offline install, the numba cache warm-up) run as
written, in clean virtual environments, with the image's paths mapped into a temporary
folder. Only `--no-cache-dir` is dropped, so pip uses the machine's warm cache. Then the
commands the chart calls run from that environment.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import venv
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARGs and the stages of a Dockerfile (continuations joined, comments out)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            stages.append(Stage(parts[0], parts[2] if len(parts) > 2 else None))
        elif not stages and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


def key_values(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(text))


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse(DOCKERFILE.read_text())


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


def test_two_stages_from_a_slim_python(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    args, stages = dockerfile
    assert [s.name for s in stages] == ["build", None]
    for stage in stages:
        assert stage.base == "${PYTHON_IMAGE}"
    assert re.fullmatch(r"python:3\.1[1-9]-slim", args["PYTHON_IMAGE"])
    python = pyproject()["requires-python"]
    assert isinstance(python, str)
    assert args["PYTHON_IMAGE"].removeprefix("python:").removesuffix("-slim") in {"3.11", "3.12"}
    assert ">=3.11" in python


def test_the_final_stage_is_non_root_without_build_tools(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, (_, final) = dockerfile
    assert final.all("USER") == ["10001:10001"]
    (useradd,) = [r for r in final.all("RUN") if r.startswith("useradd")]
    assert "--uid 10001" in useradd
    assert final.all("ENTRYPOINT") == ['["driftwarden"]']
    for run in final.all("RUN"):
        assert not re.search(r"apt-get|apk |gcc|build-essential|pip wheel", run), run
    assert final.all("COPY") == ["--from=build /wheels /wheels"]
    # The chart runs every container as that user, with /tmp its only writable folder.
    helpers = (ROOT / "charts" / "driftwarden" / "templates" / "_helpers.tpl").read_text()
    assert "runAsUser: 10001" in helpers
    assert "readOnlyRootFilesystem: true" in helpers
    env = key_values(" ".join(final.all("ENV")))
    assert env["NUMBA_CACHE_DIR"].startswith("/tmp/")
    assert env["HOME"] == "/tmp"
    deployment = (ROOT / "charts" / "driftwarden" / "templates" / "deployment.yaml").read_text()
    assert "{name: tmp, mountPath: /tmp}" in deployment


def test_oci_labels_match_the_package_and_the_chart(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, (_, final) = dockerfile
    labels = key_values(" ".join(final.all("LABEL")))
    prefix = "org.opencontainers.image."
    for key in ("title", "description", "source", "licenses", "version", "revision", "created"):
        assert labels.get(prefix + key), key
    project = pyproject()
    assert labels[prefix + "licenses"] == project["license"]
    build_args = dict(a.split("=", 1) for a in final.all("ARG") if "=" in a)
    assert build_args["VERSION"] == project["version"]
    assert labels[prefix + "version"] == "${VERSION}"
    chart = yaml.safe_load((ROOT / "charts" / "driftwarden" / "Chart.yaml").read_text())
    assert chart["appVersion"] == project["version"]


def _pip_steps(stage: Stage, paths: dict[str, Path]) -> list[str]:
    """The stage's RUN commands with the image's folders mapped and `--no-cache-dir` dropped."""
    commands = []
    for run in stage.all("RUN"):
        if run.startswith("useradd"):
            continue  # a system user; its uid is checked above
        for image_path, local in sorted(paths.items(), key=lambda p: -len(p[0])):
            run = re.sub(rf"(?<![\w/]){re.escape(image_path)}(?![\w-])", str(local), run)
        commands.append(run.replace("--no-cache-dir ", ""))
    return commands


def _venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    return folder / "bin"


def _run(command: str, cwd: Path, bin_dir: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {command}"],
        cwd=cwd,
        env={**env, "PATH": f"{bin_dir}:{os.environ.get('PATH', os.defpath)}"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


@pytest.mark.slow
def test_the_dockerfile_steps_install_a_working_driftwarden(
    dockerfile: tuple[dict[str, str], list[Stage]], tmp_path: Path
) -> None:
    _, (build, final) = dockerfile
    paths = {
        "/src": tmp_path / "src",
        "/wheels": tmp_path / "wheels",
        "/opt/driftwarden": tmp_path / "opt",
        "/tmp/numba-cache": tmp_path / "numba-cache",
    }
    # The build context, as the COPY lines name it.
    src = paths["/src"]
    src.mkdir()
    for copy in build.all("COPY"):
        *sources, _ = copy.split()
        for name in sources:
            origin = ROOT / name
            if origin.is_dir():
                shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(origin, src / name)
    base_env = {"HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for command in _pip_steps(build, paths):
        _run(command, src, _venv(tmp_path / "build-venv"), base_env)
    wheels = sorted(p.name for p in paths["/wheels"].glob("*.whl"))
    assert any(w.startswith("driftwarden-") for w in wheels), wheels

    image_bin = _venv(tmp_path / "image-venv")
    env = dict(base_env)
    for assignment in final.all("ENV"):
        for name, value in key_values(assignment).items():
            for image_path, local in paths.items():
                value = value.replace(image_path, str(local))
            env[name] = value
    env["HOME"] = str(tmp_path)
    wheel_copy = tmp_path / "wheels-kept"
    shutil.copytree(paths["/wheels"], wheel_copy)
    for command in _pip_steps(final, paths):
        _run(command, tmp_path, image_bin, env)
    assert not paths["/wheels"].exists()  # removed after the install, as in the image
    assert any(paths["/opt/driftwarden"].joinpath("numba-cache").rglob("*.nbi"))

    # Every installed distribution is at the version constraints.txt pins.
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.lower())] = version.split(";")[0].strip()
    frozen = subprocess.run(
        [str(image_bin / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for line in frozen.splitlines():
        name, _, version = line.partition("==")
        key = re.sub(r"[-_.]+", "-", name.lower())
        if key in pins:
            assert version == pins[key], f"{name} {version}, constraints.txt pins {pins[key]}"
    assert "driftwarden" in frozen

    # The commands the chart and the MonitorClass's Jobs call, from the installed package.
    exe = str(image_bin / "driftwarden")
    version = subprocess.run(
        [exe, "--version"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert str(pyproject()["version"]) in version
    for command in (
        ["operator", "--help"],
        ["run", "--help"],
        ["db", "upgrade", "--help"],
        ["db", "check", "--help"],
        ["db", "retention", "--help"],
    ):
        done = subprocess.run(
            [exe, *command], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"driftwarden {' '.join(command)}: {done.stderr}"
        assert "usage: driftwarden" in done.stdout
    # The retention command works against a real (SQLite) database, as the CronJob runs it.
    db_env = {**env, "DRIFTWARDEN_DATABASE_URL": f"sqlite:///{tmp_path / 'history.db'}"}
    for command in (["db", "upgrade"], ["db", "retention", "--keep-runs=400d", "--dry-run"]):
        done = subprocess.run(
            [exe, *command], env=db_env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"driftwarden {' '.join(command)}: {done.stderr}"
    assert "would delete" in done.stdout
    assert sys.version_info >= (3, 11)
