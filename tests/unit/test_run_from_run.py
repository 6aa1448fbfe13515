"""`driftwarden run --store-baseline NAME --from-run RUN_ID` against a real SQLite results
database: a run id the namespace does not hold is exit 2 with one line naming the closest of
its newest runs (never a run of another namespace); `--from-run` alone is refused, not
ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

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


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    return err.strip()


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
