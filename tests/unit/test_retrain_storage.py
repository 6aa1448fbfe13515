"""retrain_events with revision 0003: a triggered decision is recorded once by its key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.detectors.storage.retrain import (
    latest_decisions,
    policy_decisions,
    policy_lock,
    record_decision,
    update_outcome,
)
from driftwarden.detectors.storage.types import RetrainDecision, RetrainEventRow

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'history.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _event(
    event_id: str, key: str | None, at: datetime, reason: str = "Triggered"
) -> RetrainEventRow:
    return RetrainEventRow(
        event_id=event_id,
        namespace="risk",
        policy_name="credit",
        monitor_name="credit-scoring",
        decision=RetrainDecision.TRIGGERED if key else RetrainDecision.SKIPPED,
        reason=reason,
        created_at=at,
        decision_key=key,
        message=f"{reason} at {at:%H:%M}",
        run_id="a-run-that-retention-removed",
    )


def test_a_decision_key_is_recorded_once_whatever_the_event_id(engine: Engine) -> None:
    assert record_decision(engine, _event("first", "risk/credit-credit-scoring-1", NOW))
    # a second replica or a restart computing the same decision under another event id
    assert not record_decision(engine, _event("second", "risk/credit-credit-scoring-1", NOW))
    assert not record_decision(engine, _event("first", None, NOW, "Cooldown"))
    rows = policy_decisions(engine, "risk", "credit")
    assert [(r.event_id, r.decision_key) for r in rows] == [
        ("first", "risk/credit-credit-scoring-1")
    ]
    assert rows[0].run_id is None  # the run is not in monitor_runs: no dangling reference


def test_skips_leave_the_key_empty_and_outcomes_update_by_key(engine: Engine) -> None:
    record_decision(engine, _event("t", "risk/k", NOW))
    for minute in (1, 2):
        at = NOW + timedelta(minutes=minute)
        assert record_decision(engine, _event(f"s{minute}", None, at, "Cooldown"))
    assert update_outcome(engine, "risk/k", outcome="succeeded", job_name="k", finished_at=NOW)
    assert not update_outcome(engine, "risk/missing", outcome="failed")
    newest_first = [r.event_id for r in latest_decisions(engine)]
    assert newest_first == ["s2", "s1", "t"]
    (triggered,) = policy_decisions(engine, "risk", "credit", decision=RetrainDecision.TRIGGERED)
    assert (triggered.outcome, triggered.job_name, triggered.finished_at) == ("succeeded", "k", NOW)
    assert [r.reason for r in policy_decisions(engine, "risk", "credit", limit=2)] == [
        "Cooldown",
        "Cooldown",
    ]


def test_the_policy_lock_is_a_no_op_on_sqlite(engine: Engine) -> None:
    with policy_lock(engine, "risk/credit"):
        assert record_decision(engine, _event("t", "risk/k", NOW))
