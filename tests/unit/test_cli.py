"""`driftwarden detect` and `driftwarden profile`: outputs, exit codes, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clirun import run_cli as run


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)

    def window(n: int, shift: float, new_region: bool) -> pd.DataFrame:
        regions = ["n", "s", "e", "w"] + (["x"] if new_region else [])
        p = [0.25] * 4 if not new_region else [0.2] * 5
        return pd.DataFrame(
            {
                "age": rng.normal(40 + shift * 10, 10, n).round(),
                "income": rng.lognormal(10 - shift, 0.5, n),
                "region": rng.choice(regions, n, p=p),
                "score": rng.beta(2, 5 + shift, n),
                "label": rng.integers(0, 2, n),
            }
        )

    window(3000, 0.0, False).to_parquet(root / "base.parquet")
    window(2000, 0.0, False).to_csv(root / "same.csv", index=False)
    window(2000, 1.0, True).to_parquet(root / "drift.parquet")
    window(50, 0.0, False).to_csv(root / "tiny.csv", index=False)
    (root / "empty.csv").write_text("age,income,region,score,label\n")
    (root / "notes.txt").write_text("hello\n")
    (root / "broken.parquet").write_bytes(b"PAR1 nope")
    return root


def test_json_contract(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "drift.parquet"),
            "--features",
            "age,income,region",
            "--prediction",
            "score",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    assert report["drift_detected"] is True
    assert report["severity"] == "critical"
    assert 0 <= report["health_score"] <= 100
    names = {f["name"]: f for f in report["features"]}
    assert set(names) == {"age", "income", "region"}
    assert names["region"]["kind"] == "categorical"
    assert names["region"]["kind_inferred"] is True
    assert "new categories: x" in names["region"]["note"]
    method = names["income"]["methods"][0]
    assert set(method) >= {
        "method",
        "statistic",
        "p_value",
        "p_value_adjusted",
        "threshold",
        "drift_detected",
    }
    assert report["prediction"]["severity"] in {"warning", "critical"}


def test_table_sorted_by_severity_with_verdict(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "drift.parquet"),
            "--features",
            "age,income,region",
        ],
        capsys,
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["feature", "kind", "method"]
    severities = [
        line.split()[-1]
        for line in lines[2:]
        if line.split()[-1] in {"none", "warning", "critical"}
    ]
    rank = {"critical": 0, "warning": 1, "none": 2}
    features_in_order = [line.split()[0] for line in lines[2:] if line.split()[-1] in rank]
    assert features_in_order[-1] != "income"  # drifted features come first
    assert severities[0] == "critical"
    assert lines[-1].startswith("verdict: DRIFT")


def test_no_drift_and_fail_on(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = [
        "detect",
        "--baseline",
        str(data / "base.parquet"),
        "--current",
        str(data / "same.csv"),
        "--features",
        "age,income,region",
        "--fail-on",
        "warning",
    ]
    code, out, _ = run(same, capsys)
    assert code == 0, out
    assert "verdict: no data drift" in out
    drift = [
        "detect",
        "--baseline",
        str(data / "base.parquet"),
        "--current",
        str(data / "drift.parquet"),
        "--fail-on",
        "critical",
        "--categorical",
        "label",
    ]
    code, _, err = run(drift, capsys)
    assert code == 1
    assert err == "driftwarden: severity critical meets --fail-on critical\n"


def test_insufficient_data_is_its_own_outcome(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "tiny.csv"),
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "insufficient_data"
    assert report["drift_detected"] is False
    assert all(f["status"] == "insufficient_data" for f in report["features"])


def test_profile_then_detect_equals_direct(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "base.dwprofile"
    code, out, _ = run(
        ["profile", "--input", str(data / "base.parquet"), "--output", str(profile)], capsys
    )
    assert code == 0
    assert "3000 rows" in out
    direct = run(
        [
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "drift.parquet"),
            "--format",
            "json",
        ],
        capsys,
    )[1]
    via = run(
        [
            "detect",
            "--baseline",
            str(profile),
            "--current",
            str(data / "drift.parquet"),
            "--format",
            "json",
        ],
        capsys,
    )[1]
    assert json.loads(direct)["features"] == json.loads(via)["features"]


def test_config_accepts_a_modelmonitor_manifest(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "monitor.yaml"
    manifest.write_text(
        """
apiVersion: driftwarden.io/v1alpha1
kind: ModelMonitor
metadata: {name: m}
spec:
  model: {name: m, version: "1"}
  schedule: {cron: "0 * * * *"}
  features:
    - {name: income, type: numeric, methods: [psi, ks]}
    - {name: region, type: categorical}
  minSamples: 200
"""
    )
    out_file = tmp_path / "report.json"
    code, out, _ = run(
        [
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "drift.parquet"),
            "--config",
            str(manifest),
            "--format",
            "json",
            "--output",
            str(out_file),
        ],
        capsys,
    )
    assert code == 0
    assert out == ""
    report = json.loads(out_file.read_text())
    assert [f["name"] for f in report["features"]] == ["income", "region"]
    assert [m["method"] for m in report["features"][0]["methods"]] == ["psi", "ks"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--current", "{d}/missing.csv"], "missing.csv: no such file"),
        (["--current", "{d}/notes.txt"], "unsupported file type '.txt'"),
        (["--current", "{d}/empty.csv"], "the window is empty"),
        (["--current", "{d}/broken.parquet"], "broken.parquet: cannot read"),
        (["--current", "{d}/drift.parquet", "--features", "age,nope"], "feature 'nope' is not in"),
        (["--current", "{d}/drift.parquet", "--label", "label"], "--label needs --task"),
        (["--current", "{d}/drift.parquet", "--config", "{d}/notes.txt"], "expected a mapping"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    data: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    argv = ["detect", "--baseline", str(data / "base.parquet"), *[a.format(d=data) for a in args]]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_invalid_settings_are_named(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("features: [{name: age, thresholds: {psi: {warning: 0.5, critical: 0.1}}}]\n")
    code, _, err = run(
        [
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "drift.parquet"),
            "--config",
            str(config),
        ],
        capsys,
    )
    assert code == 2
    assert "invalid settings: at features.0.thresholds.psi" in err


def test_console_script_runs_as_a_process(data: Path) -> None:
    """The installed entry point, in a fresh process, with no standard input."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "driftwarden.detectors.cli",
            "detect",
            "--baseline",
            str(data / "base.parquet"),
            "--current",
            str(data / "nope.csv"),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("driftwarden: error:")


def test_a_column_without_a_usable_name_is_left_out_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parquet allows a column named "" (pandas' CSV reader renames it; Arrow keeps it)."""
    values = np.arange(300.0)
    table = pa.table({"a": values, "": values, "b" * 300: values, "c": values})
    pq.write_table(table, tmp_path / "b.parquet")
    pq.write_table(table, tmp_path / "c.parquet")
    argv = ["detect", "--baseline", str(tmp_path / "b.parquet")]
    code, out, err = run([*argv, "--current", str(tmp_path / "c.parquet")], capsys)
    assert (code, err) == (0, "")
    assert "note: column 2 has no name: not compared (name it to compare it)" in out
    assert "note: column 3's name is longer than 253 characters: not compared" in out
    assert "0/2 features drifted" in out


def test_profile_store_uses_the_local_database_like_db_and_history(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DRIFTWARDEN_DATABASE_URL", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(tmp_path / "local.db"))
    assert run(["db", "upgrade"], capsys)[0] == 0
    argv = ["profile", "--input", str(data / "base.parquet"), "--store", "golden"]
    code, out, err = run([*argv, "--namespace", "risk"], capsys)
    assert code == 0, err
    assert "stored baseline 'golden' in namespace 'risk'" in out + err
