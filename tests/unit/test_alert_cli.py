"""`driftwarden alerts` over the embedded SQLite history: filters, table and JSON, exit 2
with one line on bad options."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clirun import run_cli as run

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.detectors.storage.alerts import (
    ReceivedAlert,
    acknowledge_monitor_alerts,
    record_notifications,
)
from driftwarden.detectors.storage.types import AlertState

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "history.db"
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    for name in ("PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(path))
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)

    def alert(
        fingerprint: str, namespace: str, monitor: str, hours: int, **kw: object
    ) -> ReceivedAlert:
        return ReceivedAlert(
            fingerprint=fingerprint,
            state=kw.pop("state", AlertState.FIRING),  # type: ignore[arg-type]
            alertname="DriftwardenDriftCritical",
            namespace=namespace,
            monitor=monitor,
            severity=Severity.CRITICAL,
            message="income drifted",
            starts_at=NOW - timedelta(hours=hours),
            features=("income",),
            **kw,  # type: ignore[arg-type]
        )

    record_notifications(
        engine,
        [
            alert("a" * 16, "risk", "credit", 1),
            alert("b" * 16, "risk", "churn", 2, state=AlertState.RESOLVED, ends_at=NOW),
            alert("c" * 16, "ads", "ctr", 3),
            alert("d" * 16, "ads", "ctr", 24 * 10),  # older than the default 7d
        ],
        NOW,
    )
    acknowledge_monitor_alerts(engine, "ads", "ctr", "bob", NOW)
    engine.dispose()
    return tmp_path


def test_open_alerts_by_default_newest_first(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["alerts"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["fired_at", "monitor", "alert", "severity"]
    assert [line.split()[2] for line in lines[2:]] == ["risk/credit", "ads/ctr"]
    assert "acknowledged" in lines[3]
    assert "bob" in lines[3]


def test_filters_and_json(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["alerts", "--state", "all", "-n", "risk", "-o", "json"], capsys)
    assert code == 0
    found = json.loads(out)
    assert [(a["monitor_name"], a["state"]) for a in found] == [
        ("credit", "firing"),
        ("churn", "resolved"),
    ]
    assert found[0]["affected_features"] == ["income"]
    assert found[0]["labels"] == {}
    code, out, _ = run(["alerts", "--monitor", "ads/ctr", "--since", "30d", "-o", "json"], capsys)
    assert len(json.loads(out)) == 2
    code, out, _ = run(["alerts", "--state", "resolved", "-n", "ads"], capsys)
    assert (code, out.strip()) == (0, "(no alerts match)")
    code, out, _ = run(
        ["alerts", "--monitor", "ads/ctr", "--since", "30d", "--format", "csv"], capsys
    )
    header, *lines = out.splitlines()
    assert (code, len(lines)) == (0, 2)
    assert header.split(",")[:3] == ["fired_at", "monitor", "alert"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--monitor", "a/b/c"], "--monitor: expected NAME or NAMESPACE/NAME"),
        (["-n", "x", "--monitor", "y/z"], "is not in --namespace"),
        (["--since", "forever"], "--since: expected a duration"),
        (["--state", "pending"], "--state: invalid choice"),
        (["--limit", "0"], "--limit: expected an integer"),
        (["--output", "json"], "unrecognized arguments"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    history: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(["alerts", *argv], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_no_database_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(tmp_path / "none.db"))
    code, _, err = run(["alerts"], capsys)
    assert code == 2
    assert "does not exist" in err
