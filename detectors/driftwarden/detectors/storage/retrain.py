"""Retrain decisions in `retrain_events`: recorded once, updated as their RetrainRun goes on,
read back for cooldowns, model age and the operator's metrics.

A triggered decision carries a `decision_key` (`<namespace>/<RetrainRun name>`) under a
unique constraint (revision 0003): inserting it again — after a restart, from a second
replica, on a repeated ingest — records nothing new. `policy_lock` serialises the decisions
of one policy across processes (a PostgreSQL advisory lock), so `maxConcurrent` is counted
from what exists, never from memory. Every value is a bound parameter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import (
    DatabaseConfigError,
    connection,
    transaction,
)
from driftwarden.detectors.storage.types import RetrainDecision, RetrainEventRow

MAX_READ: Final = 1_000


def _values(event: RetrainEventRow) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "namespace": event.namespace,
        "policy_name": event.policy_name,
        "monitor_name": event.monitor_name,
        "run_id": event.run_id,
        "decision": str(event.decision),
        "reason": event.reason,
        "job_name": event.job_name,
        "outcome": event.outcome,
        "created_at": event.created_at,
        "finished_at": event.finished_at,
        "decision_key": event.decision_key,
        "message": event.message,
    }


def record_decision(engine: Engine, event: RetrainEventRow) -> bool:
    """Insert a decision unless its event id or decision key is already recorded.
    True when this call recorded it."""
    table = m.retrain_events
    with transaction(engine) as conn:
        values = _values(event)
        if values["run_id"] is not None:  # a run deleted by retention leaves no dangling key
            runs = m.monitor_runs
            found = conn.execute(
                sa.select(runs.c.run_id).where(runs.c.run_id == values["run_id"])
            ).first()
            if found is None:
                values["run_id"] = None
        name = conn.dialect.name
        if name == "postgresql":
            statement: Any = postgresql.insert(table).values(values).on_conflict_do_nothing()
        elif name == "sqlite":
            statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
        else:
            raise DatabaseConfigError(f"writing to a {name} database is not supported")
        return bool(conn.execute(statement).rowcount == 1)


def update_outcome(
    engine: Engine,
    decision_key: str,
    *,
    outcome: str,
    job_name: str | None = None,
    finished_at: datetime | None = None,
) -> bool:
    """Set a triggered decision's outcome (pending, approved, running, succeeded, failed,
    rejected, denied, expired), its Job and its end; False when the key is not recorded."""
    table = m.retrain_events
    values: dict[str, Any] = {"outcome": outcome}
    if job_name is not None:
        values["job_name"] = job_name
    if finished_at is not None:
        values["finished_at"] = finished_at
    with transaction(engine) as conn:
        result = conn.execute(
            sa.update(table).where(table.c.decision_key == decision_key).values(values)
        )
        return bool(result.rowcount == 1)


def _row(r: sa.RowMapping) -> RetrainEventRow:
    values: dict[str, Any] = dict(r)
    values["decision"] = RetrainDecision(values["decision"])
    return RetrainEventRow(**values)


def policy_decisions(
    engine: Engine,
    namespace: str,
    policy: str,
    *,
    monitor: str | None = None,
    decision: RetrainDecision | None = None,
    limit: int = 100,
) -> list[RetrainEventRow]:
    """A policy's decisions (of one monitor, of one kind when given), newest first."""
    table = m.retrain_events
    query = sa.select(table).where(table.c.namespace == namespace, table.c.policy_name == policy)
    if monitor is not None:
        query = query.where(table.c.monitor_name == monitor)
    if decision is not None:
        query = query.where(table.c.decision == str(decision))
    query = query.order_by(table.c.created_at.desc(), table.c.event_id.desc())
    with connection(engine) as conn:
        return [_row(r) for r in conn.execute(query.limit(min(limit, MAX_READ))).mappings()]


def latest_decisions(
    engine: Engine, *, namespace: str | None = None, limit: int = 100
) -> list[RetrainEventRow]:
    """The latest retrain decisions of every policy (of one namespace when given), newest
    first: what the operator's metrics count by reason."""
    table = m.retrain_events
    query = sa.select(table)
    if namespace is not None:
        query = query.where(table.c.namespace == namespace)
    query = query.order_by(table.c.created_at.desc(), table.c.event_id.desc())
    with connection(engine) as conn:
        return [_row(r) for r in conn.execute(query.limit(min(limit, MAX_READ))).mappings()]


def advisory_lock_id(key: str) -> int:
    """A signed 64-bit advisory-lock id for `key`."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@contextmanager
def policy_lock(engine: Engine, key: str) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock for `key` (one policy) while the block runs;
    other processes deciding for the same policy wait. SQLite (one process): no lock."""
    if engine.dialect.name != "postgresql":
        yield
        return
    lock_id = advisory_lock_id(key)
    with connection(engine) as conn:
        conn.execute(sa.select(sa.func.pg_advisory_lock(lock_id)))
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(lock_id)))
            conn.commit()
