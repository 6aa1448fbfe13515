"""What a user hands `driftwarden run` (and the other commands that take a database URL):
a malformed URL or option is their input to fix, exit 2 with one line naming where it came
from and never the password; `DRIFTWARDEN_DEBUG` only adds a traceback."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from driftwarden.detectors.cli import main
from driftwarden.detectors.job.contract import InvalidRunConfigError
from driftwarden.detectors.job.run import RunOptions
from driftwarden.detectors.outcome import FailureReason
from driftwarden.detectors.storage.database import DatabaseConfigError, database_url_from

PASSWORD = "pw-s3cret"
BAD_URLS = {
    "port not a number": f"postgresql://u:{PASSWORD}@127.0.0.1:notaport/src",
    "unclosed IPv6 bracket": f"postgresql://u:{PASSWORD}@[::1:5432/src",
    "another database": f"mysql://u:{PASSWORD}@127.0.0.1/src",
    "port out of range": f"postgresql://u:{PASSWORD}@127.0.0.1:70000/src",
    "no scheme": f"u:{PASSWORD}@127.0.0.1/src",
}
GOOD_SOURCE = f"postgresql://u:{PASSWORD}@127.0.0.1:1/src"  # never reached: refused before

CONFIG: dict[str, object] = {
    "version": 1,
    "apiVersion": "driftwarden.io/v1alpha1",
    "kind": "ModelMonitor",
    "metadata": {"name": "m", "namespace": "ns"},
    "spec": {
        "model": {"name": "m"},
        "source": {
            "postgres": {
                "connectionSecretRef": {"name": "db", "key": "url"},
                "table": "inference_log",
                "timestampColumn": "ts",
            }
        },
        "baseline": {"relative": {"length": "14d", "endOffset": "1d"}},
        "current": {"relative": {"length": "1d"}},
        "features": [{"name": "Region Name"}],
    },
}


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run's configuration and environment; returns the summary's path."""
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    summary = tmp_path / "termination-log"
    monkeypatch.setenv("DRIFTWARDEN_RUN_ID", "m-29400000")
    monkeypatch.setenv("DRIFTWARDEN_SUMMARY_PATH", str(summary))
    monkeypatch.setenv("DRIFTWARDEN_SOURCE_URL", GOOD_SOURCE)
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", f"sqlite:///{tmp_path / 'results.db'}")
    monkeypatch.delenv("DRIFTWARDEN_DEBUG", raising=False)
    return summary


def _run(job: Path, *extra: str) -> int:
    config = job.parent / "run.yaml"
    try:
        return main(["run", "--config", str(config), *extra])
    except SystemExit as exit_:  # argparse
        return int(exit_.code or 0)


def _summary(job: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads(job.read_text())
    return document


@pytest.mark.parametrize("case", list(BAD_URLS))
@pytest.mark.parametrize("variable", ["DRIFTWARDEN_SOURCE_URL", "DRIFTWARDEN_DATABASE_URL"])
def test_a_malformed_url_is_invalid_run_config_naming_the_variable(
    case: str,
    variable: str,
    job: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, BAD_URLS[case])
    code = _run(job)
    err = capsys.readouterr().err
    assert code == 2, err
    summary = _summary(job)
    assert summary["reason"] == FailureReason.INVALID_RUN_CONFIG
    message = str(summary["message"])
    assert variable in message
    if case != "port out of range":
        assert "postgresql://" in message  # the supported scheme(s) are named
    else:
        assert "1-65535" in message
    assert PASSWORD not in message + err
    assert err.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1e6", "100000001"])
def test_chunk_rows_out_of_range_is_a_usage_error_as_detect_makes_it(
    value: str, job: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(job, f"--chunk-rows={value}")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--chunk-rows" in err
    assert err.count("\n") == 1
    assert "nternal" not in err


@pytest.mark.parametrize("value", ["0s", "-1m", "soon", "", "99999999999d"])
def test_statement_timeout_that_is_no_positive_duration_is_a_usage_error(
    value: str, job: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(job, f"--statement-timeout={value}")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--statement-timeout" in err
    assert err.count("\n") == 1


def test_run_options_refuse_chunk_rows_given_in_code(tmp_path: Path) -> None:
    args = argparse.Namespace(
        config=tmp_path / "run.yaml",
        run_id="r",
        scheduled_time=None,
        summary_path=None,
        statement_timeout="10m",
        chunk_rows=0,
    )
    with pytest.raises(InvalidRunConfigError, match="--chunk-rows"):
        RunOptions.from_args(args, {})


@pytest.mark.parametrize("debug", ["", "1"])
def test_debug_changes_neither_the_exit_code_nor_the_summary(
    debug: str,
    job: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The trial's case: with DRIFTWARDEN_DEBUG=1 this exited 1 with no summary written.
    monkeypatch.setenv("DRIFTWARDEN_SOURCE_URL", BAD_URLS["port not a number"])
    if debug:
        monkeypatch.setenv("DRIFTWARDEN_DEBUG", debug)
    code = _run(job)
    err = capsys.readouterr().err
    assert code == 2
    assert _summary(job)["reason"] == FailureReason.INVALID_RUN_CONFIG
    assert "Traceback" not in err  # the user's input: nothing of ours to trace


def test_database_url_from_names_where_the_url_came_from() -> None:
    for text in BAD_URLS.values():
        with pytest.raises(DatabaseConfigError, match="--database-url") as raised:
            database_url_from(text, "--database-url")
        assert PASSWORD not in str(raised.value)
        assert "postgresql://" in str(raised.value) or "1-65535" in str(raised.value)
    assert database_url_from(" postgres://u@h/db ", "x").drivername == "postgresql+psycopg2"
    assert database_url_from("sqlite:///tmp/x.db", "x").get_backend_name() == "sqlite"


@pytest.mark.parametrize("case", ["port not a number", "another database"])
def test_the_operators_database_url_is_refused_in_one_line(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code = main(
        [
            "operator",
            "--kubeconfig",
            str(tmp_path / "missing.yaml"),
            "--database-url",
            BAD_URLS[case],
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "--database-url" in err
    assert PASSWORD not in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["port not a number", "unclosed IPv6 bracket", "another database"])
def test_profile_store_names_its_database_url_option(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DRIFTWARDEN_DEBUG", raising=False)
    data = tmp_path / "window.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(50)))
    argv = ["profile", "--input", str(data), "--store", "golden"]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--database-url", BAD_URLS[case]])
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert "--database-url" in err
    assert "postgresql://" in err
    assert PASSWORD not in err
    assert err.count("\n") == 1
