"""Unknown and ambiguous names on the history commands against a real PostgreSQL 15 server
(the lookups of `storage.names`: unions over three tables, bound parameters)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from clirun import refused as _refused
from report_history import MONITOR, NAMESPACE, seed
from sqlalchemy.engine import Engine

from driftwarden.detectors.cli import main
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.alerts import ReceivedAlert, record_notifications
from driftwarden.detectors.storage.types import AlertState

pytestmark = pytest.mark.postgres
MON = f"{NAMESPACE}/{MONITOR}"


@pytest.fixture
def seeded(history: Engine, history_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """risk/credit's runs, and an alert of a monitor also called credit in staging."""
    seed(history)
    now = datetime.now(UTC)
    alert = ReceivedAlert(
        fingerprint="f" * 16,
        state=AlertState.FIRING,
        alertname="DriftwardenDriftCritical",
        namespace="staging",
        monitor=MONITOR,
        severity=Severity.CRITICAL,
        message="income drifted in staging",
        starts_at=now - timedelta(minutes=5),
        features=("income",),
    )
    record_notifications(history, [alert], now)
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", history_url)
    return history


def test_unknown_names_get_the_closest_stored_one(
    seeded: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["history", "feature", "--monitor", MON, "--feature", "incme"]
    assert _refused(argv, capsys).endswith(
        f"feature 'incme' of monitor '{MON}' is not in the history database "
        "(did you mean 'income'?)"
    )
    assert _refused([*argv[:-1], "income", "--method", "kss"], capsys).endswith(
        "(did you mean 'ks'?)"
    )
    assert _refused(["history", "runs", "--monitor", "risk/credt"], capsys).endswith(
        "monitor 'risk/credt' is not in the history database (did you mean 'risk/credit'?)"
    )
    assert _refused(["history", "show", "credit-33"], capsys).endswith(
        "run 'credit-33' is not in the history database (did you mean 'credit-3'?)"
    )


def test_a_bare_name_in_two_namespaces_is_refused(
    seeded: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _refused(["alerts", "--monitor", MONITOR], capsys).endswith(
        f"monitor '{MONITOR}' exists in namespaces risk, staging: give NAMESPACE/NAME or -n"
    )
    assert _refused(["history", "runs", "--monitor", MONITOR], capsys).endswith(
        "give NAMESPACE/NAME"
    )
    code = main(["alerts", "-n", "staging", "--monitor", MONITOR, "-o", "json"])
    found = json.loads(capsys.readouterr().out)
    assert (code, [a["monitor_namespace"] for a in found]) == (0, ["staging"])
