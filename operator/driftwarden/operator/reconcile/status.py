"""ModelMonitor status from what happened: conditions, facts, and Events on transitions.

`lastTransitionTime` changes only when a condition's status changes; Events are emitted only
when a condition's status or reason changes, never on a reconcile that changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from driftwarden.detectors.config import Severity
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.common import Condition
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.cron import parse_cron
from driftwarden.operator.api.modelmonitor import (
    LastRun,
    ModelMonitor,
    ModelMonitorStatus,
    RunOutcome,
)
from driftwarden.operator.api.run import RunSummary

TOP_FEATURES_IN_STATUS = 5


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class EventSpec:
    """An Event to emit on the resource."""

    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class DesiredCondition:
    """A condition without its bookkeeping (times, generation)."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


@dataclass(frozen=True)
class StatusPlan:
    """The status to write (only when `changed`) and the Events to emit."""

    status: ModelMonitorStatus
    events: tuple[EventSpec, ...]
    changed: bool


def set_conditions(
    current: Sequence[Condition],
    desired: Sequence[DesiredCondition],
    generation: int,
    now: datetime,
) -> list[Condition]:
    """Merge desired conditions into the current list (kept in a stable order).

    A condition keeps its lastTransitionTime unless its status changes.
    """
    by_type = {condition.type: condition for condition in current}
    for want in desired:
        old = by_type.get(want.type)
        since = old.last_transition_time if old and old.status == want.status else now
        by_type[want.type] = Condition(
            type=want.type,
            status=want.status,
            reason=want.reason,
            message=want.message[:32768],
            last_transition_time=since,
            observed_generation=generation,
        )
    order: dict[str, int] = {}
    for name in c.MONITOR_CONDITION_TYPES + c.POLICY_CONDITION_TYPES:
        order.setdefault(name, len(order))
    return sorted(by_type.values(), key=lambda cond: (order.get(cond.type, len(order)), cond.type))


def _transition_events(old: Sequence[Condition], new: Sequence[Condition]) -> tuple[EventSpec, ...]:
    before = {condition.type: condition for condition in old}
    events: list[EventSpec] = []
    for condition in new:
        prev = before.get(condition.type)
        if prev is not None and (prev.status, prev.reason) == (condition.status, condition.reason):
            continue
        event = _event_for(prev, condition)
        if event is not None:
            events.append(event)
    return tuple(events)


def _event_for(prev: Condition | None, cond: Condition) -> EventSpec | None:
    was_true = prev is not None and prev.status == ConditionStatus.TRUE
    was_false = prev is not None and prev.status == ConditionStatus.FALSE
    is_true = cond.status == ConditionStatus.TRUE
    is_false = cond.status == ConditionStatus.FALSE
    warn, normal = EventType.WARNING, EventType.NORMAL
    match cond.type:
        case c.ACCEPTED:
            if is_false:
                return EventSpec(warn, cond.reason, cond.message)
            if is_true and was_false:
                return EventSpec(normal, cond.reason, "the spec is valid again")
        case c.READY:
            if is_false:
                return EventSpec(warn, cond.reason, cond.message)
            if is_true and was_false:
                return EventSpec(normal, c.RUN_RECOVERED, cond.message)
            if is_true:
                return EventSpec(normal, cond.reason, cond.message)
        case c.DRIFT_DETECTED:
            if is_true:
                return EventSpec(warn, cond.reason, cond.message)
            if is_false and was_true:
                return EventSpec(normal, c.DRIFT_RESOLVED, cond.message)
        case c.PERFORMANCE_DEGRADED:
            if is_true:
                return EventSpec(warn, cond.reason, cond.message)
            if is_false and was_true:
                return EventSpec(normal, c.PERFORMANCE_RECOVERED, cond.message)
    return None


def _drift_message(summary: RunSummary) -> str:
    text = f"{summary.drifted_features}/{summary.total_features} features drifted"
    if summary.top_drifted:
        parts = [f"{f.name} ({f.method} {f.statistic:.3g})" for f in summary.top_drifted]
        text += ": " + ", ".join(parts)
    return text


def _drift_condition(summary: RunSummary) -> DesiredCondition:
    message = _drift_message(summary)
    match summary.drift_severity:
        case Severity.CRITICAL:
            return DesiredCondition(
                c.DRIFT_DETECTED, ConditionStatus.TRUE, c.CRITICAL_DRIFT, message
            )
        case Severity.WARNING:
            return DesiredCondition(
                c.DRIFT_DETECTED, ConditionStatus.TRUE, c.WARNING_DRIFT, message
            )
    return DesiredCondition(c.DRIFT_DETECTED, ConditionStatus.FALSE, c.NO_DRIFT, message)


def _performance_condition(monitor: ModelMonitor, summary: RunSummary) -> DesiredCondition:
    headline = summary.headline_performance()
    if monitor.spec.labels is None or headline is None:
        message = (
            "no labels configured"
            if monitor.spec.labels is None
            else "no labels had arrived for the current window"
        )
        return DesiredCondition(
            c.PERFORMANCE_DEGRADED, ConditionStatus.UNKNOWN, c.NO_LABELS, message
        )
    message = (
        f"{headline.metric} {headline.current:.4g} vs baseline {headline.baseline:.4g} "
        f"(drop {headline.drop:.3g})"
    )
    match headline.severity:
        case Severity.CRITICAL:
            return DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.TRUE, c.PERFORMANCE_CRITICAL, message
            )
        case Severity.WARNING:
            return DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.TRUE, c.PERFORMANCE_WARNING, message
            )
    return DesiredCondition(
        c.PERFORMANCE_DEGRADED, ConditionStatus.FALSE, c.PERFORMANCE_OK, message
    )


def _ready_condition(summary: RunSummary) -> DesiredCondition:
    rows = summary.rows
    counts = f" ({rows.baseline} baseline, {rows.current} current rows)" if rows else ""
    detail = f": {summary.message}" if summary.message else ""
    match summary.outcome:
        case RunOutcome.SUCCEEDED:
            return DesiredCondition(
                c.READY,
                ConditionStatus.TRUE,
                c.RUN_SUCCEEDED,
                f"run {summary.run_id} evaluated{counts}",
            )
        case RunOutcome.INSUFFICIENT_DATA:
            reason, what = c.INSUFFICIENT_DATA, "had too little data"
        case RunOutcome.INVALID_INPUT:
            reason, what = c.INVALID_INPUT, "refused its input"
        case _:
            reason, what = c.RUN_FAILED, "failed"
    return DesiredCondition(
        c.READY, ConditionStatus.FALSE, reason, f"run {summary.run_id} {what}{counts}{detail}"
    )


def next_run_at(monitor: ModelMonitor, now: datetime) -> datetime | None:
    schedule = monitor.spec.schedule
    if schedule.suspend:
        return None
    return parse_cron(schedule.cron).next_after(now, schedule.time_zone)


def _finish(
    monitor: ModelMonitor, status: ModelMonitorStatus, old_conditions: Sequence[Condition]
) -> StatusPlan:
    return StatusPlan(
        status=status,
        events=_transition_events(old_conditions, status.conditions),
        changed=status != monitor.status,
    )


def plan_accepted(
    monitor: ModelMonitor, spec_hash: str, now: datetime, error: str | None = None
) -> StatusPlan:
    """After planning the monitor's objects: Accepted True, or False with the spec problem.

    Before the first run, Ready and the verdict conditions are Unknown.
    """
    generation = monitor.metadata.generation
    old = monitor.status
    if error is None:
        desired = [DesiredCondition(c.ACCEPTED, ConditionStatus.TRUE, c.SPEC_VALID)]
    else:
        desired = [DesiredCondition(c.ACCEPTED, ConditionStatus.FALSE, c.INVALID_SPEC, error)]
    if old.last_run is None:
        waiting = "no run has finished yet"
        desired += [
            DesiredCondition(c.READY, ConditionStatus.UNKNOWN, c.AWAITING_FIRST_RUN, waiting),
            DesiredCondition(c.DRIFT_DETECTED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, waiting),
            DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, waiting
            ),
        ]
    status = old.model_copy(
        update={
            "observed_generation": generation,
            "conditions": set_conditions(old.conditions, desired, generation, now),
            "next_run_at": next_run_at(monitor, now) if error is None else None,
            "spec_hash": spec_hash if error is None else old.spec_hash,
        }
    )
    return _finish(monitor, status, old.conditions)


def plan_run_finished(monitor: ModelMonitor, summary: RunSummary, now: datetime) -> StatusPlan:
    """The status after a detector run finished (its summary, or one made for a failed Job).

    A failed or refused run updates lastRun and Ready but keeps the last evaluated verdict;
    a run with too little data clears the verdict (it is Unknown, not "no drift").
    """
    generation = monitor.metadata.generation
    old = monitor.status
    desired = [_ready_condition(summary)]
    update: dict[str, object] = {
        "observed_generation": generation,
        "last_run": LastRun(
            id=summary.run_id,
            started_at=summary.started_at,
            finished_at=summary.finished_at,
            outcome=summary.outcome,
            rows=summary.rows,
            message=summary.message[:1024],
        ),
        "next_run_at": next_run_at(monitor, now),
    }
    if summary.outcome == RunOutcome.SUCCEEDED:
        desired += [_drift_condition(summary), _performance_condition(monitor, summary)]
        score = None if summary.health_score is None else round(summary.health_score)
        update |= {
            "last_evaluated_run_id": summary.run_id,
            "health_score": score,
            "severity": summary.severity,
            "drifted_features": summary.drifted_features,
            "total_features": summary.total_features,
            "drift_summary": f"{summary.drifted_features}/{summary.total_features}",
            "top_drifted_features": list(summary.top_drifted[:TOP_FEATURES_IN_STATUS]),
            "performance": summary.headline_performance(),
        }
    elif summary.outcome == RunOutcome.INSUFFICIENT_DATA:
        message = f"run {summary.run_id} had too little data to evaluate"
        desired += [
            DesiredCondition(c.DRIFT_DETECTED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, message),
            DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, message
            ),
        ]
        update |= {
            "last_evaluated_run_id": None,
            "health_score": None,
            "severity": None,
            "drifted_features": None,
            "total_features": None,
            "drift_summary": None,
            "top_drifted_features": [],
            "performance": None,
        }
    update["conditions"] = set_conditions(old.conditions, desired, generation, now)
    status = old.model_copy(update=update)
    # model_copy skips validation; round-trip so the result is a checked status.
    status = ModelMonitorStatus.model_validate(status.model_dump(by_alias=True))
    return _finish(monitor, status, old.conditions)


def plan_run_now_acted(monitor: ModelMonitor, request: str) -> ModelMonitorStatus:
    """Status recording that the run-now request `request` has its Job."""
    return monitor.status.model_copy(update={"last_run_now_request": request})


def failed_run_summary(
    run_id: str, started_at: datetime, finished_at: datetime, message: str, *, invalid: bool
) -> RunSummary:
    """A summary for a Job that ended without writing one (crash, deadline, exit code 2)."""
    return RunSummary(
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        outcome=RunOutcome.INVALID_INPUT if invalid else RunOutcome.FAILED,
        message=message[:1024],
    )
