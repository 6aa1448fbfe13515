"""Names `driftwarden run` is given, against a real SQLite results database:

- `--store-baseline NAME --from-run RUN_ID`: a run id the namespace does not hold is exit 2
  with one line naming the closest of its newest runs (never a run of another namespace);
  `--from-run` alone is refused, not ignored;
- `baseline: {profileRef: {name: NAME}}` (files source, a real run): a stored baseline the
  namespace does not hold names the closest stored one; a feature the stored baseline lacks
  names its columns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from clirun import refused as _refused

from driftwarden.detectors.cli import main
from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import detect_frames
from driftwarden.detectors.history import drift_rows, performance_rows, run_record
from driftwarden.detectors.job.contract import RUN_CONFIG_VERSION
from driftwarden.detectors.storage import create_engine, upgrade, write_run
from driftwarden.detectors.storage.names import recent_run_ids

NOW = datetime.now(UTC).replace(microsecond=0)


def _config(namespace: str) -> dict[str, Any]:
    return {
        "version": RUN_CONFIG_VERSION,
        "apiVersion": "driftwarden.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "scoring", "namespace": namespace, "uid": "u-1", "generation": 1},
        "spec": {
            "model": {"name": "scoring", "version": "1"},
            "schedule": {"cron": "0 * * * *"},
            "source": {
                "postgres": {
                    "connectionSecretRef": {"name": "db", "key": "url"},
                    "table": "inference_log",
                    "timestampColumn": "ts",
                }
            },
            "baseline": {"relative": {"length": "14d", "endOffset": "2d"}},
            "current": {"relative": {"length": "1d"}},
            "features": [{"name": "age", "type": "numeric"}],
        },
    }


def _frame(rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({"age": rng.normal(40, 10, 300)})


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs scoring-0 and scoring-1 in prod; scoring-staging-7 in staging."""
    path = tmp_path / "results.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    rng = np.random.default_rng(3)
    for namespace, run_id, hours in (
        ("prod", "scoring-29400000", 2),
        ("prod", "scoring-29400060", 1),
        ("staging", "scoring-29400120", 3),
    ):
        report = detect_frames(_frame(rng), _frame(rng), DetectionSpec())
        started = NOW - timedelta(hours=hours)
        record = run_record(
            report,
            run_id=run_id,
            monitor_namespace=namespace,
            monitor_name="scoring",
            started_at=started,
            finished_at=started + timedelta(minutes=1),
        )
        write_run(engine, record, drift_rows(report), performance_rows(report), [])
    engine.dispose()
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("DRIFTWARDEN_SOURCE_URL", raising=False)
    return path


def _argv(tmp_path: Path, namespace: str, from_run: str) -> list[str]:
    config = tmp_path / f"{namespace}.yaml"
    config.write_text(yaml.safe_dump(_config(namespace)))
    return ["run", "--config", str(config), "--store-baseline", "pinned", "--from-run", from_run]


def test_a_misspelt_run_id_is_exit_2_with_the_closest(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _refused(_argv(tmp_path, "prod", "scoring-2940060"), capsys) == (
        "driftwarden: error: InvalidRunConfig: run 'scoring-2940060' not found in namespace "
        "'prod' (did you mean 'scoring-29400060'?)"
    )


def test_a_run_like_none_lists_the_namespaces_newest(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _refused(_argv(tmp_path, "prod", "zzz"), capsys).endswith(
        "(its newest runs: 'scoring-29400060', 'scoring-29400000')"
    )


def test_a_run_of_another_namespace_is_neither_pinned_nor_offered(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _refused(_argv(tmp_path, "prod", "scoring-29400120"), capsys)
    assert message.startswith(
        "driftwarden: error: InvalidRunConfig: run 'scoring-29400120' not found in "
        "namespace 'prod' ("
    )
    assert message.count("scoring-29400120") == 1  # only where it repeats what was typed
    assert _refused(_argv(tmp_path, "dev", "scoring-29400120"), capsys).endswith(
        "(it has no newest runs)"
    )


def test_a_hostile_run_id_is_a_bound_parameter(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "x'; DROP TABLE monitor_runs; --"
    assert "not found in namespace 'prod'" in _refused(_argv(tmp_path, "prod", hostile), capsys)
    engine = create_engine(f"sqlite:///{results}")
    assert len(recent_run_ids(engine)) == 3
    assert recent_run_ids(engine, namespace="prod", limit=1) == ["scoring-29400060"]
    engine.dispose()


def test_from_run_without_store_baseline_is_refused(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(tmp_path, "prod", "scoring-29400000")
    argv.remove("--store-baseline")
    argv.remove("pinned")
    assert _refused(argv, capsys) == (
        "driftwarden: error: InvalidRunConfig: --from-run needs --store-baseline NAME"
    )


# --- stored baselines (a real run over a files source) ----------------------------------

RUN_TIME = datetime(2026, 11, 29, 12, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """An inference log: 20 days of hourly rows."""
    rng = np.random.default_rng(11)
    hours = 20 * 24
    frame = pd.DataFrame(
        {
            "ts": pd.date_range(RUN_TIME - timedelta(days=20), periods=hours, freq="h", tz=UTC),
            "age": rng.normal(40, 10, hours),
            "income": rng.normal(50, 10, hours),
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def _files_config(log: Path, baseline: dict[str, Any], features: list[str]) -> dict[str, Any]:
    config = _config("prod")
    config["spec"]["source"] = {"files": {"path": str(log), "timestampColumn": "ts"}}
    config["spec"]["baseline"] = baseline
    config["spec"]["features"] = [{"name": f, "type": "numeric"} for f in features]
    config["spec"]["minSamples"] = 10
    return config


def _run(tmp_path: Path, config: dict[str, Any], *extra: str) -> tuple[int, str]:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = ["run", "--config", str(path), "--scheduled-time", RUN_TIME.isoformat(), *extra]
    argv += ["--summary-path", str(tmp_path / "summary")]
    return main(argv), str(tmp_path / "summary")


def test_an_unknown_stored_baseline_names_the_closest(
    results: Path, log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    window = {"relative": {"length": "14d", "endOffset": "2d"}}
    code, _ = _run(tmp_path, _files_config(log, window, ["age"]), "--store-baseline", "golden")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("stored baseline 'golden' in namespace 'prod'")
    config = _files_config(log, {"profileRef": {"name": "goldn"}}, ["age"])
    code, _ = _run(tmp_path, config, "--run-id", "r-1")
    err = capsys.readouterr().err
    assert (code, len(err.splitlines())) == (2, 1), err
    assert err.strip().endswith(
        "stored baseline 'goldn' not found in namespace 'prod' (did you mean 'golden'?)"
    )
    config = _files_config(log, {"profileRef": {"name": "golden"}}, ["age", "income"])
    code, _ = _run(tmp_path, config, "--run-id", "r-2")
    err = capsys.readouterr().err
    assert (code, len(err.splitlines())) == (2, 1), err
    assert err.strip().endswith(
        "feature 'income' is not in the stored baseline (its columns: 'age')"
    )


def test_a_feature_the_source_lacks_names_its_closest_column(
    results: Path, log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt feature in the monitor's spec: the run's one line names the column."""
    window = {"relative": {"length": "14d", "endOffset": "2d"}}
    code, _ = _run(tmp_path, _files_config(log, window, ["age", "incme"]), "--run-id", "r-3")
    err = capsys.readouterr().err
    assert (code, len(err.splitlines())) == (2, 1), err
    assert err.strip().endswith(
        f"column(s) 'incme' not found in files {log} (did you mean 'income'?)"
    )
