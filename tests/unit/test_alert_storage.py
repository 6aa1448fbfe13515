"""The alert history on the embedded SQLite (the same functions run on PostgreSQL in
tests/cluster/test_alert_receiver.py): idempotent on fingerprint and start time, resolved
notifications resolve, late firing ones never reopen, acknowledgements mark and release."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.detectors.storage.alerts import (
    ReceivedAlert,
    acknowledge_monitor_alerts,
    list_alerts,
    record_notifications,
    release_monitor_alerts,
)
from driftwarden.detectors.storage.models import alerts as alerts_table
from driftwarden.detectors.storage.types import AlertState, DriftType

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(make_url(f"sqlite:///{tmp_path / 'h.db'}"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _alert(**changes: object) -> ReceivedAlert:
    base = ReceivedAlert(
        fingerprint="0123456789abcdef",
        state=AlertState.FIRING,
        alertname="DriftwardenDriftCritical",
        namespace="risk",
        monitor="credit-scoring",
        severity=Severity.CRITICAL,
        message="2/3 features drifted",
        starts_at=T0,
        drift_type=DriftType.DATA,
        features=("income", "region"),
        recommended_action="retrain on the last 30 days",
        labels={"alertname": "DriftwardenDriftCritical", "namespace": "risk"},
        annotations={"summary": "2/3 features drifted"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(alerts_table)).scalar_one())


def test_a_notification_sent_again_is_one_row_counted_twice(engine: Engine) -> None:
    first = record_notifications(engine, [_alert()], T0 + timedelta(seconds=5))
    again = record_notifications(engine, [_alert()], T0 + timedelta(seconds=65))
    assert (first.new, first.updated, again.new, again.updated) == (1, 0, 0, 1)
    assert _count(engine) == 1
    (row,) = list_alerts(engine)
    assert row.notifications == 2
    assert row.last_notified_at == T0 + timedelta(seconds=65)
    assert row.state == AlertState.FIRING
    assert row.affected_features == ("income", "region")
    assert row.recommended_action == "retrain on the last 30 days"


def test_a_new_start_time_is_a_new_firing_of_the_same_alert(engine: Engine) -> None:
    record_notifications(engine, [_alert()], T0)
    record_notifications(engine, [_alert(starts_at=T0 + timedelta(hours=1))], T0)
    assert _count(engine) == 2


def test_resolved_resolves_and_a_late_firing_does_not_reopen(engine: Engine) -> None:
    record_notifications(engine, [_alert()], T0)
    end = T0 + timedelta(minutes=30)
    record_notifications(engine, [_alert(state=AlertState.RESOLVED, ends_at=end)], end)
    record_notifications(engine, [_alert()], end + timedelta(seconds=1))  # out of order
    (row,) = list_alerts(engine)
    assert row.state == AlertState.RESOLVED
    assert row.resolved_at == end
    assert row.notifications == 3


def test_a_resolved_alert_never_seen_firing_is_recorded_resolved(engine: Engine) -> None:
    end = T0 + timedelta(minutes=3)
    record_notifications(engine, [_alert(state=AlertState.RESOLVED, ends_at=end)], end)
    (row,) = list_alerts(engine, states=[AlertState.RESOLVED])
    assert row.resolved_at == end


def test_acknowledge_marks_firing_alerts_and_release_returns_them(engine: Engine) -> None:
    other = _alert(fingerprint="fedcba9876543210", monitor="churn")
    record_notifications(engine, [_alert(), other], T0)
    assert acknowledge_monitor_alerts(engine, "risk", "credit-scoring", "alice", T0) == 1
    assert acknowledge_monitor_alerts(engine, "risk", "credit-scoring", "alice", T0) == 0
    acked = list_alerts(engine, states=[AlertState.ACKNOWLEDGED])
    assert [(a.monitor_name, a.acknowledged_by) for a in acked] == [("credit-scoring", "alice")]
    # A repeated firing notification keeps the acknowledgement.
    record_notifications(engine, [_alert()], T0 + timedelta(minutes=1))
    assert list_alerts(engine, monitor="credit-scoring")[0].state == AlertState.ACKNOWLEDGED
    assert release_monitor_alerts(engine, "risk", "credit-scoring") == 1
    (row,) = list_alerts(engine, monitor="credit-scoring")
    assert row.state == AlertState.FIRING
    assert row.acknowledged_by == "alice"  # the history of who acknowledged stays


def test_filters_and_order(engine: Engine) -> None:
    record_notifications(
        engine,
        [
            _alert(),
            _alert(fingerprint="1" * 16, namespace="ads", starts_at=T0 + timedelta(hours=2)),
            _alert(fingerprint="2" * 16, namespace="", monitor="", drift_type=None),
        ],
        T0,
    )
    # newest first, then by id ("am-0123..." before "am-2222...")
    assert [a.monitor_namespace for a in list_alerts(engine)] == ["ads", "risk", ""]
    assert len(list_alerts(engine, namespace="risk")) == 1
    assert len(list_alerts(engine, since=T0 + timedelta(hours=1))) == 1
    assert len(list_alerts(engine, limit=2)) == 2
    operator_alert = list_alerts(engine, namespace="")[0]
    assert operator_alert.drift_type is None


def test_the_values_are_parameters_not_sql(engine: Engine) -> None:
    hostile = "x'); DROP TABLE alerts; --"
    record_notifications(engine, [_alert(monitor=hostile, message=hostile)], T0)
    (row,) = list_alerts(engine, monitor=hostile)
    assert row.message == hostile


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _alert(starts_at=datetime(2026, 1, 1))
