"""`driftwarden run` end to end against a real PostgreSQL 15 server (source and results)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2
import psycopg2.extras
import pytest
import sqlalchemy as sa
import yaml
from cluster.controlplane import free_port
from pg import PostgresServer
from sqlalchemy.engine import Engine

from driftwarden.detectors.job.contract import RUN_CONFIG_VERSION, RunSummary
from driftwarden.detectors.job.run import RunOptions, RunResult, execute
from driftwarden.detectors.outcome import FailureReason, RunOutcome
from driftwarden.detectors.storage import models as m

pytestmark = pytest.mark.postgres

RUN_TIME = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ROWS_PER_WINDOW = 3_000


def _rows(
    start: datetime, span: timedelta, n: int, drift: bool, seed: int
) -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(seed)
    times = [start + span * (i + 0.5) / n for i in range(n)]
    age = rng.normal(40, 10, n)
    income = rng.normal(60 if drift else 50, 10, n)  # drifted in the current window
    regions = rng.choice(
        ["north", "south", "east"], n, p=[0.6, 0.2, 0.2] if drift else [0.34, 0.33, 0.33]
    )
    reserved = rng.integers(0, 5, n)  # a feature named `select`: must be quoted to be read
    score = rng.uniform(0, 1, n)
    label = (rng.uniform(0, 1, n) < score).astype(int)
    latency = rng.gamma(2, 20, n)
    errors = (rng.uniform(0, 1, n) < 0.01).astype(int)
    return [
        (
            times[i],
            float(age[i]),
            float(income[i]),
            str(regions[i]),
            int(reserved[i]),
            float(score[i]),
            int(label[i]),
            float(latency[i]),
            int(errors[i]),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def source(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database("job_source")
    conn = psycopg2.connect(postgres_server.dsn("job_source"))
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE inference_log (ts timestamptz NOT NULL, age double precision, "
            'income double precision, region text, "select" integer, score double precision, '
            "defaulted integer, latency_ms double precision, is_error integer)"
        )
        rows = _rows(RUN_TIME - timedelta(days=16), timedelta(days=14), ROWS_PER_WINDOW, False, 1)
        rows += _rows(RUN_TIME - timedelta(days=1), timedelta(days=1), ROWS_PER_WINDOW, True, 2)
        psycopg2.extras.execute_values(
            cursor, "INSERT INTO inference_log VALUES %s", rows, page_size=5000
        )
        cursor.execute("CREATE TABLE runs (id integer)")  # what a hostile name would drop
        # The same rows under names PostgreSQL allows quoted (the trial's "Region Name").
        cursor.execute(
            'CREATE VIEW odd_log AS SELECT ts, region AS "Region Name", income AS "a""b", '
            'age AS "x; DROP TABLE runs; --" FROM inference_log'
        )
    conn.close()
    return url


def _config(**spec_changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": {"name": "credit-scoring", "version": "3.2.0"},
        "schedule": {"cron": "0 */6 * * *"},
        "source": {
            "postgres": {
                "connectionSecretRef": {"name": "inference-db", "key": "url"},
                "table": "inference_log",
                "timestampColumn": "ts",
            }
        },
        "baseline": {"relative": {"length": "14d", "endOffset": "2d"}},
        "current": {"relative": {"length": "1d"}},
        "features": [
            {"name": "age", "type": "numeric"},
            {"name": "income", "type": "numeric"},
            {"name": "region", "type": "categorical"},
            {"name": "select", "type": "numeric"},
        ],
        "prediction": {"column": "score", "type": "probability"},
        "labels": {"column": "defaulted", "task": "binary", "delay": "6h"},
        "operational": {"latencyColumn": "latency_ms", "errorColumn": "is_error"},
        "minSamples": 200,
    }
    spec.update(spec_changes)
    return {
        "version": 1,
        "apiVersion": "driftwarden.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "credit-scoring", "namespace": "risk", "uid": "u-1", "generation": 3},
        "spec": spec,
    }


def _run(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    source_url: str,
    database_url: str,
    run_id: str = "credit-scoring-29400000",
    **options: Any,
) -> tuple[RunResult, str]:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    summary_path = tmp_path / "termination-log"
    progress = options.pop("write_progress", None)
    result = execute(
        RunOptions(
            config_path=path,
            run_id=run_id,
            scheduled_at=RUN_TIME,
            summary_path=summary_path,
            source_url=source_url,
            database_url=database_url,
            **options,
        ),
        write_progress=progress,
    )
    return result, summary_path.read_text()


def _count(engine: Engine, table: sa.Table, run_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.run_id == run_id)
            ).scalar_one()
        )


def test_driftwarden_run_end_to_end(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(_config()))
    summary_path = tmp_path / "termination-log"
    env = {
        "DRIFTWARDEN_RUN_ID": "credit-scoring-29400000",
        "DRIFTWARDEN_SOURCE_URL": source,
        "DRIFTWARDEN_DATABASE_URL": history_url,
        "DRIFTWARDEN_SCHEDULED_TIME": RUN_TIME.isoformat().replace("+00:00", "Z"),
        "DRIFTWARDEN_SUMMARY_PATH": str(summary_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "driftwarden.detectors.cli", "run", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    text = summary_path.read_text()
    assert len(text.encode()) <= 4096
    summary = RunSummary.from_termination_message(text)
    assert summary.outcome == RunOutcome.SUCCEEDED
    assert summary.reason is None
    drifted = {f.name for f in summary.top_drifted}
    assert {"income", "region"} <= drifted
    assert "age" not in drifted
    assert summary.rows is not None
    assert summary.rows.current == ROWS_PER_WINDOW
    # labels.delay 6h: the last quarter of the one-day current window has no labels yet.
    assert summary.labelled is not None
    assert summary.labelled.baseline == ROWS_PER_WINDOW
    assert summary.labelled.current == pytest.approx(ROWS_PER_WINDOW * 0.75, abs=2)
    assert summary.scheduled_at == RUN_TIME

    runs = m.monitor_runs
    with history.connect() as conn:
        row = conn.execute(sa.select(runs)).mappings().one()
        namespaces = conn.execute(sa.select(m.drift_results.c.monitor_namespace).distinct())
        assert [n for (n,) in namespaces] == ["risk"]
    assert row["run_id"] == "credit-scoring-29400000"
    assert row["outcome"] == "Succeeded"
    assert row["monitor_namespace"] == "risk"
    assert row["current_start"] == RUN_TIME - timedelta(days=1)
    assert row["current_end"] == RUN_TIME
    assert row["baseline_end"] == RUN_TIME - timedelta(days=2)
    assert row["settings"]["minSamples"] == 200
    assert row["settings"]["decision"]["alpha"] == 0.05  # a default, filled in
    assert len(row["settings_hash"]) == 64
    assert len(row["spec_hash"]) == 16
    assert len(row["baseline_profile_hash"]) == 64
    assert row["detector_version"]
    assert row["current_labelled_rows"] == summary.labelled.current
    assert _count(history, m.drift_results, row["run_id"]) > 0
    assert _count(history, m.performance_metrics, row["run_id"]) > 0


def test_a_retried_run_leaves_exactly_one_run(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    first, _ = _run(tmp_path, _config(), source_url=source, database_url=history_url)
    drift_rows = _count(history, m.drift_results, "credit-scoring-29400000")
    second, _ = _run(tmp_path, _config(), source_url=source, database_url=history_url)
    assert first.exit_code == second.exit_code == 0
    assert _count(history, m.monitor_runs, "credit-scoring-29400000") == 1
    assert _count(history, m.drift_results, "credit-scoring-29400000") == drift_rows
    # Same record, same numbers: the scheduled time fixes the windows.
    assert first.summary.top_drifted == second.summary.top_drifted
    assert first.summary.health_score == second.summary.health_score


def test_results_database_killed_mid_write_leaves_nothing_and_the_retry_writes_once(
    tmp_path: Path,
    source: str,
    history: Engine,
    history_url: str,
    postgres_server: PostgresServer,
) -> None:
    killed: list[str] = []

    def kill_the_writer(table: str, _written: int) -> None:
        if killed:
            return
        killed.append(table)
        admin = psycopg2.connect(postgres_server.dsn())
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'history' AND pid <> pg_backend_pid()"
            )
        admin.close()

    result, text = _run(
        tmp_path,
        _config(),
        source_url=source,
        database_url=history_url,
        write_batch_rows=3,
        write_progress=kill_the_writer,
    )
    assert killed == ["drift_results"]
    assert result.exit_code == 3
    assert result.summary.reason == FailureReason.RESULTS_DATABASE_UNAVAILABLE
    assert postgres_server.password not in text
    assert _count(history, m.monitor_runs, "credit-scoring-29400000") == 0
    assert _count(history, m.drift_results, "credit-scoring-29400000") == 0

    retry, _ = _run(tmp_path, _config(), source_url=source, database_url=history_url)
    assert retry.exit_code == 0
    assert _count(history, m.monitor_runs, "credit-scoring-29400000") == 1


@pytest.fixture
def locked_table(postgres_server: PostgresServer, source: str) -> Iterator[None]:
    """Another session holds an exclusive lock on the table: reads wait for it."""
    conn = psycopg2.connect(postgres_server.dsn("job_source"))
    with conn.cursor() as cursor:
        cursor.execute("LOCK TABLE inference_log IN ACCESS EXCLUSIVE MODE")
        yield
    conn.rollback()
    conn.close()


def _source_config(**postgres: Any) -> dict[str, Any]:
    base = _config()["spec"]["source"]["postgres"]
    return {"postgres": {**base, **postgres}}


CASES = {
    "wrong password": (
        lambda s, p: {},
        lambda url, pw: url.replace(pw, "not-the-password"),
        FailureReason.AUTHENTICATION_FAILED,
        2,
    ),
    "stopped server": (
        lambda s, p: {},
        lambda url, pw: (
            url.rsplit(":", 1)[0].rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/job_source"
        ),
        FailureReason.SOURCE_UNREACHABLE,
        3,
    ),
    "missing table": (
        lambda s, p: {"source": _source_config(table="no_such_table")},
        lambda url, pw: url,
        FailureReason.TABLE_NOT_FOUND,
        2,
    ),
    "missing column": (
        lambda s, p: {"features": [{"name": "no_such_column", "type": "numeric"}]},
        lambda url, pw: url,
        FailureReason.COLUMN_NOT_FOUND,
        2,
    ),
    "hostile table name": (
        lambda s, p: {"source": _source_config(table='x"; DROP TABLE runs; --')},
        lambda url, pw: url,
        FailureReason.INVALID_RUN_CONFIG,
        2,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_failure_reason_from_a_real_cause(
    case: str,
    tmp_path: Path,
    source: str,
    history: Engine,
    history_url: str,
    postgres_server: PostgresServer,
) -> None:
    changes, url_for, reason, code = CASES[case]
    url = url_for(source, postgres_server.password)
    result, text = _run(
        tmp_path, _config(**changes(source, None)), source_url=url, database_url=history_url
    )
    assert (result.summary.reason, result.exit_code) == (reason, code), result.summary.message
    assert postgres_server.password not in text
    assert len(text.encode()) <= 4096
    conn = psycopg2.connect(postgres_server.dsn("job_source"))
    with conn, conn.cursor() as cursor:  # the hostile name never ran
        cursor.execute("SELECT to_regclass('runs') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    conn.close()


def test_a_run_reads_columns_by_any_name_postgres_allows(
    tmp_path: Path, source: str, history: Engine, history_url: str, postgres_server: PostgresServer
) -> None:
    features = [
        {"name": "Region Name", "type": "categorical"},
        {"name": 'a"b', "type": "numeric"},
        {"name": "x; DROP TABLE runs; --", "type": "numeric"},
    ]
    config = _config(
        source=_source_config(table="odd_log"),
        features=features,
        prediction=None,
        labels=None,
        operational=None,
    )
    result, text = _run(tmp_path, config, source_url=source, database_url=history_url)
    assert result.exit_code == 0, result.summary.message
    summary = RunSummary.from_termination_message(text)
    drifted = {f.name for f in summary.top_drifted}
    # region and income drifted, age did not: each name read its own column
    assert {"Region Name", 'a"b'} <= drifted
    assert "x; DROP TABLE runs; --" not in drifted
    assert summary.total_features == 3
    conn = psycopg2.connect(postgres_server.dsn("job_source"))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('runs') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    conn.close()


def test_an_empty_window_is_insufficient_data_and_recorded(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    # {start, end}: the absolute form on main, still read after `absolute` arrives.
    empty = {"start": "2001-01-01T00:00:00Z", "end": "2001-01-02T00:00:00Z"}
    result, text = _run(
        tmp_path, _config(current=empty), source_url=source, database_url=history_url
    )
    assert result.exit_code == 0
    summary = RunSummary.from_termination_message(text)
    assert summary.outcome == RunOutcome.INSUFFICIENT_DATA
    assert summary.reason == FailureReason.INSUFFICIENT_DATA
    assert summary.rows is not None
    assert summary.rows.current == 0
    with history.connect() as conn:
        outcome = conn.execute(sa.select(m.monitor_runs.c.outcome)).scalar_one()
    assert outcome == "InsufficientData"


def test_a_statement_timeout_is_reported_as_timeout(
    tmp_path: Path, source: str, history: Engine, history_url: str, locked_table: None
) -> None:
    result, _ = _run(
        tmp_path,
        _config(),
        source_url=source,
        database_url=history_url,
        statement_timeout=timedelta(milliseconds=300),
    )
    assert (result.summary.reason, result.exit_code) == (FailureReason.TIMEOUT, 3)


def test_results_database_unreachable(tmp_path: Path, source: str) -> None:
    url = f"postgresql://postgres:secret-pw@127.0.0.1:{free_port()}/history"
    result, text = _run(tmp_path, _config(), source_url=source, database_url=url)
    assert (result.summary.reason, result.exit_code) == (
        FailureReason.RESULTS_DATABASE_UNAVAILABLE,
        3,
    )
    assert "secret-pw" not in text


def test_a_newer_run_configuration_is_refused_naming_both_versions(
    tmp_path: Path, source: str, history_url: str
) -> None:
    newer = {**_config(), "version": RUN_CONFIG_VERSION + 1}
    result, text = _run(tmp_path, newer, source_url=source, database_url=history_url)
    assert (result.summary.reason, result.exit_code) == (FailureReason.INVALID_RUN_CONFIG, 2)
    message = json.loads(text)["message"]
    assert f"version {RUN_CONFIG_VERSION + 1}" in message
    assert f"version {RUN_CONFIG_VERSION})" in message


def test_a_run_from_a_stored_baseline_gives_the_same_verdict(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    config = tmp_path / "store.yaml"
    config.write_text(yaml.safe_dump(_config()))
    env = {
        "DRIFTWARDEN_SOURCE_URL": source,
        "DRIFTWARDEN_DATABASE_URL": history_url,
        "DRIFTWARDEN_SCHEDULED_TIME": str(int(RUN_TIME.timestamp())),
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "driftwarden.detectors.cli", "run", "--config", str(config)]
    done = subprocess.run(
        [*command, "--store-baseline", "golden"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    from_window, _ = _run(
        tmp_path, _config(), source_url=source, database_url=history_url, run_id="w"
    )
    stored = _config(baseline={"profileRef": {"name": "golden"}})
    from_profile, _ = _run(
        tmp_path, stored, source_url=source, database_url=history_url, run_id="p"
    )
    assert from_window.exit_code == from_profile.exit_code == 0
    a, b = from_window.summary, from_profile.summary
    assert (a.severity, a.drifted_features) == (b.severity, b.drifted_features)
    assert [f.name for f in a.top_drifted] == [f.name for f in b.top_drifted]
    # Tolerance: the same profile, serialised and read back; statistics agree to 1e-9.
    assert a.health_score == pytest.approx(b.health_score, abs=1e-9)
    results = m.drift_results
    with history.connect() as conn:
        stats = {
            run: {
                (f, meth): st
                for f, meth, st in conn.execute(
                    sa.select(results.c.feature, results.c.method, results.c.statistic).where(
                        results.c.run_id == run
                    )
                )
            }
            for run in ("w", "p")
        }
        runs = {
            r.run_id: r
            for r in conn.execute(
                sa.select(
                    m.monitor_runs.c.run_id,
                    m.monitor_runs.c.baseline_profile_hash,
                    m.monitor_runs.c.baseline_profile_name,
                )
            )
        }
    assert stats["w"].keys() == stats["p"].keys()
    for key, value in stats["w"].items():
        assert stats["p"][key] == pytest.approx(value, abs=1e-9), key
    assert runs["p"].baseline_profile_name == "golden"
    assert runs["p"].baseline_profile_hash == runs["w"].baseline_profile_hash


def test_a_past_runs_baseline_can_be_pinned(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    from driftwarden.detectors.job.run import store_baseline
    from driftwarden.detectors.storage import get_run, load_reference_profile

    past, _ = _run(tmp_path, _config(), source_url=source, database_url=history_url, run_id="old")
    assert past.exit_code == 0
    options = RunOptions(
        config_path=tmp_path / "run.yaml",
        run_id=None,
        scheduled_at=None,  # the pinned window comes from the run's record
        summary_path=None,
        source_url=source,
        database_url=history_url,
    )
    stored = store_baseline(options, "pinned", from_run="old")
    record = get_run(history, "old")
    assert record is not None
    assert stored.profile_hash == record.baseline_profile_hash
    loaded = load_reference_profile(history, "risk", "pinned")
    assert loaded is not None
    assert loaded.source_run_id == "old"
    assert loaded.rows == ROWS_PER_WINDOW


def test_driftwarden_profile_store_writes_a_baseline_a_run_can_use(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [r[1:] for r in _rows(RUN_TIME, timedelta(days=1), ROWS_PER_WINDOW, False, 1)],
        columns=[
            "age",
            "income",
            "region",
            "select",
            "score",
            "defaulted",
            "latency_ms",
            "is_error",
        ],
    )
    data = tmp_path / "baseline.parquet"
    frame.to_parquet(data)
    config = tmp_path / "detect.yaml"
    config.write_text(yaml.safe_dump(_config()))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driftwarden.detectors.cli",
            "profile",
            "--input",
            str(data),
            "--config",
            str(config),
            "--store",
            "from-file",
            "--namespace",
            "risk",
            "--database-url",
            history_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "from-file" in done.stdout
    stored = _config(baseline={"profileRef": {"name": "from-file"}})
    result, _ = _run(tmp_path, stored, source_url=source, database_url=history_url)
    assert result.exit_code == 0, result.summary.message
    assert {"income", "region"} <= {f.name for f in result.summary.top_drifted}


def test_a_stored_run_keeps_adjusted_p_values_and_the_distributions_it_compared(
    tmp_path: Path,
    source: str,
    history: Engine,
    history_url: str,
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`driftwarden report --run` draws a stored run as `detect --format html` draws a fresh
    one: adjusted p-values and, per feature, both windows' shares, checked against the
    source table itself."""
    result, _ = _run(tmp_path, _config(), source_url=source, database_url=history_url)
    assert result.exit_code == 0, result.summary.message
    run_id = result.summary.run_id
    from driftwarden.detectors.cli import main
    from driftwarden.detectors.distributions import Overlay
    from driftwarden.detectors.storage.reads import run_rows

    rows = run_rows(history, run_id)
    data = [r for r in rows.drift if r.drift_type == "data"]
    assert data
    assert all(r.p_value_adjusted is not None for r in data if r.p_value is not None)
    for r in data:
        if r.p_value is not None and r.p_value_adjusted is not None:
            assert r.p_value <= r.p_value_adjusted <= 1.0  # an adjustment never lowers p
    shapes = {d.feature: Overlay.from_dict(d.kind, d.distribution) for d in rows.distributions}
    assert set(shapes) == {"age", "income", "region", "select", "score"}

    # The region shares are the source's, window by window (categorical counts are exact).
    conn = psycopg2.connect(postgres_server.dsn("job_source"))
    with conn, conn.cursor() as cursor:
        for window, (start, end) in {
            "baseline": (RUN_TIME - timedelta(days=16), RUN_TIME - timedelta(days=2)),
            "current": (RUN_TIME - timedelta(days=1), RUN_TIME),
        }.items():
            cursor.execute(
                "SELECT region, count(*) FROM inference_log WHERE ts >= %s AND ts < %s "
                "GROUP BY region",
                (start, end),
            )
            counts = dict(cursor.fetchall())
            total = sum(counts.values())
            region = shapes["region"]
            stored = dict(zip(region.labels, getattr(region, window), strict=True))
            assert stored == pytest.approx({k: v / total for k, v in counts.items()})
    conn.close()
    income = shapes["income"]
    assert income.kind == "numeric"
    assert income.n_baseline == income.n_current == ROWS_PER_WINDOW
    assert sum(income.baseline) == pytest.approx(1.0)
    # income moved up by one standard deviation: the current window's mass sits in the
    # baseline's upper bins.
    half = len(income.current) // 2
    assert sum(income.current[half:]) > 0.75

    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", history_url)
    page_path = tmp_path / "run.html"
    assert main(["report", "--run", run_id, "--output", str(page_path)]) == 0
    capsys.readouterr()
    page = page_path.read_text()
    for name in ("age", "income", "region", "select"):
        start = page.index(f'data-feature="{name}"')
        section = page[start : page.index("</details>", start)]
        assert "<svg" in section, name
    assert "stored no distributions" not in page


def test_a_run_with_its_namespaces_role_writes_only_its_namespace(
    tmp_path: Path, source: str, history: Engine, history_url: str
) -> None:
    """`driftwarden run` with the credentials of the monitor's namespace (row-level security
    on): the run is written; with another namespace's credentials it is refused, exit 2,
    `AuthenticationFailed`, and nothing is written."""
    from sqlalchemy.engine import URL, make_url

    from driftwarden.detectors.storage.tenancy import grant_tenant, revoke_tenant

    risk = grant_tenant(history, "risk").url(make_url(history_url))
    other = grant_tenant(history, "other").url(make_url(history_url))

    def plain(url: URL) -> str:
        return url.render_as_string(hide_password=False)

    try:
        result, _ = _run(tmp_path, _config(), source_url=source, database_url=plain(risk))
        assert result.exit_code == 0, result.summary.message
        assert _count(history, m.drift_results, result.summary.run_id) > 0
        refused, _ = _run(
            tmp_path, _config(), source_url=source, database_url=plain(other), run_id="r-2"
        )
        assert refused.exit_code == 2
        assert refused.summary.reason == FailureReason.AUTHENTICATION_FAILED
        assert "row-level security" in refused.summary.message
        assert risk.password not in refused.summary.message
        assert _count(history, m.monitor_runs, "r-2") == 0
    finally:
        revoke_tenant(history, "risk")
        revoke_tenant(history, "other")
