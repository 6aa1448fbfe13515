"""The alert history on a real PostgreSQL: replicas recording the same notification at the
same moment leave one row (INSERT ... ON CONFLICT under concurrency), and the unique
constraint on (fingerprint, fired_at) holds against any other writer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.alerts import ReceivedAlert, list_alerts, record_notifications
from driftwarden.detectors.storage.models import alerts as alerts_table
from driftwarden.detectors.storage.types import AlertState

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)


def _alert(index: int) -> ReceivedAlert:
    return ReceivedAlert(
        fingerprint=f"{index:016x}",
        state=AlertState.FIRING,
        alertname="DriftwardenDriftCritical",
        namespace="risk",
        monitor=f"m{index % 7}",
        severity=Severity.CRITICAL,
        message="drift",
        starts_at=T0,
    )


def test_replicas_recording_the_same_notification_leave_one_row_each(history: Engine) -> None:
    """Four writers, the same 200 alerts in four orders, at once: no deadlock, one row each."""
    batch = [_alert(i) for i in range(200)]
    orders = [batch, batch[::-1], batch[100:] + batch[:100], batch[::2] + batch[1::2]]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def replica(offset: int) -> None:
        start.wait()
        try:
            for i in range(3):
                at = T0 + timedelta(seconds=offset * 10 + i)
                record_notifications(history, orders[offset], at)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    rows = list_alerts(history, limit=1000)
    assert len(rows) == 200
    assert {row.notifications for row in rows} == {12}  # 4 replicas x 3 notifications


def test_the_unique_constraint_holds_for_any_writer(history: Engine) -> None:
    record_notifications(history, [_alert(1)], T0)
    with pytest.raises(exc.IntegrityError), history.begin() as conn:
        conn.execute(
            sa.insert(alerts_table).values(
                alert_id="another-id",
                monitor_namespace="risk",
                monitor_name="m1",
                severity="critical",
                affected_features=[],
                message="drift",
                state="firing",
                fired_at=T0,
                fingerprint=f"{1:016x}",
            )
        )
