"""The CLI on hostile input (issue 11): the issue's examples, then a fuzz-style run.

The examples run in-process (`cli.main`), each asserting exit 2 and one short line. The
fuzz test feeds malformed configurations, profiles, CSV and Parquet files to the CLI as a
subprocess under a memory cap (RLIMIT_AS), a CPU cap (RLIMIT_CPU) and a wall-clock timeout,
and asserts exit 0 or 2, no traceback and no secret in the output. Inputs are generated
from fixed seeds, so a failure reproduces.
"""

from __future__ import annotations

import io
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main
from driftwarden.detectors.profile import dumps, window_profile

SECRET = "Fz8-fuzz-s3cr3t-Qp"
MEMORY_CAP = 4 << 30
CPU_CAP_S = 60
WALL_CAP_S = 120


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"x": rng.normal(size=300), "y": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)}
    )
    frame.to_csv(tmp_path / "base.csv", index=False)
    frame.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]  # argparse prints its usage lines above the error
    assert len(last) < 1100, last[:1100]
    assert "error" in last
    return last


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo", "link-to-zero", "dir"])
def test_configs_that_are_not_regular_files(
    target: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = {"/dev/zero": Path("/dev/zero"), "/dev/urandom": Path("/dev/urandom")}.get(target)
    if target == "fifo":
        path = data / "config.yaml"
        os.mkfifo(path)
    elif target == "link-to-zero":
        path = data / "config.yaml"
        path.symlink_to("/dev/zero")
    elif target == "dir":
        path = data
    assert path is not None
    base, cur = str(data / "base.csv"), str(data / "cur.csv")
    line = _one_line_exit_2(
        ["detect", "--baseline", base, "--current", cur, "--config", str(path)], capsys
    )
    assert "regular file" in line


@pytest.mark.parametrize("target", ["link-to-zero", "fifo"])
def test_profiles_that_are_not_regular_files(
    target: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = data / "base.dwprofile"
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    line = _one_line_exit_2(
        ["detect", "--baseline", str(path), "--current", str(data / "cur.csv")], capsys
    )
    assert "regular file" in line


def test_a_profile_holding_nan_is_refused(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's example: NaN in the stored values made `detect` loop forever."""
    frame = pd.read_csv(data / "base.csv")
    profile = window_profile(frame, {"x": "numeric", "y": "numeric", "c": "categorical"})
    values = profile.numeric("x").values.copy()
    values[5] = np.nan
    broken = type(profile)(
        profile.rows,
        {**profile.columns, "x": type(profile.numeric("x"))(**{
            **profile.numeric("x").__dict__, "values": values})},
        profile.row_sample, profile.row_sample_keys, profile.max_points,
    )  # fmt: skip
    path = data / "base.dwprofile"
    path.write_bytes(dumps(broken))
    line = _one_line_exit_2(
        ["detect", "--baseline", str(path), "--current", str(data / "cur.csv")], capsys
    )
    assert "not all finite" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["--chunk-rows", str(10**20)],
        ["--chunk-rows", "0"],
        ["--chunk-rows", "-5"],
        ["--chunk-rows", "1e9"],
        ["--chunk-rows", "9" * 5000],
        ["--workers", "100000"],
    ],
)
def test_integer_options_are_bounded(
    argv: list[str], data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cur = str(data / "base.csv"), str(data / "cur.csv")
    _one_line_exit_2(["detect", "--baseline", base, "--current", cur, *argv], capsys)


@pytest.mark.parametrize(
    "content",
    [
        b"minSamples: 5 \xff\n",
        b"[" * 600 + b"]" * 600,
        b"minSamples: " + b"1" * 5000 + b"\n",
        b"minSamples: 5\nminSamples: 6\n",
        ("features:\n" + "".join(f"- {{name: f{i}}}\n" for i in range(100_000))).encode(),
        b"apiVersion: driftwarden.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: m}\n"
        b"spec: {features: [{name: x}], minSampels: 5}\n",
        b"healthWeights: {dataDrift: .inf}\n",
    ],
)
def test_hostile_configs_exit_2_in_one_line(
    content: bytes, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = data / "config.yaml"
    config.write_bytes(content)
    base, cur = str(data / "base.csv"), str(data / "cur.csv")
    _one_line_exit_2(["detect", "--baseline", base, "--current", cur, "--config", str(config)],
                     capsys)  # fmt: skip


def test_profile_writes_leave_no_shared_temporary(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data / "p.dwprofile"
    assert _exit_code(["profile", "--input", str(data / "base.csv"), "--output", str(out)]) == 0
    assert sorted(p.name for p in data.iterdir()) == ["base.csv", "cur.csv", "p.dwprofile"]
    capsys.readouterr()


# --- fuzz ------------------------------------------------------------------------------------


def _caps() -> None:  # pragma: no cover - runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_CAP_S, CPU_CAP_S))


def _mutate(blob: bytes, rng: random.Random) -> bytes:
    data = bytearray(blob)
    choice = rng.randrange(4)
    if choice == 0 and data:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice == 1:  # truncate
        del data[rng.randrange(max(len(data), 1)) :]
    elif choice == 2 and data:  # duplicate a slice
        start = rng.randrange(len(data))
        data[start:start] = data[start : start + rng.randint(1, 64)] * rng.randint(1, 50)
    else:  # random bytes
        data = bytearray(rng.randbytes(rng.randint(0, 256)))
    return bytes(data)


def _valid_inputs(root: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"x": rng.normal(size=200), "y": rng.integers(0, 9, 200), "c": rng.choice(["a", "b"], 200)}
    )
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    profile = dumps(window_profile(frame, {"x": "numeric", "y": "numeric", "c": "categorical"}))
    config = (
        b"apiVersion: driftwarden.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: m}\n"
        b"spec:\n  features: [{name: x}, {name: y, type: numeric}, {name: c}]\n"
        b"  minSamples: 10\n  source: {postgres: {connectionSecretRef: {name: s, key: url}}}\n"
    )
    return {
        "csv": frame.to_csv(index=False).encode(),
        "parquet": parquet.getvalue(),
        "dwprofile": profile,
        "yaml": config,
    }


def _fuzz_cases(root: Path, count: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(20261129)
    valid = _valid_inputs(root)
    good_csv = root / "good.csv"
    good_csv.write_bytes(valid["csv"])
    cases: list[tuple[str, list[str]]] = []
    handwritten = {
        "csv": [b"x;y;c\n1;2;a\n", b"x,y\n1,2,3,4\n5,6\n", b'x\n"unterminated\n', b"\x00" * 500],
        "yaml": [b"a: &a [*a]\n", b"!!python/object:os.system {}\n", b"? [a, b]\n: 1\n"],
    }
    for index in range(count):
        kind = ("csv", "parquet", "dwprofile", "yaml")[index % 4]
        extra = handwritten.get(kind, [])
        blob = extra[index // 4] if index // 4 < len(extra) else _mutate(valid[kind], rng)
        path = root / f"case{index}.{kind}"
        path.write_bytes(blob)
        if kind == "yaml":
            argv = ["detect", "--baseline", str(good_csv), "--current", str(good_csv),
                    "--config", str(path)]  # fmt: skip
        elif kind == "dwprofile":
            argv = ["detect", "--baseline", str(path), "--current", str(good_csv)]
        else:
            argv = ["detect", "--baseline", str(good_csv), "--current", str(path)]
        cases.append((f"case{index}.{kind}", argv))
    return cases


@pytest.mark.slow
def test_fuzzed_inputs_exit_0_or_2_without_traceback_or_secret(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "DRIFTWARDEN_"))},
        "DRIFTWARDEN_DATABASE_URL": f"postgresql://u:{SECRET}@127.0.0.1:1/db?password={SECRET}",
        "PGPASSWORD": SECRET,
    }
    failures = []
    for name, argv in _fuzz_cases(tmp_path, 28):
        result = subprocess.run(
            [sys.executable, "-m", "driftwarden.detectors.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=WALL_CAP_S,
            preexec_fn=_caps,  # the caps are the point; the test process starts no threads
            check=False,
        )
        output = result.stdout + result.stderr
        if (
            result.returncode not in (0, 2)
            or "Traceback" in output
            or SECRET in output
            or len(result.stderr) > 2000
        ):
            failures.append(f"{name}: exit {result.returncode}: {result.stderr[-300:]}")
    assert not failures, "\n".join(failures)


def test_an_error_naming_thousands_of_columns_is_cut(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ",".join(f"f{i}" for i in range(20_000))
    base, cur = str(data / "base.csv"), str(data / "cur.csv")
    line = _one_line_exit_2(["detect", "--baseline", base, "--current", cur, "--features", names],
                            capsys)  # fmt: skip
    # Bounded either way: the message names the first missing feature only, and any error
    # line longer than the cap is cut with a note of its full length.
    assert len(line) <= 1_100
    assert "'f0'" in line


def test_a_long_error_line_is_cut_with_its_length(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A path of 3,000 characters (legal on Linux) makes an error line longer than the cap.
    missing = str(tmp_path) + ("/" + "x" * 200) * 15 + "/base.csv"
    line = _one_line_exit_2(["detect", "--baseline", missing, "--current", missing], capsys)
    assert line.endswith("characters, cut)")
    assert len(line) <= 1_100
